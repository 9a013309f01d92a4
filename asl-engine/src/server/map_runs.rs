//! The Map Run API of the endpoint: DescribeMapRun, ListMapRuns, UpdateMapRun, ListExecutions
//! with `mapRunArn`, and DescribeExecution, GetExecutionHistory and
//! DescribeStateMachineForExecution of a Map Run's child executions, answered from the
//! engine's [`crate::dmap::MapRuns`] (which distributed Map states record as they run)
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeMapRun.html>,
//! <https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListMapRuns.html>,
//! <https://docs.aws.amazon.com/step-functions/latest/apireference/API_UpdateMapRun.html>,
//! <https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html>).

use serde_json::{json, Value};

use chrono::{DateTime, Utc};

use super::checks::{check_arn, execution_not_found, resource_not_found};
use super::journal::{ChildJournal, MapRunJournal};
use super::protocol::{epoch, page_of, parse_page_token, ApiError, Req};
use super::store::{parse_time, Service};
use crate::dmap::{ChildHistory, ChildRecord, MapRunRecord, MapRuns};

type OpResult = Result<Value, ApiError>;

fn map_run_arn(req: &Req) -> Result<&str, ApiError> {
    check_arn(req.str("mapRunArn")?, &["mapRun"])
}

fn find(service: &Service, arn: &str) -> Result<MapRunRecord, ApiError> {
    service
        .engine
        .registry()
        .map_runs()
        .get(arn)
        .ok_or_else(|| resource_not_found(arn))
}

/// DescribeMapRun.
pub(super) fn describe_map_run(service: &Service, req: &Req) -> OpResult {
    let arn = map_run_arn(req)?;
    let r = find(service, arn)?;
    let (items, executions) = r.counts();
    let mut out = json!({
        "mapRunArn": r.map_run_arn,
        "executionArn": r.execution_arn,
        "status": r.status,
        "startDate": epoch(&r.start),
        "maxConcurrency": r.max_concurrency,
        "toleratedFailurePercentage": r.tolerated_failure_percentage.unwrap_or(0.0),
        "toleratedFailureCount": r.tolerated_failure_count.unwrap_or(0),
        "itemCounts": items,
        "executionCounts": executions,
        "redriveCount": r.redriven.map_or(0, |d| d.count),
    });
    if let Some(d) = &r.redriven {
        out["redriveDate"] = epoch(&d.date);
    }
    if let Some(s) = &r.stop {
        out["stopDate"] = epoch(s);
    }
    Ok(out)
}

/// ListMapRuns: the Map Runs of an execution, in start order.
pub(super) fn list_map_runs(service: &Service, req: &Req) -> OpResult {
    let arn = check_arn(req.str("executionArn")?, &["execution", "express"])?;
    let known = service.state().executions.contains_key(arn)
        || service.engine.registry().map_runs().child(arn).is_some();
    if !known {
        return Err(execution_not_found(arn));
    }
    let max = req.max_results(100)?;
    let binding = format!("ListMapRuns|{arn}");
    let offset = parse_page_token(req.opt_str("nextToken")?, &binding)?;
    let all = service
        .engine
        .registry()
        .map_runs()
        .of_execution(arn)
        .into_iter()
        .map(|r| {
            let mut v = json!({
                "executionArn": r.execution_arn,
                "mapRunArn": r.map_run_arn,
                "stateMachineArn": r.state_machine_arn,
                "startDate": epoch(&r.start),
            });
            if let Some(s) = &r.stop {
                v["stopDate"] = epoch(s);
            }
            v
        })
        .collect();
    Ok(page_of(all, "mapRuns", offset, max, &binding))
}

fn non_negative(req: &Req, field: &str, max: Option<f64>) -> Result<Option<f64>, ApiError> {
    match req.get(field) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(n) if n >= 0.0 && max.is_none_or(|m| n <= m) => Ok(Some(n)),
            _ => Err(ApiError::validation(format!(
                "1 validation error detected: Value '{v}' at '{field}' failed to satisfy constraint: Member must have value {}",
                match max {
                    Some(m) => format!("between 0 and {m}"),
                    None => "greater than or equal to 0".into(),
                }
            ))),
        },
    }
}

