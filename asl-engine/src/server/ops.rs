//! The Step Functions operations, with the request and response members of the API reference
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_Operations.html>).

use std::sync::Arc;

use chrono::Utc;
use serde_json::{json, Value};

use super::checks::OpResult;
use super::checks::{
    check_arn, check_name, execution_not_found, machine_not_found, resource_not_found,
    STANDARD_ONLY,
};
use super::definition::{analyse, invalid_definition, Diagnostic};
use super::protocol::{epoch, page_of, page_token, parse_page_token, ApiError, Req};
use super::store::{parse_time, Machine, NewExecution, Service};
use super::versions::{self, split_qualified, unqualified, Target};
use super::MachineType;
use crate::ExecutionStatus;

fn machine_type(req: &Req) -> Result<MachineType, ApiError> {
    match req.opt_str("type")? {
        None | Some("STANDARD") => Ok(MachineType::Standard),
        Some("EXPRESS") => Ok(MachineType::Express),
        Some(other) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{other}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [EXPRESS, STANDARD]"
        ))),
    }
}

/// An IAM role ARN: `arn:<partition>:iam::<12-digit account>:role/<name>`.
fn check_role(role: &str) -> Result<(), ApiError> {
    let parts: Vec<&str> = role.splitn(6, ':').collect();
    let valid = parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].starts_with("role/")
        && parts[5].len() > "role/".len();
    if valid {
        Ok(())
    } else {
        Err(ApiError::new(
            "InvalidArn",
            format!("Invalid Arn: '{role}'"),
        ))
    }
}

/// `arn:<partition>:states:<region>:<account>` of a Step Functions ARN.
fn arn_prefix_of(arn: &str) -> String {
    arn.splitn(6, ':').take(5).collect::<Vec<_>>().join(":")
}

/// CreateStateMachine's core; idempotent as AWS's: the same name, definition and role return the
/// existing machine, a difference is StateMachineAlreadyExists.
pub(super) fn create_machine(
    service: &Service,
    region: &str,
    name: &str,
    definition: &str,
    machine_type: MachineType,
    role_arn: &str,
) -> Result<(String, chrono::DateTime<Utc>), ApiError> {
    check_name(name)?;
    check_role(role_arn)?;
    let compiled = analyse(definition, machine_type == MachineType::Express)
        .map_err(|d| invalid_definition(&d))?;
    let arn = format!("{}:stateMachine:{name}", service.arn_prefix(region));
    let mut state = service.state();
    if let Some(existing) = state.machines.get(&arn) {
        if *existing.definition == *definition
            && existing.role_arn == role_arn
            && existing.machine_type == machine_type
        {
            return Ok((arn, existing.created));
        }
        return Err(ApiError::new(
            "StateMachineAlreadyExists",
            format!("State Machine Already Exists: '{arn}'"),
        ));
    }
    let created = Utc::now();
    state.machines.insert(
        arn.clone(),
        Machine {
            arn: arn.clone(),
            name: name.to_string(),
            definition: definition.into(),
            compiled,
            role_arn: role_arn.to_string(),
            machine_type,
            created,
            revision_id: uuid::Uuid::new_v4().to_string(),
            logging: None,
            tracing: None,
            encryption: None,
            description: None,
            tags: Default::default(),
            versions: Default::default(),
            next_version: 1,
            aliases: Default::default(),
        },
    );
    service.journal_machines(&state);
    Ok((arn, created))
}

/// Creates the machine `name`, or replaces the definition, type and role of an existing one of
/// that name (what `workflow serve --definition` does at startup, so that a restart on the same
/// state directory with an edited file runs the new definition). Returns its ARN (deterministic:
/// `arn:aws:states:<region>:<account>:stateMachine:<name>`).
pub(super) fn put_machine(
    service: &Service,
    name: &str,
    definition: &str,
    machine_type: MachineType,
    role_arn: &str,
) -> Result<String, ApiError> {
    let region = service.config.region.clone();
    match create_machine(service, &region, name, definition, machine_type, role_arn) {
        Err(e) if e.code == "StateMachineAlreadyExists" => {}
        other => return other.map(|(arn, _)| arn),
    }
    let compiled = analyse(definition, machine_type == MachineType::Express)
        .map_err(|d| invalid_definition(&d))?;
    let arn = format!("{}:stateMachine:{name}", service.arn_prefix(&region));
    let mut state = service.state();
    let m = state
        .machines
        .get_mut(&arn)
        .ok_or_else(|| machine_not_found(&arn))?;
    m.definition = definition.into();
    m.compiled = compiled;
    m.machine_type = machine_type;
    m.role_arn = role_arn.to_string();
    m.revision_id = uuid::Uuid::new_v4().to_string();
    service.journal_machines(&state);
    Ok(arn)
}

