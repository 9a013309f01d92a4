//! State machine versions and aliases: PublishStateMachineVersion, ListStateMachineVersions,
//! DeleteStateMachineVersion, and Create/Describe/Update/Delete/ListStateMachineAliases, with the
//! resolution of a qualified ARN (`<machine>:<version>` or `<machine>:<alias>`) to what it runs.
//! <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-cd-aliasing-versioning.html>

use chrono::Utc;
use serde_json::{json, Value};

use super::checks::{check_arn, machine_not_found, resource_not_found, OpResult};
use super::protocol::{epoch, page_of, parse_page_token, ApiError, Req};
use super::store::{Alias, Machine, Service, State, Version};

/// The most versions a state machine may have.
/// <https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>
const MAX_VERSIONS: usize = 1000;

/// An alias's routing: (version number, weight in percent) pairs.
type Routing = Vec<(u64, u32)>;

/// What a (possibly qualified) state machine ARN names.
pub(super) enum Target {
    /// The machine itself: its latest revision.
    Latest,
    /// A published version.
    Version(u64),
    /// An alias, by name.
    Alias(String),
}

impl Target {
    /// The version number, for a version.
    pub(super) fn version_number(&self) -> Option<u64> {
        match self {
            Target::Version(n) => Some(*n),
            _ => None,
        }
    }
}

/// Splits `arn:...:stateMachine:<name>[:<qualifier>]` into the machine's ARN and what the
/// qualifier names (a number is a version, anything else an alias).
pub(super) fn split_qualified(arn: &str) -> (String, Target) {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() == 8 && parts[5] == "stateMachine" {
        let machine = parts[..7].join(":");
        let target = match parts[7].parse::<u64>() {
            Ok(n) => Target::Version(n),
            Err(_) => Target::Alias(parts[7].to_string()),
        };
        (machine, target)
    } else {
        (arn.to_string(), Target::Latest)
    }
}

/// Refuses a version or alias ARN where only the machine's own ARN is allowed.
pub(super) fn unqualified(arn: &str) -> Result<&str, ApiError> {
    match split_qualified(arn).1 {
        Target::Latest => Ok(arn),
        _ => Err(ApiError::validation(format!(
            "Invalid Arn: 'Qualified state machine ARNs (versions and aliases) are not allowed here: {arn}'"
        ))),
    }
}

pub(super) fn version_arn(machine: &Machine, number: u64) -> String {
    format!("{}:{number}", machine.arn)
}

pub(super) fn alias_arn(machine: &Machine, name: &str) -> String {
    format!("{}:{name}", machine.arn)
}

/// Publishes the machine's current revision as a version, unless a version of that revision
/// exists (then that one is answered, as PublishStateMachineVersion is idempotent).
pub(super) fn publish(
    machine: &mut Machine,
    description: Option<&str>,
) -> Result<(String, chrono::DateTime<Utc>), ApiError> {
    if let Some(existing) = machine
        .versions
        .values()
        .find(|v| v.revision_id == machine.revision_id)
    {
        return Ok((version_arn(machine, existing.number), existing.created));
    }
    if machine.versions.len() >= MAX_VERSIONS {
        return Err(ApiError::new(
            "ServiceQuotaExceededException",
            format!(
                "The state machine {} has {MAX_VERSIONS} versions, the most allowed; delete unused ones",
                machine.arn
            ),
        ));
    }
    let number = machine.next_version;
    machine.next_version += 1;
    let created = Utc::now();
    machine.versions.insert(
        number,
        Version {
            number,
            definition: machine.definition.clone(),
            compiled: machine.compiled.clone(),
            role_arn: machine.role_arn.clone(),
            revision_id: machine.revision_id.clone(),
            description: description.map(str::to_owned),
            created,
        },
    );
    Ok((version_arn(machine, number), created))
}

fn check_description(description: Option<&str>) -> Result<(), ApiError> {
    match description {
        Some(d) if d.chars().count() > 256 => Err(ApiError::validation(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256",
        )),
        _ => Ok(()),
    }
}

fn machine_mut<'a>(state: &'a mut State, arn: &str) -> Result<&'a mut Machine, ApiError> {
    state
        .machines
        .get_mut(arn)
        .ok_or_else(|| machine_not_found(arn))
}

