//! Behaviours AWS recorded that the engine once got wrong, each checked against the AWS
//! documentation page it follows: a workflow variable in `MaxConcurrencyPath`, what `Assign` sees
//! in a Pass state, States.Format's escapes and argument rendering, and JSONata `Output` literals.

use asl_engine::{Engine, EventType, ExecOptions, ExecutionResult, ExecutionStatus};
use serde_json::{json, Value};
use workflow_dsl::model::StateMachine;

async fn run(definition: Value, input: Value) -> ExecutionResult {
    let m = StateMachine::from_value(definition).expect("valid ASL");
    Engine::default()
        .execute(&m, input, ExecOptions::virtual_time())
        .await
        .expect("compiles")
}

fn output(r: &ExecutionResult) -> &Value {
    match &r.status {
        ExecutionStatus::Succeeded { output } => output,
        other => panic!("expected success, got {other:?}"),
    }
}

fn map_with_concurrency_variable(value: Value) -> Value {
    json!({
        "StartAt": "Start",
        "States": {
            "Start": {"Type": "Pass", "Assign": {"maxConcurrency": value},
                      "Result": {"Values": [1, 2, 3]}, "Next": "MapState"},
            "MapState": {"Type": "Map", "ItemsPath": "$.Values",
                "MaxConcurrencyPath": "$maxConcurrency",
                "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "HandleItem",
                    "States": {"HandleItem": {"Type": "Pass", "End": true}}},
                "End": true}
        }
    })
}

