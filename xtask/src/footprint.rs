//! `cargo xtask footprint`: size, start time and peak memory of every Lambda binary.
//!
//! Builds the `api` and `steps` binaries in release for the host (`--short`: measures the debug
//! binaries the tests built, without a build; the deployed arm64 sizes come from
//! `cargo xtask sam-build`), then starts each one as the
//! Lambda service would (`AWS_LAMBDA_RUNTIME_API` pointing at a stub of the Runtime API on
//! loopback) and measures the time from process start until its first
//! `GET /2018-06-01/runtime/invocation/next`, and its peak resident set (`VmHWM`) right then.
//! Runtime API: <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>; reserved
//! environment variables: <https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html>.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use local_stack::{process, workspace};

/// The crates whose `src/bin/*` are Lambda functions.
pub const CRATES: [&str; 2] = ["api", "steps"];
/// Targets: binary size, start time, peak resident memory.
pub const MAX_SIZE_MIB: f64 = 8.0;
pub const MAX_START_MS: f64 = 10.0;
pub const MAX_RSS_MB: f64 = 20.0;
/// Starts per binary; the median is reported.
const RUNS: usize = 5;
/// How long a binary may take to ask for its first event.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// The Runtime API path a function polls for its next event.
pub const NEXT_EVENT_PATH: &str = "/2018-06-01/runtime/invocation/next";

/// Which host build is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// `cargo build --release` (the profile `sam build` deploys): every target applies.
    Release,
    /// The tests' debug build (`--short`, CI): proves every binary starts and asks the Runtime
    /// API for an event; its figures are printed but not held to the targets (debug code starts
    /// several times slower, and its size says nothing about the deployed binary).
    Debug,
}

impl Build {
    fn dir(self) -> &'static str {
        match self {
            Build::Release => "release",
            Build::Debug => "debug",
        }
    }
}

/// One binary's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Footprint {
    pub binary: String,
    pub size_mib: f64,
    pub start_ms: f64,
    pub rss_mb: f64,
}

impl Footprint {
    /// True when every figure is within its target (a debug build is not held to them).
    pub fn within_targets(&self, build: Build) -> bool {
        build == Build::Debug
            || (self.size_mib <= MAX_SIZE_MIB
                && self.start_ms < MAX_START_MS
                && self.rss_mb < MAX_RSS_MB)
    }
}

/// Builds (unless `build` is [`Build::Debug`]), measures and prints the table; `Ok(false)` if a
/// binary misses a target.
pub fn run(root: &Path, build: Build) -> Result<bool> {
    process::install_signal_handlers();
    if build == Build::Debug {
        let results = measure_all(root, build)?;
        print!("{}", table(&results, build));
        return Ok(results.iter().all(|r| r.within_targets(build)));
    }
    let mut cargo = workspace::cargo();
    cargo
        .current_dir(root)
        .args(["build", "--release", "--bins"]);
    for krate in CRATES {
        cargo.args(["-p", krate]);
    }
    if !process::run(&mut cargo)? {
        bail!("the release build failed");
    }
    let results = measure_all(root, build)?;
    print!("{}", table(&results, build));
    Ok(results.iter().all(|r| r.within_targets(build)))
}

/// Measures every Lambda binary already built for the host (`<target>/release` or `/debug`).
pub fn measure_all(root: &Path, build: Build) -> Result<Vec<Footprint>> {
    let dir = workspace::target_dir(root).join(build.dir());
    let mut results = Vec::new();
    for binary in binaries(root)? {
        let path = dir.join(&binary);
        let figures =
            measure(&binary, &path).with_context(|| format!("measuring {}", path.display()))?;
        results.push(figures);
    }
    Ok(results)
}

/// The Lambda binaries: the file stems of `<crate>/src/bin/*.rs`, sorted.
pub fn binaries(root: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for krate in CRATES {
        let dir = root.join(krate).join("src").join("bin");
        for entry in std::fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "rs") {
                if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                    names.push(stem.to_string());
                }
            }
        }
    }
    names.sort();
    Ok(names)
}

