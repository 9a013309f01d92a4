//! The `workflow` command line: emits the project's workflows as ASL and Mermaid, checks that
//! `generated/` is up to date, validates and formats ASL files. See `workflow --help`.

use std::process::ExitCode;

use clap::Parser;

/// The engine allocates and frees small JSON values on every state transition, and its endpoint
/// keeps every execution's history: with mimalloc instead of the system allocator (glibc) a state
/// costs about half as much through `workflow serve`, and an execution that starts after the
/// endpoint was idle is slowed about 1.5x instead of 2x (docs/engine.md, "Speed").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    workflow::cli::run(workflow::cli::Cli::parse())
}
