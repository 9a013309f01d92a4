//! `workflow validate FILE...`: checks ASL files with every rule of `workflow_dsl::validate`.
//! Prints one line per problem (`FILE: State 'X': ...`) and exits 2 when any file has one.
//! Mistakes AWS accepts at creation but that fail at run time (`workflow_dsl::validate::lint`:
//! a variable no path assigns, an unknown function...) are printed as `warning:` lines and do
//! not change the exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use workflow_dsl::validate::{lint, validate_with, Options};

use super::{read_machine, EXIT_INVALID};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// ASL definition files (JSON)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Validate as an EXPRESS state machine (refuses .sync and .waitForTaskToken integrations)
    #[arg(long)]
    pub express: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let options = Options {
        express: args.express,
    };
    let mut problems = 0usize;
    let mut bad_files = 0usize;
    for file in &args.files {
        let shown = file.display();
        match read_machine(file) {
            Err(message) => {
                println!("{shown}: {message}");
                problems += 1;
                bad_files += 1;
            }
            Ok((_, machine)) => {
                let found = validate_with(&machine, &options);
                let warnings = lint(&machine);
                match (found.is_empty(), warnings.len()) {
                    (true, 0) => println!("{shown}: valid"),
                    (true, n) => println!("{shown}: valid, with {n} warning(s)"),
                    (false, _) => bad_files += 1,
                }
                for problem in &found {
                    println!("{shown}: {problem}");
                }
                for warning in &warnings {
                    println!("{shown}: warning: {warning} (AWS accepts this, but runs fail here)");
                }
                problems += found.len();
            }
        }
    }
    if problems == 0 {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "{problems} problem(s) in {bad_files} of {} file(s)",
            args.files.len()
        );
        Ok(ExitCode::from(EXIT_INVALID))
    }
}
