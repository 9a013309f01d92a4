//! Benchmark workloads shared by the criterion bench (`benches/transitions.rs`) and the
//! `cargo xtask bench` runner (`examples/bench.rs`): the definitions, their inputs, mocked
//! order-workflow tasks, and a transition counter.
#![allow(dead_code)] // each includer uses a different subset

use std::path::PathBuf;

use asl_engine::{Engine, ExecOptions, TaskError, TaskRegistry};
use serde_json::{json, Map, Value};
use workflow_dsl::model::StateMachine;

/// The allocator `workflow` (the engine's host: `serve`, `run`) runs with, so that the figures
/// measured are the ones users get.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A chain of `n` states alternating a Pass with `Parameters` and intrinsic functions
/// (`States.MathAdd`, `States.Format`, `States.ArrayLength`, `States.StringToJson`/`JsonToString`)
/// and a Choice with an `And` of a numeric and a `StringMatches` rule. Every execution enters
/// exactly `n` states (the `Mismatch` Fail state is never reached). JSONPath only, no variables,
/// so moto's interpreter runs it too.
pub fn chain_definition(n: usize) -> Value {
    assert!(n >= 2);
    let mut states = Map::new();
    let name = |i: usize| format!("S{i:03}");
    for i in 0..n {
        let last = i == n - 1;
        let state = if i % 2 == 0 {
            let mut s = json!({
                "Type": "Pass",
                "Parameters": {
                    "count.$": "States.MathAdd($.count, 1)",
                    "id.$": "States.Format('order-{}-{}', $.prefix, $.count)",
                    "prefix.$": "$.prefix",
                    "items.$": "$.items",
                    "size.$": "States.ArrayLength($.items)",
                    "meta.$": "States.StringToJson(States.JsonToString($.meta))"
                }
            });
            if last {
                s["End"] = json!(true);
            } else {
                s["Next"] = json!(name(i + 1));
            }
            s
        } else if last {
            json!({"Type": "Succeed"})
        } else {
            json!({
                "Type": "Choice",
                "Choices": [{
                    "And": [
                        {"Variable": "$.count", "NumericGreaterThan": 0},
                        {"Variable": "$.id", "StringMatches": "order-*"}
                    ],
                    "Next": name(i + 1)
                }],
                "Default": "Mismatch"
            })
        };
        states.insert(name(i), state);
    }
    states.insert(
        "Mismatch".into(),
        json!({"Type": "Fail", "Error": "Mismatch", "Cause": "a Choice found no match"}),
    );
    json!({
        "Comment": format!("{n}-state Pass/Choice chain with Parameters and intrinsics"),
        "StartAt": name(0),
        "States": states
    })
}

/// A chain of `n` Pass states, each with `Parameters` that call `States.MathAdd`: the per-state
/// comparison of the interpreter and the endpoint (`cargo xtask bench`, "per state" rows). Input
/// [`pass_chain_input`]; the output's `count` is `n`.
pub fn pass_chain_definition(n: usize) -> Value {
    assert!(n >= 1);
    let name = |i: usize| format!("P{i:04}");
    let mut states = Map::new();
    for i in 0..n {
        let mut s = json!({
            "Type": "Pass",
            "Parameters": {
                "count.$": "States.MathAdd($.count, 1)",
                "label.$": "$.label"
            }
        });
        if i == n - 1 {
            s["End"] = json!(true);
        } else {
            s["Next"] = json!(name(i + 1));
        }
        states.insert(name(i), s);
    }
    json!({
        "Comment": format!("{n} Pass states with Parameters and States.MathAdd"),
        "StartAt": name(0),
        "States": states
    })
}

/// Input of [`pass_chain_definition`].
pub fn pass_chain_input() -> Value {
    json!({"count": 0, "label": "bench"})
}

/// Input of [`chain_definition`].
pub fn chain_input() -> Value {
    json!({
        "count": 1,
        "prefix": "bench",
        "id": "order-bench-0",
        "items": [{"sku": "mug", "qty": 2}, {"sku": "tee", "qty": 1}, {"sku": "pin", "qty": 5}],
        "meta": {"source": "bench", "tags": ["a", "b"]}
    })
}

/// A chain of `n` plain Pass and Choice states (no Parameters, no intrinsics): the "simple
/// transition" of the speed target.
pub fn simple_chain_definition(n: usize) -> Value {
    let mut states = Map::new();
    let name = |i: usize| format!("S{i:03}");
    for i in 0..n {
        let next = if i == n - 1 {
            "Done".to_string()
        } else {
            name(i + 1)
        };
        let state = if i % 2 == 0 {
            json!({"Type": "Pass", "Next": next})
        } else {
            json!({"Type": "Choice", "Choices": [
                {"Variable": "$.count", "NumericGreaterThan": 0, "Next": next}
            ], "Default": "Mismatch"})
        };
        states.insert(name(i), state);
    }
    states.insert("Done".into(), json!({"Type": "Succeed"}));
    states.insert(
        "Mismatch".into(),
        json!({"Type": "Fail", "Error": "Mismatch"}),
    );
    json!({"StartAt": name(0), "States": states})
}

