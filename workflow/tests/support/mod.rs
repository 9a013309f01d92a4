//! Shared helpers of the `workflow serve` binary tests: start the real binary on a free port,
//! read its first stdout line, point `aws-sdk-sfn` at it, and plain HTTP for the `/_local` routes.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use asl_engine::client::local_client;
use aws_sdk_sfn::config::{Credentials, Region};
use aws_sdk_sfn::Client;
use serde_json::Value;

/// A running `workflow serve`; killed (SIGKILL) when dropped.
pub struct Serve {
    pub child: Child,
    pub endpoint: String,
    /// The first stdout line.
    pub first: Value,
}

impl Serve {
    /// Starts `workflow serve --port 0 <args>` and waits for its first line.
    pub fn start(args: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_workflow"))
            .args(["serve", "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("workflow serve starts");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let first: Value = serde_json::from_str(&first)
            .unwrap_or_else(|e| panic!("the first line is JSON ({e}): {first:?}"));
        let endpoint = first["endpoint"].as_str().unwrap().to_owned();
        Serve {
            child,
            endpoint,
            first,
        }
    }

    pub fn machine_arn(&self, name: &str) -> String {
        self.first["stateMachines"][name]
            .as_str()
            .unwrap_or_else(|| panic!("no machine {name} in {}", self.first))
            .to_owned()
    }

    /// An `aws-sdk-sfn` client on the endpoint (HTTP client from `shop_model::aws`, the
    /// workspace's one), built by `local_client`.
    pub async fn client(&self) -> Client {
        let sdk = shop_model::aws::config_loader()
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(&self.endpoint)
            .load()
            .await;
        local_client(aws_sdk_sfn::config::Builder::from(&sdk), &self.endpoint)
    }

    /// SIGKILL (`Child::kill` on Unix), and reaps the process.
    pub fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// One plain HTTP/1.1 request: (status, JSON body or Null).
    pub fn http(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let mut stream = TcpStream::connect(self.endpoint.trim_start_matches("http://")).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response[9..12].parse().unwrap();
        let json = response.split("\r\n\r\n").nth(1).unwrap_or("");
        (status, serde_json::from_str(json).unwrap_or(Value::Null))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("workflow-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Polls DescribeExecution until the execution is not RUNNING (at most `secs` seconds).
pub async fn wait_done(
    c: &Client,
    arn: &str,
    secs: u64,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    asl_engine::client::wait_for_end(c, arn, Duration::from_secs(secs))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The execution's history events as (type, details JSON).
pub async fn history(c: &Client, arn: &str) -> Vec<aws_sdk_sfn::types::HistoryEvent> {
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .get_execution_history()
            .execution_arn(arn)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        events.extend(page.events);
        token = page.next_token;
        if token.is_none() {
            return events;
        }
    }
}
