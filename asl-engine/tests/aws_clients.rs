//! The Step Functions endpoint driven by the clients people use besides aws-sdk-sfn: boto3
//! (`tests/clients/scenarios.py`: a callback round trip through SQS, an activity worker, versions
//! and an alias with routing, a redrive) and the AWS CLI. Run through `cargo xtask test`, which
//! installs them under `.tools/` and starts the emulator the SQS integration sends to
//! (`BOTO3_PYTHON`, `AWS_CLI`, `AWS_ENDPOINT_URL`).

use std::path::PathBuf;
use std::process::Command;

use asl_engine::aws::AwsIntegrations;
use asl_engine::server::ServerConfig;
use asl_engine::TaskRegistry;
use serde_json::Value;

mod support;
use support::serve_on_loopback;

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run through `cargo xtask test`, which installs the clients and starts the emulator")
    })
}

/// The endpoint with the AWS integrations (SQS on the emulator), on a free port.
async fn start_engine() -> String {
    let conf = shop_model::aws::sdk_config().await;
    let mut registry = TaskRegistry::new();
    AwsIntegrations::from_conf(&conf).register(&mut registry);
    let endpoint = serve_on_loopback(registry, ServerConfig::default()).await;
    endpoint
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_runs_callbacks_activities_aliases_and_redrives() {
    let python = required("BOTO3_PYTHON");
    let emulator = required("AWS_ENDPOINT_URL");
    let engine = start_engine().await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/scenarios.py");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(&engine)
            .arg(&emulator)
            .output()
            .expect("running the boto3 scenarios")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "boto3 scenarios failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    for scenario in [
        "sqs_callback",
        "activity_worker",
        "versions_and_alias",
        "redrive",
    ] {
        assert_eq!(report["results"][scenario], "ok", "{report}");
    }
}

/// Runs `aws --endpoint-url <engine> --region eu-central-1 stepfunctions <args>`; (exit code,
/// stdout as JSON or Null, stderr).
fn aws(cli: &str, engine: &str, args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(cli)
        .args([
            "--endpoint-url",
            engine,
            "--region",
            "eu-central-1",
            "--output",
            "json",
        ])
        .arg("stepfunctions")
        .args(args)
        .output()
        .expect("running the AWS CLI");
    let stdout = String::from_utf8_lossy(&out.stdout);
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_deploys_runs_tags_and_publishes() {
    let cli = required("AWS_CLI");
    let engine = start_engine().await;
    tokio::task::spawn_blocking(move || {
        let name = format!("cli-{}", uuid::Uuid::new_v4().simple());
        let definition =
            r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"via":"cli"},"End":true}}}"#;
        let (code, created, err) = aws(
            &cli,
            &engine,
            &[
                "create-state-machine",
                "--name",
                &name,
                "--definition",
                definition,
                "--role-arn",
                "arn:aws:iam::123456789012:role/cli",
                "--tags",
                "key=team,value=shop",
            ],
        );
        assert_eq!(code, 0, "{err}");
        let arn = created["stateMachineArn"].as_str().unwrap().to_string();
        assert!(arn.starts_with("arn:aws:states:eu-central-1:"), "{arn}");
        let (code, started, err) = aws(
            &cli,
            &engine,
            &["start-execution", "--state-machine-arn", &arn],
        );
        assert_eq!(code, 0, "{err}");
        let execution = started["executionArn"].as_str().unwrap().to_string();
        let mut status = String::new();
        for _ in 0..100 {
            let (_, described, _) = aws(
                &cli,
                &engine,
                &["describe-execution", "--execution-arn", &execution],
            );
            status = described["status"].as_str().unwrap_or_default().to_string();
            if status != "RUNNING" {
                assert_eq!(described["output"], r#"{"via":"cli"}"#);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(status, "SUCCEEDED");
        let (code, tags, err) = aws(
            &cli,
            &engine,
            &["list-tags-for-resource", "--resource-arn", &arn],
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(tags["tags"][0]["key"], "team");
        let (code, published, err) = aws(
            &cli,
            &engine,
            &["publish-state-machine-version", "--state-machine-arn", &arn],
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(published["stateMachineVersionArn"], format!("{arn}:1"));
        let missing = arn.replace(&name, "nope");
        let (code, _, err) = aws(
            &cli,
            &engine,
            &["describe-state-machine", "--state-machine-arn", &missing],
        );
        assert_ne!(code, 0);
        assert!(err.contains("StateMachineDoesNotExist"), "{err}");
    })
    .await
    .unwrap();
}
