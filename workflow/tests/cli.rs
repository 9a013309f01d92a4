//! Runs the `workflow` binary: validate, fmt, emit and check, on temporary files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workflow"))
        .args(args)
        .output()
        .expect("the workflow binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A fresh temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "workflow-cli-{}-{name}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str, content: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const VALID: &str =
    r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}}}"#;

#[test]
fn validate_accepts_a_valid_file() {
    let dir = TempDir::new("valid");
    let file = dir.file("ok.asl.json", VALID);
    let output = workflow(&["validate", &file]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout(&output), format!("{file}: valid\n"));
}

#[test]
fn validate_warns_of_what_aws_accepts_but_runs_fail_on_and_exits_0() {
    let dir = TempDir::new("lint");
    let file = dir.file(
        "lint.asl.json",
        r#"{"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass",
            "Output": {"x": "{% $ghost %}"}, "End": true}}}"#,
    );
    let output = workflow(&["validate", &file]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let expected = [
        format!("{file}: valid, with 1 warning(s)"),
        format!("{file}: warning: State 'A': Output.x reads $ghost, but no state assigns the variable 'ghost'; assign it with Assign in a state before 'A' (or fix the name) (AWS accepts this, but runs fail here)"),
    ];
    assert_eq!(stdout(&output).lines().collect::<Vec<_>>(), expected);
}

#[test]
fn validate_reports_one_line_per_problem_and_exits_2() {
    let dir = TempDir::new("invalid");
    let file = dir.file(
        "bad.asl.json",
        r#"{"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Resultt": 1, "Next": "Nowhere"},
            "B": {"Type": "Succeed"}
        }}"#,
    );
    let output = workflow(&["validate", &file]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let expected = [
        format!("{file}: State 'A': field 'Resultt' is not allowed in a Pass state (did you mean 'Result'?)"),
        format!("{file}: State 'A': Next 'Nowhere' does not name any state of the top level of the state machine"),
        format!("{file}: State 'B': state is unreachable: neither StartAt nor any Next, Default or Catch of the top level of the state machine leads to it"),
    ];
    assert_eq!(stdout(&output).lines().collect::<Vec<_>>(), expected);
    assert!(String::from_utf8_lossy(&output.stderr).contains("3 problem(s) in 1 of 1 file(s)"));
}

#[test]
fn validate_reports_unparsable_files_and_checks_the_others() {
    let dir = TempDir::new("unparsable");
    let broken = dir.file("broken.json", "{\"StartAt\": ");
    let not_asl = dir.file("not-asl.json", "[1, 2]");
    let good = dir.file("good.json", VALID);
    let missing = dir.path().join("missing.json").display().to_string();
    let output = workflow(&["validate", &broken, &not_asl, &good, &missing]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].starts_with(&format!("{broken}: not valid JSON: EOF while parsing")),
        "{text}"
    );
    assert!(
        lines[1].starts_with(&format!("{not_asl}: not an ASL document")),
        "{text}"
    );
    assert_eq!(lines[2], format!("{good}: valid"));
    assert!(
        lines[3].starts_with(&format!("{missing}: cannot read the file")),
        "{text}"
    );
}

#[test]
fn validate_express_refuses_sync_integrations() {
    let dir = TempDir::new("express");
    let file = dir.file(
        "sync.json",
        r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "End": true}}}"#,
    );
    assert_eq!(workflow(&["validate", &file]).status.code(), Some(0));
    let output = workflow(&["validate", "--express", &file]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(stdout(&output)
        .contains("State 'T': Resource 'arn:aws:states:::ecs:runTask.sync' uses the .sync"));
}

