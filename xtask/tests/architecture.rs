//! ARCHITECTURE.md stays true: every crate its code map names exists, every workspace crate is
//! in the code map, and its dependency block is exactly the workspace's internal `[dependencies]`.

use std::collections::{BTreeMap, BTreeSet};

use local_stack::workspace;

/// The workspace's crates (directory name = package name here) and their internal dependencies.
fn workspace_crates() -> BTreeMap<String, BTreeSet<String>> {
    let root = workspace::repo_root();
    let read = |path: std::path::PathBuf| -> toml::Table {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        text.parse().unwrap_or_else(|e| panic!("{path:?}: {e}"))
    };
    let manifest = read(root.join("Cargo.toml"));
    let members: Vec<String> = manifest["workspace"]["members"]
        .as_array()
        .expect("workspace members")
        .iter()
        .filter_map(|m| m.as_str().map(str::to_owned))
        .collect();
    let mut crates = BTreeMap::new();
    for member in &members {
        let doc = read(root.join(member).join("Cargo.toml"));
        let name = doc["package"]["name"].as_str().unwrap().to_owned();
        assert_eq!(
            &name, member,
            "crate directories are named after their package"
        );
        let deps = doc
            .get("dependencies")
            .and_then(|d| d.as_table())
            .map(|d| d.keys().filter(|d| members.contains(d)).cloned().collect())
            .unwrap_or_default();
        crates.insert(name, deps);
    }
    crates
}

#[test]
fn the_code_map_and_the_dependency_block_match_the_workspace() {
    let root = workspace::repo_root();
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let crates = workspace_crates();

    let mapped: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("### `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect();
    let members: BTreeSet<String> = crates.keys().cloned().collect();
    assert_eq!(mapped, members, "the code map's crates are the workspace's");

    let block = text
        .split("```text\n")
        .find(|b| b.contains("->"))
        .and_then(|b| b.split("```").next())
        .expect("the dependency block");
    let mut listed = BTreeMap::new();
    for line in block.lines().filter(|l| l.contains("->")) {
        let (name, deps) = line.split_once("->").unwrap();
        let deps: BTreeSet<String> = deps
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .collect();
        listed.insert(name.trim().to_owned(), deps);
    }
    assert_eq!(listed, crates, "ARCHITECTURE.md's dependency block");
}
