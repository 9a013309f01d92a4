//! Measures in-process state transitions per second on simple Pass/Choice workflows
//! (run with `cargo run --release -p asl-engine --example throughput`).

use std::time::Instant;

use asl_engine::{Engine, ExecOptions, TaskRegistry};
use serde_json::json;
use workflow_dsl::model::StateMachine;

fn main() {
    // A loop of 1 Pass (incrementing nothing heavy) and 1 Choice, 10_000 iterations per execution,
    // counting with a variable so the Choice has something to compare.
    let machine = StateMachine::from_value(json!({
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Assign": {"i": 0}, "Next": "Check"},
            "Check": {"Type": "Choice", "Choices": [
                {"Variable": "$.done", "BooleanEquals": true, "Next": "Done"}
            ], "Default": "Step"},
            "Step": {"Type": "Pass", "Next": "Step2"},
            "Step2": {"Type": "Pass", "Next": "Check2"},
            "Check2": {"Type": "Choice", "Choices": [
                {"Variable": "$.n", "NumericGreaterThan": 100, "Next": "Done"}
            ], "Default": "Step3"},
            "Step3": {"Type": "Pass", "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }
    }))
    .expect("valid machine");
    let engine = Engine::new(TaskRegistry::new());
    let compiled = engine.compile(&machine).expect("compiles");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let input = json!({"done": false, "n": 1, "payload": {"a": [1, 2, 3], "b": "text"}});
    let options = ExecOptions {
        history: false,
        virtual_time: true,
        execution_name: Some("bench".into()),
        ..Default::default()
    };
    let runs = 200_000;
    let transitions_per_run = 7; // Init, Check, Step, Step2, Check2, Step3, Done
    let start = Instant::now();
    rt.block_on(async {
        for _ in 0..runs {
            let r = engine
                .execute_compiled(&compiled, input.clone(), options.clone())
                .await;
            assert_eq!(r.status.name(), "SUCCEEDED");
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let t = (runs * transitions_per_run) as f64;
    println!(
        "{runs} executions, {} transitions in {secs:.3}s: {:.0} transitions/s ({:.0} executions/s)",
        t as u64,
        t / secs,
        runs as f64 / secs
    );
}