/// `MaxConcurrencyPath` may name a workflow variable, and an integer written as a string ("1")
/// counts as that integer; a string that is no integer still fails
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>,
/// <https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html>).
#[tokio::test]
async fn max_concurrency_path_reads_a_variable_holding_an_integer_string_workflow_variables() {
    let r = run(map_with_concurrency_variable(json!("1")), json!({})).await;
    assert_eq!(output(&r), &json!([1, 2, 3]));
    // One at a time: each iteration succeeds before the next starts.
    let order: Vec<(EventType, u64)> = r
        .history
        .iter()
        .filter_map(|e| match e.event_type {
            EventType::MapIterationStarted | EventType::MapIterationSucceeded => {
                Some((e.event_type, e.details()?["index"].as_u64()?))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        order,
        [
            (EventType::MapIterationStarted, 0),
            (EventType::MapIterationSucceeded, 0),
            (EventType::MapIterationStarted, 1),
            (EventType::MapIterationSucceeded, 1),
            (EventType::MapIterationStarted, 2),
            (EventType::MapIterationSucceeded, 2),
        ]
    );
    let r = run(map_with_concurrency_variable(json!(2)), json!({})).await;
    assert_eq!(output(&r), &json!([1, 2, 3]));
    let r = run(map_with_concurrency_variable(json!("NoNumber")), json!({})).await;
    match &r.status {
        ExecutionStatus::Failed { error, cause } => {
            assert_eq!(error.as_deref(), Some("States.Runtime"));
            assert!(
                cause
                    .as_deref()
                    .is_some_and(|c| c.contains("\"NoNumber\" which is not a valid integer")),
                "{cause:?}"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// In a JSONPath Pass state, Assign reads `$` as the state's result (here `Result`) and every
/// expression of a state (InputPath, OutputPath, Assign) sees the variables as they were on
/// entering it: the new values exist only after the state
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>).
#[tokio::test]
async fn pass_state_assign_sees_the_variables_as_they_were_on_entering_workflow_variables() {
    let r = run(
        json!({
            "StartAt": "State0",
            "States": {
                "State0": {"Type": "Pass",
                    "Result": {"theQuestion": "What is the answer?"},
                    "Assign": {"question.$": "$.theQuestion", "answer": 42},
                    "Next": "State1"},
                "State1": {"Type": "Pass", "InputPath": "$answer", "ResultPath": "$.theAnswer",
                    "OutputPath": "$answer", "Assign": {"answer": "<omitted>", "before.$": "$answer"},
                    "Next": "State2"},
                "State2": {"Type": "Pass",
                    "Parameters": {"answer.$": "$answer", "before.$": "$before", "question.$": "$question"},
                    "End": true}
            }
        }),
        json!({}),
    )
    .await;
    // State1's OutputPath read the answer it had on entering (42), and its Assign saw it too.
    let exited: Vec<Value> = r
        .history
        .iter()
        .filter(|e| e.event_type == EventType::PassStateExited)
        .filter_map(|e| e.details())
        .collect();
    assert_eq!(exited[1]["output"], json!("42"));
    assert_eq!(
        output(&r),
        &json!({"answer": "<omitted>", "before": 42, "question": "What is the answer?"})
    );
}

/// The same in JSONata: Output and every Assign expression see the variables as they were
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>).
#[tokio::test]
async fn jsonata_assign_and_output_read_the_old_values_workflow_variables() {
    let r = run(
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Init",
            "States": {
                "Init": {"Type": "Pass", "Assign": {"a": 1}, "Next": "Step"},
                "Step": {"Type": "Pass",
                    "Assign": {"a": "{% $a + 1 %}", "b": "{% $a %}"},
                    "Output": {"seen": "{% $a %}"}, "Next": "Last"},
                "Last": {"Type": "Pass",
                    "Output": {"a": "{% $a %}", "b": "{% $b %}", "in": "{% $states.input %}"},
                    "End": true}
            }
        }),
        json!({}),
    )
    .await;
    assert_eq!(output(&r), &json!({"a": 2, "b": 1, "in": {"seen": 1}}));
}

/// States.Format: `\{`, `\}`, `\'` and `\\` in the template are the characters themselves; a
/// string argument goes in as it is, a number as its JSON text, `null` as `null`, and an object
/// or array as a Java map or list prints (`{Arg1=1, Arg2=[]}`), as AWS renders them
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html#asl-intrsc-func-generic>).
#[tokio::test]
async fn states_format_escapes_and_renders_arguments_intrinsic_functions() {
    let r = run(
        json!({
            "StartAt": "F",
            "States": {"F": {"Type": "Pass", "Parameters": {
                "escaped.$": "States.Format('\\{\\} it\\'s a \\\\ {}', $.s)",
                "values.$": "States.Format('{}|{}|{}|{}|{}', $.s, $.i, $.f, $.n, $.b)",
                "object.$": "States.Format('obj={}', $.o)",
                "array.$": "States.Format('arr={}', $.a)"
            }, "End": true}}
        }),
        json!({"s": "text", "i": 1, "f": 1.1, "n": null, "b": true,
               "o": {"Arg1": 1, "Arg2": [], "Arg3": {"k": "v"}},
               "a": ["x", 2, {"k": null}]}),
    )
    .await;
    assert_eq!(
        output(&r),
        &json!({
            "escaped": "{} it's a \\ text",
            "values": "text|1|1.1|null|true",
            "object": "obj={Arg1=1, Arg2=[], Arg3={k=v}}",
            "array": "arr=[x, 2, {k=null}]"
        })
    );
}

/// A JSONata `Output` is a template: only strings that are exactly `{% ... %}` are evaluated;
/// every other value, in objects and arrays at any depth, is kept as it is, including strings
/// with spaces around `{% %}`, JSONPath-looking strings and keys ending in `.$`; a plain string
/// Output is the output as it is
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>).
#[tokio::test]
async fn jsonata_output_literals_mix_expressions_and_constants_transforming_data() {
    let literals = json!({
        "constant_null": null, "constant_int": 0, "constant_float": 0.1, "constant_bool": true,
        "constant_str": "constant string",
        "constant_not_jsonata": " {% states.input %} ",
        "constant_varpath_states": "$states.input",
        "constant_jp_input.$": "$",
        "constant_if": "States.Format('Format:{}', 101)",
        "lst": [null, 0, 0.1, true, [], {"constant": 0}, " {% states.input %} ", "$states.input"],
        "obj": {"in_obj_str": "constant string", "in_obj_not_jsonata": " {% $x %} ",
                "in_obj_lst": [1, "{% $states.input.v %}"]},
        "expr": "{% $states.input.v * 2 %}",
        "in_list": ["a", "{% $states.input.v %}", 3]
    });
    let r = run(
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "State0",
            "States": {"State0": {"Type": "Pass", "Output": literals, "Next": "Plain"},
                       "Plain": {"Type": "Pass", "Output": "just a string", "End": true}}
        }),
        json!({"v": 21}),
    )
    .await;
    let first = r
        .history
        .iter()
        .find(|e| e.event_type == EventType::PassStateExited)
        .and_then(|e| e.details())
        .and_then(|d| {
            d["output"]
                .as_str()
                .map(|t| serde_json::from_str::<Value>(t).unwrap())
        })
        .unwrap();
    let mut expected = literals.clone();
    expected["expr"] = json!(42);
    expected["in_list"] = json!(["a", 21, 3]);
    expected["obj"]["in_obj_lst"] = json!([1, 21]);
    assert_eq!(first, expected);
    assert_eq!(output(&r), &json!("just a string"));
}
