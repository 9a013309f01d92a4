//! `cargo xtask test`: the whole test suite (against one moto server) and the static checks, with a summary.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::stack::DevStackProcess;
use crate::tools;
use local_stack::emulator::Moto;
use local_stack::process::{self, Stream};
use local_stack::template;
use local_stack::workspace::{self, cargo};

/// What `cargo xtask test` runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only the nextest run: no doctests, no linters.
    pub quick: bool,
    /// Extra arguments for `cargo nextest run` (a filter, `-p crate`, ...).
    pub nextest_args: Vec<String>,
}

/// Test counts picked out of the runners' closing lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl Counts {
    /// Reads nextest's closing line: `Summary [ 1.2s] 5 tests run: 4 passed, 1 failed, 2 skipped`.
    pub fn scan_nextest(&mut self, line: &str) {
        let line = strip_ansi(line);
        let line = line.trim();
        if !line.starts_with("Summary") {
            return;
        }
        if let Some((_, tail)) = line.split_once("run:") {
            self.add_segments(tail.split(','));
        }
    }

    /// Reads libtest's lines: `test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; ...`.
    pub fn scan_libtest(&mut self, line: &str) {
        let line = strip_ansi(line);
        if let Some(rest) = line.trim().strip_prefix("test result:") {
            if let Some((_, tail)) = rest.split_once('.') {
                self.add_segments(tail.split(';'));
            }
        }
    }

    fn add_segments<'a>(&mut self, segments: impl Iterator<Item = &'a str>) {
        for segment in segments {
            let segment = segment.trim();
            let Some((number, what)) = segment.split_once(' ') else {
                continue;
            };
            let Ok(n) = number.parse::<u64>() else {
                continue;
            };
            if what.starts_with("passed") {
                self.passed += n;
            } else if what.starts_with("failed") || what.starts_with("timed out") {
                self.failed += n;
            } else if what.starts_with("skipped") || what.starts_with("ignored") {
                self.skipped += n;
            }
        }
    }
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI sequence: ESC [ ... final byte in @..~
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) && c != '[' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

enum Outcome {
    Passed,
    Failed,
    Skipped(String),
}

/// The outcome of every step and the wall time since the step before it (its build included),
/// printed at the end: the CI has a time limit, and this says where the time goes.
struct Report {
    steps: Vec<(String, Outcome, Duration)>,
    started: Instant,
    last: Instant,
}

impl Report {
    fn new() -> Self {
        let now = Instant::now();
        Report {
            steps: Vec::new(),
            started: now,
            last: now,
        }
    }

    fn push(&mut self, name: String, outcome: Outcome) {
        let now = Instant::now();
        let took = now - self.last;
        self.last = now;
        eprintln!("xtask: {name}: {} ({})", outcome.word(), minutes(took));
        self.steps.push((name, outcome, took));
    }

    fn record(&mut self, name: impl Into<String>, ok: bool) {
        let name = name.into();
        if !ok {
            eprintln!("xtask: FAILED: {name}");
        }
        self.push(name, if ok { Outcome::Passed } else { Outcome::Failed });
    }

    fn skip(&mut self, name: impl Into<String>, why: impl Into<String>) {
        let (name, why) = (name.into(), why.into());
        eprintln!("xtask: skipped {name}: {why}");
        self.push(name, Outcome::Skipped(why));
    }

    fn failed(&self) -> Vec<&str> {
        self.steps
            .iter()
            .filter(|(_, o, _)| matches!(o, Outcome::Failed))
            .map(|(n, _, _)| n.as_str())
            .collect()
    }

    fn print(&self, counts: &Counts) {
        println!();
        println!("xtask test summary:");
        for (name, outcome, took) in &self.steps {
            let took = minutes(*took);
            match outcome {
                Outcome::Skipped(why) => println!("  skipped  {took:>8}  {name} ({why})"),
                _ => println!("  {:<7}  {took:>8}  {name}", outcome.word()),
            }
        }
        let failed = self.failed();
        let total = minutes(self.started.elapsed());
        if failed.is_empty() {
            println!("xtask test: PASSED ({} steps, {total})", self.steps.len());
        } else {
            println!("xtask test: FAILED ({}; {total})", failed.join(", "));
        }
        println!(
            "tests: {} passed, {} failed, {} skipped",
            counts.passed, counts.failed, counts.skipped
        );
    }
}

impl Outcome {
    fn word(&self) -> &'static str {
        match self {
            Outcome::Passed => "ok",
            Outcome::Failed => "FAILED",
            Outcome::Skipped(_) => "skipped",
        }
    }
}