/// An inline Map over `$.items`; each item runs Pass (Parameters + `States.MathAdd`) ->
/// Choice -> Pass, so an execution enters 1 + 3 x items states.
pub fn map_definition() -> Value {
    json!({
        "Comment": "Inline Map: price every item",
        "StartAt": "PriceAll",
        "States": {
            "PriceAll": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Price",
                    "States": {
                        "Price": {
                            "Type": "Pass",
                            "Parameters": {
                                "sku.$": "$.sku",
                                "total.$": "States.MathAdd($.price, $.tax)"
                            },
                            "Next": "Size"
                        },
                        "Size": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$.total", "NumericGreaterThan": 500, "Next": "Big"}],
                            "Default": "Small"
                        },
                        "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "End": true},
                        "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "End": true}
                    }
                },
                "ResultPath": "$.priced",
                "End": true
            }
        }
    })
}

/// Input of [`map_definition`] with `n` items.
pub fn map_input(n: usize) -> Value {
    let items: Vec<Value> = (0..n)
        .map(|i| json!({"sku": format!("sku-{i}"), "price": (i % 1000) as i64, "tax": 7}))
        .collect();
    json!({ "items": items })
}

/// `generated/order-processing.asl.json`, if it exists.
pub fn order_definition() -> Option<Value> {
    let path = order_definition_path();
    let text = std::fs::read_to_string(&path).ok()?;
    serde_json::from_str(&text).ok()
}

pub fn order_definition_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../generated/order-processing.asl.json")
}

/// An order message (shop_model::OrderMessage, camelCase) that the mocked tasks accept.
pub fn order_input() -> Value {
    json!({
        "orderId": "ord-bench-1",
        "userSub": "user-1",
        "items": [{"productId": "mug", "quantity": 2}, {"productId": "tee", "quantity": 1}],
        "paymentToken": "tok_bench",
        "totalCents": 4499,
        "currency": "EUR",
        "createdAt": "2026-11-25T10:00:00.000Z"
    })
}

/// A registry that serves every Lambda the order definition references (by `Resource` or
/// `FunctionName`) with an in-process stand-in of the step it names (validate-order,
/// process-payment, persist-order, record-failure, notify-order), returning the shapes of the
/// real steps' outputs. Other service integrations get an empty object.
pub fn order_registry(definition: &Value) -> TaskRegistry {
    let mut refs = Vec::new();
    collect_refs(definition, &mut refs);
    let mut registry = TaskRegistry::new();
    for r in refs {
        let key: String = r
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if key.contains("validateorder") {
            registry.register_lambda(&r, |i| async move { Ok(validate(&i)) });
        } else if key.contains("processpayment") || key.contains("pay") {
            registry.register_lambda(&r, |i| async move { Ok(pay(&i)) });
        } else if key.contains("persistorder") {
            registry.register_lambda(&r, |i| async move { Ok(outcome(&i, "COMPLETED")) });
        } else if key.contains("recordfailure") {
            registry.register_lambda(&r, |i| async move { Ok(outcome(&i, "FAILED")) });
        } else if key.contains("notify") {
            registry.register_lambda(&r, |i| async move {
                Ok(json!({
                    "orderId": field(&i, "orderId"),
                    "status": field(&i, "status"),
                    "messageId": "msg-bench-1"
                }))
            });
        } else if r.starts_with("arn:aws:lambda:") || r.starts_with("${") {
            registry.register_lambda(&r, |_| async move {
                Err::<Value, _>(TaskError::new("Bench.UnknownLambda", "no stand-in"))
            });
        }
    }
    registry.register_resource("arn:aws:states:::", std::sync::Arc::new(EmptyResult));
    registry
}

struct EmptyResult;