/// PublishStateMachineVersion.
pub(super) fn publish_state_machine_version(service: &Service, req: &Req) -> OpResult {
    let arn = unqualified(check_arn(req.str("stateMachineArn")?, &["stateMachine"])?)?;
    let description = req.opt_str("description")?;
    check_description(description)?;
    let mut state = service.state();
    let machine = machine_mut(&mut state, arn)?;
    if let Some(expected) = req.opt_str("revisionId")? {
        if expected != machine.revision_id
            && !(expected == "INITIAL" && machine.versions.is_empty())
        {
            return Err(ApiError::new(
                "ConflictException",
                format!(
                    "Failed to publish the State Machine version for revision {expected}. The current State Machine revision is {}.",
                    machine.revision_id
                ),
            ));
        }
    }
    let (version, created) = publish(machine, description)?;
    service.journal_machines(&state);
    Ok(json!({"stateMachineVersionArn": version, "creationDate": epoch(&created)}))
}

/// ListStateMachineVersions: newest first.
pub(super) fn list_state_machine_versions(service: &Service, req: &Req) -> OpResult {
    let arn = unqualified(check_arn(req.str("stateMachineArn")?, &["stateMachine"])?)?;
    let max = req.max_results(100)?;
    let binding = format!("ListStateMachineVersions|{arn}");
    let offset = parse_page_token(req.opt_str("nextToken")?, &binding)?;
    let state = service.state();
    let machine = state
        .machines
        .get(arn)
        .ok_or_else(|| machine_not_found(arn))?;
    let all: Vec<Value> = machine
        .versions
        .values()
        .rev()
        .map(|v| {
            json!({
                "stateMachineVersionArn": version_arn(machine, v.number),
                "creationDate": epoch(&v.created),
            })
        })
        .collect();
    Ok(page_of(all, "stateMachineVersions", offset, max, &binding))
}

/// DeleteStateMachineVersion: refused while an alias routes to the version; running executions
/// of it run to their end. Deleting a version that does not exist succeeds.
pub(super) fn delete_state_machine_version(service: &Service, req: &Req) -> OpResult {
    let arn = check_arn(req.str("stateMachineVersionArn")?, &["stateMachine"])?;
    let (machine_arn, target) = split_qualified(arn);
    let Target::Version(number) = target else {
        return Err(ApiError::validation(format!(
            "Invalid Arn: 'Not a state machine version ARN: {arn}'"
        )));
    };
    let mut state = service.state();
    let Some(machine) = state.machines.get_mut(&machine_arn) else {
        return Ok(json!({}));
    };
    let routing_aliases: Vec<String> = machine
        .aliases
        .values()
        .filter(|a| a.routing.iter().any(|(v, _)| *v == number))
        .map(|a| alias_arn(machine, &a.name))
        .collect();
    if !routing_aliases.is_empty() {
        return Err(ApiError::new(
            "ConflictException",
            format!(
                "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [{}]",
                routing_aliases.join(", ")
            ),
        ));
    }
    machine.versions.remove(&number);
    service.journal_machines(&state);
    Ok(json!({}))
}

/// An alias name: 1 to 80 characters of a state machine name, not only digits (that would be a
/// version number).
fn check_alias_name(name: &str) -> Result<(), ApiError> {
    super::checks::check_name(name)?;
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::new(
            "InvalidName",
            format!("Invalid Name: '{name}' (an alias name cannot be a number)"),
        ));
    }
    Ok(())
}

/// `routingConfiguration`: one or two distinct versions of one machine, weights 0 to 100 that
/// add up to 100. Returns the machine ARN and the (version, weight) pairs.
fn routing(req: &Req) -> Result<Option<(String, Routing)>, ApiError> {
    let Some(items) = req.get("routingConfiguration") else {
        return Ok(None);
    };
    let items = items.as_array().ok_or_else(|| {
        ApiError::new(
            "SerializationException",
            "'routingConfiguration' must be a list",
        )
    })?;
    if items.is_empty() || items.len() > 2 {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at 'routingConfiguration' failed to satisfy constraint: Member must have length between 1 and 2 (got {})",
            items.len()
        )));
    }
    let mut machine: Option<String> = None;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let version = item["stateMachineVersionArn"].as_str().ok_or_else(|| {
            ApiError::missing("routingConfiguration.member.stateMachineVersionArn")
        })?;
        let weight = item["weight"]
            .as_u64()
            .filter(|w| *w <= 100)
            .ok_or_else(|| {
                ApiError::validation(
                    "1 validation error detected: Value at 'routingConfiguration.member.weight' failed to satisfy constraint: Member must have value between 0 and 100",
                )
            })?;
        let (machine_arn, target) = split_qualified(check_arn(version, &["stateMachine"])?);
        let Target::Version(number) = target else {
            return Err(ApiError::validation(format!(
                "Routing configuration must contain state machine version ARNs: '{version}'"
            )));
        };
        if machine.as_deref().is_some_and(|m| m != machine_arn) {
            return Err(ApiError::validation(
                "Routing configuration must contain versions of the same state machine",
            ));
        }
        if out.iter().any(|(n, _)| *n == number) {
            return Err(ApiError::validation(
                "Routing configuration must contain distinct state machine versions",
            ));
        }
        machine = Some(machine_arn);
        out.push((number, weight as u32));
    }
    if out.iter().map(|(_, w)| w).sum::<u32>() != 100 {
        return Err(ApiError::validation(
            "Sum of routing configuration weights must be equal to 100",
        ));
    }
    Ok(machine.map(|m| (m, out)))
}

