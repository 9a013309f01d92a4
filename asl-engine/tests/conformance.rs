//! Conformance: runs every recorded AWS execution in `conformance/asl` (the repository's copy of the AWS-recorded corpus) and compares status,
//! output (numbers by value) and error exactly, cause softly. Fails on any failure not listed in
//! `known_failures.txt`, and on any listed case that now passes (so the list stays honest).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use asl_engine::{value::json_eq, Engine, ExecOptions, ExecutionStatus, TaskRegistry};
use serde_json::Value;
use workflow_dsl::model::StateMachine;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/asl")
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

fn known_failures() -> HashMap<String, String> {
    let text = include_str!("known_failures.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((id, reason)) => (id.to_string(), reason.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Runs one case: Ok(cause warning) when it passes, Err(reason) when it does not.
async fn run_case(engine: &Engine, case: &Value) -> Result<Option<String>, String> {
    let machine = StateMachine::from_value(case["definition"].clone())
        .map_err(|e| format!("definition does not parse: {e}"))?;
    let result = engine
        .execute(&machine, case["input"].clone(), ExecOptions::virtual_time())
        .await
        .map_err(|e| format!("engine error: {e}"))?;
    let expected = &case["expected"];
    let want_status = expected["status"].as_str().unwrap_or_default();
    if result.status.name() != want_status {
        return Err(format!(
            "status {} (expected {want_status}): {:?}",
            result.status.name(),
            result.status
        ));
    }
    match &result.status {
        ExecutionStatus::Succeeded { output } => {
            if !json_eq(output, &expected["output"]) {
                return Err(format!("output {output} (expected {})", expected["output"]));
            }
            Ok(None)
        }
        ExecutionStatus::Failed { error, cause } => {
            let want_error = expected["error"].as_str();
            if error.as_deref() != want_error {
                return Err(format!(
                    "error {error:?} (expected {want_error:?}); cause {cause:?}"
                ));
            }
            let want_cause = expected["cause"].as_str().map(norm);
            if cause.as_deref().map(norm) != want_cause {
                return Ok(Some(format!(
                    "cause {cause:?}\n      expected {:?}",
                    expected["cause"].as_str()
                )));
            }
            Ok(None)
        }
        other => Err(format!("unexpected status {other:?}")),
    }
}

#[tokio::test]
async fn aws_conformance_corpus() {
    let mut files = Vec::new();
    collect(&corpus_dir(), &mut files);
    files.sort();
    assert!(
        !files.is_empty(),
        "no conformance cases found under {}",
        corpus_dir().display()
    );
    let known = known_failures();
    let engine = Engine::new(TaskRegistry::new());
    let mut per_tag: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut unexpected = Vec::new();
    let mut now_passing = Vec::new();
    let mut warnings = Vec::new();
    let mut passed = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable case");
        let case: Value = serde_json::from_str(&text).expect("case is JSON");
        let id = case["id"].as_str().unwrap_or_default().to_string();
        let outcome = run_case(&engine, &case).await;
        let ok = outcome.is_ok();
        for tag in case["tags"].as_array().into_iter().flatten() {
            let e = per_tag
                .entry(tag.as_str().unwrap_or("?").to_string())
                .or_default();
            e.1 += 1;
            if ok {
                e.0 += 1;
            }
        }
        match outcome {
            Ok(w) => {
                passed += 1;
                if let Some(w) = w {
                    warnings.push(format!("{id}: {w}"));
                }
                if known.contains_key(&id) {
                    now_passing.push(id);
                }
            }
            Err(reason) => {
                if !known.contains_key(&id) {
                    unexpected.push(format!("{id}: {reason}"));
                }
            }
        }
    }
    println!("conformance: {passed}/{} cases pass", files.len());
    for (tag, (p, n)) in &per_tag {
        println!("  {tag:<12} {p:>3}/{n:<3}");
    }
    for w in &warnings {
        println!("cause differs (soft): {w}");
    }
    assert!(
        unexpected.is_empty(),
        "{} case(s) fail that are not in known_failures.txt:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
    assert!(
        now_passing.is_empty(),
        "listed in known_failures.txt but passing now (remove them): {now_passing:?}"
    );
}
