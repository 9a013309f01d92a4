//! Choice states: rules, comparison operators and their operand types
//! (<https://states-language.net/spec.html#choice-state>).

use serde_json::Value;

use super::paths::{check_path, PathKind};
use super::{time, At, Validator};
use crate::jsonata;
use crate::model::{ChoiceCondition, ChoiceRule, ChoiceState, ComparisonOperator};

pub(crate) fn choice_state(v: &mut Validator, at: &At, state: &ChoiceState) {
    if state.choices.is_empty() {
        v.report(
            at,
            "Choices",
            "Choices is empty; a Choice state needs at least one rule",
        );
    }
    for (i, rule) in state.choices.iter().enumerate() {
        let field = format!("Choices[{i}]");
        match &rule.next {
            Some(next) => v.check_target(at, &format!("{field}.Next"), next),
            None => v.report(
                at,
                &field,
                format!("{field} has no Next: every top-level Choice rule must name the state to go to when it matches"),
            ),
        }
        if let Some(output) = &rule.output {
            if !at.jsonata() {
                v.report(
                    at,
                    &format!("{field}.Output"),
                    format!("{field}: Output in a Choice rule is only allowed in JSONata states"),
                );
            } else {
                for (suffix, message) in jsonata::check_template(output) {
                    v.report(at, &format!("{field}.Output{suffix}"), message);
                }
            }
        }
        if let Some(assign) = &rule.assign {
            super::assign::assign(v, at, &format!("{field}.Assign"), assign);
        }
        rule_body(v, at, &field, rule);
    }
    if let Some(default) = &state.default {
        v.check_target(at, "Default", default);
    }
}

/// Checks the condition of a rule (top-level or nested) and its unknown keys.
fn rule_body(v: &mut Validator, at: &At, field: &str, rule: &ChoiceRule) {
    let mut extra_operators = Vec::new();
    for key in rule.extra.keys() {
        if ComparisonOperator::from_name(key).is_some() {
            extra_operators.push(key.as_str());
            continue;
        }
        let message = match (key.as_str(), &rule.condition) {
            (
                "Variable",
                ChoiceCondition::And(_) | ChoiceCondition::Or(_) | ChoiceCondition::Not(_),
            ) => "Variable cannot be combined with And, Or or Not; put it in a nested rule".to_owned(),
            ("Variable", ChoiceCondition::Jsonata(_)) => {
                "Variable cannot be combined with Condition".to_owned()
            }
            ("And" | "Or" | "Not" | "Condition", _) => format!(
                "a rule can hold only one of And, Or, Not, Condition or a comparison; '{key}' is one too many"
            ),
            _ => format!(
                "field '{key}' is not allowed in a Choice rule{}",
                super::names::suggest(key, ComparisonOperator::ALL.iter().map(|o| o.name()).chain(["Variable", "Next", "And", "Or", "Not", "Condition", "Comment", "Assign", "Output"]))
                    .map(|c| format!(" (did you mean '{c}'?)"))
                    .unwrap_or_default()
            ),
        };
        v.report(at, &format!("{field}.{key}"), format!("{field}: {message}"));
    }
    match &rule.condition {
        ChoiceCondition::And(rules) | ChoiceCondition::Or(rules) => {
            let op = if matches!(rule.condition, ChoiceCondition::And(_)) {
                "And"
            } else {
                "Or"
            };
            not_in_jsonata(v, at, field, op);
            if rules.is_empty() {
                v.report(
                    at,
                    &format!("{field}.{op}"),
                    format!("{field}.{op} is empty; it needs at least one nested rule"),
                );
            }
            for (i, nested) in rules.iter().enumerate() {
                nested_rule(v, at, &format!("{field}.{op}[{i}]"), nested);
            }
        }
        ChoiceCondition::Not(nested) => {
            not_in_jsonata(v, at, field, "Not");
            nested_rule(v, at, &format!("{field}.Not"), nested);
        }
        ChoiceCondition::Comparison {
            variable,
            operator,
            operand,
        } => {
            not_in_jsonata(v, at, field, "Variable");
            if let Err(e) = check_path(variable, PathKind::Path) {
                v.report(
                    at,
                    &format!("{field}.Variable"),
                    format!("{field}.Variable '{variable}' is not a valid path: {e}"),
                );
            }
            if !extra_operators.is_empty() {
                v.report(
                    at,
                    field,
                    format!(
                        "{field} has more than one comparison operator ({}, {}); a rule compares with exactly one",
                        operator.name(),
                        extra_operators.join(", ")
                    ),
                );
            }
            comparison(v, at, field, *operator, operand);
        }
        ChoiceCondition::Jsonata(condition) => {
            if !at.jsonata() {
                v.report(
                    at,
                    &format!("{field}.Condition"),
                    format!("{field}: Condition is only allowed in JSONata states; this state uses JSONPath (use Variable with a comparison operator, or set \"QueryLanguage\": \"JSONata\")"),
                );
            } else {
                let ok = match condition {
                    Value::Bool(_) => true,
                    Value::String(text) => jsonata::is_expression(text),
                    _ => false,
                };
                if !ok {
                    v.report(
                        at,
                        &format!("{field}.Condition"),
                        format!("{field}.Condition must be true, false or a JSONata expression '{{% ... %}}', found {condition}"),
                    );
                } else if let Value::String(text) = condition {
                    if let Some(message) = jsonata::expression_problem(text) {
                        v.report(at, &format!("{field}.Condition"), message);
                    }
                }
            }
        }
        ChoiceCondition::Missing { variable } => {
            let message = if !extra_operators.is_empty() {
                format!(
                    "{field} has {} but no Variable to compare",
                    extra_operators.join(", ")
                )
            } else if variable.is_some() {
                format!("{field} has a Variable but no comparison operator (such as StringEquals or NumericGreaterThan)")
            } else if at.jsonata() {
                format!("{field} has no Condition")
            } else {
                format!("{field} has no condition: use Variable with a comparison operator, or And, Or or Not")
            };
            v.report(at, field, message);
        }
    }
}