pub(super) fn create_state_machine(service: &Service, req: &Req) -> OpResult {
    let name = req.str("name")?;
    let definition = req.str("definition")?;
    let role = req.str("roleArn")?;
    let t = machine_type(req)?;
    check_version_description(req)?;
    let encryption = encryption_configuration(req)?;
    let tags: std::collections::BTreeMap<String, String> =
        tag_list(req.get("tags"))?.into_iter().collect();
    check_tag_count(&tags, name)?;
    let (arn, created) = create_machine(service, &req.region, name, definition, t, role)?;
    let mut state = service.state();
    if let Some(m) = state.machines.get_mut(&arn) {
        if let Some(l) = req.get("loggingConfiguration") {
            m.logging = Some(l.clone());
        }
        if let Some(t) = req.get("tracingConfiguration") {
            m.tracing = Some(t.clone());
        }
        if encryption.is_some() {
            m.encryption = encryption;
        }
        if let Some(d) = req.opt_str("versionDescription")? {
            m.description = Some(d.to_string());
        }
        m.tags.extend(tags);
    }
    let mut out = json!({"stateMachineArn": arn, "creationDate": epoch(&created)});
    if req.opt_bool("publish")? == Some(true) {
        let m = state
            .machines
            .get_mut(&arn)
            .ok_or_else(|| machine_not_found(&arn))?;
        let (version, _) = versions::publish(m, req.opt_str("versionDescription")?)?;
        out["stateMachineVersionArn"] = json!(version);
    }
    service.journal_machines(&state);
    Ok(out)
}

/// `versionDescription` is only allowed with `publish: true`.
fn check_version_description(req: &Req) -> Result<(), ApiError> {
    if req.opt_str("versionDescription")?.is_some() && req.opt_bool("publish")? != Some(true) {
        return Err(ApiError::validation(
            "Version description can only be set when publish is true",
        ));
    }
    Ok(())
}

/// `encryptionConfiguration`: `type` AWS_OWNED_KEY, or CUSTOMER_MANAGED_KMS_KEY with a
/// `kmsKeyId` (and an optional `kmsDataKeyReusePeriodSeconds` of 60 to 900).
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_EncryptionConfiguration.html>
pub(super) fn encryption_configuration(req: &Req) -> Result<Option<Value>, ApiError> {
    let Some(config) = req.get("encryptionConfiguration") else {
        return Ok(None);
    };
    match config["type"].as_str() {
        Some("AWS_OWNED_KEY") => Ok(Some(json!({"type": "AWS_OWNED_KEY"}))),
        Some("CUSTOMER_MANAGED_KMS_KEY") => {
            if config["kmsKeyId"].as_str().is_none_or(str::is_empty) {
                return Err(ApiError::validation(
                    "kmsKeyId is required when the encryption type is CUSTOMER_MANAGED_KMS_KEY",
                ));
            }
            if let Some(period) = config.get("kmsDataKeyReusePeriodSeconds") {
                if !period.as_u64().is_some_and(|p| (60..=900).contains(&p)) {
                    return Err(ApiError::validation(format!(
                        "1 validation error detected: Value '{period}' at 'encryptionConfiguration.kmsDataKeyReusePeriodSeconds' failed to satisfy constraint: Member must have value between 60 and 900"
                    )));
                }
            }
            Ok(Some(config.clone()))
        }
        other => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{}' at 'encryptionConfiguration.type' failed to satisfy constraint: Member must satisfy enum value set: [CUSTOMER_MANAGED_KMS_KEY, AWS_OWNED_KEY]",
            other.unwrap_or("null")
        ))),
    }
}

/// The most tags a resource may have.
/// <https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>
const MAX_TAGS: usize = 50;

/// A `tags` list (`[{"key": ..., "value": ...}]`), checked against AWS's constraints: keys of 1
/// to 128 characters, values of up to 256, not starting with `aws:`.
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_Tag.html>
pub(super) fn tag_list(tags: Option<&Value>) -> Result<Vec<(String, String)>, ApiError> {
    let Some(tags) = tags else {
        return Ok(Vec::new());
    };
    let items = tags
        .as_array()
        .ok_or_else(|| ApiError::new("SerializationException", "'tags' must be a list"))?;
    let mut out = Vec::with_capacity(items.len());
    for (i, tag) in items.iter().enumerate() {
        let key = tag["key"].as_str().unwrap_or_default();
        let value = tag["value"].as_str().unwrap_or_default();
        if key.is_empty() || key.chars().count() > 128 {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{key}' at 'tags.{}.member.key' failed to satisfy constraint: Member must have length between 1 and 128",
                i + 1
            )));
        }
        if value.chars().count() > 256 {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value at 'tags.{}.member.value' failed to satisfy constraint: Member must have length less than or equal to 256",
                i + 1
            )));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(ApiError::validation(
                "Tag keys starting with 'aws:' are reserved for AWS use",
            ));
        }
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}

pub(super) fn check_tag_count(
    tags: &std::collections::BTreeMap<String, String>,
    arn: &str,
) -> Result<(), ApiError> {
    if tags.len() > MAX_TAGS {
        return Err(ApiError::new(
            "TooManyTags",
            format!("Too many tags: a resource can have at most {MAX_TAGS} tags ('{arn}')"),
        ));
    }
    Ok(())
}

/// The tags of the machine or activity `arn`.
fn tags_of<'a>(
    state: &'a mut super::store::State,
    arn: &str,
) -> Result<&'a mut std::collections::BTreeMap<String, String>, ApiError> {
    let tags = if arn.split(':').nth(5) == Some("activity") {
        state.activities.get_mut(arn).map(|a| &mut a.tags)
    } else {
        state.machines.get_mut(arn).map(|m| &mut m.tags)
    };
    tags.ok_or_else(|| resource_not_found(arn))
}