/// UpdateMapRun: a running Map Run's maxConcurrency and tolerated failures, which it applies as
/// its next children start and fail.
pub(super) fn update_map_run(service: &Service, req: &Req) -> OpResult {
    let arn = map_run_arn(req)?;
    let concurrency = non_negative(req, "maxConcurrency", None)?;
    let count = non_negative(req, "toleratedFailureCount", None)?;
    let pct = non_negative(req, "toleratedFailurePercentage", Some(100.0))?;
    if concurrency.is_none() && count.is_none() && pct.is_none() {
        return Err(ApiError::validation(
            "At least one of the parameters maxConcurrency, toleratedFailurePercentage or toleratedFailureCount must be specified",
        ));
    }
    let runs = service.engine.registry().map_runs();
    // Only a running Map Run can be updated: AWS answers a ValidationException with the reason
    // CANNOT_UPDATE_COMPLETED_MAP_RUN for one that ended
    // (https://docs.aws.amazon.com/step-functions/latest/apireference/API_UpdateMapRun.html).
    if let Some(r) = runs.get(arn) {
        if r.status != "RUNNING" {
            return Err(ApiError::validation(format!(
                "Map Run {arn} is {} and can no longer be updated",
                r.status
            ))
            .with_reason("CANNOT_UPDATE_COMPLETED_MAP_RUN"));
        }
    }
    let updated = runs.update(arn, |r| {
        if let Some(c) = concurrency {
            r.max_concurrency = c as u64;
        }
        if let Some(c) = count {
            r.tolerated_failure_count = Some(c as u64);
        }
        if let Some(p) = pct {
            r.tolerated_failure_percentage = Some(p);
        }
    });
    if !updated {
        return Err(resource_not_found(arn));
    }
    Ok(json!({}))
}

/// ListExecutions with `mapRunArn`: the Map Run's child executions, newest first.
pub(super) fn list_map_run_executions(service: &Service, req: &Req) -> OpResult {
    if req.get("stateMachineArn").is_some() {
        return Err(ApiError::validation(
            "You can specify either a mapRunArn or a stateMachineArn, but not both",
        ));
    }
    let arn = map_run_arn(req)?;
    let r = find(service, arn)?;
    let filter = req.opt_str("statusFilter")?;
    let max = req.max_results(100)?;
    let binding = format!("ListExecutions|{arn}|{}", filter.unwrap_or(""));
    let offset = parse_page_token(req.opt_str("nextToken")?, &binding)?;
    let all = r
        .children
        .iter()
        .rev()
        .filter(|c| filter.is_none_or(|f| f == c.status))
        .map(|c| {
            let mut v = json!({
                "executionArn": c.arn,
                "stateMachineArn": r.state_machine_arn,
                "name": c.name,
                "status": c.status,
                "startDate": epoch(&c.start),
                "mapRunArn": r.map_run_arn,
                "itemCount": c.item_count,
            });
            if let Some(s) = &c.stop {
                v["stopDate"] = epoch(s);
            }
            v
        })
        .collect();
    Ok(page_of(all, "executions", offset, max, &binding))
}

/// GetExecutionHistory of a Map Run's child, when `arn` is one: the total number of its events
/// and the page asked for (newest first with `reverse`).
pub(super) fn child_events_page(
    service: &Service,
    arn: &str,
    reverse: bool,
    offset: usize,
    max: usize,
) -> Option<(usize, Vec<Value>)> {
    let history = service.engine.registry().map_runs().child_history(arn)?;
    let events = history.values();
    Some(super::store::page(
        events.len(),
        reverse,
        offset,
        max,
        |i| events[i].clone(),
    ))
}

/// DescribeStateMachineForExecution of a Map Run's child, when `arn` is one: the Map state's item
/// processor as the child's state machine, with `mapRunArn` and `label`
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeStateMachineForExecution.html>).
/// `parent` gives the definition, role and creation date of the parent execution's machine.
pub(super) fn child_machine(
    service: &Service,
    arn: &str,
    parent: impl FnOnce(&str) -> Option<(std::sync::Arc<str>, String, Value)>,
) -> Option<Result<Value, ApiError>> {
    let (_, r) = service.engine.registry().map_runs().child(arn)?;
    // `...:stateMachine:<machine>/<label>`: the label is the Map state's Label or its name.
    let name = r.state_machine_arn.rsplit(':').next().unwrap_or_default();
    let label = name.rsplit_once('/').map_or(name, |(_, l)| l);
    let Some((definition, role_arn, update_date)) = parent(&r.execution_arn) else {
        return Some(Err(execution_not_found(arn)));
    };
    let processor = serde_json::from_str::<Value>(&definition)
        .ok()
        .and_then(|d| item_processor(&d, label))?;
    Some(Ok(json!({
        "stateMachineArn": r.state_machine_arn,
        "name": name,
        "definition": processor.to_string(),
        "roleArn": role_arn,
        "updateDate": update_date,
        "mapRunArn": r.map_run_arn,
        "label": label,
    })))
}

/// The item processor (`ItemProcessor`, or the older `Iterator`) of the Map state labelled
/// `label` (its `Label`, or its name) anywhere in `definition`, as a state machine definition
/// (without `ProcessorConfig`).
fn item_processor(definition: &Value, label: &str) -> Option<Value> {
    let (_, map) = super::definition::find_nested_state(definition, &|name, state| {
        state.get("Type").and_then(Value::as_str) == Some("Map")
            && state.get("Label").and_then(Value::as_str).unwrap_or(name) == label
    })?;
    let mut processor = map
        .get("ItemProcessor")
        .or_else(|| map.get("Iterator"))?
        .clone();
    if let Some(o) = processor.as_object_mut() {
        o.remove("ProcessorConfig");
    }
    Some(processor)
}

/// DescribeExecution of a Map Run's child, when `arn` is one.
pub(super) fn describe_child(service: &Service, arn: &str) -> Option<Value> {
    let (c, r) = service.engine.registry().map_runs().child(arn)?;
    Some(child_description(&c, &r))
}

