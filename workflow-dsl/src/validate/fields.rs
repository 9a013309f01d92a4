//! Which fields each object of ASL may hold, and which fields belong to one query language only.
//!
//! Field lists follow the specification's per-state tables (<https://states-language.net/spec.html>)
//! and the AWS guide's JSONata/JSONPath field tables
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>).

use super::names::suggest;
use super::ScopeKind;

/// Every field a state of type `type_name` may have, in either query language.
pub(crate) fn allowed_state_fields(type_name: &str) -> &'static [&'static str] {
    match type_name {
        "Pass" => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "InputPath",
            "Parameters",
            "Result",
            "ResultPath",
            "OutputPath",
            "Output",
            "Assign",
            "Next",
            "End",
        ],
        "Task" => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "Resource",
            "InputPath",
            "Parameters",
            "Arguments",
            "Credentials",
            "ResultSelector",
            "ResultPath",
            "OutputPath",
            "Output",
            "Assign",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Retry",
            "Catch",
            "Next",
            "End",
        ],
        "Choice" => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "InputPath",
            "Choices",
            "Default",
            "OutputPath",
            "Output",
            "Assign",
        ],
        "Wait" => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "InputPath",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
            "OutputPath",
            "Output",
            "Assign",
            "Next",
            "End",
        ],
        "Succeed" => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "InputPath",
            "OutputPath",
            "Output",
        ],
        "Fail" => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "Error",
            "ErrorPath",
            "Cause",
            "CausePath",
        ],
        "Parallel" => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "Branches",
            "InputPath",
            "Parameters",
            "Arguments",
            "ResultSelector",
            "ResultPath",
            "OutputPath",
            "Output",
            "Assign",
            "Retry",
            "Catch",
            "Next",
            "End",
        ],
        "Map" => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "InputPath",
            "ItemsPath",
            "Items",
            "ItemReader",
            "ItemSelector",
            "Parameters",
            "ItemBatcher",
            "ItemProcessor",
            "Iterator",
            "ResultWriter",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "Label",
            "ResultSelector",
            "ResultPath",
            "OutputPath",
            "Output",
            "Assign",
            "Retry",
            "Catch",
            "Next",
            "End",
        ],
        _ => &[],
    }
}

/// Message for a key of a state that its type does not allow.
pub(crate) fn unknown_state_field(type_name: &str, key: &str) -> String {
    match (type_name, key) {
        ("Choice", "Next" | "End") => {
            return format!(
                "field '{key}' is not allowed in a Choice state: a Choice state moves on through its Choices rules and Default, and can never end the workflow"
            )
        }
        ("Succeed" | "Fail", "Next" | "End") => {
            return format!(
                "field '{key}' is not allowed in a {type_name} state: it is a terminal state and always ends its workflow"
            )
        }
        _ => {}
    }
    let allowed = allowed_state_fields(type_name);
    let mut message = format!("field '{key}' is not allowed in a {type_name} state");
    let elsewhere: Vec<&str> = crate::model::State::TYPE_NAMES
        .iter()
        .copied()
        .filter(|t| allowed_state_fields(t).contains(&key))
        .collect();
    if !elsewhere.is_empty() {
        message.push_str(&format!(" (only in {} states)", elsewhere.join(", ")));
    } else if let Some(close) = suggest(key, allowed.iter().copied()) {
        message.push_str(&format!(" (did you mean '{close}'?)"));
    }
    message
}

fn unknown_in(key: &str, what: &str, allowed: &[&str]) -> String {
    let mut message = format!("field '{key}' is not allowed in {what}");
    if let Some(close) = suggest(key, allowed.iter().copied()) {
        message.push_str(&format!(" (did you mean '{close}'?)"));
    } else {
        message.push_str(&format!(" (allowed: {})", allowed.join(", ")));
    }
    message
}

