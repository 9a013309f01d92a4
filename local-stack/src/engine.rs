//! The local Step Functions endpoint: `workflow serve` (the Rust engine) as a child process,
//! with the state machine definitions and the environment of the Task functions.
//!
//! Contract of `workflow serve --port P --definition NAME=FILE ...`: it serves the Step Functions
//! API on 127.0.0.1:P, runs Task states through the `steps` handlers in-process, and prints the
//! created state machine ARNs as JSON on its first stdout line.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `workflow serve`.
pub struct Engine {
    pub child: Child,
    /// The first stdout line, parsed.
    pub announced: Value,
}

/// Starts `workflow serve` and waits for its first stdout line.
pub async fn start(
    workflow: &Path,
    port: u16,
    definitions: &[(String, PathBuf)],
    env: &[(String, String)],
    args: &[String],
    log: Option<&Path>,
) -> Result<Engine> {
    let mut cmd = Command::new(workflow);
    cmd.arg("serve")
        .arg("--port")
        .arg(port.to_string())
        .args(args);
    for (name, file) in definitions {
        cmd.arg("--definition")
            .arg(format!("{name}={}", file.display()));
    }
    cmd.env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    crate::emulator::die_with_parent_tokio(&mut cmd);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", workflow.display()))?;
    let stdout = child.stdout.take().context("stdout is piped")?;
    let stderr = child.stderr.take().context("stderr is piped")?;
    let mut stderr_lines = BufReader::new(stderr).lines();
    let mut stdout_lines = BufReader::new(stdout).lines();
    // Keep the child's stderr visible while waiting for the first stdout line.
    let (tail_tx, mut tail_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let sink = LogSink::open(log)?;
    let stderr_sink = sink.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr_lines.next_line().await {
            let _ = tail_tx.send(line.clone());
            stderr_sink.line(&line);
        }
    });
    let first = tokio::time::timeout(Duration::from_secs(120), stdout_lines.next_line()).await;
    let first = match first {
        Ok(Ok(Some(line))) => line,
        other => {
            let _ = child.start_kill();
            let status = child.wait().await.ok();
            let mut tail = Vec::new();
            while let Ok(line) = tail_rx.try_recv() {
                tail.push(line);
            }
            let why = match other {
                Err(_) => "printed nothing within 120 s".to_string(),
                _ => format!(
                    "exited ({})",
                    status.map_or("unknown".into(), |s| s.to_string())
                ),
            };
            bail!(
                "`{} serve` {why} instead of printing its state machine ARNs.\n{}",
                workflow.display(),
                tail.join("\n")
            );
        }
    };
    let announced: Value = serde_json::from_str(first.trim())
        .with_context(|| format!("`workflow serve`'s first stdout line is not JSON: {first:?}"))?;
    tokio::spawn(async move {
        while let Ok(Some(line)) = stdout_lines.next_line().await {
            sink.line(&line);
        }
    });
    // Wait until it accepts connections (it may announce before it listens).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if tokio::time::Instant::now() > deadline {
            bail!(
                "`workflow serve` announced its state machines but does not listen on port {port}"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Engine { child, announced })
}

/// Where the engine's output lines go: our stderr (prefixed) or a file.
#[derive(Clone)]
struct LogSink(Option<std::sync::Arc<std::sync::Mutex<std::fs::File>>>);

impl LogSink {
    fn open(path: Option<&Path>) -> Result<Self> {
        let Some(path) = path else {
            return Ok(LogSink(None));
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(LogSink(Some(std::sync::Arc::new(std::sync::Mutex::new(
            file,
        )))))
    }

    fn line(&self, line: &str) {
        match &self.0 {
            None => eprintln!("  engine | {line}"),
            Some(file) => {
                use std::io::Write;
                if let Ok(mut file) = file.lock() {
                    let _ = writeln!(file, "{line}");
                }
            }
        }
    }
}

/// The ARN of state machine `name` in `workflow serve`'s announcement, whatever its shape
/// (`{"NAME": "arn:..."}`, `[{"name": .., "stateMachineArn": ..}]`, `["arn:..."]`).
pub fn find_arn(announced: &Value, name: &str) -> Option<String> {
    let mut arns = Vec::new();
    collect_arns(announced, &mut arns);
    let suffix = format!(":{name}");
    arns.iter()
        .find(|a| a.ends_with(&suffix))
        .cloned()
        .or_else(|| (arns.len() == 1).then(|| arns[0].clone()))
}

fn collect_arns(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.starts_with("arn:") && s.contains(":stateMachine:") => {
            out.push(s.clone())
        }
        Value::Array(items) => items.iter().for_each(|v| collect_arns(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_arns(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn finds_the_arn_in_any_announcement_shape() {
        let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:shop-dev-order-processing";
        let other = "arn:aws:states:us-east-1:123456789012:stateMachine:hello";
        for announced in [
            json!({"shop-dev-order-processing": arn, "hello": other}),
            json!([{"name": "hello", "stateMachineArn": other}, {"stateMachineArn": arn}]),
            json!({"stateMachines": [other, arn]}),
            json!([arn]),
        ] {
            assert_eq!(
                find_arn(&announced, "shop-dev-order-processing").as_deref(),
                Some(arn),
                "{announced}"
            );
        }
        assert_eq!(find_arn(&json!({"a": "x"}), "x"), None);
    }
}
