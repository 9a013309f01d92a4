//! Where the workspace is, and what `cargo metadata` says its packages build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The repository root (the parent of `xtask/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// The cargo that runs us (`CARGO` is set by cargo for the processes it starts), or `cargo`.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the root when relative) or `target/`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// Builds the `workflow` binary (debug; the local Step Functions engine) and returns its path.
pub fn build_workflow(root: &Path) -> Result<PathBuf> {
    let status = cargo()
        .current_dir(root)
        .args(["build", "--quiet", "-p", "workflow", "--bin", "workflow"])
        .status()
        .context("running cargo build -p workflow")?;
    if !status.success() {
        bail!("`cargo build -p workflow` failed");
    }
    Ok(target_dir(root).join("debug/workflow"))
}

/// One workspace package as `cargo metadata` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    /// Its version.
    pub version: String,
    /// Whether it may be published (its manifest does not say `publish = false`).
    pub publishable: bool,
    /// Directory of its Cargo.toml, relative to the workspace root (`api`, `steps`, ...).
    pub dir: PathBuf,
    /// Names of its binary targets.
    pub binaries: Vec<String>,
}

/// Every workspace package, by name.
pub fn packages(root: &Path) -> Result<BTreeMap<String, Package>> {
    let output = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root)
        .output()
        .context("running `cargo metadata`")?;
    if !output.status.success() {
        bail!(
            "`cargo metadata` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("parsing `cargo metadata` output")?;
    let workspace_root = PathBuf::from(metadata["workspace_root"].as_str().unwrap_or_default());
    let mut packages = BTreeMap::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default().to_string();
        let manifest = Path::new(package["manifest_path"].as_str().unwrap_or_default());
        let dir = manifest
            .parent()
            .and_then(|d| d.strip_prefix(&workspace_root).ok())
            .unwrap_or(Path::new(""))
            .to_path_buf();
        let binaries = package["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "bin"))
            })
            .filter_map(|t| t["name"].as_str().map(str::to_string))
            .collect();
        let version = package["version"].as_str().unwrap_or_default().to_string();
        // `publish`: null for any registry, a list of the allowed ones otherwise (`[]`: none).
        let publishable = package["publish"]
            .as_array()
            .is_none_or(|registries| !registries.is_empty());
        packages.insert(
            name.clone(),
            Package {
                name,
                version,
                publishable,
                dir,
                binaries,
            },
        );
    }
    Ok(packages)
}

/// The `*.asl.json` files under `generated/`, sorted (empty if there are none yet).
pub fn generated_asl_files(root: &Path) -> Result<Vec<PathBuf>> {
    let dir = root.join("generated");
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".asl.json"))
        .collect();
    files.sort();
    Ok(files)
}