/// TagResource: adds or replaces tags of a state machine or an activity.
pub(super) fn tag_resource(service: &Service, req: &Req) -> OpResult {
    let arn = check_arn(req.str("resourceArn")?, &["stateMachine", "activity"])?;
    let tags = tag_list(Some(
        req.get("tags").ok_or_else(|| ApiError::missing("tags"))?,
    ))?;
    let mut state = service.state();
    let current = tags_of(&mut state, arn)?;
    let mut merged = current.clone();
    merged.extend(tags);
    check_tag_count(&merged, arn)?;
    *current = merged;
    service.journal_machines(&state);
    Ok(json!({}))
}

/// UntagResource: removes tags by key (unknown keys are ignored).
pub(super) fn untag_resource(service: &Service, req: &Req) -> OpResult {
    let arn = check_arn(req.str("resourceArn")?, &["stateMachine", "activity"])?;
    let keys = req
        .get("tagKeys")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::missing("tagKeys"))?;
    let mut state = service.state();
    let current = tags_of(&mut state, arn)?;
    for key in keys.iter().filter_map(Value::as_str) {
        current.remove(key);
    }
    service.journal_machines(&state);
    Ok(json!({}))
}

/// ListTagsForResource.
pub(super) fn list_tags_for_resource(service: &Service, req: &Req) -> OpResult {
    let arn = check_arn(req.str("resourceArn")?, &["stateMachine", "activity"])?;
    let mut state = service.state();
    let tags: Vec<Value> = tags_of(&mut state, arn)?
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    Ok(json!({ "tags": tags }))
}

/// DescribeStateMachineForExecution: the machine as the execution ran it (its definition and
/// revision at the start).
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeStateMachineForExecution.html>
pub(super) fn describe_state_machine_for_execution(service: &Service, req: &Req) -> OpResult {
    let arn = check_arn(req.str("executionArn")?, &["execution", "express"])?;
    if service.engine.registry().map_runs().child(arn).is_none() {
        check_arn(arn, STANDARD_ONLY)?;
    }
    let state = service.state();
    let Some(e) = state.executions.get(arn) else {
        // A Map Run's child: its Map state's item processor, from the parent's machine.
        let parent = |parent: &str| {
            let e = state.executions.get(parent)?;
            let m = state.machines.get(&e.machine_arn);
            let definition = match (&e.ran, m) {
                (Some((d, _)), _) => d.clone(),
                (None, Some(m)) => m.definition.clone(),
                (None, None) => return None,
            };
            let updated = m.map_or_else(|| epoch(&e.start), |m| epoch(&m.created));
            Some((definition, e.role_arn.clone(), updated))
        };
        return super::map_runs::child_machine(service, arn, parent)
            .unwrap_or_else(|| Err(execution_not_found(arn)));
    };
    let m = state.machines.get(&e.machine_arn);
    let (definition, revision) = match (&e.ran, m) {
        (Some((d, r)), _) => (d.clone(), r.clone()),
        (None, Some(m)) => (m.definition.clone(), m.revision_id.clone()),
        (None, None) => return Err(machine_not_found(&e.machine_arn)),
    };
    let name = e.machine_arn.rsplit(':').next().unwrap_or_default();
    let mut out = json!({
        "stateMachineArn": e.machine_arn,
        "name": name,
        "definition": &*definition,
        "roleArn": e.role_arn,
        "updateDate": epoch(&e.start),
        "revisionId": revision,
        "loggingConfiguration": logging_of(m),
        "tracingConfiguration": tracing_of(m),
        "encryptionConfiguration": encryption_of(m),
    });
    if let Some(m) = m {
        // The machine's last update is not tracked apart from its revision: its creation date.
        out["updateDate"] = epoch(&m.created);
    }
    Ok(out)
}

fn logging_of(m: Option<&Machine>) -> Value {
    m.and_then(|m| m.logging.clone())
        .unwrap_or_else(|| json!({"level": "OFF", "includeExecutionData": false}))
}

fn tracing_of(m: Option<&Machine>) -> Value {
    m.and_then(|m| m.tracing.clone())
        .unwrap_or_else(|| json!({"enabled": false}))
}

fn encryption_of(m: Option<&Machine>) -> Value {
    m.and_then(|m| m.encryption.clone())
        .unwrap_or_else(|| json!({"type": "AWS_OWNED_KEY"}))
}