/// A duration as `12m05s`.
fn minutes(took: Duration) -> String {
    let secs = took.as_secs();
    format!("{}m{:02}s", secs / 60, secs % 60)
}

/// Environment every test gets: the emulator endpoint, dummy credentials, and the tool paths.
fn test_env(root: &Path, endpoint: Option<&str>) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("SAM_CLI_TELEMETRY", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if let Some(endpoint) = endpoint {
        env.push(("AWS_ENDPOINT_URL".into(), endpoint.into()));
        env.push(("MOTO_ENDPOINT".into(), endpoint.into()));
    }
    let cargo_tools = tools::cargo_tools_bin(root);
    if cargo_tools.join("cargo-nextest").exists() {
        env.push((
            "PATH".into(),
            tools::path_with(&cargo_tools)
                .to_string_lossy()
                .into_owned(),
        ));
    }
    let linters = tools::linters_in(root);
    for (name, path) in [
        // The engine's client tests (asl-engine/tests/aws_clients.rs).
        ("BOTO3_PYTHON", local_stack::tools::boto3_python(root)),
        ("AWS_CLI", root.join(".tools/aws-cli-venv/bin/aws")),
        ("ASL_VALIDATOR", tools::asl_validator_in(root)),
        ("CFN_LINT", linters.cfn_lint),
        ("SAM", linters.sam),
    ] {
        if path.exists() {
            env.push((name.into(), path.to_string_lossy().into_owned()));
        }
    }
    env
}

fn command(program: impl AsRef<std::ffi::OsStr>, root: &Path, env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(root)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .envs(env.iter().map(|(k, v)| (k, v)));
    cmd
}

fn cargo_command(root: &Path, env: &[(String, String)]) -> Command {
    let mut cmd = cargo();
    cmd.current_dir(root)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .envs(env.iter().map(|(k, v)| (k, v)));
    cmd
}

/// Runs `cargo xtask test`; `Ok(true)` if every step passed.
pub fn test(root: &Path, options: &Options) -> Result<bool> {
    process::install_signal_handlers();
    let mut report = Report::new();
    tools::ensure_nextest(root)?;
    let moto_server = tools::ensure_moto(root)?;
    local_stack::tools::ensure_aws_cli(root)?;
    if !options.quick {
        tools::ensure_linters(root)?;
        tools::ensure_scanners(root)?;
        tools::ensure_asl_validator(root)?;
    }
    report.record("tools under .tools/ (installed on first use)", true);
    warn_if_disk_is_short(root, options.quick);
    let work_dir = root.join("target/xtask");
    std::fs::create_dir_all(&work_dir)?;

    let mut counts = Counts::default();
    let color = if std::io::stderr().is_terminal() {
        "always"
    } else {
        "never"
    };
    {
        let mut moto = Moto::start(&moto_server, &work_dir.join("moto.log"))?;
        let endpoint = moto.endpoint();
        eprintln!("xtask: moto server at {endpoint} (log: target/xtask/moto.log)");
        let env = test_env(root, Some(&endpoint));
        // `-p crate` in the extra arguments narrows the run; otherwise the whole workspace,
        // in two runs: every crate but xtask, then xtask (its end-to-end tests included)
        // against a local stack started for them.
        let picks_packages = options
            .nextest_args
            .iter()
            .any(|a| a.starts_with("--package") || (a.starts_with("-p") && !a.starts_with("--")));
        let picks_xtask = options
            .nextest_args
            .iter()
            .any(|a| a == "xtask" || a.ends_with("=xtask") || a == "-pxtask");
        let nextest = |extra: &[&str], env: &[(String, String)], counts: &mut Counts| {
            process::run_scanned(
                cargo_command(root, env)
                    .args(["nextest", "run"])
                    .args(extra)
                    .args(["--all-targets", "--no-fail-fast", "--color", color])
                    .args(&options.nextest_args),
                Stream::Stderr,
                |line| counts.scan_nextest(line),
            )
        };
        if !picks_packages {
            let ok = nextest(&["--workspace", "--exclude", "xtask"], &env, &mut counts)?;
            report.record("tests (cargo nextest run --workspace --exclude xtask)", ok);
        }
        if !picks_packages || picks_xtask {
            let mut stack = DevStackProcess::start(
                root,
                &work_dir.join("e2e-stack"),
                &work_dir.join("e2e-stack.log"),
                "the end-to-end tests",
            )?;
            let mut e2e_env = env.clone();
            let name = if picks_packages {
                "tests with the dev stack (cargo nextest run, E2E_OUTPUTS)"
            } else {
                "xtask tests incl. end-to-end (cargo nextest run -p xtask, E2E_OUTPUTS)"
            };
            let mut outputs_path = None;
            match stack.wait_ready() {
                Ok(outputs) => {
                    e2e_env.push(("E2E_OUTPUTS".into(), outputs.to_string_lossy().into_owned()));
                    outputs_path = Some(outputs);
                }
                Err(error) => {
                    // The end-to-end tests then fail, each saying E2E_OUTPUTS is not set.
                    eprintln!(
                        "xtask: the dev stack for the end-to-end tests did not start: {error:#}"
                    );
                    report.record(
                        "dev stack for the end-to-end tests (cargo xtask dev)",
                        false,
                    );
                }
            }
            let scope: &[&str] = if picks_packages {
                &[]
            } else {
                &["-p", "xtask"]
            };
            let ok = nextest(scope, &e2e_env, &mut counts)?;
            report.record(name, ok);
            if !options.quick {
                // The smoke test a deployment runs against its stack, here against the local one,
                // so that it cannot rot.
                if let Some(outputs) = &outputs_path {
                    let ok = crate::smoke::run(&crate::smoke::Options {
                        outputs: outputs.clone(),
                    })
                    .unwrap_or_else(|error| {
                        eprintln!("xtask: smoke: {error:#}");
                        false
                    });
                    report.record("smoke test against the local stack (cargo xtask smoke)", ok);
                }
            }
            stack.stop();
        } else {
            let ok = nextest(&[], &env, &mut counts)?;
            report.record("tests (cargo nextest run)", ok);
        }
        if !options.quick {
            // nextest does not run doctests: https://nexte.st/docs/running/#doctests
            let ok = process::run_scanned(
                cargo_command(root, &env).args(["test", "--workspace", "--doc", "--color", color]),
                Stream::Stdout,
                |line| counts.scan_libtest(line),
            )?;
            report.record("doctests (cargo test --workspace --doc)", ok);
        }
        moto.stop();
    }
    if !options.quick {
        stress_checks(root, &mut report);
        static_checks(root, &work_dir, &mut report)?;
    }
    report.print(&counts);
    Ok(report.failed().is_empty())
}

