//! TestState: runs one state on an input and reports its output, next state and status
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html>).
//!
//! The state runs inside a throwaway machine whose other states (its `Next`, Choice and Catch
//! targets) are `Succeed` states, so the execution's output is the tested state's output and the
//! first other state entered is the next state. As in AWS, retriers are not run: an error a
//! retrier would retry gives status RETRIABLE.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use workflow_dsl::model::{State, StateMachine};

use super::protocol::{ApiError, Req};
use super::store::Service;
use crate::{CompiledMachine, ExecOptions, ExecutionStatus, MockConfig};

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(
        "InvalidDefinition",
        format!("Invalid State Machine Definition: '{}'", message.into()),
    )
}

/// Picks the state to test: the definition itself, or `stateName` of a whole machine.
fn state_definition(
    definition: &Value,
    state_name: Option<&str>,
) -> Result<(String, Value), ApiError> {
    match (definition.get("States"), state_name) {
        (Some(states), Some(name)) => states
            .get(name)
            .cloned()
            .map(|s| (name.to_string(), s))
            .ok_or_else(|| invalid(format!("the definition has no state '{name}'"))),
        (Some(_), None) => Err(ApiError::validation(
            "stateName is required when the definition is a whole state machine",
        )),
        (None, name) => Ok((name.unwrap_or("TestState").to_string(), definition.clone())),
    }
}

/// True when a retrier of `state` would retry `error` (AWS's matching: the name, `States.ALL`
/// except for States.Runtime, `States.TaskFailed` for task errors other than States.Timeout).
fn retriable(state: &State, error: &str) -> bool {
    state.retriers().iter().any(|r| {
        let attempts = r
            .max_attempts
            .as_ref()
            .and_then(|n| n.as_u64())
            .unwrap_or(3);
        attempts > 0 && crate::exec::error_matches(&r.error_equals, Some(error))
    })
}

