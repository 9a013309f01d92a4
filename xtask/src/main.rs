//! `cargo xtask`: development and test orchestration for this workspace.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::{checks, workspace};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Development and test orchestration")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run every test against a local moto server, then the static checks (fmt, clippy,
    /// generated ASL up to date and valid, cfn-lint, sam validate).
    Test {
        /// Only the tests (nextest): no doctests and no static checks.
        #[arg(long)]
        quick: bool,
        /// Extra arguments for `cargo nextest run` (a test filter, `-p crate`, ...).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        nextest_args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = workspace::repo_root();
    let result = match cli.command {
        Cmd::Test {
            quick,
            nextest_args,
        } => checks::test(
            &root,
            &checks::Options {
                quick,
                nextest_args,
            },
        ),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