pub(crate) fn unknown_top_level_field(key: &str) -> String {
    unknown_in(
        key,
        "the top level of a state machine",
        &[
            "Comment",
            "QueryLanguage",
            "StartAt",
            "States",
            "TimeoutSeconds",
            "Version",
        ],
    )
}

pub(crate) fn unknown_sub_workflow_field(key: &str, kind: ScopeKind) -> String {
    match kind {
        ScopeKind::Processor => unknown_in(
            key,
            "a Map state's ItemProcessor",
            &["Comment", "ProcessorConfig", "StartAt", "States"],
        ),
        _ => unknown_in(key, "a Parallel branch", &["Comment", "StartAt", "States"]),
    }
}

pub(crate) fn unknown_retrier_field(key: &str) -> String {
    unknown_in(
        key,
        "a retrier",
        &[
            "ErrorEquals",
            "IntervalSeconds",
            "MaxAttempts",
            "BackoffRate",
            "MaxDelaySeconds",
            "JitterStrategy",
            "Comment",
        ],
    )
}

pub(crate) fn unknown_catcher_field(key: &str) -> String {
    unknown_in(
        key,
        "a catcher",
        &[
            "ErrorEquals",
            "Next",
            "ResultPath",
            "Output",
            "Assign",
            "Comment",
        ],
    )
}

pub(crate) fn unknown_object_field(key: &str, object: &str, allowed: &[&str]) -> String {
    unknown_in(key, object, allowed)
}

/// Fields that only JSONPath states may use, with what to use instead in JSONata.
pub(crate) fn jsonpath_only(field: &str) -> Option<&'static str> {
    Some(match field {
        "InputPath" => "use $states.input inside Arguments or Output",
        "Parameters" => "use Arguments",
        "ResultSelector" | "ResultPath" | "OutputPath" => "use Output (and Assign)",
        "Result" => "use Output",
        "ItemsPath" => "use Items",
        "TimeoutSecondsPath" => "use TimeoutSeconds with a {% ... %} expression",
        "HeartbeatSecondsPath" => "use HeartbeatSeconds with a {% ... %} expression",
        "SecondsPath" => "use Seconds with a {% ... %} expression",
        "TimestampPath" => "use Timestamp with a {% ... %} expression",
        "MaxConcurrencyPath" => "use MaxConcurrency with a {% ... %} expression",
        "ToleratedFailureCountPath" => "use ToleratedFailureCount with a {% ... %} expression",
        "ToleratedFailurePercentagePath" => {
            "use ToleratedFailurePercentage with a {% ... %} expression"
        }
        "MaxItemsPerBatchPath" => "use MaxItemsPerBatch with a {% ... %} expression",
        "MaxInputBytesPerBatchPath" => "use MaxInputBytesPerBatch with a {% ... %} expression",
        "ErrorPath" => "use Error with a {% ... %} expression",
        "CausePath" => "use Cause with a {% ... %} expression",
        "Variable" => "use Condition",
        _ => return None,
    })
}

/// Fields that only JSONata states may use, with what to use instead in JSONPath.
pub(crate) fn jsonata_only(field: &str) -> Option<&'static str> {
    Some(match field {
        "Arguments" => "use Parameters",
        "Output" => "use ResultSelector, ResultPath and OutputPath",
        "Items" => "use ItemsPath",
        "Condition" => "use Variable with a comparison operator",
        _ => return None,
    })
}

/// The message for `field` used in a state whose query language does not have it.
pub(crate) fn wrong_language(field: &str, jsonata_state: bool) -> Option<String> {
    if jsonata_state {
        jsonpath_only(field).map(|hint| {
            format!(
                "field '{field}' is a JSONPath field and is not allowed in a JSONata state ({hint}, or set \"QueryLanguage\": \"JSONPath\" on the state)"
            )
        })
    } else {
        jsonata_only(field).map(|hint| {
            format!(
                "field '{field}' is only allowed in JSONata states; this state uses JSONPath ({hint}, or set \"QueryLanguage\": \"JSONata\")"
            )
        })
    }
}
