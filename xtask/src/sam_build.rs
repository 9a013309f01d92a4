//! `cargo xtask sam-build`: `sam build` of template.yaml exactly as a user deploys it (cargo-lambda,
//! arm64, release), then a check that every function got an arm64 Linux `bootstrap`.
//!
//! SAM's `rust-cargolambda` build method runs `cargo lambda build --release --arm64 --bin <Binary>`
//! in each function's `CodeUri` and copies `target/lambda/<Binary>/bootstrap` into
//! `<build-dir>/<LogicalId>/bootstrap`
//! (<https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/building-rust.html>).
//! cargo-lambda comes from PyPI with its own zig for cross-linking (`tools::ensure_cargo_lambda`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Result};
use serde_json::Value;

use crate::footprint::MAX_SIZE_MIB;
use crate::tools;
use local_stack::{process, template};

/// `e_machine` of an ELF file for AArch64 (the `arm64` Lambda architecture).
const EM_AARCH64: u16 = 0xB7;

/// One function's build artifact.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    pub logical_id: String,
    pub binary: String,
    pub path: PathBuf,
    pub size_bytes: u64,
}

impl Artifact {
    pub fn size_mib(&self) -> f64 {
        self.size_bytes as f64 / (1024.0 * 1024.0)
    }
}

/// A function of the template built by cargo-lambda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CargoLambdaFunction {
    pub logical_id: String,
    /// `Metadata.BuildProperties.Binary`.
    pub binary: String,
    /// `Properties.CodeUri`: the package directory cargo-lambda runs in.
    pub code_uri: String,
}

/// The functions of the template with `BuildMethod: rust-cargolambda`.
pub fn cargo_lambda_functions(template: &Value) -> Vec<CargoLambdaFunction> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    template::resources_of_type(template, "AWS::Serverless::Function")
        .into_iter()
        .filter(|(_, resource)| resource["Metadata"]["BuildMethod"] == "rust-cargolambda")
        .map(|(id, resource)| CargoLambdaFunction {
            logical_id: id.to_string(),
            binary: text(&resource["Metadata"]["BuildProperties"]["Binary"]),
            code_uri: text(&resource["Properties"]["CodeUri"]),
        })
        .collect()
}

/// Why a built file is not a Lambda `bootstrap` for arm64, if it is not.
pub fn arm64_elf_problem(bytes: &[u8]) -> Option<String> {
    if bytes.len() < 20 || &bytes[..4] != b"\x7fELF" {
        return Some("not an ELF executable".into());
    }
    if bytes[4] != 2 {
        return Some("not a 64-bit ELF file".into());
    }
    // e_machine at offset 18, in the file's byte order (EI_DATA: 1 = little endian).
    let machine = if bytes[5] == 1 {
        u16::from_le_bytes([bytes[18], bytes[19]])
    } else {
        u16::from_be_bytes([bytes[18], bytes[19]])
    };
    (machine != EM_AARCH64).then(|| format!("built for ELF machine {machine:#x}, not AArch64"))
}

/// Checks `<build_dir>/<LogicalId>/bootstrap` of every cargo-lambda function.
pub fn check_artifacts(template: &Value, build_dir: &Path) -> Result<Vec<Artifact>> {
    let functions = cargo_lambda_functions(template);
    if functions.is_empty() {
        bail!("template.yaml has no function with `BuildMethod: rust-cargolambda`");
    }
    let mut artifacts = Vec::new();
    let mut problems = Vec::new();
    for CargoLambdaFunction {
        logical_id, binary, ..
    } in functions
    {
        let path = build_dir.join(&logical_id).join("bootstrap");
        match std::fs::read(&path) {
            Ok(bytes) => match arm64_elf_problem(&bytes) {
                Some(problem) => problems.push(format!("{}: {problem}", path.display())),
                None => artifacts.push(Artifact {
                    logical_id,
                    binary,
                    path,
                    size_bytes: bytes.len() as u64,
                }),
            },
            Err(error) => problems.push(format!("{}: {error}", path.display())),
        }
    }
    if !problems.is_empty() {
        bail!(
            "`sam build` did not produce a bootstrap per function:\n  {}",
            problems.join("\n  ")
        );
    }
    Ok(artifacts)
}

/// The artifacts as a table, each size against the footprint target.
pub fn table(artifacts: &[Artifact]) -> String {
    let mut out = format!(
        "{:<26} {:<16} {:>9}  target <= {MAX_SIZE_MIB} MiB\n",
        "function", "binary", "MiB"
    );
    for artifact in artifacts {
        out.push_str(&format!(
            "{:<26} {:<16} {:>9.2}  {}\n",
            artifact.logical_id,
            artifact.binary,
            artifact.size_mib(),
            if artifact.size_mib() <= MAX_SIZE_MIB {
                "ok"
            } else {
                "OVER"
            }
        ));
    }
    out
}