pub(super) fn update_state_machine(service: &Service, req: &Req) -> OpResult {
    let arn = unqualified(check_arn(req.str("stateMachineArn")?, &["stateMachine"])?)?;
    let publish = req.opt_bool("publish")? == Some(true);
    let definition = req.opt_str("definition")?;
    let role = req.opt_str("roleArn")?;
    let logging = req.get("loggingConfiguration");
    let tracing = req.get("tracingConfiguration");
    let encryption = encryption_configuration(req)?;
    check_version_description(req)?;
    if definition.is_none()
        && role.is_none()
        && logging.is_none()
        && tracing.is_none()
        && encryption.is_none()
    {
        return Err(ApiError::new(
            "MissingRequiredParameter",
            "Either the definition, the roleArn, the loggingConfiguration or the tracingConfiguration must be specified",
        ));
    }
    if let Some(r) = role {
        check_role(r)?;
    }
    let express = {
        let state = service.state();
        let m = state
            .machines
            .get(arn)
            .ok_or_else(|| machine_not_found(arn))?;
        m.machine_type == MachineType::Express
    };
    let compiled = match definition {
        Some(d) => Some(analyse(d, express).map_err(|d| invalid_definition(&d))?),
        None => None,
    };
    let mut state = service.state();
    let m = state
        .machines
        .get_mut(arn)
        .ok_or_else(|| machine_not_found(arn))?;
    if let (Some(d), Some(c)) = (definition, compiled) {
        m.definition = d.into();
        m.compiled = c;
    }
    if let Some(r) = role {
        m.role_arn = r.to_string();
    }
    if let Some(l) = logging {
        m.logging = Some(l.clone());
    }
    if let Some(t) = tracing {
        m.tracing = Some(t.clone());
    }
    if encryption.is_some() {
        m.encryption = encryption;
    }
    m.revision_id = uuid::Uuid::new_v4().to_string();
    let mut out = json!({"updateDate": epoch(&Utc::now()), "revisionId": m.revision_id});
    if publish {
        let (version, _) = versions::publish(m, req.opt_str("versionDescription")?)?;
        out["stateMachineVersionArn"] = json!(version);
    }
    service.journal_machines(&state);
    Ok(out)
}

pub(super) fn describe_state_machine(service: &Service, req: &Req) -> OpResult {
    let requested = check_arn(req.str("stateMachineArn")?, &["stateMachine"])?;
    let (machine_arn, target) = split_qualified(requested);
    let state = service.state();
    let m = state
        .machines
        .get(&machine_arn)
        .ok_or_else(|| machine_not_found(requested))?;
    match target {
        Target::Latest => {}
        // A version describes its own snapshot, under its own ARN.
        Target::Version(number) => {
            let v = m
                .versions
                .get(&number)
                .ok_or_else(|| machine_not_found(requested))?;
            return Ok(machine_description(
                m,
                requested,
                &v.definition,
                &v.role_arn,
                &v.created,
                &v.revision_id,
                v.description.as_deref(),
            ));
        }
        Target::Alias(_) => {
            return Err(ApiError::new(
                "InvalidArn",
                format!("Invalid Arn: 'Use DescribeStateMachineAlias for an alias: {requested}'"),
            ))
        }
    }
    Ok(machine_description(
        m,
        &m.arn,
        &m.definition,
        &m.role_arn,
        &m.created,
        &m.revision_id,
        m.description.as_deref(),
    ))
}

/// DescribeStateMachine's answer for the machine `m` or one of its versions (`arn` and the
/// snapshot's definition, role, date, revision and description).
#[allow(clippy::too_many_arguments)]
fn machine_description(
    m: &Machine,
    arn: &str,
    definition: &str,
    role_arn: &str,
    created: &chrono::DateTime<Utc>,
    revision_id: &str,
    description: Option<&str>,
) -> Value {
    let mut out = json!({
        "stateMachineArn": arn,
        "name": m.name,
        "status": "ACTIVE",
        "definition": definition,
        "roleArn": role_arn,
        "type": m.machine_type.as_str(),
        "creationDate": epoch(created),
        "loggingConfiguration": logging_of(Some(m)),
        "tracingConfiguration": tracing_of(Some(m)),
        "encryptionConfiguration": encryption_of(Some(m)),
        "revisionId": revision_id,
    });
    if let Some(d) = description {
        out["description"] = json!(d);
    }
    out
}

pub(super) fn list_state_machines(service: &Service, req: &Req) -> OpResult {
    let max = req.max_results(100)?;
    let binding = "ListStateMachines";
    let offset = parse_page_token(req.opt_str("nextToken")?, binding)?;
    let state = service.state();
    let all: Vec<Value> = state
        .machines
        .values()
        .map(|m| {
            json!({"stateMachineArn": m.arn, "name": m.name, "type": m.machine_type.as_str(), "creationDate": epoch(&m.created)})
        })
        .collect();
    Ok(page_of(all, "stateMachines", offset, max, binding))
}

pub(super) fn delete_state_machine(service: &Service, req: &Req) -> OpResult {
    let arn = unqualified(check_arn(req.str("stateMachineArn")?, &["stateMachine"])?)?;
    let mut state = service.state();
    // AWS answers 200 for a machine that is already gone (DeleteStateMachine is idempotent).
    if state.machines.remove(arn).is_some() {
        // Running executions of a deleted machine are stopped.
        for exec in state.executions.values_mut() {
            if exec.machine_arn == arn && exec.status == "RUNNING" {
                exec.stop(None, Some("The state machine was deleted".into()));
                service.journal_execution(exec);
            }
        }
        service.journal_machines(&state);
    }
    Ok(json!({}))
}

/// StartExecution's and StartSyncExecution's `input`: at most 262,144 bytes of UTF-8 (the API
/// refuses a longer one with a ValidationException, as for any member over its length
/// constraint; the value is sensitive, so not echoed)
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html>),
/// and valid JSON (InvalidExecutionInput).
pub(crate) fn parse_input(text: Option<&str>) -> Result<(String, Value), ApiError> {
    crate::requests::parse_input(text).map_err(ApiError::from)
}