fn routing_json(machine: &Machine, routing: &[(u64, u32)]) -> Value {
    Value::Array(
        routing
            .iter()
            .map(|(v, w)| json!({"stateMachineVersionArn": version_arn(machine, *v), "weight": w}))
            .collect(),
    )
}

fn check_versions_exist(machine: &Machine, routing: &[(u64, u32)]) -> Result<(), ApiError> {
    for (number, _) in routing {
        if !machine.versions.contains_key(number) {
            return Err(resource_not_found(&version_arn(machine, *number)));
        }
    }
    Ok(())
}

/// CreateStateMachineAlias: idempotent for the same name, description and routing; another
/// alias of that name is a ConflictException.
pub(super) fn create_state_machine_alias(service: &Service, req: &Req) -> OpResult {
    let name = req.str("name")?;
    check_alias_name(name)?;
    let description = req.opt_str("description")?;
    check_description(description)?;
    let (machine_arn, routing) =
        routing(req)?.ok_or_else(|| ApiError::missing("routingConfiguration"))?;
    let mut state = service.state();
    let machine = machine_mut(&mut state, &machine_arn)?;
    check_versions_exist(machine, &routing)?;
    let arn = alias_arn(machine, name);
    if let Some(existing) = machine.aliases.get(name) {
        if existing.routing == routing && existing.description.as_deref() == description {
            return Ok(
                json!({"stateMachineAliasArn": arn, "creationDate": epoch(&existing.created)}),
            );
        }
        return Err(ApiError::new(
            "ConflictException",
            format!("Alias {arn} already exists with a different configuration"),
        ));
    }
    let now = Utc::now();
    machine.aliases.insert(
        name.to_string(),
        Alias {
            name: name.to_string(),
            description: description.map(str::to_owned),
            routing,
            created: now,
            updated: now,
        },
    );
    service.journal_machines(&state);
    Ok(json!({"stateMachineAliasArn": arn, "creationDate": epoch(&now)}))
}

/// The machine and alias name of an alias ARN.
fn alias_of(arn: &str) -> Result<(String, String), ApiError> {
    let arn = check_arn(arn, &["stateMachine"])?;
    match split_qualified(arn) {
        (machine, Target::Alias(name)) => Ok((machine, name)),
        _ => Err(ApiError::validation(format!(
            "Invalid Arn: 'Not a state machine alias ARN: {arn}'"
        ))),
    }
}

/// DescribeStateMachineAlias.
pub(super) fn describe_state_machine_alias(service: &Service, req: &Req) -> OpResult {
    let arn = req.str("stateMachineAliasArn")?;
    let (machine_arn, name) = alias_of(arn)?;
    let state = service.state();
    let machine = state
        .machines
        .get(&machine_arn)
        .ok_or_else(|| resource_not_found(arn))?;
    let alias = machine
        .aliases
        .get(&name)
        .ok_or_else(|| resource_not_found(arn))?;
    let mut out = json!({
        "stateMachineAliasArn": arn,
        "name": alias.name,
        "routingConfiguration": routing_json(machine, &alias.routing),
        "creationDate": epoch(&alias.created),
        "updateDate": epoch(&alias.updated),
    });
    if let Some(d) = &alias.description {
        out["description"] = json!(d);
    }
    Ok(out)
}

