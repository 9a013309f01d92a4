//! TestState: runs one state on an input and reports its output, next state, status and (DEBUG,
//! TRACE) its data flow, with the 2025 additions: mocks of Task, Map and Parallel states checked
//! against the API's response shape, `context`, `variables` and `stateConfiguration`
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html>,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html>).
//!
//! The state runs inside a throwaway machine whose other states (its `Next`, Choice and Catch
//! targets) are `Succeed` states, so the execution's output is the tested state's output and the
//! first other state entered is the next state. Retriers are not run: an error a retrier would
//! still retry (after `stateConfiguration.retrierRetryCount` retries) gives status RETRIABLE and
//! the retry's backoff. A [`StateProbe`] carries the variables, the context and the Map settings
//! into the run, and brings back the pipeline's steps and the error the state raised.
//!
//! The API reference names the exceptions (ValidationException, InvalidDefinition, ...) but prints
//! no messages: the messages here are AWS's as its answers were recorded in public test snapshots
//! made against AWS, where one exists, and this engine's own where none does (each such place says
//! so).

use std::sync::Arc;

use serde_json::{json, Map, Value};
use workflow_dsl::model::{Catcher, Retrier, State, StateMachine};

use super::definition::find_nested_state;
use super::mock_shapes::{self, Mode};
use super::protocol::{ApiError, Req};
use super::store::Service;
use crate::testing::StateProbe;
use crate::{CompiledMachine, ExecOptions, ExecutionStatus, MockConfig};

/// How long one TestState call may run (API_TestState.html: "up to five minutes").
const TEST_STATE_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

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
        // At the top level or nested in branches and item processors (AWS tests a nested state
        // by its name too).
        (Some(_), Some(name)) => find_nested_state(definition, &|n, _| n == name)
            .map(|(_, s)| (name.to_string(), s.clone()))
            .ok_or_else(|| ApiError::validation("State not found in definition")),
        (Some(_), None) => Err(ApiError::validation(
            "stateName is required when the definition is a whole state machine",
        )),
        // AWS names a lone state "StateName" (its context object's `State.Name`).
        (None, name) => Ok((name.unwrap_or("StateName").to_string(), definition.clone())),
    }
}

/// The schema checks AWS makes of the tested state before anything else, with its recorded
/// messages: its `Type` is one of the eight, and a Parallel state has branches.
fn check_state_schema(name: &str, state: &Value) -> Result<(), ApiError> {
    let kind = state.get("Type").and_then(Value::as_str);
    if kind.is_some_and(|k| !State::TYPE_NAMES.contains(&k)) {
        // AWS's message lists the eight in its own order.
        return Err(invalid(format!(
            "SCHEMA_VALIDATION_FAILED: The field 'Type' should have one of these values: \
             [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map] at /States/{name}/Type"
        )));
    }
    if kind == Some("Parallel")
        && state
            .get("Branches")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
    {
        return Err(invalid(format!(
            "SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States/{name}/Branches"
        )));
    }
    Ok(())
}

/// What a retrier does with an error after `retried` earlier retries
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-retrying-after-an-error>).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RetryDecision {
    /// The index of the first retrier whose `ErrorEquals` matches the error.
    pub index: usize,
    /// The wait before the next retry, when the retrier has attempts left:
    /// `IntervalSeconds × BackoffRate^retried`, at most `MaxDelaySeconds` (whole seconds).
    pub backoff_seconds: Option<i64>,
}

fn number(n: Option<&serde_json::Number>, default: f64) -> f64 {
    n.and_then(|n| n.as_f64()).unwrap_or(default)
}

/// The retrier that matches `error` (AWS's matching, as the interpreter's) and whether it retries
/// once more after `retried` retries (`stateConfiguration.retrierRetryCount`).
pub(super) fn retry_decision(
    retriers: &[Retrier],
    error: &str,
    retried: u64,
) -> Option<RetryDecision> {
    let index = retriers
        .iter()
        .position(|r| crate::exec::errors::error_matches(&r.error_equals, Some(error)))?;
    let r = &retriers[index];
    let max_attempts = number(r.max_attempts.as_ref(), 3.0);
    let backoff_seconds = ((retried as f64) < max_attempts).then(|| {
        let mut delay = number(r.interval_seconds.as_ref(), 1.0)
            * number(r.backoff_rate.as_ref(), 2.0).powi(retried.min(i32::MAX as u64) as i32);
        if let Some(max) = r.max_delay_seconds.as_ref().and_then(|n| n.as_f64()) {
            delay = delay.min(max);
        }
        // The SDK models it as a 32-bit integer.
        delay.round().min(i32::MAX as f64) as i64
    });
    Some(RetryDecision {
        index,
        backoff_seconds,
    })
}

