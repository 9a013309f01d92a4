//! `workflow emit` (the default command): writes every project workflow as canonical ASL JSON and
//! as a Mermaid flowchart, after validating it, and removes emitted files of workflows that no
//! longer exist.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::{default_out_dir, emitted_files, is_emitted_file_name, kebab_case, EXIT_INVALID};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output directory [default: <workspace>/generated]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let out = args.out.unwrap_or_else(default_out_dir);
    let mut invalid = false;
    let examples = crate::examples::example_workflows();
    for (name, machine) in crate::project_workflows().into_iter().chain(examples) {
        for problem in workflow_dsl::validate::validate(&machine) {
            eprintln!("{}: {problem}", kebab_case(name));
            invalid = true;
        }
    }
    if invalid {
        eprintln!("nothing written: fix the workflow definitions first");
        return Ok(ExitCode::from(EXIT_INVALID));
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let files = emitted_files();
    for (name, content) in &files {
        let path = out.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let unchanged = std::fs::read_to_string(&path).is_ok_and(|old| &old == content);
        if unchanged {
            println!("unchanged {}", path.display());
        } else {
            std::fs::write(&path, content)
                .with_context(|| format!("writing {}", path.display()))?;
            println!("wrote     {}", path.display());
        }
    }
    for entry in std::fs::read_dir(&out).with_context(|| format!("reading {}", out.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_emitted_file_name(&name) && !files.iter().any(|(f, _)| *f == name) {
            std::fs::remove_file(entry.path())
                .with_context(|| format!("removing {}", entry.path().display()))?;
            println!(
                "removed   {} (no workflow emits it)",
                entry.path().display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