/// StartExecution. Idempotent for STANDARD machines as AWS documents: the same name and input as a
/// RUNNING execution returns that execution; a closed one or another input is
/// ExecutionAlreadyExists
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html>).
/// With a state directory this holds across restarts: journaled executions are loaded, and the
/// RUNNING ones are resumed under their ARN before the endpoint listens.
pub(super) fn start_execution(service: &Arc<Service>, req: &Req) -> OpResult {
    let requested = check_arn(req.str("stateMachineArn")?, &["stateMachine"])?;
    let (machine_arn, target) = split_qualified(requested);
    let sm_arn = machine_arn.as_str();
    let name = match req.opt_str("name")? {
        Some(n) => {
            check_name(n)?;
            n.to_string()
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    let (input_text, input) = parse_input(req.opt_str("input")?)?;
    let trace = req.opt_str("traceHeader")?.map(str::to_owned);
    let mut state = service.state();
    let m = state
        .machines
        .get(sm_arn)
        .ok_or_else(|| machine_not_found(requested))?;
    let (version, alias_arn) = versions::resolve_start(m, &target, requested)?;
    let express = m.machine_type == MachineType::Express;
    // Executions live in their machine's partition, region and account.
    let prefix = arn_prefix_of(&m.arn);
    let exec_arn = if express {
        format!(
            "{prefix}:express:{}:{name}:{}",
            m.name,
            uuid::Uuid::new_v4()
        )
    } else {
        format!("{prefix}:execution:{}:{name}", m.name)
    };
    if let Some(existing) = state.executions.get(&exec_arn) {
        if existing.status == "RUNNING" && existing.input == input_text {
            return Ok(json!({"executionArn": existing.arn, "startDate": epoch(&existing.start)}));
        }
        return Err(ApiError::new(
            "ExecutionAlreadyExists",
            format!("Execution Already Exists: '{exec_arn}'"),
        ));
    }
    let start = service.spawn_execution(
        &mut state,
        sm_arn,
        NewExecution {
            name,
            arn: exec_arn.clone(),
            input_text,
            input,
            trace_header: trace,
            version,
            alias_arn,
        },
    )?;
    Ok(json!({"executionArn": exec_arn, "startDate": epoch(&start)}))
}

/// StartSyncExecution: runs an EXPRESS machine to its end and answers with the result
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartSyncExecution.html>).
pub(super) async fn start_sync_execution(service: &Arc<Service>, req: &Req) -> OpResult {
    let requested = check_arn(req.str("stateMachineArn")?, &["stateMachine"])?;
    let (machine_arn, target) = split_qualified(requested);
    let sm_arn = machine_arn.as_str();
    let name = match req.opt_str("name")? {
        Some(n) => {
            check_name(n)?;
            n.to_string()
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    let (input_text, input) = parse_input(req.opt_str("input")?)?;
    let metadata_only = req.opt_str("includedData")? == Some("METADATA_ONLY");
    let (compiled, options, sm_name) = {
        let state = service.state();
        let m = state
            .machines
            .get(sm_arn)
            .ok_or_else(|| machine_not_found(requested))?;
        if m.machine_type != MachineType::Express {
            return Err(ApiError::new(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            ));
        }
        let compiled = match versions::resolve_start(m, &target, requested)?.0 {
            Some(number) => m.versions[&number].compiled.clone(),
            None => m.compiled.clone(),
        };
        (
            compiled,
            service.exec_options(m, &name, Utc::now(), false),
            m.name.clone(),
        )
    };
    // The Express execution's ARN, also its context object's `Execution.Id`.
    let exec_arn = format!(
        "{}:express:{sm_name}:{name}:{}",
        arn_prefix_of(sm_arn),
        uuid::Uuid::new_v4()
    );
    let options = crate::ExecOptions {
        execution_arn: Some(exec_arn.clone()),
        ..options
    };
    let start = Utc::now();
    let result = service
        .engine
        .execute_compiled(&compiled, input, options)
        .await;
    let stop = Utc::now();
    let billed_ms = ((stop - start).num_milliseconds().max(1) + 99) / 100 * 100;
    let mut out = json!({
        "executionArn": exec_arn,
        "stateMachineArn": sm_arn,
        "name": name,
        "startDate": epoch(&start),
        "stopDate": epoch(&stop),
        "status": result.status.name(),
        "billingDetails": {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": billed_ms},
    });
    if !metadata_only {
        out["input"] = json!(input_text);
        out["inputDetails"] = json!({"included": true});
    }
    if let Some(t) = req.opt_str("traceHeader")? {
        out["traceHeader"] = json!(t);
    }
    match result.status {
        ExecutionStatus::Succeeded { output } => {
            if !metadata_only {
                out["output"] = json!(output.to_string());
                out["outputDetails"] = json!({"included": true});
            }
        }
        ExecutionStatus::Failed { error, cause } | ExecutionStatus::TimedOut { error, cause } => {
            if let Some(e) = error {
                out["error"] = json!(e);
            }
            if let Some(c) = cause {
                out["cause"] = json!(c);
            }
        }
        ExecutionStatus::Aborted => {}
    }
    Ok(out)
}

pub(super) fn describe_execution(service: &Service, req: &Req) -> OpResult {
    let arn = check_arn(req.str("executionArn")?, &["execution", "express"])?;
    if let Some(child) = super::map_runs::describe_child(service, arn) {
        return Ok(child);
    }
    check_arn(arn, STANDARD_ONLY)?;
    let state = service.state();
    let e = state
        .executions
        .get(arn)
        .ok_or_else(|| execution_not_found(arn))?;
    let mut out = json!({
        "executionArn": e.arn,
        "stateMachineArn": e.machine_arn,
        "name": e.name,
        "status": e.status,
        "startDate": epoch(&e.start),
        "input": e.input,
        "inputDetails": {"included": true},
        "redriveCount": e.redrive_count,
    });
    match not_redrivable(e) {
        None => out["redriveStatus"] = json!("REDRIVABLE"),
        Some(reason) => {
            out["redriveStatus"] = json!("NOT_REDRIVABLE");
            out["redriveStatusReason"] = json!(reason);
        }
    }
    if let Some(d) = &e.redrive_date {
        out["redriveDate"] = epoch(d);
    }
    if let Some(s) = &e.stop {
        out["stopDate"] = epoch(s);
    }
    if let Some(o) = &e.output {
        out["output"] = json!(o);
        out["outputDetails"] = json!({"included": true});
    }
    if let Some(x) = &e.error {
        out["error"] = json!(x);
    }
    if let Some(x) = &e.cause {
        out["cause"] = json!(x);
    }
    if let Some(t) = &e.trace_header {
        out["traceHeader"] = json!(t);
    }
    if let Some(v) = &e.version_arn {
        out["stateMachineVersionArn"] = json!(v);
    }
    if let Some(a) = &e.alias_arn {
        out["stateMachineAliasArn"] = json!(a);
    }
    Ok(out)
}

const STATUSES: [&str; 6] = [
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "TIMED_OUT",
    "ABORTED",
    "PENDING_REDRIVE",
];

/// ListExecutions: newest first, optionally filtered by status.
pub(super) fn list_executions(service: &Service, req: &Req) -> OpResult {
    if req.get("mapRunArn").is_some() {
        return super::map_runs::list_map_run_executions(service, req);
    }
    let sm_arn = check_arn(req.str("stateMachineArn")?, &["stateMachine"])?;
    let filter = req.opt_str("statusFilter")?;
    if let Some(f) = filter {
        if !STATUSES.contains(&f) {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{f}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                STATUSES.join(", ")
            )));
        }
    }
    let max = req.max_results(100)?;
    let binding = format!("ListExecutions|{sm_arn}|{}", filter.unwrap_or(""));
    let offset = parse_page_token(req.opt_str("nextToken")?, &binding)?;
    let (machine_arn, target) = split_qualified(sm_arn);
    let state = service.state();
    if !state.machines.contains_key(&machine_arn) {
        return Err(machine_not_found(sm_arn));
    }
    // A version or alias ARN lists the executions started on it.
    let started_on = |e: &&super::store::Execution| match &target {
        Target::Latest => true,
        Target::Version(_) => e.version_arn.as_deref() == Some(sm_arn),
        Target::Alias(_) => e.alias_arn.as_deref() == Some(sm_arn),
    };
    let all: Vec<Value> = state
        .order
        .iter()
        .rev()
        .filter_map(|arn| state.executions.get(arn))
        .filter(|e| e.machine_arn == machine_arn && filter.is_none_or(|f| f == e.status))
        .filter(started_on)
        .map(|e| {
            let mut v = json!({
                "executionArn": e.arn,
                "stateMachineArn": e.machine_arn,
                "name": e.name,
                "status": e.status,
                "startDate": epoch(&e.start),
            });
            if let Some(s) = &e.stop {
                v["stopDate"] = epoch(s);
            }
            if let Some(a) = &e.version_arn {
                v["stateMachineVersionArn"] = json!(a);
            }
            if e.redrive_count > 0 {
                v["redriveCount"] = json!(e.redrive_count);
            }
            if let Some(d) = &e.redrive_date {
                v["redriveDate"] = epoch(d);
            }
            if let Some(a) = &e.alias_arn {
                v["stateMachineAliasArn"] = json!(a);
            }
            v
        })
        .collect();
    Ok(page_of(all, "executions", offset, max, &binding))
}

pub(super) fn stop_execution(service: &Service, req: &Req) -> OpResult {
    let arn = check_arn(req.str("executionArn")?, STANDARD_ONLY)?;
    let error = req.opt_str("error")?.map(str::to_owned);
    let cause = req.opt_str("cause")?.map(str::to_owned);
    let mut state = service.state();
    let Some(e) = state.executions.get_mut(arn) else {
        drop(state);
        // A Map Run's child execution, stopped on its own.
        let runs = service.engine.registry().map_runs();
        return match runs.stop_child(arn, error, cause, Utc::now()) {
            Some(stop) => Ok(json!({"stopDate": epoch(&stop)})),
            None => Err(execution_not_found(arn)),
        };
    };
    // Stopping a closed execution succeeds and changes nothing (AWS answers its stop date).
    let stop = match (e.status, e.stop) {
        ("RUNNING", _) | (_, None) => {
            let stop = e.stop(error, cause);
            service.journal_execution(e);
            stop
        }
        (_, Some(s)) => s,
    };
    drop(state);
    service.notify_closed();
    Ok(json!({"stopDate": epoch(&stop)}))
}

/// GetExecutionHistory with paging (`maxResults`, `nextToken`), `reverseOrder` and
/// `includeExecutionData` (default true).
pub(super) fn get_execution_history(service: &Service, req: &Req) -> OpResult {
    let arn = check_arn(req.str("executionArn")?, STANDARD_ONLY)?;
    let reverse = req.opt_bool("reverseOrder")?.unwrap_or(false);
    let include_data = req.opt_bool("includeExecutionData")?.unwrap_or(true);
    let max = req.max_results(100)?;
    let binding = format!("GetExecutionHistory|{arn}|{reverse}");
    let offset = parse_page_token(req.opt_str("nextToken")?, &binding)?;
    let top_level = {
        let state = service.state();
        state
            .executions
            .get(arn)
            .map(|e| e.events_page(reverse, offset, max))
    };
    // Not a top-level execution: a Map Run's child, or none.
    let (total, events) = match top_level {
        Some(page) => page,
        None => super::map_runs::child_events_page(service, arn, reverse, offset, max)
            .ok_or_else(|| execution_not_found(arn))?,
    };
    let page: Vec<Value> = events
        .into_iter()
        .map(|mut v| {
            if let Some(t) = v["timestamp"].as_str().and_then(parse_time) {
                v["timestamp"] = epoch(&t);
            }
            if !include_data {
                if let Some(obj) = v.as_object_mut() {
                    for (k, d) in obj.iter_mut() {
                        if k.ends_with("EventDetails") {
                            if let Some(d) = d.as_object_mut() {
                                d.remove("input");
                                d.remove("output");
                            }
                        }
                    }
                }
            }
            v
        })
        .collect();
    let mut out = json!({"events": page});
    if offset + max < total {
        out["nextToken"] = json!(page_token(offset + max, &binding));
    }
    Ok(out)
}

/// ValidateStateMachineDefinition: `result` OK or FAIL with diagnostics, at most `maxResults`
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinition.html>).
pub(super) fn validate_definition(req: &Req) -> OpResult {
    let definition = req.str("definition")?;
    let express = machine_type(req)? == MachineType::Express;
    let max = req.max_results(100)?;
    let diags = match analyse(definition, express) {
        Ok(_) => Vec::new(),
        Err(d) => d,
    };
    let truncated = diags.len() > max;
    Ok(json!({
        "result": if diags.is_empty() { "OK" } else { "FAIL" },
        "diagnostics": diags.iter().take(max).map(Diagnostic::to_json).collect::<Vec<_>>(),
        "truncated": truncated,
    }))
}

