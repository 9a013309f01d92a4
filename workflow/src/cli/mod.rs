//! Command-line parsing and dispatch of the `workflow` binary.
//!
//! Each subcommand lives in its own module (`cli/<name>.rs`) with an `Args` struct (clap) and a
//! `run(args) -> anyhow::Result<ExitCode>` function. Adding a subcommand (`exec`, `run`, `serve`)
//! means: a new module, a variant in [`Command`] and an arm in [`run()`].

pub mod check;
pub mod emit;
pub mod exec;
pub mod fmt;
pub mod run;
pub mod serve;
pub mod validate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use workflow_dsl::StateMachine;

/// Exit code for "the input has problems" (invalid ASL, unparsable file).
pub const EXIT_INVALID: u8 = 2;

/// Typed Step Functions workflows: emit, check, validate and format ASL.
#[derive(Debug, Parser)]
#[command(name = "workflow", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Output directory of `emit` when no subcommand is given.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write every project workflow to <out>/<name>.asl.json and <out>/<name>.mmd (the default).
    Emit(emit::Args),
    /// Exit 1 with a diff when the generated files differ from what the code emits now.
    Check(check::Args),
    /// Validate ASL files against every rule of the Amazon States Language.
    Validate(validate::Args),
    /// Print ASL files in the canonical form (or check / rewrite them).
    Fmt(fmt::Args),
    /// Run an ASL file in the local engine (optionally with a Step Functions Local mock test case).
    Exec(exec::Args),
    /// Serve a local Step Functions endpoint (JSON 1.0 protocol) with the project's steps.
    Serve(serve::Args),
    /// Run a project workflow in the local engine with its own steps in-process.
    Run(run::Args),
}

/// Runs the parsed command line; errors are printed on stderr and give exit code 1.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        None => emit::run(emit::Args { out: cli.out }),
        Some(Command::Emit(args)) => emit::run(args),
        Some(Command::Check(args)) => check::run(args),
        Some(Command::Validate(args)) => validate::run(args),
        Some(Command::Fmt(args)) => fmt::run(args),
        Some(Command::Exec(args)) => exec::run(args),
        Some(Command::Serve(args)) => serve::run(args),
        Some(Command::Run(args)) => run::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `generated/` at the workspace root, found from this crate's directory at compile time.
pub fn default_out_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workflow crate sits inside the workspace")
        .join("generated")
}

/// `OrderProcessing`, `order_processing` and `order processing` all become `order-processing`.
pub fn kebab_case(name: &str) -> String {
    let mut out = String::new();
    let mut previous: Option<char> = None;
    for c in name.chars() {
        if c == '_' || c == '-' || c.is_whitespace() {
            if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        } else if c.is_uppercase() {
            if previous.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                && !out.ends_with('-')
            {
                out.push('-');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        previous = Some(c);
    }
    out.trim_end_matches('-').to_owned()
}

/// The files `emit` writes for the project, as (file name, content), sorted by file name: the
/// project's workflows, and the library's examples under `examples/`.
pub fn emitted_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for (name, machine) in crate::project_workflows() {
        let name = kebab_case(name);
        files.push((format!("{name}.asl.json"), machine.to_pretty_json()));
        files.push((
            format!("{name}.mmd"),
            workflow_dsl::mermaid::mermaid(&machine),
        ));
    }
    for (name, machine) in crate::examples::example_workflows() {
        let name = format!("examples/{}", kebab_case(name));
        files.push((format!("{name}.asl.json"), machine.to_pretty_json()));
        files.push((
            format!("{name}.mmd"),
            workflow_dsl::mermaid::mermaid(&machine),
        ));
    }
    files.sort();
    files
}

/// True for file names `emit` owns in the output directory.
pub fn is_emitted_file_name(name: &str) -> bool {
    name.ends_with(".asl.json") || name.ends_with(".mmd")
}

/// Reads and parses an ASL file; the error is one line meant for the user.
pub fn read_machine(path: &Path) -> Result<(String, StateMachine), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("not valid JSON: {e}"))?;
    if !value.is_object() {
        return Err(
            "not an ASL document: the top level must be a JSON object with StartAt and States"
                .to_owned(),
        );
    }
    let machine = StateMachine::from_value(value)
        .map_err(|e| format!("not a valid ASL document: {}", strip_prefix(&e.to_string())))?;
    Ok((text, machine))
}

fn strip_prefix(message: &str) -> &str {
    message
        .strip_prefix("not valid JSON or not an ASL document: ")
        .unwrap_or(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_case_of_common_spellings() {
        assert_eq!(kebab_case("hello"), "hello");
        assert_eq!(kebab_case("OrderProcessing"), "order-processing");
        assert_eq!(kebab_case("order_processing"), "order-processing");
        assert_eq!(kebab_case("Order Processing v2"), "order-processing-v2");
        assert_eq!(kebab_case("already-kebab"), "already-kebab");
    }

    #[test]
    fn emitted_files_pair_asl_and_mermaid() {
        let files = emitted_files();
        assert_eq!(
            files.len(),
            2 * (crate::project_workflows().len() + crate::examples::example_workflows().len())
        );
        assert!(files.iter().all(|(name, _)| is_emitted_file_name(name)));
    }

    #[test]
    fn the_default_output_is_the_workspace_generated_directory() {
        let out = default_out_dir();
        assert!(out.ends_with("generated"));
        assert!(out.parent().unwrap().join("Cargo.toml").exists());
    }
}
