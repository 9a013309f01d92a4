//! The `workflow` command line: emits the project's workflows as ASL and Mermaid, checks that
//! `generated/` is up to date, validates and formats ASL files. See `workflow --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    workflow::cli::run(workflow::cli::Cli::parse())
}