/// UpdateStateMachineAlias: a new description and/or routing.
pub(super) fn update_state_machine_alias(service: &Service, req: &Req) -> OpResult {
    let arn = req.str("stateMachineAliasArn")?;
    let (machine_arn, name) = alias_of(arn)?;
    let description = req.opt_str("description")?;
    check_description(description)?;
    let routing = routing(req)?;
    if description.is_none() && routing.is_none() {
        return Err(ApiError::validation(
            "Either the description or the routingConfiguration must be specified",
        ));
    }
    let mut state = service.state();
    let machine = state
        .machines
        .get_mut(&machine_arn)
        .ok_or_else(|| resource_not_found(arn))?;
    if let Some((routed_machine, routing)) = &routing {
        if *routed_machine != machine_arn {
            return Err(ApiError::validation(
                "Routing configuration must contain versions of the alias's state machine",
            ));
        }
        check_versions_exist(machine, routing)?;
    }
    let alias = machine
        .aliases
        .get_mut(&name)
        .ok_or_else(|| resource_not_found(arn))?;
    if let Some(d) = description {
        alias.description = Some(d.to_string());
    }
    if let Some((_, routing)) = routing {
        alias.routing = routing;
    }
    alias.updated = Utc::now();
    let out = json!({"updateDate": epoch(&alias.updated)});
    service.journal_machines(&state);
    Ok(out)
}

/// DeleteStateMachineAlias: running executions started through it run to their end.
pub(super) fn delete_state_machine_alias(service: &Service, req: &Req) -> OpResult {
    let arn = req.str("stateMachineAliasArn")?;
    let (machine_arn, name) = alias_of(arn)?;
    let mut state = service.state();
    let removed = state
        .machines
        .get_mut(&machine_arn)
        .and_then(|m| m.aliases.remove(&name));
    if removed.is_none() {
        return Err(resource_not_found(arn));
    }
    service.journal_machines(&state);
    Ok(json!({}))
}

/// ListStateMachineAliases.
pub(super) fn list_state_machine_aliases(service: &Service, req: &Req) -> OpResult {
    let arn = unqualified(check_arn(req.str("stateMachineArn")?, &["stateMachine"])?)?;
    let max = req.max_results(100)?;
    let binding = format!("ListStateMachineAliases|{arn}");
    let offset = parse_page_token(req.opt_str("nextToken")?, &binding)?;
    let state = service.state();
    let machine = state
        .machines
        .get(arn)
        .ok_or_else(|| machine_not_found(arn))?;
    let all: Vec<Value> = machine
        .aliases
        .values()
        .map(|a| {
            json!({
                "stateMachineAliasArn": alias_arn(machine, &a.name),
                "creationDate": epoch(&a.created),
            })
        })
        .collect();
    Ok(page_of(all, "stateMachineAliases", offset, max, &binding))
}

/// The version an execution started on `arn` runs: `None` for the latest revision, the version
/// for a version ARN, one of the alias's versions drawn by weight for an alias ARN (with the
/// alias ARN). Errors as StartExecution answers them.
pub(super) fn resolve_start(
    machine: &Machine,
    target: &Target,
    arn: &str,
) -> Result<(Option<u64>, Option<String>), ApiError> {
    match target {
        Target::Latest => Ok((None, None)),
        Target::Version(number) => {
            if machine.versions.contains_key(number) {
                Ok((Some(*number), None))
            } else {
                Err(machine_not_found(arn))
            }
        }
        Target::Alias(name) => {
            let alias = machine
                .aliases
                .get(name)
                .ok_or_else(|| resource_not_found(arn))?;
            let draw = rand::random_range(0..100u32);
            let mut cumulative = 0;
            let mut chosen = alias.routing[0].0;
            for (version, weight) in &alias.routing {
                cumulative += weight;
                if draw < cumulative {
                    chosen = *version;
                    break;
                }
            }
            Ok((Some(chosen), Some(arn.to_string())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_arns_name_versions_and_aliases() {
        let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:orders";
        assert!(matches!(split_qualified(machine), (m, Target::Latest) if m == machine));
        assert!(
            matches!(split_qualified(&format!("{machine}:3")), (m, Target::Version(3)) if m == machine)
        );
        assert!(
            matches!(split_qualified(&format!("{machine}:live")), (m, Target::Alias(a)) if m == machine && a == "live")
        );
        assert!(unqualified(&format!("{machine}:live")).is_err());
    }
}
