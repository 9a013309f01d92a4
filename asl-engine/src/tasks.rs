//! Task dispatch: a `Resource` string goes to a handler. Lambda resources (`arn:aws:lambda:...` or
//! `arn:aws:states:::lambda:invoke` with `FunctionName`) go to Rust functions registered by name;
//! other resources go to handlers registered by resource prefix (e.g. the AWS SDK integrations).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use serde_json::Value;
use workflow_dsl::step::{decode_input, run_json, Step, StepError};

/// A failed task: AWS's `error` name and `cause` text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct TaskError {
    /// The error name, which `ErrorEquals` of `Retry` and `Catch` match (e.g. `States.TaskFailed`).
    pub error: String,
    /// A human-readable description of the failure.
    pub cause: String,
}

impl TaskError {
    /// A task error with this `error` name and `cause`.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        TaskError {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

/// What a task handler receives besides its input.
#[derive(Debug, Clone)]
pub struct TaskContext {
    /// The Task state's full `Resource` string.
    pub resource: String,
    /// The name of the Task state.
    pub state_name: String,
    /// The ARN of the execution running the task.
    pub execution_arn: String,
    /// `$$.Task.Token` for `.waitForTaskToken` resources.
    pub task_token: Option<String>,
    /// The execution runs on a virtual clock (a child execution it starts does too).
    pub virtual_time: bool,
    /// The execution's stop flag ([`crate::ExecOptions::cancel`]), which a `.sync` child
    /// execution shares.
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// A handler for a task resource (the full `Resource` string is in the context).
#[async_trait]
pub trait TaskHandler: Send + Sync {
    /// Runs the task on its effective input; returns the task result or the error the task fails
    /// with.
    async fn invoke(&self, input: Value, ctx: &TaskContext) -> Result<Value, TaskError>;
}

/// A registered Lambda function: the input in, the function's result or error out.
pub type LambdaFn = dyn Fn(Value) -> BoxFuture<'static, Result<Value, TaskError>> + Send + Sync;

/// Registered task handlers.
#[derive(Clone, Default)]
pub struct TaskRegistry {
    lambdas: HashMap<String, Arc<LambdaFn>>,
    resources: Vec<(String, Arc<dyn TaskHandler>)>,
    /// The object store and Map Run records of distributed Map states.
    distributed: crate::dmap::Distributed,
}

impl std::fmt::Debug for TaskRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskRegistry")
            .field("lambdas", &self.lambdas.keys().collect::<Vec<_>>())
            .field(
                "resources",
                &self.resources.iter().map(|(r, _)| r).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// How a Task state's resource is served.
pub(crate) enum Target<'r> {
    /// `arn:aws:lambda:...:function:NAME`: the function's result is the task result.
    LambdaDirect(&'r Arc<LambdaFn>),
    /// `arn:aws:states:::lambda:invoke`: the result is wrapped like Lambda's Invoke response.
    LambdaInvoke(&'r Arc<LambdaFn>),
    Handler(&'r Arc<dyn TaskHandler>),
    MissingLambda(String),
    Unknown,
}

impl TaskRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets where distributed Map states read items (`ItemReader`) and write results
    /// (`ResultWriter`): Amazon S3 through `crate::aws::S3ItemStore`, or a
    /// [`crate::dmap::MemoryStore`].
    pub fn set_item_store(&mut self, store: Arc<dyn crate::dmap::ItemStore>) -> &mut Self {
        self.distributed.store = Some(store);
        self
    }

    /// The store of distributed Map states, if one is set.
    pub fn item_store(&self) -> Option<&Arc<dyn crate::dmap::ItemStore>> {
        self.distributed.store.as_ref()
    }

    /// The Map Runs the distributed Map states of this registry's executions started.
    pub fn map_runs(&self) -> &Arc<crate::dmap::MapRuns> {
        &self.distributed.runs
    }

    /// Registers an async Rust function as the Lambda function `name`. A Task matches it by function
    /// name, by ARN (`...:function:name[:alias]`) or by a template placeholder such as
    /// `${ValidateOrderFunctionArn}` for `validate-order` (case, `-`/`_` and a trailing
    /// `FunctionArn`/`Arn` are ignored).
    pub fn register_lambda<F, Fut>(&mut self, name: &str, handler: F) -> &mut Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, TaskError>> + Send + 'static,
    {
        let f: Arc<LambdaFn> = Arc::new(move |v| Box::pin(handler(v)));
        self.lambdas.insert(normalize(name), f);
        self
    }

    /// Registers a typed step ([`workflow_dsl::step::Step`]) on `ports` as the Lambda function
    /// of its name (`Step::NAME`; its Tasks name it by the placeholder
    /// `${<PascalName>FunctionArn}` or a function ARN ending in the name).
    ///
    /// The engine gets the step's typed error as Step Functions gets a failed Lambda's: `Error`
    /// is the ASL error name and `Cause` the Lambda error object built from the message. A
    /// malformed input is the step's own error ([`workflow_dsl::step::Step::malformed_input`]).
    pub fn register_step<S: Step>(&mut self, ports: Arc<S::Ports>) -> &mut Self {
        self.register_lambda(S::NAME, move |input| {
            let ports = ports.clone();
            async move {
                run_json::<S>(input, &ports)
                    .await
                    .map_err(|failure| TaskError::new(failure.error, failure.message))
            }
        })
    }

    /// Registers a typed mock of step `S`: `mock` gets the step's typed input and returns (a
    /// future of) the step's output or one of its errors, as the step would. For tests of a
    /// workflow's paths ([`crate::testing::LocalRunner`]).
    pub fn register_mock<S, F, Fut>(&mut self, mock: F) -> &mut Self
    where
        S: Step,
        F: Fn(S::Input) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<S::Output, StepError<S::Error>>> + Send + 'static,
    {
        let mock = Arc::new(mock);
        self.register_lambda(S::NAME, move |input| {
            let mock = mock.clone();
            async move {
                let failed = |e: StepError<S::Error>| TaskError::new(e.name(), e.message());
                let input = decode_input::<S>(input).map_err(failed)?;
                let output = mock(input).await.map_err(failed)?;
                serde_json::to_value(output).map_err(|e| {
                    TaskError::new(
                        workflow_dsl::step::OUTPUT_NOT_SERIALIZABLE,
                        format!("the mocked output of step {} is not JSON: {e}", S::NAME),
                    )
                })
            }
        })
    }

    /// Registers a handler for every resource starting with `resource_prefix`
    /// (e.g. `arn:aws:states:::dynamodb:`). Later registrations win over earlier ones.
    pub fn register_resource(
        &mut self,
        resource_prefix: &str,
        handler: Arc<dyn TaskHandler>,
    ) -> &mut Self {
        self.resources
            .insert(0, (resource_prefix.to_string(), handler));
        self
    }

    /// Replaces every registered Lambda function by `wrap(key, function)`, where `key` is the
    /// registry's [`lambda_key`] of the function. This is the hook for behaviour around every
    /// invocation of a Task's function, in the Task invocation path rather than in the handlers
    /// (the local endpoint's fault injection wraps the functions this way).
    pub fn wrap_lambdas(&mut self, wrap: impl Fn(&str, Arc<LambdaFn>) -> Arc<LambdaFn>) {
        for (key, f) in self.lambdas.iter_mut() {
            *f = wrap(key, f.clone());
        }
    }

    /// True when a Lambda function of that name (or ARN or placeholder) is registered.
    pub fn has_lambda(&self, name_or_arn: &str) -> bool {
        self.lambdas
            .contains_key(&normalize(&function_name(name_or_arn)))
    }

    pub(crate) fn target(&self, resource: &str, params: &Value) -> Target<'_> {
        let base = resource
            .strip_suffix(".waitForTaskToken")
            .or_else(|| resource.strip_suffix(".sync"))
            .unwrap_or(resource);
        if base == "arn:aws:states:::lambda:invoke" {
            let fname = params
                .get("FunctionName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let key = normalize(&function_name(fname));
            return match self.lambdas.get(&key) {
                Some(f) => Target::LambdaInvoke(f),
                None => Target::MissingLambda(fname.to_string()),
            };
        }
        for (prefix, h) in &self.resources {
            if resource.starts_with(prefix.as_str()) {
                return Target::Handler(h);
            }
        }
        if resource.starts_with("arn:aws:lambda:") || resource.starts_with("${") {
            let key = normalize(&function_name(resource));
            return match self.lambdas.get(&key) {
                Some(f) => Target::LambdaDirect(f),
                None => Target::MissingLambda(resource.to_string()),
            };
        }
        Target::Unknown
    }
}

/// The key a Lambda function is registered and matched under: the function name out of an ARN or
/// a `${...}` placeholder, lower-cased, without `-`/`_` and without a trailing `FunctionArn`/`Arn`
/// (`process-payment`, `${ProcessPaymentFunctionArn}` and
/// `arn:aws:lambda:us-east-1:123456789012:function:process-payment` all give `processpayment`).
pub fn lambda_key(name_or_arn: &str) -> String {
    normalize(&function_name(name_or_arn))
}

/// The function name inside an ARN, a partial ARN, a `${...}` placeholder, or a plain name.
fn function_name(s: &str) -> String {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix("${").and_then(|x| x.strip_suffix('}')) {
        return inner.to_string();
    }
    if let Some(pos) = s.find(":function:") {
        let rest = &s[pos + ":function:".len()..];
        return rest.split(':').next().unwrap_or(rest).to_string();
    }
    s.to_string()
}

fn normalize(name: &str) -> String {
    let mut n: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    for suffix in ["functionarn", "arn", "function"] {
        if n.len() > suffix.len() && n.ends_with(suffix) {
            n.truncate(n.len() - suffix.len());
            break;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_name_matching() {
        let mut r = TaskRegistry::new();
        r.register_lambda("validate-order", |v| async move { Ok(v) });
        assert!(r.has_lambda("validate-order"));
        assert!(r.has_lambda("arn:aws:lambda:us-east-1:123456789012:function:validate-order"));
        assert!(r.has_lambda("arn:aws:lambda:us-east-1:123456789012:function:validate-order:live"));
        assert!(r.has_lambda("${ValidateOrderFunctionArn}"));
        assert!(!r.has_lambda("pay"));
        assert_eq!(
            lambda_key("${ValidateOrderFunctionArn}"),
            lambda_key("validate-order")
        );
    }

    #[tokio::test]
    async fn wrapped_lambdas_run_the_wrapper_with_the_key() {
        let mut r = TaskRegistry::new();
        r.register_lambda("validate-order", |v| async move { Ok(v) });
        r.wrap_lambdas(|key, inner| {
            let key = key.to_string();
            Arc::new(move |v| {
                let inner = inner.clone();
                let key = key.clone();
                Box::pin(async move {
                    let out = inner(v).await?;
                    Ok(serde_json::json!({"key": key, "out": out}))
                })
            })
        });
        let Target::LambdaDirect(f) = r.target("${ValidateOrderFunctionArn}", &Value::Null) else {
            panic!("the function is registered");
        };
        let out = f(serde_json::json!(1)).await.unwrap();
        assert_eq!(out, serde_json::json!({"key": "validateorder", "out": 1}));
    }
}