fn not_in_jsonata(v: &mut Validator, at: &At, field: &str, what: &str) {
    if at.jsonata() {
        v.report(
            at,
            &format!("{field}.{what}"),
            format!("{field}: {what} is a JSONPath Choice field; JSONata Choice rules use a Condition expression '{{% ... %}}'"),
        );
    }
}

fn nested_rule(v: &mut Validator, at: &At, field: &str, rule: &ChoiceRule) {
    if rule.next.is_some() {
        v.report(
            at,
            &format!("{field}.Next"),
            format!("{field} is nested inside And, Or or Not and cannot have Next; only top-level rules choose the next state"),
        );
    }
    if rule.assign.is_some() || rule.output.is_some() {
        v.report(
            at,
            field,
            format!("{field} is nested inside And, Or or Not and cannot have Assign or Output"),
        );
    }
    rule_body(v, at, field, rule);
}

fn comparison(v: &mut Validator, at: &At, field: &str, op: ComparisonOperator, operand: &Value) {
    let name = op.name();
    let location = format!("{field}.{name}");
    if op.is_path() {
        match operand {
            Value::String(path) => {
                if let Err(e) = check_path(path, PathKind::Path) {
                    v.report(
                        at,
                        &location,
                        format!("{field}.{name} '{path}' is not a valid path: {e}"),
                    );
                }
            }
            other => v.report(
                at,
                &location,
                format!("{field}.{name} must be a path string ($...), found {other}"),
            ),
        }
        return;
    }
    let (ok, expected) = if op.is_type_test() {
        (operand.is_boolean(), "true or false")
    } else if name.starts_with("String") {
        (operand.is_string(), "a string")
    } else if name.starts_with("Numeric") {
        (operand.is_number(), "a number")
    } else if name.starts_with("Boolean") {
        (operand.is_boolean(), "true or false")
    } else {
        (
            operand.as_str().is_some_and(time::is_rfc3339),
            "an RFC 3339 timestamp string such as \"2016-03-14T01:59:00Z\"",
        )
    };
    if !ok {
        v.report(
            at,
            &location,
            format!("{field}.{name} must be {expected}, found {operand}"),
        );
    }
}
