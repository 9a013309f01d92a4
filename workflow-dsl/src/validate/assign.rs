//! The `Assign` field of states, Choice rules and catchers: variable names and values
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>).

use serde_json::Value;

use super::paths::{check_dynamic_value, check_payload_template, check_variable_name};
use super::{At, Validator};
use crate::jsonata;

/// `Assign`: an object of valid variable names; in JSONPath, `name.$` keys hold a path or an
/// intrinsic function (<https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>).
pub(crate) fn assign(v: &mut Validator, at: &At, field: &str, value: &Value) {
    let Value::Object(map) = value else {
        v.report(
            at,
            field,
            format!(
                "{field} must be an object mapping variable names to values, found {}",
                jsonata::shorten(&value.to_string())
            ),
        );
        return;
    };
    for (key, child) in map {
        let location = format!("{field}.{key}");
        let (name, dynamic) = match key.strip_suffix(".$") {
            Some(name) if !at.jsonata() => (name, true),
            _ => (key.as_str(), false),
        };
        if let Err(message) = check_variable_name(name) {
            v.report(at, &location, format!("{field}: {message}"));
        }
        if dynamic {
            if let Err(message) = check_dynamic_value(key, child) {
                v.report(at, &location, format!("{field}: {message}"));
            }
        } else {
            let found = if at.jsonata() {
                jsonata::check_template(child)
            } else {
                check_payload_template(child)
            };
            for (suffix, message) in found {
                v.report(
                    at,
                    &format!("{location}{suffix}"),
                    format!("{field}: {message}"),
                );
            }
        }
    }
}