pub(super) async fn test_state(service: &Arc<Service>, req: &Req) -> Result<Value, ApiError> {
    let definition: Value = serde_json::from_str(req.str("definition")?)
        .map_err(|e| invalid(format!("INVALID_JSON_DESCRIPTION: {e}")))?;
    let (name, mut state_value) = state_definition(&definition, req.opt_str("stateName")?)?;
    let state: State = serde_json::from_value(state_value.clone())
        .map_err(|e| invalid(format!("SCHEMA_VALIDATION_FAILED: {e}")))?;
    let input_text = req.opt_str("input")?.unwrap_or("{}").to_string();
    let input: Value = serde_json::from_str(&input_text).map_err(|e| {
        ApiError::new(
            "InvalidExecutionInput",
            format!("Invalid State Machine Execution Input: '{e}'"),
        )
    })?;
    let level = req.opt_str("inspectionLevel")?.unwrap_or("INFO");
    if !["INFO", "DEBUG", "TRACE"].contains(&level) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{level}' at 'inspectionLevel' failed to satisfy constraint: Member must satisfy enum value set: [INFO, DEBUG, TRACE]"
        )));
    }

    // Retriers do not run in TestState.
    if let Some(obj) = state_value.as_object_mut() {
        obj.remove("Retry");
    }
    let successors: Vec<String> = state.successors().iter().map(|s| s.to_string()).collect();
    let catch_targets: Vec<&str> = state.catchers().iter().map(|c| c.next.as_str()).collect();
    let mut states = Map::new();
    states.insert(name.clone(), state_value);
    for s in &successors {
        if s != &name {
            states.insert(s.clone(), json!({"Type": "Succeed"}));
        }
    }
    let machine = StateMachine::from_value(json!({"StartAt": name, "States": states}))
        .map_err(|e| invalid(format!("SCHEMA_VALIDATION_FAILED: {e}")))?;
    let compiled = CompiledMachine::new(&machine)
        .map_err(|e| invalid(format!("SCHEMA_VALIDATION_FAILED: {e}")))?;

    let mut options = ExecOptions {
        virtual_time: true,
        state_machine_name: Some("TestState".into()),
        region: req.region.clone(),
        account_id: service.config.account_id.clone(),
        role_arn: req.opt_str("roleArn")?.map(str::to_owned),
        ..Default::default()
    };
    if let Some(mock) = req.get("mock") {
        options.mock = Some(mock_case(&name, mock)?);
    }
    let result = service
        .engine
        .execute_compiled(&compiled, input, options)
        .await;

    // The first state other than the tested one, and the last error raised before it.
    let mut next_state = None;
    let mut last_error: Option<(Option<String>, Option<String>)> = None;
    let mut task_result = None;
    for ev in &result.history {
        let Some(details) = ev.details() else {
            continue;
        };
        if let Some(entered) = details.get("name").and_then(Value::as_str) {
            if entered != name && ev.event_type.as_str().ends_with("StateEntered") {
                next_state = Some(entered.to_string());
                break;
            }
        }
        if details.get("error").is_some() || details.get("cause").is_some() {
            let text = |k: &str| details.get(k).and_then(Value::as_str).map(str::to_owned);
            last_error = Some((text("error"), text("cause")));
        }
        if ev.event_type.as_str().ends_with("Succeeded")
            && !ev.event_type.as_str().starts_with("Execution")
        {
            task_result = details.get("output").cloned();
        }
    }

    let mut out = Map::new();
    let (status, error, cause, output) = match result.status {
        ExecutionStatus::Succeeded { output } => {
            let caught = next_state
                .as_deref()
                .is_some_and(|n| catch_targets.contains(&n))
                && last_error.is_some();
            if caught {
                let (e, c) = last_error.clone().unwrap_or_default();
                ("CAUGHT_ERROR", e, c, Some(output))
            } else {
                ("SUCCEEDED", None, None, Some(output))
            }
        }
        ExecutionStatus::Failed { error, cause } | ExecutionStatus::TimedOut { error, cause } => {
            next_state = None;
            ("FAILED", error, cause, None)
        }
        ExecutionStatus::Aborted => ("FAILED", Some("States.Aborted".into()), None, None),
    };
    let retry = status != "SUCCEEDED" && error.as_deref().is_some_and(|e| retriable(&state, e));
    let status = if retry { "RETRIABLE" } else { status };
    if retry {
        next_state = None;
    }
    out.insert("status".into(), json!(status));
    if let Some(e) = error {
        out.insert("error".into(), json!(e));
    }
    if let Some(c) = cause {
        out.insert("cause".into(), json!(c));
    }
    if let (Some(o), false) = (&output, retry) {
        out.insert("output".into(), json!(o.to_string()));
    }
    if let Some(n) = next_state {
        out.insert("nextState".into(), json!(n));
    }
    if level != "INFO" {
        let mut data = Map::new();
        data.insert("input".into(), json!(input_text));
        if let Some(r) = task_result {
            data.insert("result".into(), r);
        }
        if let (Some(o), false) = (&output, retry) {
            data.insert("afterResultPath".into(), json!(o.to_string()));
        }
        out.insert("inspectionData".into(), Value::Object(data));
    }
    Ok(Value::Object(out))
}

/// TestState's `mock` (`result` JSON text, or `errorOutput` {error, cause}) as a mock case.
fn mock_case(state: &str, mock: &Value) -> Result<crate::MockCase, ApiError> {
    let response = if let Some(r) = mock.get("result").and_then(Value::as_str) {
        let v: Value = serde_json::from_str(r)
            .map_err(|e| ApiError::validation(format!("mock.result is not valid JSON: {e}")))?;
        json!({"Return": v})
    } else if let Some(e) = mock.get("errorOutput") {
        json!({"Throw": {"Error": e.get("error").cloned().unwrap_or(json!("")), "Cause": e.get("cause").cloned().unwrap_or(json!(""))}})
    } else {
        return Err(ApiError::validation(
            "mock needs a result or an errorOutput",
        ));
    };
    let cfg = json!({
        "StateMachines": {"TestState": {"TestCases": {"mock": {state: "mocked"}}}},
        "MockedResponses": {"mocked": {"0": response}},
    });
    MockConfig::from_json(&cfg.to_string())
        .and_then(|c| c.test_case("TestState", "mock"))
        .map_err(|e| ApiError::validation(e.to_string()))
}
