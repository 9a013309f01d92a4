//! The moto server that stands in for AWS during tests: started on a free loopback port, stopped on drop.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::process;

/// moto's own server (`moto.server.main`) with a WSGI wrapper that handles one DynamoDB request
/// at a time (see [`Moto::start_on`]). Arguments as `moto_server`'s.
const SERIALIZED_DYNAMODB_SERVER: &str = r#"
import sys, threading
import moto.server as server
lock = threading.Lock()
class SerializedDynamoDB:
    def __init__(self, app):
        self.app = app
    def __getattr__(self, name):
        return getattr(self.app, name)
    def __call__(self, environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            with lock:
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)
original = server.DomainDispatcherApplication
server.DomainDispatcherApplication = lambda *a, **k: SerializedDynamoDB(original(*a, **k))
server.main(sys.argv[1:])
"#;

/// The SDK configuration of a client of the emulator at `endpoint`: its region and test
/// credentials (`client` names them in the SDK's logs), with the workspace's HTTPS client.
pub async fn sdk_config(endpoint: &str, client: &'static str) -> aws_config::SdkConfig {
    shop_model::aws::config_loader()
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, client,
        ))
        .load()
        .await
}

/// A running `moto_server`. Dropping it stops the server.
pub struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// Starts `moto_server -H 127.0.0.1 -p <free port>` directly (so the child is the server itself,
    /// not a shell), with its output in `log`, and waits until it answers HTTP.
    pub fn start(moto_server: &Path, log: &Path) -> Result<Self> {
        let mut last_error = None;
        // A free port found by binding port 0 may be taken again before moto binds it: retry.
        for _ in 0..3 {
            match Self::try_start(moto_server, log) {
                Ok(moto) => return Ok(moto),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.expect("at least one attempt"))
    }

    /// Starts moto on a given port (`cargo xtask dev`) with DynamoDB requests serialized:
    /// moto's TransactWriteItems snapshots whole tables and restores them when a transaction is
    /// cancelled, which undoes writes that other requests made meanwhile. DynamoDB transactions
    /// are atomic and isolated (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-isolation>),
    /// so one DynamoDB request at a time is the faithful local behaviour; other services (SQS
    /// long polls above all) still run concurrently.
    pub fn start_on(moto_server: &Path, log: &Path, port: u16) -> Result<Self> {
        let python = moto_server.with_file_name("python");
        let mut cmd = Command::new(python);
        cmd.args([
            "-c",
            SERIALIZED_DYNAMODB_SERVER,
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ]);
        Self::spawn(cmd, log, port)
    }

    fn try_start(moto_server: &Path, log: &Path) -> Result<Self> {
        let port = free_port()?;
        let mut cmd = Command::new(moto_server);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        Self::spawn(cmd, log, port)
    }

    fn spawn(mut cmd: Command, log: &Path, port: u16) -> Result<Self> {
        let moto_server = PathBuf::from(cmd.get_program());
        let log_file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        cmd.stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        die_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", moto_server.display()))?;
        process::register_emulator(Some(child.id()));
        let mut moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = moto.child.try_wait()? {
                process::register_emulator(None);
                let output = std::fs::read_to_string(log).unwrap_or_default();
                bail!("moto_server exited early ({status}):\n{output}");
            }
            if answers_http(port) {
                return Ok(moto);
            }
            if Instant::now() > deadline {
                bail!(
                    "moto_server did not answer on port {port} within 60 s (log: {})",
                    log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// True while the server process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The endpoint to put in `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the server (idempotent).
    pub fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        process::register_emulator(None);
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

fn answers_http(port: u16) -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = "GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 8];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

/// On Linux, asks the kernel to SIGTERM the server if xtask dies without cleaning up (even SIGKILL).
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    extern "C" {
        fn prctl(option: i32, ...) -> i32;
    }
    const PR_SET_PDEATHSIG: i32 = 1;
    const SIGTERM: i32 = 15;
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and only affects the new child.
    unsafe {
        cmd.pre_exec(|| {
            prctl(PR_SET_PDEATHSIG, SIGTERM as std::ffi::c_ulong);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

/// `die_with_parent` for a tokio command.
#[cfg(target_os = "linux")]
pub fn die_with_parent_tokio(cmd: &mut tokio::process::Command) {
    extern "C" {
        fn prctl(option: i32, ...) -> i32;
    }
    const PR_SET_PDEATHSIG: i32 = 1;
    const SIGTERM: i32 = 15;
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and only affects the new child.
    unsafe {
        cmd.pre_exec(|| {
            prctl(PR_SET_PDEATHSIG, SIGTERM as std::ffi::c_ulong);
            Ok(())
        });
    }
}

/// [`die_with_parent`] for a tokio command (a no-op off Linux).
#[cfg(not(target_os = "linux"))]
pub fn die_with_parent_tokio(_cmd: &mut tokio::process::Command) {}