#[test]
fn fmt_prints_checks_and_writes_the_canonical_form() {
    let dir = TempDir::new("fmt");
    let file = dir.file("ugly.json", VALID);
    let canonical = workflow_dsl::StateMachine::from_json(VALID)
        .unwrap()
        .to_pretty_json();

    let printed = workflow(&["fmt", &file]);
    assert_eq!(printed.status.code(), Some(0), "{printed:?}");
    assert_eq!(stdout(&printed), canonical);

    let check = workflow(&["fmt", "--check", &file]);
    assert_eq!(check.status.code(), Some(1), "{check:?}");
    assert!(stdout(&check).contains(&format!("not canonical: {file}")));
    assert!(stdout(&check).contains("+  \"StartAt\": \"A\","));

    let write = workflow(&["fmt", "--write", &file]);
    assert_eq!(write.status.code(), Some(0), "{write:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), canonical);
    assert_eq!(workflow(&["fmt", "--check", &file]).status.code(), Some(0));

    let broken = dir.file("broken.json", "nope");
    let output = workflow(&["fmt", &broken]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).starts_with(&format!("{broken}: not valid JSON")));
}

#[test]
fn emit_then_check_is_clean_and_check_shows_what_changed() {
    let dir = TempDir::new("check");
    let out = dir.path().display().to_string();

    // No subcommand means emit.
    let emit = workflow(&["--out", &out]);
    assert_eq!(emit.status.code(), Some(0), "{emit:?}");
    let asl = dir.path().join("order-processing.asl.json");
    let mmd = dir.path().join("order-processing.mmd");
    assert!(stdout(&emit).contains(&format!("wrote     {}", asl.display())));
    assert!(asl.exists() && mmd.exists());
    let again = workflow(&["emit", "--out", &out]);
    assert!(stdout(&again).contains(&format!("unchanged {}", asl.display())));

    let check = workflow(&["check", "--out", &out]);
    assert_eq!(check.status.code(), Some(0), "{check:?}");
    let files =
        2 * (workflow::project_workflows().len() + workflow::examples::example_workflows().len());
    assert!(stdout(&check).contains(&format!("is up to date ({files} files)")));

    // A stale file: a unified diff from the disk content to the emitted one.
    let original = std::fs::read_to_string(&asl).unwrap();
    std::fs::write(
        &asl,
        original.replace("\"Validate order\"", "\"Validate orderz\""),
    )
    .unwrap();
    let check = workflow(&["check", "--out", &out]);
    assert_eq!(check.status.code(), Some(1), "{check:?}");
    let text = stdout(&check);
    assert!(
        text.contains(&format!("stale: {}", asl.display())),
        "{text}"
    );
    assert!(
        text.contains("(on disk)") && text.contains("(emitted now)"),
        "{text}"
    );
    assert!(
        text.contains("-  \"StartAt\": \"Validate orderz\",")
            && text.contains("+  \"StartAt\": \"Validate order\","),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&check.stderr).contains("cargo run -p workflow"));

    // A missing file and an extra one.
    std::fs::write(&asl, &original).unwrap();
    std::fs::remove_file(&mmd).unwrap();
    let extra = dir.path().join("gone.asl.json");
    std::fs::write(&extra, "{}\n").unwrap();
    let check = workflow(&["check", "--out", &out]);
    assert_eq!(check.status.code(), Some(1), "{check:?}");
    let text = stdout(&check);
    assert!(
        text.contains(&format!("missing: {}", mmd.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!("extra: {}", extra.display())),
        "{text}"
    );

    // Emit repairs everything, removing the extra file.
    let emit = workflow(&["--out", &out]);
    assert!(stdout(&emit).contains(&format!("removed   {}", extra.display())));
    assert_eq!(workflow(&["check", "--out", &out]).status.code(), Some(0));
}

#[test]
fn check_fails_on_an_empty_output_directory() {
    let dir = TempDir::new("empty");
    let output = workflow(&["check", "--out", &dir.path().display().to_string()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("missing:"));
}

#[test]
fn the_repository_generated_directory_is_up_to_date() {
    let output = workflow(&["check"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "generated/ is stale; run `cargo run -p workflow`:\n{}",
        stdout(&output)
    );
}
