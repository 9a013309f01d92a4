//! What journaling (`ServerConfig::state_dir`, `workflow serve --state-dir`) costs the endpoint:
//! the same Standard executions (StartExecution of a Pass chain, from concurrent `aws-sdk-sfn`
//! callers, then every one awaited) on an endpoint in memory and on one journaling in a temp dir.
//!
//! ```text
//! cargo run --release -p asl-engine --example journal_cost -- [EXECUTIONS] [STATES]
//! ```

use std::time::Instant;

use asl_engine::server::{local_client, local_config, ServerConfig, StepFunctions};
use asl_engine::TaskRegistry;
use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::{json, Map};

const CLIENTS: usize = 16;

fn chain(states: usize) -> String {
    let mut m = Map::new();
    for i in 0..states {
        let mut s = json!({"Type": "Pass", "Parameters": {"step": i, "payload.$": "$.payload"}});
        if i + 1 == states {
            s["End"] = json!(true);
        } else {
            s["Next"] = json!(format!("S{}", i + 1));
        }
        m.insert(format!("S{i}"), s);
    }
    json!({"StartAt": "S0", "States": m}).to_string()
}

async fn endpoint(state_dir: Option<std::path::PathBuf>) -> aws_sdk_sfn::Client {
    let config = ServerConfig {
        state_dir,
        ..ServerConfig::default()
    };
    let (service, _) =
        StepFunctions::open(TaskRegistry::new(), config).expect("the endpoint opens");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(asl_engine::server::serve_with_shutdown(
        listener,
        service,
        std::future::pending(),
    ));
    local_client(
        local_config("us-east-1").http_client(shop_model::aws::https_client()),
        &url,
    )
}

/// Runs `executions` executions of a `states`-state chain: returns executions per second.
async fn run(client: &aws_sdk_sfn::Client, executions: usize, states: usize) -> f64 {
    let arn = client
        .create_state_machine()
        .name(format!("chain-{}", uuid::Uuid::new_v4().simple()))
        .definition(chain(states))
        .role_arn("arn:aws:iam::123456789012:role/bench")
        .send()
        .await
        .expect("CreateStateMachine")
        .state_machine_arn;
    let input = json!({"payload": {"order": "o-1", "items": [1, 2, 3]}}).to_string();
    let started = Instant::now();
    let mut callers = Vec::new();
    for c in 0..CLIENTS {
        let (client, arn, input) = (client.clone(), arn.clone(), input.clone());
        callers.push(tokio::spawn(async move {
            let mut arns = Vec::new();
            for _ in (c..executions).step_by(CLIENTS) {
                let out = client
                    .start_execution()
                    .state_machine_arn(&arn)
                    .input(&input)
                    .send()
                    .await
                    .expect("StartExecution");
                arns.push(out.execution_arn);
            }
            for e in arns {
                loop {
                    let d = client
                        .describe_execution()
                        .execution_arn(&e)
                        .send()
                        .await
                        .expect("DescribeExecution");
                    match d.status {
                        ExecutionStatus::Running => tokio::task::yield_now().await,
                        ExecutionStatus::Succeeded => break,
                        other => panic!("{e} ended {other:?}"),
                    }
                }
            }
        }));
    }
    for c in callers {
        c.await.unwrap();
    }
    executions as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let executions: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let states: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let dir = std::env::temp_dir().join(format!("journal-cost-{}", uuid::Uuid::new_v4().simple()));
    let memory = endpoint(None).await;
    let journaled = endpoint(Some(dir.clone())).await;
    // Warm both up, then measure each.
    run(&memory, 200, states).await;
    run(&journaled, 200, states).await;
    let in_memory = run(&memory, executions, states).await;
    let with_dir = run(&journaled, executions, states).await;
    println!(
        "{executions} executions of a {states}-state Pass chain, {CLIENTS} clients: \
         in memory {in_memory:.0}/s, with a state dir {with_dir:.0}/s ({:.0}% of in memory)",
        100.0 * with_dir / in_memory
    );
    let _ = std::fs::remove_dir_all(&dir);
}