/// How long after it closed an execution can be redriven.
/// <https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html>
const REDRIVE_WINDOW_DAYS: i64 = 14;
/// The most redrives of one execution.
const MAX_REDRIVES: u32 = 1000;

/// Why an execution cannot be redriven now, if it cannot (DescribeExecution's
/// `redriveStatusReason`; RedriveExecution's ExecutionNotRedrivable message). A FAILED, TIMED_OUT
/// or ABORTED Standard execution is redrivable within 14 days of its close while its history has
/// room for the redrive's events, in AWS's words where its reference lists them
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html>,
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html>).
fn not_redrivable(e: &super::store::Execution) -> Option<String> {
    if e.arn.split(':').nth(5) == Some("express") {
        return Some("Execution is EXPRESS and cannot be redriven".into());
    }
    if !matches!(e.status, "FAILED" | "TIMED_OUT" | "ABORTED") {
        return Some(format!("Execution is {} and cannot be redriven", e.status));
    }
    if e.stop
        .is_some_and(|stop| Utc::now() - stop > chrono::Duration::days(REDRIVE_WINDOW_DAYS))
    {
        return Some("Execution redrivable period exceeded".into());
    }
    // The redrive appends ExecutionRedriven and at least one more event: a history of 24,999
    // events or more has no room for them.
    if e.closed_event_count() as u64 >= crate::history::HISTORY_LIMIT - 1 {
        return Some("Execution history event limit exceeded".into());
    }
    if e.redrive_count >= MAX_REDRIVES {
        return Some(format!(
            "Execution has been redriven {MAX_REDRIVES} times, the most allowed"
        ));
    }
    None
}