/// Runs `sam build` into `build_dir` and checks the artifacts; `Ok(false)` when the build fails,
/// an artifact is missing, or a bootstrap is over the size target.
pub fn run(root: &Path, build_dir: &Path) -> Result<bool> {
    let linters = tools::ensure_linters(root)?;
    let cargo_lambda_bin = tools::ensure_cargo_lambda(root)?;
    let path = std::env::join_paths(
        [
            cargo_lambda_bin,
            linters.sam.parent().unwrap_or(root).to_path_buf(),
        ]
        .into_iter()
        .chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )),
    )?;
    let template = template::load(&root.join("template.yaml"))?;
    let started = std::time::Instant::now();
    eprintln!(
        "xtask: sam build (cargo-lambda, arm64, release) into {}",
        build_dir.display()
    );
    let ok = process::run(
        Command::new(&linters.sam)
            .current_dir(root)
            .env("PATH", path)
            .env("SAM_CLI_TELEMETRY", "0")
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_PROFILE")
            // The template's Fn::ForEach loops (AWS::LanguageExtensions) are expanded by SAM
            // only with this flag (or `language_extensions` in samconfig.toml).
            .args(["build", "--language-extensions"])
            .args(["--template-file", "template.yaml", "--build-dir"])
            .arg(build_dir),
    )?;
    if !ok {
        return Ok(false);
    }
    let artifacts = match check_artifacts(&template, build_dir) {
        Ok(artifacts) => artifacts,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            return Ok(false);
        }
    };
    eprintln!(
        "xtask: sam build: {} bootstraps in {:.0} s",
        artifacts.len(),
        started.elapsed().as_secs_f64()
    );
    eprint!("{}", table(&artifacts));
    Ok(artifacts.iter().all(|a| a.size_mib() <= MAX_SIZE_MIB))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elf_header(class: u8, data: u8, machine: u16) -> Vec<u8> {
        let mut bytes = vec![0u8; 64];
        bytes[..4].copy_from_slice(b"\x7fELF");
        bytes[4] = class;
        bytes[5] = data;
        let m = if data == 1 {
            machine.to_le_bytes()
        } else {
            machine.to_be_bytes()
        };
        bytes[18..20].copy_from_slice(&m);
        bytes
    }

    #[test]
    fn accepts_only_64_bit_aarch64_elf() {
        assert_eq!(arm64_elf_problem(&elf_header(2, 1, EM_AARCH64)), None);
        // x86_64 is 0x3e
        assert!(arm64_elf_problem(&elf_header(2, 1, 0x3e))
            .unwrap()
            .contains("0x3e"));
        assert!(arm64_elf_problem(&elf_header(1, 1, EM_AARCH64)).is_some());
        assert!(arm64_elf_problem(b"#!/bin/sh\necho hi\n").is_some());
        assert!(arm64_elf_problem(b"").is_some());
    }

    #[test]
    fn every_function_of_the_template_is_built_by_cargo_lambda() {
        let root = local_stack::workspace::repo_root();
        let template = template::load(&root.join("template.yaml")).unwrap();
        let functions = cargo_lambda_functions(&template);
        let all = template::resources_of_type(&template, "AWS::Serverless::Function");
        assert_eq!(
            functions.len(),
            all.len(),
            "a function without rust-cargolambda"
        );
        assert!(functions
            .iter()
            .all(|f| !f.binary.is_empty() && root.join(&f.code_uri).join("Cargo.toml").exists()));
    }

    #[test]
    fn missing_and_foreign_bootstraps_are_reported() {
        let root = local_stack::workspace::repo_root();
        let template = template::load(&root.join("template.yaml")).unwrap();
        let dir = std::env::temp_dir().join(format!("sam-build-check-{}", std::process::id()));
        let functions = cargo_lambda_functions(&template);
        for f in &functions {
            let id = &f.logical_id;
            std::fs::create_dir_all(dir.join(id)).unwrap();
            std::fs::write(dir.join(id).join("bootstrap"), elf_header(2, 1, EM_AARCH64)).unwrap();
        }
        assert_eq!(
            check_artifacts(&template, &dir).unwrap().len(),
            functions.len()
        );
        let first = &functions[0].logical_id;
        std::fs::write(dir.join(first).join("bootstrap"), elf_header(2, 1, 0x3e)).unwrap();
        let last = &functions.last().unwrap().logical_id;
        std::fs::remove_file(dir.join(last).join("bootstrap")).unwrap();
        let error = format!("{:#}", check_artifacts(&template, &dir).unwrap_err());
        assert!(
            error.contains(first.as_str()) && error.contains("not AArch64"),
            "{error}"
        );
        assert!(error.contains(last.as_str()), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