#[async_trait::async_trait]
impl asl_engine::TaskHandler for EmptyResult {
    async fn invoke(
        &self,
        _input: Value,
        _ctx: &asl_engine::TaskContext,
    ) -> Result<Value, TaskError> {
        Ok(json!({}))
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if let (Some(s), true) = (x.as_str(), k == "Resource" || k == "FunctionName") {
                    if !s.starts_with("arn:aws:states:::") && !out.iter().any(|o| o == s) {
                        out.push(s.to_string());
                    }
                }
                collect_refs(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// `key` at the top level of `input` or one object level down (Parameters may nest the order).
fn field(input: &Value, key: &str) -> Value {
    if let Some(v) = input.get(key) {
        return v.clone();
    }
    input
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .find_map(|v| v.get(key).cloned())
        .unwrap_or(Value::Null)
}

fn priced_lines(input: &Value) -> Vec<Value> {
    field(input, "items")
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|l| {
            let q = l.get("quantity").and_then(Value::as_i64).unwrap_or(1);
            json!({
                "productId": l.get("productId").cloned().unwrap_or(Value::Null),
                "name": "Bench product",
                "quantity": q,
                "unitPriceCents": 1250,
                "lineTotalCents": 1250 * q
            })
        })
        .collect()
}

fn validate(i: &Value) -> Value {
    let items = priced_lines(i);
    let total: i64 = items
        .iter()
        .filter_map(|l| l["lineTotalCents"].as_i64())
        .sum();
    json!({
        "orderId": field(i, "orderId"), "userSub": field(i, "userSub"), "items": items,
        "totalCents": total, "currency": field(i, "currency"),
        "paymentToken": field(i, "paymentToken"), "createdAt": field(i, "createdAt")
    })
}

fn pay(i: &Value) -> Value {
    json!({
        "orderId": field(i, "orderId"), "userSub": field(i, "userSub"), "items": priced_lines(i),
        "totalCents": field(i, "totalCents"), "currency": field(i, "currency"),
        "createdAt": field(i, "createdAt"), "paymentId": "pay-bench-1"
    })
}

fn outcome(i: &Value, status: &str) -> Value {
    json!({
        "orderId": field(i, "orderId"), "userSub": field(i, "userSub"), "status": status,
        "items": priced_lines(i), "totalCents": field(i, "totalCents"),
        "currency": field(i, "currency"), "createdAt": field(i, "createdAt"),
        "updatedAt": "2026-11-25T10:00:01.000Z", "paymentId": field(i, "paymentId")
    })
}

/// Options of a measured execution: no history, virtual time.
pub fn fast_options() -> ExecOptions {
    ExecOptions {
        history: false,
        virtual_time: true,
        execution_name: Some("bench".into()),
        ..Default::default()
    }
}

/// A runtime for in-process runs (one thread: "transitions per second on one core").
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime")
}

/// One workload: a compiled definition, its engine and input, and how many states an
/// execution enters (counted from a history-on run, which must succeed).
pub struct Workload {
    pub name: &'static str,
    pub engine: Engine,
    pub compiled: std::sync::Arc<asl_engine::CompiledMachine>,
    pub input: Value,
    pub transitions: u64,
}

impl Workload {
    pub fn new(
        name: &'static str,
        definition: &Value,
        registry: TaskRegistry,
        input: Value,
        rt: &tokio::runtime::Runtime,
    ) -> Workload {
        let machine = StateMachine::from_value(definition.clone())
            .unwrap_or_else(|e| panic!("{name}: invalid definition: {e}"));
        let engine = Engine::new(registry);
        let compiled = engine
            .compile(&machine)
            .unwrap_or_else(|e| panic!("{name}: does not compile: {e}"));
        let options = ExecOptions {
            history: true,
            ..fast_options()
        };
        let result = rt.block_on(engine.execute_compiled(&compiled, input.clone(), options));
        assert_eq!(
            result.status.name(),
            "SUCCEEDED",
            "{name}: the workload must succeed: {:?}",
            result.status
        );
        let transitions = count_transitions(&result.history);
        Workload {
            name,
            engine,
            compiled,
            input,
            transitions,
        }
    }

    /// Runs one execution (history off, virtual time); panics unless it succeeds.
    pub async fn run_once(&self) {
        let r = self
            .engine
            .execute_compiled(&self.compiled, self.input.clone(), fast_options())
            .await;
        assert_eq!(
            r.status.name(),
            "SUCCEEDED",
            "{}: {:?}",
            self.name,
            r.status
        );
    }
}

/// State transitions of an execution: the states it entered (Map iterations' states included).
pub fn count_transitions(history: &[asl_engine::HistoryEvent]) -> u64 {
    history
        .iter()
        .filter(|e| e.event_type.as_str().ends_with("StateEntered"))
        .count() as u64
}

/// The three in-process workloads of the speed figures; the order workflow only when
/// `generated/order-processing.asl.json` exists (else a notice on stderr).
pub fn workloads(rt: &tokio::runtime::Runtime) -> Vec<Workload> {
    let mut w = vec![
        Workload::new(
            "simple_chain_100",
            &simple_chain_definition(100),
            TaskRegistry::new(),
            chain_input(),
            rt,
        ),
        Workload::new(
            "chain_100",
            &chain_definition(100),
            TaskRegistry::new(),
            chain_input(),
            rt,
        ),
        Workload::new(
            "pass_chain_5000",
            &pass_chain_definition(5000),
            TaskRegistry::new(),
            pass_chain_input(),
            rt,
        ),
        Workload::new(
            "map_1000",
            &map_definition(),
            TaskRegistry::new(),
            map_input(1000),
            rt,
        ),
    ];
    match order_definition() {
        Some(def) => w.push(Workload::new(
            "order_workflow",
            &def,
            order_registry(&def),
            order_input(),
            rt,
        )),
        None => eprintln!(
            "notice: {} not found (or not JSON): skipping the order workflow",
            order_definition_path().display()
        ),
    }
    w
}