/// The index of the catcher that handles `error`.
pub(super) fn catch_index(catchers: &[Catcher], error: &str) -> Option<usize> {
    catchers
        .iter()
        .position(|c| crate::exec::errors::error_matches(&c.error_equals, Some(error)))
}

/// True for a Task whose integration pattern is `.sync` or `.waitForTaskToken`.
fn waits(state: &State) -> bool {
    matches!(state, State::Task(t) if t.resource.contains(".sync") || t.resource.ends_with(".waitForTaskToken"))
}

/// True for an activity Task.
fn is_activity(state: &State) -> bool {
    matches!(state, State::Task(t) if t.resource.starts_with("arn:") && t.resource.contains(":activity:"))
}

/// Checks TestState's `context`: the members of the context object a mock may set, with their
/// types (<https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html>);
/// the messages are AWS's ("Invalid Context object provided: ...").
pub(super) fn check_context(context: &Value, state: &State) -> Result<(), String> {
    let fail = |m: String| Err(format!("Invalid Context object provided: {m}"));
    let Some(top) = context.as_object() else {
        return fail("the Context object must be a JSON object".into());
    };
    type Fields = &'static [(&'static str, Kind)];
    #[derive(Clone, Copy)]
    enum Kind {
        Str,
        Int,
        Any,
    }
    const EXECUTION: Fields = &[
        ("Id", Kind::Str),
        ("Input", Kind::Any),
        ("Name", Kind::Str),
        ("RoleArn", Kind::Str),
        ("StartTime", Kind::Str),
        ("RedriveCount", Kind::Int),
        ("RedriveTime", Kind::Str),
    ];
    const STATE: Fields = &[
        ("EnteredTime", Kind::Str),
        ("Name", Kind::Str),
        ("RetryCount", Kind::Int),
    ];
    const STATE_MACHINE: Fields = &[("Id", Kind::Str), ("Name", Kind::Str)];
    const TASK: Fields = &[("Token", Kind::Str)];
    for (key, value) in top {
        let fields = match key.as_str() {
            "Execution" => EXECUTION,
            "State" => STATE,
            "StateMachine" => STATE_MACHINE,
            "Task" if waits(state) => TASK,
            "Task" => return fail("Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken' service integration pattern".into()),
            "Map" => return fail("'Map' field is not supported when mocking a Context object".into()),
            other => return fail(format!("Field '{other}' is not allowed")),
        };
        let Some(members) = value.as_object() else {
            return fail(format!("{key} must be an object"));
        };
        for (name, v) in members {
            let Some((_, kind)) = fields.iter().find(|(f, _)| f == name) else {
                return fail(format!("Field '{name}' is not allowed"));
            };
            let ok = match kind {
                Kind::Str => v.is_string(),
                Kind::Int => v.as_u64().is_some(),
                Kind::Any => true,
            };
            if !ok {
                let what = if matches!(kind, Kind::Int) {
                    "an integer"
                } else {
                    "a string"
                };
                return fail(format!("{key}.{name} must be {what}"));
            }
        }
    }
    Ok(())
}

/// True when a state of `name` is inside the Map's item processor or a Parallel branch.
fn contains_state(state: &State, name: &str) -> bool {
    let subs: Vec<&workflow_dsl::model::SubWorkflow> = match state {
        State::Map(m) => m.item_processor.iter().chain(m.iterator.iter()).collect(),
        State::Parallel(p) => p.branches.iter().collect(),
        _ => Vec::new(),
    };
    subs.iter().any(|sub| {
        sub.states
            .iter()
            .any(|(n, s)| n == name || contains_state(s, name))
    })
}

/// A mocked result or error (TestState's `mock`).
enum Mocked {
    Result(Value),
    Error { error: String, cause: String },
}