/// The short forms of the stress commands, each on a dev stack of its own.
fn stress_checks(root: &Path, report: &mut Report) {
    let mut record = |name: &str, result: Result<bool>| {
        let ok = result.unwrap_or_else(|error| {
            eprintln!("xtask: {name}: {error:#}");
            false
        });
        report.record(name, ok);
    };
    record(
        "load --short (fixed-rate orders and reads: no 5xx, zero lost/duplicated/oversold)",
        crate::load::run(root, &crate::load::Options::short()),
    );
    record(
        "chaos --short (outage, step faults, engine kill -9, poison: zero lost/duplicated/oversold)",
        crate::chaos::run(root, &crate::chaos::Options::short()),
    );
}

fn static_checks(root: &Path, work_dir: &Path, report: &mut Report) -> Result<()> {
    let env = test_env(root, None);
    let ok = process::run(cargo_command(root, &env).args(["fmt", "--all", "--", "--check"]))?;
    report.record("cargo fmt --all -- --check", ok);
    let ok = process::run(cargo_command(root, &env).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    report.record("cargo clippy --workspace --all-targets -- -D warnings", ok);
    // The engine's interpreter core stands alone: no AWS SDK, no HTTP server (ARCHITECTURE.md).
    let ok = process::run(cargo_command(root, &env).args([
        "clippy",
        "-p",
        "asl-engine",
        "--no-default-features",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    report.record(
        "cargo clippy -p asl-engine --no-default-features (the core without SDK nor server)",
        ok,
    );
    let ok = process::run(
        cargo_command(root, &env)
            .env("RUSTDOCFLAGS", "-D warnings")
            .args(["doc", "--no-deps", "--workspace"]),
    )?;
    report.record("cargo doc --no-deps --workspace (no warnings)", ok);
    // Every crate without `publish = false`: the library crates (workflow-dsl, workflow-lambda,
    // asl-engine), packaged and built as crates.io would, each against the others' packages,
    // from sources and builds of this run only ([`clear_earlier_packages`]).
    let verify_dir = clear_earlier_packages(root)?;
    let ok = process::run(
        cargo_command(root, &env)
            .args(["publish", "--workspace", "--dry-run", "--allow-dirty"])
            .arg("--target-dir")
            .arg(&verify_dir),
    )?;
    report.record(
        "cargo publish --workspace --dry-run (the library crates)",
        ok,
    );
    // The dry run's builds (2.4 GiB) serve nothing after it: the next run empties them anyway.
    if let Err(error) = std::fs::remove_dir_all(&verify_dir) {
        eprintln!("xtask: could not remove {}: {error}", verify_dir.display());
    }

    let mut asl_files = workspace::generated_asl_files(root)?;
    // The library's examples (generated/examples/) are checked like the project's workflows.
    asl_files.extend(example_asl_files(root)?);
    if asl_files.is_empty() {
        report.skip("workflow check", "no generated/*.asl.json yet");
        report.skip("asl-validator", "no generated/*.asl.json yet");
    } else {
        let ok = process::run(
            cargo_command(root, &env).args(["run", "--quiet", "-p", "workflow", "--", "check"]),
        )?;
        report.record("generated/ up to date (cargo run -p workflow -- check)", ok);
        let ok = process::run(
            cargo_command(root, &env)
                .args(["run", "--quiet", "-p", "workflow", "--", "validate"])
                .args(&asl_files),
        )?;
        report.record(
            format!(
                "workflow validate ({} generated ASL files)",
                asl_files.len()
            ),
            ok,
        );
        let validator = tools::asl_validator_in(root);
        let mut all_ok = true;
        for file in &asl_files {
            let substituted = substitute_placeholders(file, &work_dir.join("asl"))?;
            let ok = process::run(
                command(&validator, root, &env)
                    .arg("--json-path")
                    .arg(&substituted),
            )?;
            if !ok {
                eprintln!("xtask: asl-validator rejects {}", file.display());
            }
            all_ok &= ok;
        }
        report.record(
            format!(
                "asl-validator ({} generated ASL files, examples included)",
                asl_files.len()
            ),
            all_ok,
        );
    }

    let template = root.join("template.yaml");
    if template.exists() {
        let linters = tools::linters_in(root);
        let ok = process::run(command(&linters.cfn_lint, root, &env).arg("template.yaml"))?;
        report.record("cfn-lint template.yaml", ok);
        let ok = process::run(command(&linters.sam, root, &env).args([
            "validate",
            "--lint",
            "--template-file",
            "template.yaml",
        ]))?;
        report.record("sam validate --lint", ok);
        // Without --lint, `sam validate` runs the SAM transform itself (offline), after
        // expanding the template's Fn::ForEach loops (AWS::LanguageExtensions).
        let ok = process::run(command(&linters.sam, root, &env).args([
            "validate",
            "--language-extensions",
            "--template-file",
            "template.yaml",
        ]))?;
        report.record("sam validate --language-extensions", ok);
        let ok = process::run(
            command(&linters.cfn_lint, root, &env).arg("deploy/github-oidc-role.yaml"),
        )?;
        report.record("cfn-lint deploy/github-oidc-role.yaml", ok);
        let ok = crate::sam_build::run(root, &work_dir.join("sam-build"))?;
        report.record(
            "sam build (cargo-lambda, arm64): a bootstrap per function, each <= 8 MiB",
            ok,
        );
        let ok = crate::footprint::run(root, crate::footprint::Build::Debug)?;
        report.record(
            "footprint --short (every Lambda binary starts and asks the Runtime API for an event)",
            ok,
        );
    } else {
        report.skip("cfn-lint / sam validate", "no template.yaml");
    }

    for (name, ok) in scans(root, work_dir)? {
        report.record(name, ok);
    }
    Ok(())
}

/// `cargo xtask scan`: the offline security and workflow checks of `cargo xtask test` alone
/// (checkov, actionlint, zizmor), installing them on first use; `Ok(true)` if all pass.
pub fn scan(root: &Path) -> Result<bool> {
    tools::ensure_scanners(root)?;
    let work_dir = root.join("target/xtask");
    std::fs::create_dir_all(&work_dir)?;
    let results = scans(root, &work_dir)?;
    println!();
    for (name, ok) in &results {
        println!("  {}  {name}", if *ok { "ok    " } else { "FAILED" });
    }
    Ok(results.iter().all(|(_, ok)| *ok))
}

/// checkov on the templates, then the CI/CD workflows offline: actionlint (with shellcheck from
/// the same venv on PATH) and zizmor's offline audits.
fn scans(root: &Path, work_dir: &Path) -> Result<Vec<(&'static str, bool)>> {
    let env = test_env(root, None);
    let mut results = Vec::new();
    if root.join("template.yaml").exists() {
        results.push((
            "checkov (template.yaml with Fn::ForEach expanded, deploy/github-oidc-role.yaml): no unskipped finding",
            checkov(root, work_dir, &env)?,
        ));
    }
    if root.join(".github/workflows").is_dir() {
        let scanners = tools::scanners_in(root);
        let path = tools::path_with(&scanners.bin);
        let ok = process::run(command(&scanners.actionlint, root, &env).env("PATH", &path))?;
        results.push(("actionlint (.github/workflows, with shellcheck)", ok));
        let ok = process::run(command(&scanners.zizmor, root, &env).args([
            "--offline",
            "--no-progress",
            ".github/workflows",
        ]))?;
        results.push(("zizmor --offline .github/workflows", ok));
    }
    Ok(results)
}

/// checkov on the templates, failing on any finding not skipped with a reason in the resource's
/// `Metadata: checkov: skip:` entries. checkov reads SAM templates with its `cloudformation`
/// framework (its `serverless` one is the Serverless Framework's serverless.yml) but does not
/// expand `Fn::ForEach`, so it reads template.yaml as local-stack loads it (loops expanded, see
/// [`template::expand_for_each`]), written as JSON to `target/xtask/template.expanded.json`.
/// `--skip-download`: offline, no Prisma Cloud guidelines.
fn checkov(root: &Path, work_dir: &Path, env: &[(String, String)]) -> Result<bool> {
    let expanded = work_dir.join("template.expanded.json");
    let template = template::load(&root.join("template.yaml"))?;
    std::fs::write(&expanded, serde_json::to_string_pretty(&template)?)
        .with_context(|| format!("writing {}", expanded.display()))?;
    let scanners = tools::scanners_in(root);
    process::run(
        command(&scanners.checkov, root, env)
            .arg("--file")
            .arg(&expanded)
            .args(["--file", "deploy/github-oidc-role.yaml"])
            .args(["--framework", "cloudformation", "--skip-download"])
            .args(["--compact", "--quiet"]),
    )
}

/// Writes a copy of an ASL file whose `${Name}` placeholders (filled by CloudFormation's
/// `DefinitionSubstitutions` at deploy time) are replaced by example ARNs, so asl-validator can
/// check the `Resource` ARNs too.
fn substitute_placeholders(file: &Path, out_dir: &Path) -> Result<PathBuf> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let document: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
    let mut substituted = text;
    for name in template::placeholders(&document) {
        let value = if name.ends_with("FunctionArn") {
            format!("arn:aws:lambda:us-east-1:123456789012:function:{name}")
        } else if name.ends_with("TopicArn") {
            format!("arn:aws:sns:us-east-1:123456789012:{name}")
        } else {
            name.clone()
        };
        substituted = substituted.replace(&format!("${{{name}}}"), &value);
    }
    std::fs::create_dir_all(out_dir)?;
    let out = out_dir.join(file.file_name().expect("a file name"));
    std::fs::write(&out, substituted)?;
    Ok(out)
}

/// What a run from a fresh clone leaves on disk at its peak, in GiB with a margin, tools under
/// `.tools/` included: (full run, `--quick`). Measured on 2026-12-07: a full run as `.ci/run` builds
/// it (no incremental caches, line-table debug information) peaked at 9.1 GiB, at the end of `sam
/// build`, and took 7.2 GiB by the end of its tests; with cargo's defaults a full run left 18.7 GiB
/// (the `--quick` figure there is scaled from the full one, not measured).
const DISK_GIB_LEAN: (u64, u64) = (11, 9);
const DISK_GIB_DEFAULT: (u64, u64) = (20, 15);

/// Says so up front when the disk under the target directory has less free space than a run
/// takes: a run that fills the disk fails a quarter of an hour in, at whichever step is building,
/// with "No space left on device".
fn warn_if_disk_is_short(root: &Path, quick: bool) {
    let target = workspace::target_dir(root);
    let existing = target.ancestors().find(|dir| dir.exists()).unwrap_or(root);
    let Some(free_kib) = Command::new("df")
        .arg("-Pk")
        .arg(existing)
        .output()
        .ok()
        .and_then(|out| available_kib(&String::from_utf8_lossy(&out.stdout)))
    else {
        return;
    };
    let lean = std::env::var("CARGO_INCREMENTAL").is_ok_and(|v| v == "0");
    let (full, quick_run) = if lean {
        DISK_GIB_LEAN
    } else {
        DISK_GIB_DEFAULT
    };
    let needed_gib = if quick { quick_run } else { full };
    let free_gib = free_kib as f64 / (1024.0 * 1024.0);
    if free_gib < needed_gib as f64 {
        let lean_hint = if lean {
            ""
        } else {
            ", or build as `.ci/run` does (CARGO_INCREMENTAL=0 \
             CARGO_PROFILE_DEV_DEBUG=line-tables-only: about half the space)"
        };
        eprintln!(
            "xtask: warning: {free_gib:.1} GiB free under {}; a {} run from a fresh clone takes \
             about {needed_gib} GiB (less where target/ already holds its builds). Free some \
             space, set CARGO_TARGET_DIR to a larger disk{lean_hint}.",
            existing.display(),
            if quick { "--quick" } else { "full" },
        );
    }
}

/// The "Available" column (KiB) of `df -Pk`'s one filesystem line (POSIX output format).
fn available_kib(df_output: &str) -> Option<u64> {
    df_output
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

/// Makes `cargo publish --workspace --dry-run` verify this run's packages: returns the target
/// directory it should use, emptied.
///
/// The dry run verifies each crate against the other workspace crates' packages, served from a
/// local registry under the target directory. Cargo treats a registry's packages as immutable: it
/// reuses a package of the same name and version that an earlier run from the same place extracted
/// under `$CARGO_HOME/registry/src/-<hash>/`, and a build of it left in the target directory, so
/// `asl-engine` was verified against an earlier `workflow-dsl` (a clone checked out where the last
/// one was). Both are removed: the extracted packages of the workspace's publishable crates, and
/// the dry run's own target directory.
fn clear_earlier_packages(root: &Path) -> Result<PathBuf> {
    let verify_dir = workspace::target_dir(root).join("publish-verify");
    if verify_dir.exists() {
        std::fs::remove_dir_all(&verify_dir)
            .with_context(|| format!("removing {}", verify_dir.display()))?;
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let Some(sources) = cargo_home.map(|home| home.join("registry").join("src")) else {
        return Ok(verify_dir);
    };
    let packaged: Vec<String> = workspace::packages(root)?
        .into_values()
        .filter(|p| p.publishable)
        .map(|p| format!("{}-{}", p.name, p.version))
        .collect();
    // crates.io's sources are under `index.crates.io-<hash>`; the local registries cargo makes
    // for packaging have no name: `-<hash>`.
    for registry in std::fs::read_dir(&sources).into_iter().flatten().flatten() {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for package in &packaged {
            let earlier = registry.path().join(package);
            if earlier.is_dir() {
                std::fs::remove_dir_all(&earlier)
                    .with_context(|| format!("removing {}", earlier.display()))?;
            }
        }
    }
    Ok(verify_dir)
}

/// The example workflows' ASL files (`generated/examples/*.asl.json`), sorted.
fn example_asl_files(root: &Path) -> Result<Vec<PathBuf>> {
    let dir = root.join("generated/examples");
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".asl.json"))
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_available_space_from_df() {
        let out = "Filesystem     1024-blocks     Used Available Capacity Mounted on\n\
                   /dev/vda         263174212 80654012  16442556      84% /\n";
        assert_eq!(available_kib(out), Some(16_442_556));
        assert_eq!(
            available_kib("Filesystem 1024-blocks Used Available\n"),
            None
        );
        assert_eq!(available_kib(""), None);
    }

    #[test]
    fn reads_nextest_summary() {
        let mut counts = Counts::default();
        counts
            .scan_nextest("     Summary [   0.006s] 3 tests run: 2 passed, 1 failed, 4 skipped\n");
        counts.scan_nextest("        PASS [   0.003s] shop-model tests::x\n");
        assert_eq!(
            counts,
            Counts {
                passed: 2,
                failed: 1,
                skipped: 4
            }
        );
        counts.scan_nextest(
            "\u{1b}[32;1m     Summary\u{1b}[0m [ 1.0s] 1 test run: 1 passed (1 slow), 0 skipped",
        );
        assert_eq!(counts.passed, 3);
    }

    #[test]
    fn reads_libtest_results() {
        let mut counts = Counts::default();
        counts.scan_libtest("test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s");
        counts.scan_libtest(
            "test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out",
        );
        assert_eq!(
            counts,
            Counts {
                passed: 4,
                failed: 2,
                skipped: 1
            }
        );
    }
}
