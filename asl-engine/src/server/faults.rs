//! Fault injection for the local endpoint (`ServerConfig::fault_injection`, not part of the AWS
//! API): rules that make the next invocations of a Lambda function fail with a given error, set
//! and read over `POST|GET|DELETE /_local/faults` on the endpoint's own listener.
//!
//! The rules act in the Task invocation path: every registered Lambda function of the
//! [`TaskRegistry`] is wrapped ([`TaskRegistry::wrap_lambdas`]), so the step handlers are unchanged
//! and Retry/Catch see an injected failure exactly as a failed Lambda invocation.
//!
//! A rule: `{"function": "process-payment", "error": "Lambda.TooManyRequestsException",
//! "cause": "injected: throttled", "count": 3, "when": "before"}`.
//! - `function` (required): a Lambda function as the registry matches it (name, ARN or
//!   `${...FunctionArn}` placeholder); unknown functions are refused (400).
//! - `error` (required, non-empty) and `cause` (default empty): the failure's error name and cause.
//!   The engine reports a Lambda error whose name starts with neither `Lambda.` nor `States.` with
//!   the cause wrapped as Lambda's error object (`{"errorMessage": cause, "errorType": error}`), as
//!   Step Functions does for a function error.
//! - `count`: how many invocations fail; absent or null = every invocation until the rules are
//!   cleared. Must be at least 1.
//! - `when`: `before` (default) fails the invocation without running the handler (a throttled
//!   Invoke); `after` runs the handler (its side effects happen) and then replaces its result by the
//!   error (a timeout after the work was done).
//!
//! When several rules match a function, the oldest one that still has invocations left fires.
//! Exhausted rules stay listed with their `injected` count until `DELETE`.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::tasks::{lambda_key, LambdaFn};
use crate::{TaskError, TaskRegistry};

/// When an injected failure happens relative to the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    /// The handler does not run: the invocation fails (a throttled Invoke).
    Before,
    /// The handler runs (its side effects happen), then its result is replaced by the failure
    /// (an answer lost after the work was done).
    After,
}

impl When {
    /// `before` or `after`.
    pub fn as_str(self) -> &'static str {
        match self {
            When::Before => "before",
            When::After => "after",
        }
    }
}

impl std::fmt::Display for When {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of `POST /_local/faults`: one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// The Lambda function (name, ARN or `${...FunctionArn}` placeholder).
    pub function: String,
    /// The error name of the failure.
    pub error: String,
    /// The cause of the failure (default empty).
    #[serde(default)]
    pub cause: Option<String>,
    /// How many invocations fail; `None`: every one until the rules are cleared.
    #[serde(default)]
    pub count: Option<u64>,
    /// When the failure happens (default `before`).
    #[serde(default)]
    pub when: Option<When>,
}

/// A rule as `GET|DELETE /_local/faults` and `POST` answer it, with how often it fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedRule {
    /// The rule's id on this endpoint.
    pub id: u64,
    /// The function, as given.
    pub function: String,
    /// The error name.
    pub error: String,
    /// The cause.
    pub cause: String,
    /// How many invocations fail; `None`: every one.
    pub count: Option<u64>,
    /// When the failure happens.
    pub when: When,
    /// How many invocations it failed so far.
    pub injected: u64,
    /// How many are left; `None` for a rule without a count.
    pub remaining: Option<u64>,
}

/// The answer of `GET|DELETE /_local/faults`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleList {
    /// The rules, oldest first.
    pub rules: Vec<ListedRule>,
}

#[derive(Debug)]
struct Rule {
    id: u64,
    function: String,
    key: String,
    error: String,
    cause: String,
    count: Option<u64>,
    when: When,
    injected: u64,
}

impl Rule {
    fn has_left(&self) -> bool {
        self.count.is_none_or(|c| self.injected < c)
    }

    fn listed(&self) -> ListedRule {
        ListedRule {
            id: self.id,
            function: self.function.clone(),
            error: self.error.clone(),
            cause: self.cause.clone(),
            count: self.count,
            when: self.when,
            injected: self.injected,
            remaining: self.count.map(|c| c.saturating_sub(self.injected)),
        }
    }
}

#[derive(Debug, Default)]
struct Rules {
    next_id: u64,
    rules: Vec<Rule>,
}

/// The fault rules of one endpoint. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub(crate) struct Faults {
    rules: Arc<Mutex<Rules>>,
}

/// An error of the `/_local/faults` routes: HTTP 400 with `{"error": "BadRequest", "message": ...}`.
#[derive(Debug)]
pub(crate) struct FaultError(String);