/// `stateConfiguration`
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestStateConfiguration.html>).
#[derive(Default)]
struct Configuration {
    retrier_retry_count: Option<u64>,
    error_caused_by_state: Option<String>,
    map_iteration_failure_count: Option<u64>,
    /// The text as given: read as the state's ItemReader reads its object.
    map_item_reader_data: Option<String>,
}

/// A non-negative integer member of `stateConfiguration`, with AWS's range message.
fn count(cfg: &Value, field: &str) -> Result<Option<u64>, ApiError> {
    match cfg.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match (v.as_u64(), v.as_i64()) {
            (Some(n), _) => Ok(Some(n)),
            (None, Some(n)) => Err(ApiError::validation(format!(
                "1 validation error detected: Value '{n}' at 'stateConfiguration.{field}' failed to satisfy constraint: Member must have value greater than or equal to 0"
            ))),
            _ => Err(ApiError::new(
                "SerializationException",
                format!("'{field}' must be an integer"),
            )),
        },
    }
}

fn configuration(req: &Req) -> Result<Configuration, ApiError> {
    let Some(cfg) = req.get("stateConfiguration") else {
        return Ok(Configuration::default());
    };
    if !cfg.is_object() {
        return Err(ApiError::new(
            "SerializationException",
            "'stateConfiguration' must be an object",
        ));
    }
    let text = |field: &str| -> Result<Option<String>, ApiError> {
        match cfg.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::new(
                "SerializationException",
                format!("'{field}' must be a string"),
            )),
        }
    };
    let error_caused_by_state = text("errorCausedByState")?;
    if let Some(s) = &error_caused_by_state {
        if s.is_empty() || s.chars().count() > 80 {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{s}' at 'stateConfiguration.errorCausedByState' failed to satisfy constraint: Member must have length between 1 and 80"
            )));
        }
    }
    let map_item_reader_data = text("mapItemReaderData")?;
    Ok(Configuration {
        retrier_retry_count: count(cfg, "retrierRetryCount")?,
        error_caused_by_state,
        map_iteration_failure_count: count(cfg, "mapIterationFailureCount")?,
        map_item_reader_data,
    })
}

/// The items of `stateConfiguration.mapItemReaderData`, "the data read by ItemReader ... as found
/// in its original source"
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestStateConfiguration.html>):
/// read as `reader` reads its source ([`crate::dmap::items_of_source`]: a JSON array, JSON Lines,
/// CSV with the reader's `ReaderConfig`, through `ItemsPointer`; a listObjectsV2 reader's data is
/// the JSON array of the objects it lists).
fn reader_items(
    reader: &workflow_dsl::model::ItemReader,
    data: &str,
) -> Result<Vec<Value>, ApiError> {
    let config = reader.reader_config.clone().unwrap_or(Value::Null);
    let items = crate::dmap::items_of_source(&reader.resource, &config, data.as_bytes());
    items.map_err(|f| {
        ApiError::validation(format!(
            "mapItemReaderData is not what the ItemReader reads: {}",
            f.cause.unwrap_or_default()
        ))
    })
}

/// Reads and checks `mock` (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_MockInput.html>).
fn mock_of(mock: &Value) -> Result<(Mocked, Mode), ApiError> {
    let mode = match mock.get("fieldValidationMode") {
        None | Some(Value::Null) => Mode::Strict,
        Some(Value::String(s)) => Mode::parse(s).ok_or_else(|| {
            ApiError::validation(format!(
                "1 validation error detected: Value '{s}' at 'mock.fieldValidationMode' failed to satisfy constraint: Member must satisfy enum value set: [STRICT, PRESENT, NONE]"
            ))
        })?,
        Some(_) => {
            return Err(ApiError::new(
                "SerializationException",
                "'fieldValidationMode' must be a string",
            ))
        }
    };
    let result = mock.get("result").filter(|v| !v.is_null());
    let error = mock.get("errorOutput").filter(|v| !v.is_null());
    let mocked =
        match (result, error) {
            (Some(_), Some(_)) => return Err(ApiError::validation(
                "A test mock should have only one of the following fields: [result, errorOutput].",
            )),
            (Some(Value::String(r)), None) => {
                // AWS's message (recorded), whatever the parse error.
                let v = serde_json::from_str(r)
                    .map_err(|_| ApiError::validation("Mocked result must be valid JSON"))?;
                Mocked::Result(v)
            }
            (Some(_), None) => {
                return Err(ApiError::new(
                    "SerializationException",
                    "'result' must be a string",
                ))
            }
            (None, Some(e)) => {
                let text = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                Mocked::Error {
                    error: text("error"),
                    cause: text("cause"),
                }
            }
            (None, None) => {
                return Err(ApiError::validation(
                    "A test mock should have one of the following fields: [result, errorOutput].",
                ))
            }
        };
    Ok((mocked, mode))
}