fn child_description(c: &ChildRecord, r: &MapRunRecord) -> Value {
    let mut out = json!({
        "executionArn": c.arn,
        "stateMachineArn": r.state_machine_arn,
        "name": c.name,
        "status": c.status,
        "startDate": epoch(&c.start),
        "input": c.input.to_string(),
        "inputDetails": {"included": true},
        "mapRunArn": r.map_run_arn,
        "redriveCount": c.redriven.map_or(0, |d| d.count),
    });
    if let Some(d) = &c.redriven {
        out["redriveDate"] = epoch(&d.date);
    }
    if let Some(s) = &c.stop {
        out["stopDate"] = epoch(s);
    }
    if let Some(o) = &c.output {
        out["output"] = json!(o.to_string());
        out["outputDetails"] = json!({"included": true});
    }
    if let Some(e) = &c.error {
        out["error"] = json!(e);
    }
    if let Some(e) = &c.cause {
        out["cause"] = json!(e);
    }
    out
}

/// The Map Runs the execution `execution_arn` started, as its journal record keeps them
/// (`--state-dir`): a restarted endpoint answers DescribeMapRun, ListMapRuns and its children's
/// DescribeExecution, GetExecutionHistory and ListExecutions as before.
pub(super) fn journaled(runs: &MapRuns, execution_arn: &str) -> Vec<MapRunJournal> {
    use super::journal::format_time;
    runs.of_execution(execution_arn)
        .into_iter()
        .map(|r| MapRunJournal {
            map_run_arn: r.map_run_arn,
            state_machine_arn: r.state_machine_arn,
            execution_type: r.execution_type,
            status: r.status,
            start: format_time(&r.start),
            stop: r.stop.as_ref().map(format_time),
            max_concurrency: r.max_concurrency,
            tolerated_failure_percentage: r.tolerated_failure_percentage,
            tolerated_failure_count: r.tolerated_failure_count,
            total_items: r.total_items,
            results_written: r.results_written,
            total_executions: r.total_executions,
            children: r
                .children
                .into_iter()
                .map(|c| ChildJournal {
                    history: c.history.values(),
                    arn: c.arn,
                    name: c.name,
                    input: c.input,
                    status: c.status,
                    output: c.output,
                    error: c.error,
                    cause: c.cause,
                    start: format_time(&c.start),
                    stop: c.stop.as_ref().map(format_time),
                    item_count: c.item_count,
                    redrive_count: c.redriven.map_or(0, |d| d.count),
                    redrive_date: c.redriven.map(|d| format_time(&d.date)),
                })
                .collect(),
            redrive_count: r.redriven.map_or(0, |d| d.count),
            redrive_date: r.redriven.map(|d| format_time(&d.date)),
        })
        .collect()
}

/// Puts back the journaled Map Runs of the closed execution `execution_arn`, which stopped at
/// `stopped`. A Map Run journaled RUNNING (its execution was stopped while it ran: the run is
/// dropped just after) is ABORTED then, with its running children.
pub(super) fn load(
    runs: &MapRuns,
    execution_arn: &str,
    stopped: Option<DateTime<Utc>>,
    journaled: Vec<MapRunJournal>,
) {
    let time = |t: &str| parse_time(t).unwrap_or_else(Utc::now);
    let redriven = |count: u32, date: Option<&str>| {
        (count > 0).then(|| crate::dmap::Redriven {
            count,
            date: date.map_or_else(Utc::now, time),
        })
    };
    for r in journaled {
        let stop = stopped.unwrap_or_else(Utc::now);
        let mut record = MapRunRecord {
            map_run_arn: r.map_run_arn,
            execution_arn: execution_arn.to_string(),
            state_machine_arn: r.state_machine_arn,
            execution_type: r.execution_type,
            status: r.status,
            start: time(&r.start),
            stop: r.stop.as_deref().map(time),
            max_concurrency: r.max_concurrency,
            tolerated_failure_percentage: r.tolerated_failure_percentage,
            tolerated_failure_count: r.tolerated_failure_count,
            total_items: r.total_items,
            results_written: r.results_written,
            total_executions: r.total_executions,
            children: r
                .children
                .into_iter()
                .map(|c| ChildRecord {
                    start: time(&c.start),
                    stop: c.stop.as_deref().map(time),
                    arn: c.arn,
                    name: c.name,
                    input: c.input,
                    status: c.status,
                    output: c.output,
                    error: c.error,
                    cause: c.cause,
                    item_count: c.item_count,
                    history: ChildHistory::Loaded(c.history.into()),
                    abort: None,
                    redriven: redriven(c.redrive_count, c.redrive_date.as_deref()),
                })
                .collect(),
            redriven: redriven(r.redrive_count, r.redrive_date.as_deref()),
        };
        if record.status == "RUNNING" {
            record.status = "ABORTED".into();
            record.stop = Some(stop);
        }
        record.abort_running_children(stop);
        runs.insert(record);
    }
}