/// The environment a function gets in Lambda (reserved variables, test credentials, and a
/// placeholder for every resource variable of the shop).
fn lambda_env(binary: &str, runtime_api: &str) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", binary.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_string()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{binary}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "footprint".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
        ("AWS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ("RUST_LOG", "info".to_string()),
    ];
    for (name, value) in [
        (shop_model::env::PRODUCTS_TABLE, "products"),
        (shop_model::env::ORDERS_TABLE, "orders"),
        (
            shop_model::env::ORDER_QUEUE_URL,
            "https://sqs.us-east-1.amazonaws.com/123456789012/orders",
        ),
        (
            shop_model::env::ORDER_TOPIC_ARN,
            "arn:aws:sns:us-east-1:123456789012:orders",
        ),
        (shop_model::env::IMAGES_BUCKET, "images"),
        (shop_model::env::USER_POOL_ID, "us-east-1_pool"),
        (shop_model::env::USER_POOL_CLIENT_ID, "client"),
        (
            shop_model::env::STATE_MACHINE_ARN,
            "arn:aws:states:us-east-1:123456789012:stateMachine:orders",
        ),
    ] {
        env.push((name, value.to_string()));
    }
    env
}

/// Median figures of `RUNS` starts of one binary.
pub fn measure(binary: &str, path: &Path) -> Result<Footprint> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("{} (not built?)", path.display()))?
        .len();
    let mut starts = Vec::new();
    let mut peaks = Vec::new();
    for _ in 0..RUNS {
        let (start, rss_kib) = start_once(binary, path)?;
        starts.push(start.as_secs_f64() * 1000.0);
        peaks.push(rss_kib as f64 * 1024.0 / 1_000_000.0);
    }
    Ok(Footprint {
        binary: binary.to_string(),
        size_mib: size as f64 / (1024.0 * 1024.0),
        start_ms: median(&mut starts),
        rss_mb: median(&mut peaks),
    })
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Starts the binary once against a fresh Runtime API stub; returns the time until its first
/// `next` request and its `VmHWM` (KiB) at that moment.
fn start_once(binary: &str, path: &Path) -> Result<(Duration, u64)> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding the Runtime API stub")?;
    let address = listener.local_addr()?.to_string();
    let (arrived, arrival) = mpsc::channel::<(Instant, TcpStream)>();
    // The stub answers nothing: the function stays parked in its first `next` call, as it
    // would while Lambda has no event for it, until the measurement is taken and the
    // connection (handed over with the arrival time) is dropped.
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let Ok(reader_stream) = stream.try_clone() else {
                continue;
            };
            let mut reader = BufReader::new(reader_stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_ok() && is_next_request(&line) {
                let _ = arrived.send((Instant::now(), stream));
                break;
            }
        }
    });
    let started = Instant::now();
    let mut child = Command::new(path)
        .envs(lambda_env(binary, &address))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", path.display()))?;
    let outcome = match arrival.recv_timeout(START_TIMEOUT) {
        Ok((at, _connection)) => {
            vm_hwm_kib(child.id()).map(|rss| (at.duration_since(started), rss))
        }
        Err(_) => Err(anyhow::anyhow!(
            "{binary} did not ask for an event within {START_TIMEOUT:?}"
        )),
    };
    stop(&mut child);
    outcome.map_err(|e| {
        let stderr = child
            .stderr
            .take()
            .map(|s| {
                BufReader::new(s)
                    .lines()
                    .map_while(Result::ok)
                    .take(5)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        e.context(format!("stderr of {binary}:\n{stderr}"))
    })
}

/// True for the request line of the Runtime API's `next` call.
pub fn is_next_request(request_line: &str) -> bool {
    let mut parts = request_line.split_whitespace();
    parts.next() == Some("GET") && parts.next() == Some(NEXT_EVENT_PATH)
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// `VmHWM` (peak resident set, KiB) of a process, from `/proc/<pid>/status`.
fn vm_hwm_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(PathBuf::from(format!("/proc/{pid}/status")))
        .context("reading /proc/<pid>/status (Linux only)")?;
    parse_vm_hwm(&status).context("no VmHWM line in /proc/<pid>/status")
}

/// The `VmHWM:` value (KiB) of a `/proc/<pid>/status` text.
pub fn parse_vm_hwm(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The figures as a text table with the targets and a mark on every miss.
pub fn table(results: &[Footprint], build: Build) -> String {
    let mark = |ok: bool| {
        if ok || build == Build::Debug {
            " "
        } else {
            "!"
        }
    };
    let mut out = format!(
        "{:<18} {:>10} {:>11} {:>13}\n",
        "binary", "size MiB", "start ms", "peak RSS MB"
    );
    out.push_str(&format!(
        "{:<18} {:>10} {:>11} {:>13}\n",
        "(target)",
        format!("<= {MAX_SIZE_MIB}"),
        format!("< {MAX_START_MS}"),
        format!("< {MAX_RSS_MB}")
    ));
    for r in results {
        out.push_str(&format!(
            "{:<18} {:>9.2}{} {:>10.1}{} {:>12.1}{}\n",
            r.binary,
            r.size_mib,
            mark(r.size_mib <= MAX_SIZE_MIB),
            r.start_ms,
            mark(r.start_ms < MAX_START_MS),
            r.rss_mb,
            mark(r.rss_mb < MAX_RSS_MB),
        ));
    }
    out.push_str(&format!(
        "({} host build for {}; medians of {RUNS} starts; ! = over target{})\n",
        build.dir(),
        std::env::consts::ARCH,
        if build == Build::Debug {
            "; a debug build is not held to the targets: `cargo xtask footprint` measures release, \
             `cargo xtask sam-build` checks the deployed arm64 sizes"
        } else {
            ""
        }
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_hwm() {
        let status =
            "Name:\tbootstrap\nVmPeak:\t  20000 kB\nVmHWM:\t    6512 kB\nVmRSS:\t 6000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(6512));
        assert_eq!(parse_vm_hwm("Name: x\n"), None);
    }

    #[test]
    fn recognises_the_next_event_request() {
        assert!(is_next_request(
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n"
        ));
        assert!(!is_next_request(
            "POST /2018-06-01/runtime/invocation/1/response HTTP/1.1\r\n"
        ));
        assert!(!is_next_request("GET / HTTP/1.1\r\n"));
    }

    #[test]
    fn lists_every_lambda_binary() {
        let names = binaries(&workspace::repo_root()).unwrap();
        for expected in ["order-entry", "process-payment", "order-starter"] {
            assert!(names.iter().any(|n| n == expected), "{names:?}");
        }
    }

    #[test]
    fn marks_misses_in_the_table() {
        let within = Footprint {
            binary: "a".into(),
            size_mib: 5.0,
            start_ms: 3.0,
            rss_mb: 9.0,
        };
        let over = Footprint {
            binary: "b".into(),
            size_mib: 9.0,
            start_ms: 3.0,
            rss_mb: 9.0,
        };
        assert!(within.within_targets(Build::Release));
        assert!(!over.within_targets(Build::Release));
        let text = table(&[within.clone(), over.clone()], Build::Release);
        let b_line = text.lines().find(|l| l.starts_with("b ")).unwrap();
        assert!(b_line.contains("9.00!"), "{text}");
        // A debug build is measured but not held to the release targets.
        let slow = Footprint {
            start_ms: 30.0,
            ..within
        };
        assert!(!slow.within_targets(Build::Release));
        assert!(slow.within_targets(Build::Debug) && over.within_targets(Build::Debug));
        let text = table(&[over, slow], Build::Debug);
        assert!(
            !text.lines().skip(2).take(2).any(|l| l.contains('!')),
            "{text}"
        );
    }
}