/// RedriveExecution: runs a FAILED, TIMED_OUT or ABORTED Standard execution again from the state
/// that did not succeed (for a stopped one, the state it was stopped in), under the same ARN,
/// within 14 days of its close ([`not_redrivable`]).
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html>
pub(super) fn redrive_execution(service: &Arc<Service>, req: &Req) -> OpResult {
    let arn = check_arn(req.str("executionArn")?, STANDARD_ONLY)?;
    let mut state = service.state();
    let e = state
        .executions
        .get(arn)
        .ok_or_else(|| execution_not_found(arn))?;
    if let Some(reason) = not_redrivable(e) {
        return Err(ApiError::new("ExecutionNotRedrivable", reason));
    }
    // The definition it ran: its snapshot, else its version's or the machine's.
    let machine = state.machines.get(&e.machine_arn);
    let definition: Arc<str> = match (&e.ran, machine, &e.version_arn) {
        (Some((d, _)), _, _) => d.clone(),
        (None, Some(m), Some(v)) => split_qualified(v)
            .1
            .version_number()
            .and_then(|n| m.versions.get(&n))
            .map(|v| v.definition.clone())
            .unwrap_or_else(|| m.definition.clone()),
        (None, Some(m), None) => m.definition.clone(),
        (None, None, _) => {
            return Err(ApiError::new(
                "ExecutionNotRedrivable",
                "The execution's state machine was deleted",
            ))
        }
    };
    let compiled = analyse(&definition, false).map_err(|d| invalid_definition(&d))?;
    let (_, events) = e.events_page(false, 0, usize::MAX);
    let redrive = super::store::redrive_point(&compiled, &events, &e.input);
    let date = service.redrive(&mut state, arn, &definition, compiled.clone(), redrive)?;
    Ok(json!({"redriveDate": epoch(&date)}))
}

