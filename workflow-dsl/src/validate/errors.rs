//! Error names, retriers (`Retry`) and catchers (`Catch`)
//! (<https://states-language.net/spec.html#errors>, <https://states-language.net/spec.html#retrying-after-error>).

use serde_json::Number;

use super::fields::{unknown_catcher_field, unknown_retrier_field, wrong_language};
use super::paths::{check_path, PathKind};
use super::{At, Validator};
use crate::jsonata;
use crate::model::{Catcher, Retrier};
use crate::typed::AslError;

/// True for an error name Step Functions defines: `States.ALL` and every
/// [`AslError`](crate::typed::AslError) (the one table of `States.*` names, which the engine uses
/// too); user errors must not start with `States.`
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>).
pub fn is_predefined_error(name: &str) -> bool {
    name == STATES_ALL || AslError::from_name(name).is_some()
}

/// Every error name Step Functions defines.
fn predefined_errors() -> impl Iterator<Item = &'static str> {
    std::iter::once(STATES_ALL).chain(AslError::ALL_ERRORS.iter().map(|e| e.name()))
}

const STATES_ALL: &str = "States.ALL";

/// Largest IntervalSeconds / MaxAttempts AWS accepts.
const MAX_RETRY_VALUE: u64 = 99_999_999;
/// MaxDelaySeconds must be below this (one year and a day, in seconds).
const MAX_DELAY_LIMIT: u64 = 31_622_401;

/// What is wrong with a user-facing error name, if anything.
pub(crate) fn error_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("an error name cannot be empty".to_owned());
    }
    if name.starts_with("States.") && !is_predefined_error(name) {
        let mut message = format!(
            "'{name}' is not a predefined error, and names starting with 'States.' are reserved for Step Functions"
        );
        if let Some(close) = super::names::suggest(name, predefined_errors()) {
            message.push_str(&format!(" (did you mean '{close}'?)"));
        }
        return Some(message);
    }
    None
}

/// Checks `ErrorEquals` of the retrier or catcher at `field` (e.g. `Retry[0]`).
fn error_equals(v: &mut Validator, at: &At, field: &str, names: &[String], last: bool) {
    let location = format!("{field}.ErrorEquals");
    if names.is_empty() {
        v.report(
            at,
            &location,
            format!("{field}.ErrorEquals is empty; list at least one error name"),
        );
    }
    if names.iter().any(|n| n == "States.ALL") {
        if names.len() > 1 {
            v.report(
                at,
                &location,
                format!(
                    "{field}.ErrorEquals: 'States.ALL' must be the only error name in its list"
                ),
            );
        }
        if !last {
            let kind = if field.starts_with("Retry") {
                "retrier"
            } else {
                "catcher"
            };
            v.report(
                at,
                &location,
                format!("{field}: a {kind} matching 'States.ALL' must be the last {kind}, since the ones after it could never match"),
            );
        }
    }
    for name in names {
        if let Some(message) = error_name_problem(name) {
            v.report(at, &location, format!("{field}.ErrorEquals: {message}"));
        }
    }
}

fn integer(n: &Number) -> Option<u64> {
    n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0)
            .map(|f| f as u64)
    })
}

pub(crate) fn retriers(v: &mut Validator, at: &At, retry: &[Retrier]) {
    for (i, r) in retry.iter().enumerate() {
        let field = format!("Retry[{i}]");
        error_equals(v, at, &field, &r.error_equals, i + 1 == retry.len());
        if let Some(n) = &r.interval_seconds {
            if !integer(n).is_some_and(|s| (1..=MAX_RETRY_VALUE).contains(&s)) {
                v.report(
                    at,
                    &format!("{field}.IntervalSeconds"),
                    format!("{field}.IntervalSeconds is {n}; it must be a whole number of seconds from 1 to {MAX_RETRY_VALUE}"),
                );
            }
        }
        if let Some(n) = &r.max_attempts {
            if integer(n).is_none_or(|s| s > MAX_RETRY_VALUE) {
                v.report(
                    at,
                    &format!("{field}.MaxAttempts"),
                    format!("{field}.MaxAttempts is {n}; it must be a whole number from 0 (never retry) to {MAX_RETRY_VALUE}"),
                );
            }
        }
        if let Some(n) = &r.backoff_rate {
            if !n.as_f64().is_some_and(|b| b >= 1.0) {
                v.report(
                    at,
                    &format!("{field}.BackoffRate"),
                    format!("{field}.BackoffRate is {n}; it must be at least 1.0 (the interval is multiplied by it after each attempt)"),
                );
            }
        }
        if let Some(n) = &r.max_delay_seconds {
            if !integer(n).is_some_and(|s| s > 0 && s < MAX_DELAY_LIMIT) {
                v.report(
                    at,
                    &format!("{field}.MaxDelaySeconds"),
                    format!("{field}.MaxDelaySeconds is {n}; it must be a positive whole number of seconds below {MAX_DELAY_LIMIT}"),
                );
            }
        }
        for key in r.extra.keys() {
            v.report(
                at,
                &format!("{field}.{key}"),
                format!("{field}: {}", unknown_retrier_field(key)),
            );
        }
    }
}

pub(crate) fn catchers(v: &mut Validator, at: &At, catch: &[Catcher]) {
    for (i, c) in catch.iter().enumerate() {
        let field = format!("Catch[{i}]");
        error_equals(v, at, &field, &c.error_equals, i + 1 == catch.len());
        v.check_target(at, &format!("{field}.Next"), &c.next);
        if let Some(result_path) = &c.result_path {
            if let Some(message) = wrong_language("ResultPath", at.jsonata()) {
                v.report(
                    at,
                    &format!("{field}.ResultPath"),
                    format!("{field}: {message}"),
                );
            } else if let Some(path) = result_path {
                if let Err(e) = check_path(path, PathKind::Result) {
                    v.report(
                        at,
                        &format!("{field}.ResultPath"),
                        format!("{field}.ResultPath '{path}' is not a valid Reference Path: {e}"),
                    );
                }
            }
        }
        if let Some(output) = &c.output {
            if let Some(message) = wrong_language("Output", at.jsonata()) {
                v.report(
                    at,
                    &format!("{field}.Output"),
                    format!("{field}: {message}"),
                );
            } else {
                for (suffix, message) in jsonata::check_template(output) {
                    v.report(at, &format!("{field}.Output{suffix}"), message);
                }
            }
        }
        if let Some(assign) = &c.assign {
            super::assign::assign(v, at, &format!("{field}.Assign"), assign);
        }
        for key in c.extra.keys() {
            v.report(
                at,
                &format!("{field}.{key}"),
                format!("{field}: {}", unknown_catcher_field(key)),
            );
        }
    }
}
