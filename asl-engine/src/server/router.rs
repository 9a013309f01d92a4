//! The endpoint's HTTP routes: `POST /` dispatched on `X-Amz-Target` to the operations, and the
//! fault-injection routes under `/_local/faults`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{Map, Value};

use super::protocol::{json_response, signing_region, ApiError, Req};
use super::store::Service;
use super::{activities, map_runs, ops, versions};

const TARGET_PREFIX: &str = "AWSStepFunctions.";

pub(super) fn router(service: Arc<Service>) -> Router {
    let mut router = Router::new().route("/", post(handle));
    if service.faults.is_some() {
        router = router.route(
            "/_local/faults",
            post(add_fault).get(list_faults).delete(clear_faults),
        );
    }
    router.with_state(service)
}

/// `POST /_local/faults` (only with `ServerConfig::fault_injection`): 201 with the new rule.
async fn add_fault(
    axum::extract::State(service): axum::extract::State<Arc<Service>>,
    body: Bytes,
) -> Response {
    let Some(faults) = &service.faults else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match faults.add(service.engine.registry(), &body) {
        Ok(rule) => plain_json(StatusCode::CREATED, &rule),
        Err(e) => e.into_response(),
    }
}

/// `GET /_local/faults`: the rules with their `injected` counts.
async fn list_faults(
    axum::extract::State(service): axum::extract::State<Arc<Service>>,
) -> Response {
    match &service.faults {
        Some(f) => plain_json(StatusCode::OK, &f.list()),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `DELETE /_local/faults`: removes every rule, answers them as they were.
async fn clear_faults(
    axum::extract::State(service): axum::extract::State<Arc<Service>>,
) -> Response {
    match &service.faults {
        Some(f) => plain_json(StatusCode::OK, &f.clear()),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn plain_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn handle(
    axum::extract::State(service): axum::extract::State<Arc<Service>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(operation) = target.strip_prefix(TARGET_PREFIX) else {
        return ApiError::new(
            "UnknownOperationException",
            format!("Missing or unknown X-Amz-Target header: '{target}'"),
        )
        .into_response();
    };
    let request: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        match serde_json::from_slice(&body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return ApiError::new(
                    "SerializationException",
                    "The request body must be a JSON object",
                )
                .into_response()
            }
            Err(e) => {
                return ApiError::new(
                    "SerializationException",
                    format!("The request body is not valid JSON: {e}"),
                )
                .into_response()
            }
        }
    };
    let region = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(signing_region)
        .unwrap_or_else(|| service.config.region.clone());
    let req = Req {
        body: request,
        region,
    };
    tracing::debug!(operation, "Step Functions request");
    let result = match operation {
        "CreateStateMachine" => ops::create_state_machine(&service, &req),
        "UpdateStateMachine" => ops::update_state_machine(&service, &req),
        "DescribeStateMachine" => ops::describe_state_machine(&service, &req),
        "ListStateMachines" => ops::list_state_machines(&service, &req),
        "DeleteStateMachine" => ops::delete_state_machine(&service, &req),
        "StartExecution" => ops::start_execution(&service, &req),
        "StartSyncExecution" => ops::start_sync_execution(&service, &req).await,
        "DescribeExecution" => ops::describe_execution(&service, &req),
        "ListExecutions" => ops::list_executions(&service, &req),
        "StopExecution" => ops::stop_execution(&service, &req),
        "RedriveExecution" => ops::redrive_execution(&service, &req),
        "GetExecutionHistory" => ops::get_execution_history(&service, &req),
        "ValidateStateMachineDefinition" => ops::validate_definition(&req),
        "CreateActivity" => activities::create_activity(&service, &req),
        "DescribeActivity" => activities::describe_activity(&service, &req),
        "DeleteActivity" => activities::delete_activity(&service, &req),
        "ListActivities" => activities::list_activities(&service, &req),
        "GetActivityTask" => activities::get_activity_task(&service, &req).await,
        "SendTaskSuccess" => ops::send_task_success(&service, &req),
        "SendTaskFailure" => ops::send_task_failure(&service, &req),
        "SendTaskHeartbeat" => ops::send_task_heartbeat(&service, &req),
        "TagResource" => ops::tag_resource(&service, &req),
        "UntagResource" => ops::untag_resource(&service, &req),
        "ListTagsForResource" => ops::list_tags_for_resource(&service, &req),
        "PublishStateMachineVersion" => versions::publish_state_machine_version(&service, &req),
        "ListStateMachineVersions" => versions::list_state_machine_versions(&service, &req),
        "DeleteStateMachineVersion" => versions::delete_state_machine_version(&service, &req),
        "CreateStateMachineAlias" => versions::create_state_machine_alias(&service, &req),
        "DescribeStateMachineAlias" => versions::describe_state_machine_alias(&service, &req),
        "UpdateStateMachineAlias" => versions::update_state_machine_alias(&service, &req),
        "DeleteStateMachineAlias" => versions::delete_state_machine_alias(&service, &req),
        "ListStateMachineAliases" => versions::list_state_machine_aliases(&service, &req),
        "DescribeStateMachineForExecution" => {
            ops::describe_state_machine_for_execution(&service, &req)
        }
        "TestState" => super::test_state::test_state(&service, &req).await,
        "DescribeMapRun" => map_runs::describe_map_run(&service, &req),
        "ListMapRuns" => map_runs::list_map_runs(&service, &req),
        "UpdateMapRun" => map_runs::update_map_run(&service, &req),
        other => Err(ApiError::new(
            "UnknownOperationException",
            format!("The operation '{other}' is not supported by this local endpoint"),
        )),
    };
    match result {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => e.into_response(),
    }
}
