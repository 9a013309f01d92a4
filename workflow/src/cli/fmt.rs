//! `workflow fmt FILE...`: the canonical form of ASL documents (`StateMachine::to_pretty_json`):
//! printed on stdout, checked (`--check`, exit 1 with a diff) or written back (`--write`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use similar::TextDiff;

use super::{read_machine, EXIT_INVALID};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// ASL definition files (JSON); several only with --check or --write
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Exit 1 and show a diff when a file is not in canonical form
    #[arg(long, conflicts_with = "write")]
    pub check: bool,
    /// Rewrite the files in canonical form
    #[arg(long)]
    pub write: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !args.check && !args.write && args.files.len() > 1 {
        anyhow::bail!("printing works on one file; use --check or --write for several");
    }
    let mut unparsable = false;
    let mut not_canonical = 0usize;
    for file in &args.files {
        let shown = file.display().to_string();
        let (text, machine) = match read_machine(file) {
            Ok(read) => read,
            Err(message) => {
                println!("{shown}: {message}");
                unparsable = true;
                continue;
            }
        };
        let canonical = machine.to_pretty_json();
        if args.check {
            if text != canonical {
                not_canonical += 1;
                println!("not canonical: {shown}");
                print!(
                    "{}",
                    TextDiff::from_lines(&text, &canonical)
                        .unified_diff()
                        .header(
                            &format!("{shown} (on disk)"),
                            &format!("{shown} (canonical)")
                        )
                );
            }
        } else if args.write {
            if text != canonical {
                std::fs::write(file, &canonical).with_context(|| format!("writing {shown}"))?;
                println!("formatted {shown}");
            }
        } else {
            print!("{canonical}");
        }
    }
    if unparsable {
        Ok(ExitCode::from(EXIT_INVALID))
    } else if not_canonical > 0 {
        eprintln!(
            "{not_canonical} file(s) not in canonical form; run `workflow fmt --write` on them"
        );
        Ok(ExitCode::FAILURE)
    } else {
        Ok(ExitCode::SUCCESS)
    }
}