/// Checks the mock against the state it replaces: the state types a mock may stand in for, the
/// shape of a Map's or Parallel's result, the integration's response shape.
fn check_mock(mocked: &Mocked, mode: Mode, state: &State) -> Result<(), ApiError> {
    let type_name = state.type_name();
    // "A mock can only be specified for Task, Map, or Parallel states" (API_TestState.html).
    if !matches!(state, State::Task(_) | State::Map(_) | State::Parallel(_)) {
        return Err(ApiError::validation(format!(
            "State type '{type_name}' is not supported when a mock is specified"
        )));
    }
    let Mocked::Result(result) = mocked else {
        return Ok(());
    };
    match state {
        // With a ResultWriter the Map's result is the writer's summary object.
        State::Map(m) if m.result_writer.is_some() && !result.is_object() => {
            return Err(ApiError::validation("Mocked result must be a JSON object."));
        }
        State::Map(m) if m.result_writer.is_none() && !result.is_array() => {
            return Err(ApiError::validation("Mocked result must be an array."));
        }
        State::Parallel(p) => match result.as_array() {
            None => return Err(ApiError::validation("Mocked result must be an array.")),
            Some(a) if a.len() != p.branches.len() => {
                return Err(ApiError::validation(
                    "Mocked result must contain the same number of items as number of Parallel branches.",
                ))
            }
            Some(_) => {}
        },
        State::Task(t) => {
            if let Some(shape) = mock_shapes::shape_of(&t.resource) {
                mock_shapes::check(result, shape, mode).map_err(ApiError::validation)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// TestState's `mock` as a mock case of the engine.
fn mock_case(state: &str, mocked: &Mocked) -> Result<crate::MockCase, ApiError> {
    let response = match mocked {
        Mocked::Result(v) => json!({"Return": v}),
        Mocked::Error { error, cause } => json!({"Throw": {"Error": error, "Cause": cause}}),
    };
    let cfg = json!({
        "StateMachines": {"TestState": {"TestCases": {"mock": {state: "mocked"}}}},
        "MockedResponses": {"mocked": {"0": response}},
    });
    MockConfig::from_json(&cfg.to_string())
        .and_then(|c| c.test_case("TestState", "mock"))
        .map_err(|e| ApiError::validation(e.to_string()))
}

/// `variables`: a JSON object of variable names and values.
fn variables(req: &Req) -> Result<Vec<(String, Value)>, ApiError> {
    let Some(text) = req.opt_str("variables")? else {
        return Ok(Vec::new());
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m.into_iter().collect()),
        Ok(_) => Err(ApiError::validation(
            "variables must be a JSON object literal of variable names and values",
        )),
        Err(e) => Err(ApiError::validation(format!(
            "variables is not valid JSON: {e}"
        ))),
    }
}

pub(super) async fn test_state(service: &Arc<Service>, req: &Req) -> Result<Value, ApiError> {
    let definition: Value = serde_json::from_str(req.str("definition")?)
        .map_err(|e| invalid(format!("INVALID_JSON_DESCRIPTION: {e}")))?;
    let (name, mut state_value) = state_definition(&definition, req.opt_str("stateName")?)?;
    check_state_schema(&name, &state_value)?;
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
    let mock = req.get("mock").map(mock_of).transpose()?;
    let reveal_secrets = req.opt_bool("revealSecrets")?.unwrap_or(false);
    let config = configuration(req)?;
    let variables = variables(req)?;
    let context =
        match req.opt_str("context")? {
            None => None,
            Some(t) => Some(serde_json::from_str::<Value>(t).map_err(|e| {
                ApiError::validation(format!("Invalid Context object provided: {e}"))
            })?),
        };

    // The combinations AWS refuses (API_TestState.html, API_TestStateConfiguration.html).
    let is_map = matches!(state, State::Map(_));
    let is_map_or_parallel = is_map || matches!(state, State::Parallel(_));
    if let Some((mocked, mode)) = &mock {
        if reveal_secrets {
            return Err(ApiError::validation(
                "TestState does not support RevealSecrets when a mock is specified.",
            ));
        }
        check_mock(mocked, *mode, &state)?;
        // More failed iterations than the mocked Map has (AWS's recorded refusal).
        if let (true, Some(failed), Mocked::Result(Value::Array(items))) =
            (is_map, config.map_iteration_failure_count, mocked)
        {
            if failed > items.len() as u64 {
                return Err(ApiError::validation(
                    "Map iteration failure count must be less than or equal to the number of Map iterations.",
                ));
            }
        }
    } else {
        // Checked before the state's type, as AWS does (its recorded message).
        if config.map_iteration_failure_count.is_some() {
            return Err(ApiError::validation(
                "TestState does not support MapIterationFailureCount when a mock is not specified.",
            ));
        }
        // "TestState only supports ... Activity tasks, .sync or .waitForTaskToken service
        // integration patterns, Parallel, or Map states" when a mock is specified.
        if is_map_or_parallel {
            return Err(ApiError::new(
                "InvalidDefinition",
                "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]",
            ));
        }
        // "This field may only be specified if a mock is specified in the same request." (the
        // message is this engine's).
        if context.is_some() {
            return Err(ApiError::validation(
                "The context field may only be specified if a mock is specified in the same request.",
            ));
        }
        // This engine's message (none recorded from AWS).
        if is_activity(&state) || waits(&state) {
            return Err(ApiError::new(
                "InvalidDefinition",
                "TestState API does not support Activity tasks, .sync or .waitForTaskToken service integration patterns unless a mock is specified",
            ));
        }
        // The role is optional only when the Task's call is mocked.
        if matches!(state, State::Task(_)) && req.opt_str("roleArn")?.is_none() {
            return Err(ApiError::validation(
                "RoleArn must be specified when testing a Task state",
            ));
        }
    }
    if let Some(c) = &context {
        check_context(c, &state).map_err(ApiError::validation)?;
    }
    if let Some(s) = &config.error_caused_by_state {
        let mocks_error = matches!(mock, Some((Mocked::Error { .. }, _)));
        // This engine's message (none recorded from AWS).
        if !is_map_or_parallel || !mocks_error {
            return Err(ApiError::validation(
                "errorCausedByState can only be specified when an errorOutput is mocked for a Map or Parallel state.",
            ));
        }
        if !contains_state(&state, s) {
            return Err(ApiError::validation(format!(
                "errorCausedByState '{s}' is not a state of the tested {} state.",
                if is_map { "Map" } else { "Parallel" }
            )));
        }
    }
    // This engine's message (none recorded from AWS).
    if !is_map
        && (config.map_iteration_failure_count.is_some() || config.map_item_reader_data.is_some())
    {
        return Err(ApiError::validation(
            "mapIterationFailureCount and mapItemReaderData can only be specified for a Map state.",
        ));
    }
    let reader_data =
        match (&config.map_item_reader_data, &state) {
            (Some(data), State::Map(m)) => match &m.item_reader {
                Some(reader) => Some(reader_items(reader, data)?),
                None => return Err(ApiError::validation(
                    "mapItemReaderData can only be specified for a Map state with an ItemReader.",
                )),
            },
            _ => None,
        };

    // Retriers do not run in TestState; a mocked Map runs none of its iterations, so its
    // distributed-mode reader and writer are not needed either (its ItemBatcher still shapes
    // `afterItemBatcher`).
    if let Some(obj) = state_value.as_object_mut() {
        obj.remove("Retry");
        if mock.is_some() && is_map {
            obj.remove("ItemReader");
            obj.remove("ResultWriter");
        }
    }
    let successors: Vec<String> = state.successors().iter().map(|s| s.to_string()).collect();
    let mut states = Map::new();
    states.insert(name.clone(), state_value);
    for s in &successors {
        if s != &name {
            states.insert(s.clone(), json!({"Type": "Succeed"}));
        }
    }
    // A whole machine's QueryLanguage is its states' default.
    let mut top = json!({"StartAt": name, "States": states});
    if let Some(lang) = definition
        .get("States")
        .and(definition.get("QueryLanguage"))
    {
        top["QueryLanguage"] = lang.clone();
    }
    let machine = StateMachine::from_value(top)
        .map_err(|e| invalid(format!("SCHEMA_VALIDATION_FAILED: {e}")))?;
    let compiled = CompiledMachine::new(&machine)
        .map_err(|e| invalid(format!("SCHEMA_VALIDATION_FAILED: {e}")))?;

    let has_reader = matches!(&state, State::Map(m) if m.item_reader.is_some());
    let mut probe = StateProbe::new(name.clone());
    probe.variables = variables.clone();
    probe.context = context;
    probe.mock_iterations = mock.is_some();
    probe.map_iteration_failure_count = config.map_iteration_failure_count;
    // API_InspectionData.html afterItemsPointer: the items the reader's ItemsPointer selected
    // in the given data.
    let pointer = match &state {
        State::Map(m) => m
            .item_reader
            .as_ref()
            .and_then(|r| r.reader_config.as_ref())
            .and_then(|c| c.get("ItemsPointer"))
            .is_some(),
        _ => false,
    };
    if let (true, Some(items)) = (pointer, &reader_data) {
        probe.record("afterItemsPointer", Value::Array(items.clone()));
    }
    probe.map_item_reader_data = reader_data.or_else(|| has_reader.then(Vec::new));
    let probe = Arc::new(probe);
    // TestState runs the state as an Express execution: its `$$.Execution.Id` is
    // `...:express:<machine>:<name>` and it has no RedriveCount (AWS's recorded context objects).
    let execution_name = uuid::Uuid::new_v4().to_string();
    let execution_arn = format!(
        "arn:{}:states:{}:{}:express:TestState:{execution_name}",
        crate::partition_of(&req.region),
        req.region,
        service.config.account_id
    );
    let mut options = ExecOptions {
        virtual_time: true,
        state_machine_name: Some("TestState".into()),
        execution_name: Some(execution_name),
        execution_arn: Some(execution_arn),
        region: req.region.clone(),
        account_id: service.config.account_id.clone(),
        role_arn: req.opt_str("roleArn")?.map(str::to_owned),
        probe: Some(probe.clone()),
        ..Default::default()
    };
    if let Some((mocked, _)) = &mock {
        options.mock = Some(mock_case(&name, mocked)?);
    }
    // "The TestState API can run for up to five minutes. If the execution of a state exceeds this
    // duration, it fails with the States.Timeout error." (API_TestState.html)
    let run = service
        .engine
        .execute_compiled(&compiled, input.clone(), options);
    let result = match tokio::time::timeout(TEST_STATE_LIMIT, run).await {
        Ok(r) => r,
        Err(_) => crate::ExecutionResult {
            execution_arn: String::new(),
            status: ExecutionStatus::Failed {
                error: Some(crate::error::names::TIMEOUT.into()),
                cause: Some("TestState ran for longer than five minutes".into()),
            },
            history: Vec::new(),
        },
    };

    // The first state other than the tested one, and the variables the tested state assigned.
    let mut next_state = None;
    let mut assigned = Map::new();
    for ev in &result.history {
        let Some(details) = ev.details() else {
            continue;
        };
        let event_name = details.get("name").and_then(Value::as_str);
        if event_name == Some(name.as_str()) {
            if let Some(Value::Object(vars)) = details.get("assignedVariables") {
                for (k, v) in vars {
                    let v = v
                        .as_str()
                        .and_then(|t| serde_json::from_str(t).ok())
                        .unwrap_or_else(|| v.clone());
                    assigned.insert(k.clone(), v);
                }
            }
        }
        if let Some(entered) = event_name {
            if entered != name && ev.event_type.as_str().ends_with("StateEntered") {
                next_state = Some(entered.to_string());
                break;
            }
        }
    }

    let raised = probe.failure();
    let (mut status, error, cause, mut output) = match result.status {
        ExecutionStatus::Succeeded { output } => match &raised {
            Some(f) => (
                "CAUGHT_ERROR",
                f.error.clone(),
                f.cause.clone(),
                Some(output),
            ),
            None => ("SUCCEEDED", None, None, Some(output)),
        },
        ExecutionStatus::Failed { error, cause } | ExecutionStatus::TimedOut { error, cause } => {
            next_state = None;
            ("FAILED", error, cause, None)
        }
        ExecutionStatus::Aborted => ("FAILED", Some("States.Aborted".into()), None, None),
    };
    let mut error_details = Map::new();
    if status != "SUCCEEDED" {
        let retried = config.retrier_retry_count.unwrap_or(0);
        if let Some(d) = error
            .as_deref()
            .and_then(|e| retry_decision(state.retriers(), e, retried))
        {
            error_details.insert("retryIndex".into(), json!(d.index));
            if let Some(b) = d.backoff_seconds {
                error_details.insert("retryBackoffIntervalSeconds".into(), json!(b));
                status = "RETRIABLE";
                next_state = None;
                output = None;
            }
        }
        if status == "CAUGHT_ERROR" {
            if let Some(i) = error
                .as_deref()
                .and_then(|e| catch_index(state.catchers(), e))
            {
                error_details.insert("catchIndex".into(), json!(i));
            }
        }
    }

    let mut out = Map::new();
    out.insert("status".into(), json!(status));
    if let Some(e) = error {
        out.insert("error".into(), json!(e));
    }
    if let Some(c) = cause {
        out.insert("cause".into(), json!(c));
    }
    if let Some(o) = &output {
        out.insert("output".into(), json!(o.to_string()));
    }
    if let Some(n) = next_state {
        out.insert("nextState".into(), json!(n));
    }
    if level != "INFO" {
        out.insert(
            "inspectionData".into(),
            Value::Object(inspection_data(
                &input,
                probe.recorded(),
                &variables,
                assigned,
                error_details,
                status == "RETRIABLE",
            )),
        );
    }
    Ok(Value::Object(out))
}

/// `inspectionData` (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_InspectionData.html>):
/// the data-flow steps as JSON text, the Map's numbers as numbers, `variables` after the state
/// (those given and those it assigned), `errorDetails`. HTTP `request`/`response` (TRACE) are
/// absent: this engine runs no HTTP Task.
fn inspection_data(
    input: &Value,
    recorded: Map<String, Value>,
    given: &[(String, Value)],
    assigned: Map<String, Value>,
    error_details: Map<String, Value>,
    retriable: bool,
) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("input".into(), json!(input.to_string()));
    for (k, v) in recorded {
        // A retriable attempt has no result to carry forward.
        if retriable && matches!(k.as_str(), "afterResultSelector" | "afterResultPath") {
            continue;
        }
        let v = match k.as_str() {
            "maxConcurrency" | "toleratedFailureCount" | "toleratedFailurePercentage" => v,
            _ => json!(v.to_string()),
        };
        data.insert(k, v);
    }
    let mut vars: Map<String, Value> = given.iter().cloned().collect();
    vars.extend(assigned);
    if !vars.is_empty() {
        data.insert("variables".into(), json!(Value::Object(vars).to_string()));
    }
    if !error_details.is_empty() {
        data.insert("errorDetails".into(), Value::Object(error_details));
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(v: Value) -> State {
        serde_json::from_value(v).unwrap()
    }

    // API_TestStateConfiguration.html: retrierRetryCount is "the number of retry attempts that
    // have occurred for the state's Retry that applies to the mocked error".
    #[test]
    fn retrier_retry_count_decides_retriable_and_the_backoff() {
        let s = state(
            json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true,
            "Retry": [
                {"ErrorEquals": ["Other"]},
                {"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2.0}
            ]}),
        );
        let r = s.retriers();
        assert_eq!(
            retry_decision(r, "Boom", 0),
            Some(RetryDecision {
                index: 1,
                backoff_seconds: Some(1)
            })
        );
        assert_eq!(
            retry_decision(r, "Boom", 4).unwrap().backoff_seconds,
            Some(16)
        );
        assert_eq!(
            retry_decision(r, "Boom", 5),
            Some(RetryDecision {
                index: 1,
                backoff_seconds: None
            })
        );
        assert_eq!(retry_decision(r, "Unrelated", 0), None);
        let huge = state(json!({"Type": "Task", "Resource": "r", "End": true,
            "Retry": [{"ErrorEquals": ["X"], "MaxAttempts": 99999999}]}));
        assert_eq!(
            retry_decision(huge.retriers(), "X", 5000)
                .unwrap()
                .backoff_seconds,
            Some(i32::MAX as i64)
        );
    }

    #[test]
    fn retry_defaults_and_max_delay() {
        let s = state(json!({"Type": "Task", "Resource": "r", "End": true,
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "MaxDelaySeconds": 10}]}));
        let r = s.retriers();
        // MaxAttempts 3 and BackoffRate 2.0 by default.
        assert_eq!(retry_decision(r, "X", 1).unwrap().backoff_seconds, Some(6));
        assert_eq!(retry_decision(r, "X", 2).unwrap().backoff_seconds, Some(10));
        assert_eq!(retry_decision(r, "X", 3).unwrap().backoff_seconds, None);
        // States.ALL does not match States.Runtime.
        assert_eq!(retry_decision(r, "States.Runtime", 0), None);
        let never = state(json!({"Type": "Task", "Resource": "r", "End": true,
            "Retry": [{"ErrorEquals": ["X"], "MaxAttempts": 0}]}));
        assert_eq!(
            retry_decision(never.retriers(), "X", 0)
                .unwrap()
                .backoff_seconds,
            None
        );
    }

    #[test]
    fn catch_index_is_the_first_matching_catcher() {
        let s = state(
            json!({"Type": "Task", "Resource": "r", "End": true, "Catch": [
            {"ErrorEquals": ["A"], "Next": "a"},
            {"ErrorEquals": ["States.ALL"], "Next": "b"}]}),
        );
        assert_eq!(catch_index(s.catchers(), "A"), Some(0));
        assert_eq!(catch_index(s.catchers(), "B"), Some(1));
    }

    // https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html: the
    // members a context object has.
    #[test]
    fn context_members_are_checked() {
        let task = state(
            json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}),
        );
        let wait = state(
            json!({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": true}),
        );
        let full = json!({"Execution": {"Id": "arn", "Input": {"a": 1}, "Name": "n", "RoleArn": "r", "StartTime": "t"},
            "State": {"EnteredTime": "t", "Name": "S", "RetryCount": 0}, "StateMachine": {"Id": "i", "Name": "m"}});
        assert_eq!(check_context(&full, &task), Ok(()));
        let msg = |c: Value, s: &State| check_context(&c, s).unwrap_err();
        assert_eq!(
            msg(json!({"Execution": {"Id": 1}}), &task),
            "Invalid Context object provided: Execution.Id must be a string"
        );
        assert_eq!(
            msg(json!({"Map": {}}), &task),
            "Invalid Context object provided: 'Map' field is not supported when mocking a Context object"
        );
        assert_eq!(
            msg(json!({"Execution": {"pokemon": "x"}}), &task),
            "Invalid Context object provided: Field 'pokemon' is not allowed"
        );
        assert_eq!(
            msg(json!({"Pokedex": {}}), &task),
            "Invalid Context object provided: Field 'Pokedex' is not allowed"
        );
        assert!(msg(json!({"Task": {"Token": "t"}}), &task).contains("'Task'"));
        assert_eq!(
            check_context(&json!({"Task": {"Token": "t"}}), &wait),
            Ok(())
        );
        assert_eq!(
            check_context(
                &json!({"Execution": {}, "State": {}, "StateMachine": {}}),
                &task
            ),
            Ok(())
        );
    }

    #[test]
    fn error_caused_by_state_must_be_inside() {
        let map = state(
            json!({"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "A", "States": {
            "A": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}]}}}}),
        );
        assert!(contains_state(&map, "A"));
        assert!(contains_state(&map, "B"));
        assert!(!contains_state(&map, "C"));
    }

    #[test]
    fn mock_shapes_of_map_and_parallel_results() {
        let map = state(
            json!({"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}}),
        );
        let par = state(json!({"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}]}));
        let pass = state(json!({"Type": "Pass", "End": true}));
        let err = |m: Value, s: &State| {
            check_mock(&Mocked::Result(m), Mode::Strict, s)
                .unwrap_err()
                .message
        };
        assert_eq!(err(json!({}), &map), "Mocked result must be an array.");
        assert!(check_mock(&Mocked::Result(json!([1])), Mode::Strict, &map).is_ok());
        assert_eq!(
            err(json!([1]), &par),
            "Mocked result must contain the same number of items as number of Parallel branches."
        );
        assert_eq!(
            err(json!(1), &pass),
            "State type 'Pass' is not supported when a mock is specified"
        );
    }
}
