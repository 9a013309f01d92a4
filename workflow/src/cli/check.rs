//! `workflow check`: fails (exit 1) with a unified diff when the generated files are missing,
//! stale or extra compared with what the code emits now.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use similar::TextDiff;

use super::{default_out_dir, emitted_files, is_emitted_file_name};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory holding the generated files [default: <workspace>/generated]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let out = args.out.unwrap_or_else(default_out_dir);
    let expected = emitted_files();
    let mut differences = 0usize;
    for (name, content) in &expected {
        let path = out.join(name);
        let shown = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(actual) if &actual == content => {}
            Ok(actual) => {
                differences += 1;
                println!("stale: {shown}");
                print!("{}", diff(&actual, content, &shown));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                differences += 1;
                println!("missing: {shown}");
                print!("{}", diff("", content, &shown));
            }
            Err(e) => return Err(e).with_context(|| format!("reading {shown}")),
        }
    }
    if out.is_dir() {
        let mut extra: Vec<PathBuf> = Vec::new();
        for entry in
            std::fs::read_dir(&out).with_context(|| format!("reading {}", out.display()))?
        {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_emitted_file_name(&name) && !expected.iter().any(|(f, _)| *f == name) {
                extra.push(entry.path());
            }
        }
        extra.sort();
        for path in extra {
            differences += 1;
            let shown = path.display().to_string();
            println!("extra: {shown} (no project workflow emits it)");
            let actual = std::fs::read_to_string(&path).unwrap_or_default();
            print!("{}", diff(&actual, "", &shown));
        }
    }
    if differences == 0 {
        println!("{} is up to date ({} files)", out.display(), expected.len());
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "{differences} generated file(s) differ from the code; run `cargo run -p workflow` to regenerate them"
        );
        Ok(ExitCode::FAILURE)
    }
}

fn diff(actual: &str, expected: &str, shown: &str) -> String {
    TextDiff::from_lines(actual, expected)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{shown} (on disk)"),
            &format!("{shown} (emitted now)"),
        )
        .to_string()
}