/// The task token of a SendTask* request: 1 to 1024 characters, one this endpoint issued (a
/// UUID); anything else is InvalidToken.
fn task_token(req: &Req) -> Result<&str, ApiError> {
    let token = req.str("taskToken")?;
    if token.is_empty() || token.chars().count() > 1024 {
        return Err(ApiError::validation(
            "1 validation error detected: Value at 'taskToken' failed to satisfy constraint: Member must have length between 1 and 1024",
        ));
    }
    if uuid::Uuid::parse_str(token).is_err() {
        return Err(ApiError::new(
            "InvalidToken",
            format!("Invalid Token: '{token}'"),
        ));
    }
    Ok(token)
}

fn callback_error(token: &str, error: crate::CallbackError) -> ApiError {
    match error {
        crate::CallbackError::TaskDoesNotExist => ApiError::new(
            "TaskDoesNotExist",
            format!("Task Does Not Exist: '{token}'"),
        ),
        crate::CallbackError::TaskTimedOut => {
            ApiError::new("TaskTimedOut", format!("Task Timed Out: '{token}'"))
        }
    }
}

/// The largest output a task may report (256 KiB, Step Functions' payload quota).
const MAX_OUTPUT_BYTES: usize = 256 * 1024;

/// SendTaskSuccess: the task waiting on the token succeeds with `output`.
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html>
pub(super) fn send_task_success(service: &Service, req: &Req) -> OpResult {
    let token = task_token(req)?;
    let text = req.str("output")?;
    if text.len() > MAX_OUTPUT_BYTES {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at 'output' failed to satisfy constraint: Member must have length less than or equal to {MAX_OUTPUT_BYTES}"
        )));
    }
    let output: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::new("InvalidOutput", format!("Invalid Output: '{e}'")))?;
    service
        .engine
        .callbacks()
        .answer(token, crate::CallbackOutcome::Success(output))
        .map_err(|e| callback_error(token, e))?;
    Ok(json!({}))
}

/// SendTaskFailure: the task waiting on the token fails with `error` and `cause`.
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskFailure.html>
pub(super) fn send_task_failure(service: &Service, req: &Req) -> OpResult {
    let token = task_token(req)?;
    let error = req.opt_str("error")?.unwrap_or_default();
    let cause = req.opt_str("cause")?.unwrap_or_default();
    if error.chars().count() > 256 {
        return Err(ApiError::validation(
            "1 validation error detected: Value at 'error' failed to satisfy constraint: Member must have length less than or equal to 256",
        ));
    }
    if cause.chars().count() > 32768 {
        return Err(ApiError::validation(
            "1 validation error detected: Value at 'cause' failed to satisfy constraint: Member must have length less than or equal to 32768",
        ));
    }
    service
        .engine
        .callbacks()
        .answer(
            token,
            crate::CallbackOutcome::Failure {
                error: error.to_string(),
                cause: cause.to_string(),
            },
        )
        .map_err(|e| callback_error(token, e))?;
    Ok(json!({}))
}

/// SendTaskHeartbeat: the task waiting on the token is alive (resets `HeartbeatSeconds`).
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskHeartbeat.html>
pub(super) fn send_task_heartbeat(service: &Service, req: &Req) -> OpResult {
    let token = task_token(req)?;
    service
        .engine
        .callbacks()
        .heartbeat(token)
        .map_err(|e| callback_error(token, e))?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_aws_rules() {
        assert!(check_name("order-1_A.b").is_ok());
        for bad in ["", "a b", "a:b", "a/b", "a*"] {
            assert_eq!(check_name(bad).unwrap_err().code, "InvalidName", "{bad}");
        }
        let long = check_name(&"x".repeat(81)).unwrap_err();
        assert_eq!(long.code, "ValidationException");
        assert!(long.message.contains("length less than or equal to 80"));
    }

    #[test]
    fn role_arns_need_a_twelve_digit_account_and_a_role() {
        assert!(check_role("arn:aws:iam::123456789012:role/StepFunctions").is_ok());
        assert!(check_role("arn:aws-cn:iam::123456789012:role/a/b").is_ok());
        for bad in [
            "arn:aws:iam::1234:role/x",
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::123456789012:role/",
            "role/x",
        ] {
            assert_eq!(check_role(bad).unwrap_err().code, "InvalidArn", "{bad}");
        }
    }
}