impl IntoResponse for FaultError {
    fn into_response(self) -> Response {
        let body = json!({"error": "BadRequest", "message": self.0});
        (
            StatusCode::BAD_REQUEST,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, Rules> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wraps every Lambda function of `registry` so that invocations consult the rules first.
    pub fn wrap(&self, registry: &mut TaskRegistry) {
        registry.wrap_lambdas(|key, inner| {
            let faults = self.clone();
            let key = key.to_string();
            let wrapped: Arc<LambdaFn> = Arc::new(move |input| {
                match faults.fire(&key) {
                    None => inner(input),
                    Some((When::Before, error)) => Box::pin(async move { Err(error) }),
                    Some((When::After, error)) => {
                        let call = inner(input);
                        Box::pin(async move {
                            // The work happens; its result (or its own error) is lost.
                            let _ = call.await;
                            Err(error)
                        })
                    }
                }
            });
            wrapped
        });
    }

    /// The rule firing for an invocation of the function `key`, counted as injected.
    fn fire(&self, key: &str) -> Option<(When, TaskError)> {
        let mut rules = self.lock();
        let rule = rules
            .rules
            .iter_mut()
            .find(|r| r.key == key && r.has_left())?;
        rule.injected += 1;
        tracing::info!(function = %rule.function, error = %rule.error, when = rule.when.as_str(), "injected a Lambda fault");
        Some((rule.when, TaskError::new(&rule.error, &rule.cause)))
    }

    /// `POST /_local/faults`: adds a rule; answers it (201).
    pub fn add(&self, registry: &TaskRegistry, body: &[u8]) -> Result<Value, FaultError> {
        let req: FaultRule = serde_json::from_slice(body)
            .map_err(|e| FaultError(format!("the body is not a valid fault rule: {e}")))?;
        if req.function.trim().is_empty() {
            return Err(FaultError("'function' must not be empty".into()));
        }
        if !registry.has_lambda(&req.function) {
            return Err(FaultError(format!(
                "no Lambda function '{}' is registered on this endpoint",
                req.function
            )));
        }
        if req.error.trim().is_empty() {
            return Err(FaultError("'error' must not be empty".into()));
        }
        if req.count == Some(0) {
            return Err(FaultError(
                "'count' must be at least 1 (or null for every invocation)".into(),
            ));
        }
        let mut rules = self.lock();
        rules.next_id += 1;
        let rule = Rule {
            id: rules.next_id,
            key: lambda_key(&req.function),
            function: req.function,
            error: req.error,
            cause: req.cause.unwrap_or_default(),
            count: req.count,
            when: req.when.unwrap_or(When::Before),
            injected: 0,
        };
        let out = json!(rule.listed());
        rules.rules.push(rule);
        Ok(out)
    }

    /// `GET /_local/faults`: `{"rules": [...]}` with `injected` counts.
    pub fn list(&self) -> Value {
        let rules = self.lock();
        json!(RuleList {
            rules: rules.rules.iter().map(Rule::listed).collect()
        })
    }

    /// `DELETE /_local/faults`: removes every rule; answers the listing as it was.
    pub fn clear(&self) -> Value {
        let mut rules = self.lock();
        let out = json!(RuleList {
            rules: rules.rules.iter().map(Rule::listed).collect()
        });
        rules.rules.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(faults: &Faults, calls: Arc<Mutex<u32>>) -> TaskRegistry {
        let mut r = TaskRegistry::new();
        r.register_lambda("process-payment", move |v| {
            let calls = calls.clone();
            async move {
                *calls.lock().unwrap() += 1;
                Ok(v)
            }
        });
        faults.wrap(&mut r);
        r
    }

    async fn invoke(r: &TaskRegistry) -> Result<Value, TaskError> {
        let engine = crate::Engine::new(r.clone());
        let machine = workflow_dsl::model::StateMachine::from_value(json!({
            "StartAt": "Pay", "States": {"Pay": {"Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:process-payment", "End": true}}
        }))
        .unwrap();
        let result = engine
            .execute(
                &machine,
                json!({"a": 1}),
                crate::ExecOptions::virtual_time(),
            )
            .await
            .unwrap();
        match result.status {
            crate::ExecutionStatus::Succeeded { output } => Ok(output),
            crate::ExecutionStatus::Failed { error, cause } => Err(TaskError::new(
                error.unwrap_or_default(),
                cause.unwrap_or_default(),
            )),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn counted_before_and_after_rules() {
        let faults = Faults::default();
        let calls = Arc::new(Mutex::new(0));
        let r = registry(&faults, calls.clone());
        faults
            .add(
                &r,
                br#"{"function":"${ProcessPaymentFunctionArn}","error":"Lambda.TooManyRequestsException","cause":"injected: throttled","count":1}"#,
            )
            .unwrap();
        let err = invoke(&r).await.unwrap_err();
        assert_eq!(err.error, "Lambda.TooManyRequestsException");
        assert_eq!(err.cause, "injected: throttled");
        assert_eq!(
            *calls.lock().unwrap(),
            0,
            "before: the handler does not run"
        );
        assert_eq!(invoke(&r).await.unwrap(), json!({"a": 1}));
        assert_eq!(*calls.lock().unwrap(), 1);

        faults
            .add(
                &r,
                br#"{"function":"process-payment","error":"Lambda.Unknown","count":null,"when":"after"}"#,
            )
            .unwrap();
        for _ in 0..2 {
            assert_eq!(invoke(&r).await.unwrap_err().error, "Lambda.Unknown");
        }
        assert_eq!(*calls.lock().unwrap(), 3, "after: the handler runs");
        let listing = faults.clear();
        assert_eq!(listing["rules"][0]["injected"], 1);
        assert_eq!(listing["rules"][0]["remaining"], 0);
        assert_eq!(listing["rules"][1]["injected"], 2);
        assert_eq!(listing["rules"][1]["count"], Value::Null);
        assert_eq!(faults.list(), json!({"rules": []}));
        assert!(invoke(&r).await.is_ok());
    }

    #[test]
    fn bad_rules_are_refused() {
        let faults = Faults::default();
        let r = registry(&faults, Arc::default());
        for body in [
            &b"not json"[..],
            br#"{"function":"process-payment"}"#,
            br#"{"function":"nope","error":"E"}"#,
            br#"{"function":"process-payment","error":""}"#,
            br#"{"function":"process-payment","error":"E","count":0}"#,
            br#"{"function":"process-payment","error":"E","count":-1}"#,
            br#"{"function":"process-payment","error":"E","when":"during"}"#,
            br#"{"function":"process-payment","error":"E","fn":"x"}"#,
        ] {
            assert!(
                faults.add(&r, body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(faults.list(), json!({"rules": []}));
    }
}
