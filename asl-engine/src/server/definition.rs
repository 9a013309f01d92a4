//! State machine definitions as the endpoint takes them: parsed, validated (the diagnostics of
//! ValidateStateMachineDefinition and the `InvalidDefinition` error) and compiled.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use workflow_dsl::model::StateMachine;
use workflow_dsl::validate::{validate_with, Options};

use super::protocol::ApiError;
use crate::CompiledMachine;

/// One diagnostic of ValidateStateMachineDefinition.
pub(super) struct Diagnostic {
    pub code: &'static str,
    pub message: String,
    pub location: Option<String>,
}

impl Diagnostic {
    pub(super) fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("severity".into(), json!("ERROR"));
        m.insert("code".into(), json!(self.code));
        m.insert("message".into(), json!(self.message));
        if let Some(l) = &self.location {
            m.insert("location".into(), json!(l));
        }
        Value::Object(m)
    }
}

/// `States.A.Retry[0]` -> `/States/A/Retry/0` (AWS reports locations as JSON pointers).
fn pointer(location: &str, state: Option<&str>) -> String {
    let (head, rest) = match state {
        Some(s) => match location
            .strip_prefix("States.")
            .and_then(|r| r.strip_prefix(s))
        {
            Some(rest) => (format!("/States/{s}"), rest.to_string()),
            None => (String::new(), location.to_string()),
        },
        None => (String::new(), location.to_string()),
    };
    let mut out = head;
    for part in rest.split('.').filter(|p| !p.is_empty()) {
        let mut p = part;
        while let Some(open) = p.find('[') {
            out.push('/');
            out.push_str(&p[..open]);
            let close = p[open..].find(']').map(|c| open + c).unwrap_or(p.len() - 1);
            out.push('/');
            out.push_str(&p[open + 1..close]);
            p = &p[(close + 1).min(p.len())..];
        }
        if !p.is_empty() {
            out.push('/');
            out.push_str(p);
        }
    }
    out.replace("//", "/")
}

/// Parses, validates and compiles a definition; the diagnostics when it is not valid.
pub(super) fn analyse(
    definition: &str,
    express: bool,
) -> Result<Arc<CompiledMachine>, Vec<Diagnostic>> {
    if definition.trim().is_empty() {
        return Err(vec![Diagnostic {
            code: "MISSING_DESCRIPTION",
            message: "The definition is empty".into(),
            location: None,
        }]);
    }
    let value: Value = serde_json::from_str(definition).map_err(|e| {
        vec![Diagnostic {
            code: "INVALID_JSON_DESCRIPTION",
            message: format!("Invalid JSON: {e}"),
            location: None,
        }]
    })?;
    let machine = StateMachine::from_value(value).map_err(|e| {
        vec![Diagnostic {
            code: "SCHEMA_VALIDATION_FAILED",
            message: e.to_string(),
            location: None,
        }]
    })?;
    let problems = validate_with(&machine, &Options { express });
    if !problems.is_empty() {
        return Err(problems
            .iter()
            .map(|p| Diagnostic {
                code: "SCHEMA_VALIDATION_FAILED",
                message: p.message.clone(),
                location: Some(pointer(&p.location, p.state.as_deref())),
            })
            .collect());
    }
    CompiledMachine::new(&machine).map(Arc::new).map_err(|e| {
        vec![Diagnostic {
            code: "SCHEMA_VALIDATION_FAILED",
            message: e.to_string(),
            location: None,
        }]
    })
}

/// The first state of `definition` (a machine's, a branch's or an item processor's JSON) for
/// which `found` holds, with its name: its own states first, then those nested in Parallel
/// branches and Map item processors (`ItemProcessor`, or the older `Iterator`).
pub(super) fn find_nested_state<'d>(
    definition: &'d Value,
    found: &impl Fn(&str, &Value) -> bool,
) -> Option<(&'d str, &'d Value)> {
    let states = definition.get("States")?.as_object()?;
    if let Some((name, state)) = states.iter().find(|(n, s)| found(n, s)) {
        return Some((name.as_str(), state));
    }
    states.values().find_map(|state| {
        let branches = state.get("Branches").and_then(Value::as_array);
        let processor = state.get("ItemProcessor").or_else(|| state.get("Iterator"));
        branches
            .into_iter()
            .flatten()
            .chain(processor)
            .find_map(|inner| find_nested_state(inner, found))
    })
}

pub(super) fn invalid_definition(diags: &[Diagnostic]) -> ApiError {
    let parts: Vec<String> = diags
        .iter()
        .map(|d| match &d.location {
            Some(l) => format!("{}: {} at {l}", d.code, d.message),
            None => format!("{}: {}", d.code, d.message),
        })
        .collect();
    ApiError::new(
        "InvalidDefinition",
        format!("Invalid State Machine Definition: '{}'", parts.join(", ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_become_json_pointers() {
        assert_eq!(pointer("States.A.Retry[0]", Some("A")), "/States/A/Retry/0");
        assert_eq!(pointer("StartAt", None), "/StartAt");
        assert_eq!(pointer("States.a.b.Next", Some("a.b")), "/States/a.b/Next");
    }
}
