//! Installs the local stack's tools under `.tools/` on first use: the AWS emulator (moto, from
//! PyPI, into a virtual environment), and the installer the other pinned tools share.
//!
//! Each install writes a marker file holding its pinned versions; a matching marker means the
//! install is reused, a missing or different one means it is (re)done.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::process;

/// The AWS emulator the local stack and the tests run against.
pub const MOTO: &[&str] = &["moto[server]==5.2.5"];

const MARKER: &str = ".xtask-installed";

/// Ensures `.tools/moto-venv` under `root` and returns the path of its `moto_server`.
pub fn ensure_moto(root: &Path) -> Result<PathBuf> {
    let venv = root.join(".tools/moto-venv");
    ensure_venv(&venv, MOTO)?;
    Ok(venv.join("bin/moto_server"))
}

/// The AWS CLI the engine's client tests drive the Step Functions endpoint with (boto3 comes with
/// moto's environment).
pub const AWS_CLI: &[&str] = &["awscli==1.46.3"];

/// Ensures `.tools/aws-cli-venv` under `root` and returns the path of its `aws`.
pub fn ensure_aws_cli(root: &Path) -> Result<PathBuf> {
    let venv = root.join(".tools/aws-cli-venv");
    ensure_venv(&venv, AWS_CLI)?;
    Ok(venv.join("bin/aws"))
}

/// The Python of moto's environment, which has boto3 (for the tests that drive an endpoint
/// with boto3).
pub fn boto3_python(root: &Path) -> PathBuf {
    root.join(".tools/moto-venv/bin/python")
}

/// Ensures a Python virtual environment at `venv` with exactly the pinned `specs` installed.
pub fn ensure_venv(venv: &Path, specs: &[&str]) -> Result<()> {
    let python = venv.join("bin/python");
    if is_current(venv, specs) && python.exists() {
        return Ok(());
    }
    eprintln!(
        "xtask: installing {} into {} (first run only)",
        specs.join(" "),
        venv.display()
    );
    if !python.exists() {
        let system_python = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
        let ok = process::run(Command::new(system_python).args(["-m", "venv"]).arg(venv))?;
        if !ok {
            bail!(
                "`python3 -m venv {}` failed (is Python 3 with venv installed?)",
                venv.display()
            );
        }
    }
    let ok = process::run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(specs),
    )?;
    if !ok {
        bail!(
            "`pip install {}` into {} failed",
            specs.join(" "),
            venv.display()
        );
    }
    write_marker(venv, specs)
}

fn marker_text(specs: &[&str]) -> String {
    specs.join("\n") + "\n"
}

/// True when `dir` holds the marker of exactly `specs`.
pub fn is_current(dir: &Path, specs: &[&str]) -> bool {
    std::fs::read_to_string(dir.join(MARKER)).is_ok_and(|text| text == marker_text(specs))
}

/// Records that `dir` holds `specs`.
pub fn write_marker(dir: &Path, specs: &[&str]) -> Result<()> {
    let path = dir.join(MARKER);
    std::fs::write(&path, marker_text(specs)).with_context(|| format!("writing {}", path.display()))
}
