//! Activities: CreateActivity, DescribeActivity, DeleteActivity, ListActivities and the workers'
//! long poll GetActivityTask. An activity Task of a running execution queues its input and token
//! in the engine's [`crate::Callbacks`]; a worker takes it here and answers with SendTask*.
//! <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-activities.html>

use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Value};

use super::checks::{check_arn, check_name, OpResult};
use super::ops::{check_tag_count, encryption_configuration, tag_list};
use super::protocol::{epoch, page_of, parse_page_token, ApiError, Req};
use super::store::{Activity, Service};

/// How long GetActivityTask waits for a task before answering with none (AWS: 60 s).
pub(super) const LONG_POLL: Duration = Duration::from_secs(60);

fn activity_not_found(arn: &str) -> ApiError {
    ApiError::new(
        "ActivityDoesNotExist",
        format!("Activity Does Not Exist: '{arn}'"),
    )
}

/// CreateActivity: idempotent by name (the existing activity's ARN and date are answered).
pub(super) fn create_activity(service: &Service, req: &Req) -> OpResult {
    let name = req.str("name")?;
    check_name(name)?;
    let encryption = encryption_configuration(req)?;
    let tags: std::collections::BTreeMap<String, String> =
        tag_list(req.get("tags"))?.into_iter().collect();
    check_tag_count(&tags, name)?;
    let arn = format!("{}:activity:{name}", service.arn_prefix(&req.region));
    let mut state = service.state();
    if let Some(existing) = state.activities.get(&arn) {
        return Ok(json!({"activityArn": arn, "creationDate": epoch(&existing.created)}));
    }
    let created = Utc::now();
    state.activities.insert(
        arn.clone(),
        Activity {
            arn: arn.clone(),
            name: name.to_string(),
            created,
            encryption,
            tags,
        },
    );
    service.journal_machines(&state);
    Ok(json!({"activityArn": arn, "creationDate": epoch(&created)}))
}

/// DescribeActivity.
pub(super) fn describe_activity(service: &Service, req: &Req) -> OpResult {
    let arn = check_arn(req.str("activityArn")?, &["activity"])?;
    let state = service.state();
    let a = state
        .activities
        .get(arn)
        .ok_or_else(|| activity_not_found(arn))?;
    Ok(json!({
        "activityArn": a.arn,
        "name": a.name,
        "creationDate": epoch(&a.created),
        "encryptionConfiguration": a.encryption.clone().unwrap_or_else(|| json!({"type": "AWS_OWNED_KEY"})),
    }))
}

/// DeleteActivity: idempotent. Tasks no worker took yet are dropped: their executions' activity
/// Tasks fail at once with `States.Timeout` (`ActivityTimedOut`), as no worker can take them any
/// more; tasks a worker holds can still be answered.
pub(super) fn delete_activity(service: &Service, req: &Req) -> OpResult {
    let arn = check_arn(req.str("activityArn")?, &["activity"])?;
    let mut state = service.state();
    if state.activities.remove(arn).is_some() {
        service.engine.callbacks().clear_activity(arn);
        service.journal_machines(&state);
    }
    Ok(json!({}))
}

/// ListActivities, by ARN.
pub(super) fn list_activities(service: &Service, req: &Req) -> OpResult {
    let max = req.max_results(100)?;
    let binding = "ListActivities";
    let offset = parse_page_token(req.opt_str("nextToken")?, binding)?;
    let state = service.state();
    let all: Vec<Value> = state
        .activities
        .values()
        .map(|a| json!({"activityArn": a.arn, "name": a.name, "creationDate": epoch(&a.created)}))
        .collect();
    Ok(page_of(all, "activities", offset, max, binding))
}

/// GetActivityTask: the oldest task of the activity, waiting up to 60 s for one; without one,
/// an answer with no token.
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetActivityTask.html>
pub(super) async fn get_activity_task(service: &Service, req: &Req) -> OpResult {
    let arn = check_arn(req.str("activityArn")?, &["activity"])?.to_string();
    let worker = req.opt_str("workerName")?.unwrap_or_default().to_string();
    if worker.chars().count() > 80 {
        return Err(ApiError::validation(
            "1 validation error detected: Value at 'workerName' failed to satisfy constraint: Member must have length less than or equal to 80",
        ));
    }
    if !service.state().activities.contains_key(&arn) {
        return Err(activity_not_found(&arn));
    }
    let task = service
        .engine
        .callbacks()
        .next_activity_task(&arn, &worker, LONG_POLL)
        .await;
    Ok(match task {
        Some(task) => json!({"taskToken": task.token, "input": task.input}),
        None => json!({}),
    })
}
