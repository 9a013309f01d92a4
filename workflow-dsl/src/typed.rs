//! Typed steps and typed error handling: a [`TaskStep`] declares a Task's Rust input, output and
//! error types; [`Retry`] and [`Catch`] write `ErrorEquals` from Rust values instead of strings.
//!
//! ASL rules enforced here (<https://states-language.net/spec.html#error-names>):
//! - user error names must not start with `States.` ([`step_errors!`](crate::step_errors!) rejects such a name at
//!   compile time);
//! - `States.ALL` must be alone in its `ErrorEquals` and its retrier/catcher must be the last one:
//!   the only way to match it is [`Retry::all`] / [`Catch::all`], and the builder always places
//!   that entry last.

use std::borrow::Cow;
use std::marker::PhantomData;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Number;

use crate::integrations::{self, LambdaError};
use crate::model::{JitterStrategy, Retrier};

/// The errors one step can fail with, each mapped to its ASL error name.
///
/// Implement it with [`step_errors!`](crate::step_errors!) on a fieldless enum. The names are what the step reports as
/// its error type (for a Lambda function: the `errorType` of the failed invocation), and what
/// `Retry`/`Catch` `ErrorEquals` match. Which errors are transient (a retry may cure them) is
/// declared here too, once: [`Retry::transient`] retries exactly those.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a step error enum",
    label = "not declared with `step_errors!`",
    note = "declare a step's errors with `workflow_dsl::step_errors! {{ pub enum MyError {{ ... }} }}`, \
            or name an arbitrary error with `ErrorName::custom(\"...\")` on an untyped state"
)]
pub trait StepErrors: Copy + 'static {
    /// Every error of the type, in declaration order.
    fn all() -> Vec<Self>;
    /// The ASL error name of this value.
    fn name(&self) -> &'static str;
    /// True when a retry may cure this error (declared `#[transient]` in [`step_errors!`](crate::step_errors!)).
    fn is_transient(&self) -> bool;

    /// Every error name of the type, in declaration order.
    fn all_names() -> Vec<&'static str> {
        Self::all().iter().map(StepErrors::name).collect()
    }

    /// The errors declared transient, in declaration order.
    fn transient() -> Vec<Self> {
        Self::all().into_iter().filter(Self::is_transient).collect()
    }

    /// The error whose ASL name is `name`.
    fn from_name(name: &str) -> Option<Self> {
        Self::all().into_iter().find(|e| e.name() == name)
    }

    /// This error with a message saying why: what a step's handler returns.
    fn because(self, message: impl Into<String>) -> crate::step::StepError<Self> {
        crate::step::StepError::new(self, message)
    }
}

/// The error type of a step that defines no errors of its own (it can still fail with the
/// predefined [`AslError`]s and, for Lambda, [`LambdaError`]s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoErrors {}

impl StepErrors for NoErrors {
    fn all() -> Vec<Self> {
        Vec::new()
    }
    fn name(&self) -> &'static str {
        match *self {}
    }
    fn is_transient(&self) -> bool {
        match *self {}
    }
}

/// Declares a fieldless error enum and implements [`StepErrors`] (and `Display`) for it.
///
/// A variant's ASL name is its identifier, or the string given after `=`. A name starting with
/// `States.` is reserved by ASL and is rejected at compile time. `#[transient]` on a variant
/// declares that a retry may cure it ([`Retry::transient`] retries exactly those).
///
/// ```
/// use workflow_dsl::step_errors;
/// use workflow_dsl::typed::StepErrors;
///
/// step_errors! {
///     /// Why a payment fails.
///     pub enum PaymentError {
///         /// The card issuer declined.
///         Declined = "PaymentDeclined",
///         /// The gateway did not answer: try again later.
///         #[transient]
///         GatewayUnavailable,
///     }
/// }
///
/// assert_eq!(PaymentError::Declined.name(), "PaymentDeclined");
/// assert_eq!(PaymentError::all_names(), ["PaymentDeclined", "GatewayUnavailable"]);
/// assert_eq!(PaymentError::transient(), [PaymentError::GatewayUnavailable]);
/// assert_eq!(PaymentError::GatewayUnavailable.to_string(), "GatewayUnavailable");
/// assert_eq!(PaymentError::from_name("PaymentDeclined"), Some(PaymentError::Declined));
/// ```
///
/// ```compile_fail
/// workflow_dsl::step_errors! { pub enum Bad { Timeout = "States.Timeout" } }
/// ```
#[macro_export]
macro_rules! step_errors {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident { $($body:tt)* }
    ) => {
        $crate::__step_errors! {
            @meta [$(#[$meta])*] @vis [$vis] @name [$name]
            @done []
            @attrs [] @transient [false]
            @rest [$($body)*]
        }
    };
}

/// The variant reader of [`step_errors!`](crate::step_errors!): collects each variant with its attributes, its ASL
/// name and whether it is `#[transient]`, then writes the enum and its impls.
#[doc(hidden)]
#[macro_export]
macro_rules! __step_errors {
    // `#[transient]` marks the variant being read.
    (@meta $m:tt @vis $v:tt @name $n:tt @done $d:tt @attrs $a:tt @transient $t:tt
     @rest [#[transient] $($rest:tt)*]) => {
        $crate::__step_errors! {
            @meta $m @vis $v @name $n @done $d @attrs $a @transient [true] @rest [$($rest)*]
        }
    };
    // Any other attribute stays on the variant.
    (@meta $m:tt @vis $v:tt @name $n:tt @done $d:tt @attrs [$($a:tt)*] @transient $t:tt
     @rest [#[$attr:meta] $($rest:tt)*]) => {
        $crate::__step_errors! {
            @meta $m @vis $v @name $n @done $d @attrs [$($a)* #[$attr]] @transient $t
            @rest [$($rest)*]
        }
    };
    // `Variant = "Name"`, then more.
    (@meta $m:tt @vis $v:tt @name $n:tt @done [$($d:tt)*] @attrs $a:tt @transient [$t:tt]
     @rest [$variant:ident = $ename:literal $(, $($rest:tt)*)?]) => {
        $crate::__step_errors! {
            @meta $m @vis $v @name $n @done [$($d)* ($a $variant ($ename) $t)]
            @attrs [] @transient [false] @rest [$($($rest)*)?]
        }
    };
    // `Variant`, then more.
    (@meta $m:tt @vis $v:tt @name $n:tt @done [$($d:tt)*] @attrs $a:tt @transient [$t:tt]
     @rest [$variant:ident $(, $($rest:tt)*)?]) => {
        $crate::__step_errors! {
            @meta $m @vis $v @name $n @done [$($d)* ($a $variant (::std::stringify!($variant)) $t)]
            @attrs [] @transient [false] @rest [$($($rest)*)?]
        }
    };
    // Every variant read: the enum and its impls.
    (@meta [$($meta:tt)*] @vis [$vis:vis] @name [$name:ident]
     @done [$( ([$($vattr:tt)*] $variant:ident ($ename:expr) $transient:tt) )*]
     @attrs [] @transient [false] @rest []) => {
        $($meta)*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $($vattr)* $variant ),*
        }

        impl $crate::typed::StepErrors for $name {
            fn all() -> ::std::vec::Vec<Self> {
                ::std::vec![$( $name::$variant ),*]
            }
            fn name(&self) -> &'static str {
                match self {
                    $( $name::$variant => $ename ),*
                }
            }
            fn is_transient(&self) -> bool {
                match self {
                    $( $name::$variant => $transient ),*
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($crate::typed::StepErrors::name(self))
            }
        }

        $(
            const _: () = ::std::assert!(
                $crate::typed::is_user_error_name($ename),
                "ASL error names starting with `States.` are reserved; pick another name",
            );
        )*
    };
}

/// True when `name` may be used as a user-defined error name: not empty and not starting with
/// the reserved `States.` prefix.
pub const fn is_user_error_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let prefix = b"States.";
    if bytes.is_empty() {
        return false;
    }
    if bytes.len() < prefix.len() {
        return true;
    }
    let mut i = 0;
    while i < prefix.len() {
        if bytes[i] != prefix[i] {
            return true;
        }
        i += 1;
    }
    false
}

macro_rules! asl_errors {
    ($( $(#[$m:meta])* $variant:ident = $name:literal ),* $(,)?) => {
        /// The predefined `States.*` error names (except `States.ALL`: use [`Retry::all`] /
        /// [`Catch::all`], which keep it alone and last).
        /// <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-error-representation>
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AslError {
            $( $(#[$m])* $variant ),*
        }

        impl AslError {
            /// Every predefined error except `States.ALL`.
            pub const ALL_ERRORS: &'static [AslError] = &[$(AslError::$variant),*];

            /// The ASL name, e.g. `States.Timeout`.
            pub const fn name(self) -> &'static str {
                match self { $(AslError::$variant => $name),* }
            }

            /// The predefined error called `name`, if it is one.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(AslError::$variant),)* _ => None }
            }
        }
    };
}

asl_errors! {
    /// A Task ran longer than `TimeoutSeconds` or missed a heartbeat.
    Timeout = "States.Timeout",
    /// A heartbeat was not received within `HeartbeatSeconds`.
    HeartbeatTimeout = "States.HeartbeatTimeout",
    /// A Task failed during execution (matches every error except `States.Timeout`).
    TaskFailed = "States.TaskFailed",
    /// Insufficient privileges to run the Task.
    Permissions = "States.Permissions",
    /// `ResultPath` could not be applied to the input.
    ResultPathMatchFailure = "States.ResultPathMatchFailure",
    /// A field of `Parameters` could not be resolved.
    ParameterPathFailure = "States.ParameterPathFailure",
    /// A branch of a Parallel state failed.
    BranchFailed = "States.BranchFailed",
    /// No Choice rule matched and there is no `Default`.
    NoChoiceMatched = "States.NoChoiceMatched",
    /// An intrinsic function failed.
    IntrinsicFailure = "States.IntrinsicFailure",
    /// A Map state exceeded its tolerated failure threshold.
    ExceedToleratedFailureThreshold = "States.ExceedToleratedFailureThreshold",
    /// A Map state's ItemReader failed.
    ItemReaderFailed = "States.ItemReaderFailed",
    /// A Map state's ResultWriter failed.
    ResultWriterFailed = "States.ResultWriterFailed",
    /// A JSONata query failed.
    QueryEvaluationError = "States.QueryEvaluationError",
    /// A state's input, output or result exceeded the payload quota (256 KiB); not matched by
    /// `States.ALL` or `States.TaskFailed`.
    DataLimitExceeded = "States.DataLimitExceeded",
    /// An HTTP Task's connection failed (the `States.Http.Socket` error of HTTPS endpoint Tasks).
    HttpSocket = "States.Http.Socket",
    /// The execution ran out of `TimeoutSeconds` or its history limit.
    Runtime = "States.Runtime",
}

/// Marker error type of untyped states (raw Tasks, Parallel, Map): their retriers and catchers
/// accept every typed error ([`StepErrors`], [`AslError`], [`LambdaError`]) and
/// [`ErrorName::custom`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnyError {}

/// One `ErrorEquals` entry that the state with error type `E` may raise.
///
/// Built with `.into()` from `E` (the step's error enum), an [`AslError`], a [`LambdaError`], or
/// (for untyped states only) [`ErrorName::custom`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ErrorOf<E> {
    name: Cow<'static, str>,
    _error: PhantomData<fn() -> E>,
}

impl<E> ErrorOf<E> {
    fn new(name: impl Into<Cow<'static, str>>) -> Self {
        ErrorOf {
            name: name.into(),
            _error: PhantomData,
        }
    }

    /// The ASL error name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl<E: StepErrors> From<E> for ErrorOf<E> {
    fn from(error: E) -> Self {
        ErrorOf::new(error.name())
    }
}

impl<E> From<AslError> for ErrorOf<E> {
    fn from(error: AslError) -> Self {
        ErrorOf::new(error.name())
    }
}

impl<E> From<LambdaError> for ErrorOf<E> {
    fn from(error: LambdaError) -> Self {
        ErrorOf::new(error.name())
    }
}

impl<X: StepErrors> From<X> for ErrorOf<AnyError> {
    fn from(error: X) -> Self {
        ErrorOf::new(error.name())
    }
}

impl From<ErrorName> for ErrorOf<AnyError> {
    fn from(error: ErrorName) -> Self {
        ErrorOf::new(error.0)
    }
}

/// An error a state whose errors are `E` can raise: `E` itself (a typed step's own error enum),
/// a predefined [`AslError`], a [`LambdaError`], or, for untyped states (`E` = [`AnyError`]), any
/// step error enum and [`ErrorName::custom`]. What [`Retry`], [`Catch`] and `Fail::error` take.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an error this state can raise",
    label = "not an error of `{E}`",
    note = "a Retry or Catch of a typed step names the step's own errors (its `Step::Error` enum), \
            a predefined `AslError` or a `LambdaError`; a string needs `ErrorName::custom(\"...\")` \
            on an untyped state, and a new error of the step belongs in its `step_errors!` enum"
)]
pub trait StateError<E> {
    /// The `ErrorEquals` entry.
    fn into_error_of(self) -> ErrorOf<E>;
}

impl<E: StepErrors> StateError<E> for E {
    fn into_error_of(self) -> ErrorOf<E> {
        ErrorOf::new(self.name())
    }
}

impl<E> StateError<E> for AslError {
    fn into_error_of(self) -> ErrorOf<E> {
        ErrorOf::new(self.name())
    }
}

impl<E> StateError<E> for LambdaError {
    fn into_error_of(self) -> ErrorOf<E> {
        ErrorOf::new(self.name())
    }
}

impl<X: StepErrors> StateError<AnyError> for X {
    fn into_error_of(self) -> ErrorOf<AnyError> {
        ErrorOf::new(self.name())
    }
}

impl StateError<AnyError> for ErrorName {
    fn into_error_of(self) -> ErrorOf<AnyError> {
        ErrorOf::new(self.0)
    }
}

/// An error name given as a string: the escape hatch for errors no Rust type describes (an
/// integration's service exception, say). Only untyped states accept it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ErrorName(Cow<'static, str>);

impl ErrorName {
    /// An arbitrary error name, e.g. `"DynamoDB.ConditionalCheckFailedException"`.
    /// A `States.*` name that is not predefined is reported when the workflow is emitted.
    pub fn custom(name: impl Into<Cow<'static, str>>) -> Self {
        ErrorName(name.into())
    }
}

/// Checks one `ErrorEquals` name: empty, unknown `States.*` names and a misplaced `States.ALL`
/// are reported with what to write instead.
pub(crate) fn check_error_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("an error name is empty".into());
    }
    if name == "States.ALL" {
        return Err(
            "'States.ALL' must be alone in ErrorEquals and last: use Retry::all() / Catch::all()"
                .into(),
        );
    }
    if name.starts_with("States.") && AslError::from_name(name).is_none() {
        return Err(format!(
            "'{name}' is not a predefined error and names starting with 'States.' are reserved; \
             use a predefined one ({}) or another name",
            AslError::ALL_ERRORS
                .iter()
                .map(|e| e.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(())
}

/// A retry policy (one `Retry` entry) for a state whose errors are `E`.
///
/// ```
/// use workflow_dsl::typed::{AslError, Retry, AnyError};
///
/// let retry: Retry<AnyError> = Retry::on(AslError::Timeout)
///     .or(AslError::TaskFailed)
///     .interval_seconds(2)
///     .max_attempts(3)
///     .backoff_rate(2.0);
/// let retrier = retry.to_retrier();
/// assert_eq!(retrier.error_equals, ["States.Timeout", "States.TaskFailed"]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Retry<E = AnyError> {
    errors: Vec<String>,
    all: bool,
    retrier: Retrier,
    _error: PhantomData<fn() -> E>,
}

impl<E> Retry<E> {
    fn with(errors: Vec<String>, all: bool) -> Self {
        Retry {
            errors,
            all,
            retrier: Retrier::default(),
            _error: PhantomData,
        }
    }

    /// Retries on `error`.
    pub fn on(error: impl StateError<E>) -> Self {
        Retry::with(vec![error.into_error_of().name.into_owned()], false)
    }

    /// Retries on any of `errors`.
    pub fn on_any<I, X>(errors: I) -> Self
    where
        I: IntoIterator<Item = X>,
        X: StateError<E>,
    {
        Retry::with(
            errors
                .into_iter()
                .map(|e| e.into_error_of().name.into_owned())
                .collect(),
            false,
        )
    }

    /// Retries on every error (`States.ALL`). The builder emits it after the other retriers.
    pub fn all() -> Self {
        Retry::with(Vec::new(), true)
    }

    /// Also retries on `error` (ignored on [`Retry::all`], which already matches everything).
    pub fn or(mut self, error: impl StateError<E>) -> Self {
        if !self.all {
            self.errors.push(error.into_error_of().name.into_owned());
        }
        self
    }

    /// Seconds before the first retry (ASL default 1).
    pub fn interval_seconds(mut self, seconds: u64) -> Self {
        self.retrier.interval_seconds = Some(seconds.into());
        self
    }

    /// Most retries (ASL default 3; 0 never retries).
    pub fn max_attempts(mut self, attempts: u64) -> Self {
        self.retrier.max_attempts = Some(attempts.into());
        self
    }

    /// Multiplier of the interval after each attempt (ASL default 2.0, at least 1.0).
    pub fn backoff_rate(mut self, rate: f64) -> Self {
        self.retrier.backoff_rate = Number::from_f64(rate);
        self
    }

    /// Upper bound of the interval, in seconds.
    pub fn max_delay_seconds(mut self, seconds: u64) -> Self {
        self.retrier.max_delay_seconds = Some(seconds.into());
        self
    }

    /// Randomizes the intervals (`JitterStrategy: FULL`).
    pub fn full_jitter(mut self) -> Self {
        self.retrier.jitter_strategy = Some(JitterStrategy::Full);
        self
    }

    /// `Comment` of the retrier.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.retrier.comment = Some(comment.into());
        self
    }

    /// True for [`Retry::all`].
    pub fn is_catch_all(&self) -> bool {
        self.all
    }

    /// The ASL retrier.
    pub fn to_retrier(&self) -> Retrier {
        let mut retrier = self.retrier.clone();
        retrier.error_equals = if self.all {
            vec!["States.ALL".to_owned()]
        } else {
            self.errors.clone()
        };
        retrier
    }

    pub(crate) fn error_names(&self) -> &[String] {
        &self.errors
    }
}

impl<E: StepErrors> Retry<E> {
    /// Retries the step's transient errors: those its error enum declares `#[transient]`
    /// ([`StepErrors::transient`]).
    pub fn transient() -> Self {
        Retry::on_any(E::transient())
    }
}

impl<E> Retry<E> {
    /// AWS's recommended retrier for Lambda invocations: `Lambda.ServiceException`,
    /// `Lambda.AWSLambdaException`, `Lambda.SdkClientException` and
    /// `Lambda.TooManyRequestsException`, 1 s interval, 3 attempts, backoff 2
    /// (<https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html>).
    pub fn lambda_service_errors() -> Self {
        Retry::on_any(integrations::LambdaError::TRANSIENT.iter().copied())
            .interval_seconds(1)
            .max_attempts(3)
            .backoff_rate(2.0)
    }
}

/// A catch policy (one `Catch` entry, without its target) for a state whose errors are `E`.
///
/// ```
/// use workflow_dsl::typed::{AslError, Catch, AnyError};
///
/// let catch: Catch<AnyError> = Catch::on(AslError::Timeout).result_path("$.error");
/// let catcher = catch.to_catcher("Record failure");
/// assert_eq!(catcher.error_equals, ["States.Timeout"]);
/// assert_eq!(catcher.next, "Record failure");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Catch<E = AnyError> {
    errors: Vec<String>,
    all: bool,
    result_path: Option<Option<String>>,
    comment: Option<String>,
    output: Option<serde_json::Value>,
    assignments: Vec<crate::vars::Assignment>,
    _error: PhantomData<fn() -> E>,
}

impl<E> Catch<E> {
    fn with(errors: Vec<String>, all: bool) -> Self {
        Catch {
            errors,
            all,
            result_path: None,
            comment: None,
            output: None,
            assignments: Vec::new(),
            _error: PhantomData,
        }
    }

    /// Catches `error`.
    pub fn on(error: impl StateError<E>) -> Self {
        Catch::with(vec![error.into_error_of().name.into_owned()], false)
    }

    /// Catches any of `errors`.
    pub fn on_any<I, X>(errors: I) -> Self
    where
        I: IntoIterator<Item = X>,
        X: StateError<E>,
    {
        Catch::with(
            errors
                .into_iter()
                .map(|e| e.into_error_of().name.into_owned())
                .collect(),
            false,
        )
    }

    /// Catches every error (`States.ALL`). The builder emits it after the other catchers.
    pub fn all() -> Self {
        Catch::with(Vec::new(), true)
    }

    /// Also catches `error` (ignored on [`Catch::all`]).
    pub fn or(mut self, error: impl StateError<E>) -> Self {
        if !self.all {
            self.errors.push(error.into_error_of().name.into_owned());
        }
        self
    }

    /// Where the error output (`{"Error": ..., "Cause": ...}`) goes in the state's input; by
    /// default it replaces the input.
    pub fn result_path(mut self, path: impl Into<String>) -> Self {
        self.result_path = Some(Some(path.into()));
        self
    }

    /// `Comment` of the catcher.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// `Output` of the catcher (JSONata states): what the catch target receives, e.g.
    /// `"{% $merge([$states.input, {'error': $states.errorOutput}]) %}"`. By default it is the
    /// error output `{"Error": ..., "Cause": ...}`.
    pub fn output(mut self, template: impl Into<serde_json::Value>) -> Self {
        self.output = Some(template.into());
        self
    }

    /// Assigns `value` to `var` when this catcher is taken: a literal or a JSONata template
    /// (`"{% $states.errorOutput.Cause %}"`). Checked at emit against `T`.
    pub fn assign<T: JsonSchema>(
        mut self,
        var: &crate::vars::Var<T>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.assignments
            .push(crate::vars::Assignment::of(var, value.into(), false));
        self
    }

    /// The variables this catcher assigns, with their declared types.
    pub(crate) fn declared_variables(&self) -> Vec<(String, crate::schema::Declared)> {
        self.assignments
            .iter()
            .map(|a| (a.name.clone(), a.declared.clone()))
            .collect()
    }

    /// True for [`Catch::all`].
    pub fn is_catch_all(&self) -> bool {
        self.all
    }

    /// The ASL catcher going to `next`.
    pub fn to_catcher(&self, next: impl Into<String>) -> crate::model::Catcher {
        crate::model::Catcher {
            comment: self.comment.clone(),
            error_equals: if self.all {
                vec!["States.ALL".to_owned()]
            } else {
                self.errors.clone()
            },
            next: next.into(),
            result_path: self.result_path.clone(),
            output: self.output.clone(),
            assign: {
                let mut assign = None;
                crate::vars::write_assign(&mut assign, &self.assignments);
                assign
            },
            ..Default::default()
        }
    }

    pub(crate) fn error_names(&self) -> &[String] {
        &self.errors
    }
}

/// A Task declared from Rust types: what it takes, what it returns, how it fails.
///
/// By default the step is a Lambda function invoked through the optimized integration
/// (`arn:aws:states:::lambda:invoke`) with the whole state as payload; its `Payload` becomes the
/// state output, so the next state sees exactly [`TaskStep::Output`]. The function ARN is the
/// SAM `DefinitionSubstitutions` placeholder `${<PascalName>FunctionArn}`.
///
/// ```
/// use schemars::JsonSchema;
/// use serde::{Deserialize, Serialize};
/// use workflow_dsl::typed::{TaskStep, NoErrors};
///
/// #[derive(Serialize, Deserialize, JsonSchema)]
/// struct Order { order_id: String }
///
/// struct ValidateOrder;
/// impl TaskStep for ValidateOrder {
///     const NAME: &'static str = "validate-order";
///     type Input = Order;
///     type Output = Order;
///     type Error = NoErrors;
/// }
///
/// assert_eq!(ValidateOrder::function_arn_placeholder(), "${ValidateOrderFunctionArn}");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a step",
    label = "not a `TaskStep`",
    note = "a step is a type implementing `workflow_dsl::step::Step` (contract and handler) or, for \
            a contract alone, `workflow_dsl::typed::TaskStep` (NAME, Input, Output, Error)"
)]
pub trait TaskStep: 'static {
    /// Kebab-case name of the step, e.g. `validate-order`.
    const NAME: &'static str;
    /// What the step receives (the state input).
    type Input: JsonSchema + Serialize + DeserializeOwned;
    /// What the step returns (the state output).
    type Output: JsonSchema + Serialize + DeserializeOwned;
    /// How the step fails.
    type Error: StepErrors;

    /// The placeholder of the function ARN: `${` + PascalCase(NAME) + `FunctionArn}`.
    fn function_arn_placeholder() -> String {
        function_arn_placeholder(Self::NAME)
    }

    /// How the step runs. Default: Lambda invoke of [`TaskStep::function_arn_placeholder`].
    fn resource() -> StepResource {
        StepResource::lambda_of(Self::NAME)
    }
}

/// A workflow of the project that other workflows start as a child execution
/// (`states:startExecution.sync:2`): its name, the Rust types of its input and output, and the
/// SAM placeholder of its ARN. A Task starting it ([`crate::builder::child`]) only follows a
/// flow carrying its `Input`, and hands the next state its `Output`.
///
/// ```
/// use workflow_dsl::typed::TypedWorkflow;
///
/// struct ResizeImages;
/// impl TypedWorkflow for ResizeImages {
///     const NAME: &'static str = "resize-images";
///     type Input = Vec<String>;
///     type Output = u32;
/// }
/// assert_eq!(ResizeImages::state_machine_arn(), "${ResizeImagesStateMachineArn}");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a typed workflow",
    label = "not a `TypedWorkflow`",
    note = "to start a workflow as a child, implement `workflow_dsl::typed::TypedWorkflow` for a \
            type naming it: `const NAME`, `type Input` and `type Output`"
)]
pub trait TypedWorkflow: 'static {
    /// Kebab-case name of the workflow, e.g. `resize-images`.
    const NAME: &'static str;
    /// What an execution of it receives.
    type Input: JsonSchema;
    /// What a successful execution of it returns.
    type Output: JsonSchema;

    /// The state machine's ARN as the parent's definition names it: the SAM
    /// `DefinitionSubstitutions` placeholder `${<PascalName>StateMachineArn}`.
    fn state_machine_arn() -> String {
        integrations::placeholder(&format!("{}StateMachineArn", pascal_case(Self::NAME)))
    }
}

/// How a [`TaskStep`] runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepResource {
    /// `arn:aws:states:::lambda:invoke` with `FunctionName` = `function`, `Payload.$` = `$`,
    /// and `OutputPath` = `$.Payload`.
    LambdaInvoke {
        /// The `FunctionName`: a function name, ARN or template placeholder.
        function: String,
    },
    /// A resource whose result is the step output itself (a Lambda ARN used directly, an
    /// activity ARN): `Resource` = the ARN, no Parameters.
    Direct {
        /// The ARN used as the Task's `Resource`.
        arn: String,
    },
}

impl StepResource {
    /// The default: the Lambda function of the step called `name`, invoked through the optimized
    /// integration on the SAM placeholder `${<PascalName>FunctionArn}`.
    pub fn lambda_of(name: &str) -> Self {
        StepResource::LambdaInvoke {
            function: function_arn_placeholder(name),
        }
    }
}

/// The SAM placeholder of the function ARN of the step called `name`:
/// `validate-order` -> `${ValidateOrderFunctionArn}`.
pub fn function_arn_placeholder(name: &str) -> String {
    integrations::placeholder(&format!("{}FunctionArn", pascal_case(name)))
}

/// `validate-order` / `validate_order` -> `ValidateOrder`.
pub fn pascal_case(name: &str) -> String {
    name.split(['-', '_', ' ', '.'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            let first = chars.next().expect("parts are not empty");
            first.to_uppercase().chain(chars).collect::<String>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::step_errors! {
        enum Sample { A = "SampleA", B }
    }

    #[test]
    fn names_and_reserved_prefix() {
        assert!(is_user_error_name("PaymentDeclined"));
        assert!(is_user_error_name("State"));
        assert!(!is_user_error_name("States.Timeout"));
        assert!(!is_user_error_name(""));
        assert_eq!(Sample::all_names(), ["SampleA", "B"]);
        assert_eq!(Sample::B.name(), "B");
        assert_eq!(pascal_case("validate-order"), "ValidateOrder");
        assert_eq!(pascal_case("notify_customer"), "NotifyCustomer");
    }

    #[test]
    fn catch_all_is_alone() {
        let retry: Retry<Sample> = Retry::all().or(Sample::A);
        assert_eq!(retry.to_retrier().error_equals, ["States.ALL"]);
        let retry: Retry<Sample> = Retry::on(Sample::A).or(AslError::Timeout);
        assert_eq!(
            retry.to_retrier().error_equals,
            ["SampleA", "States.Timeout"]
        );
    }

    #[test]
    fn error_name_checks() {
        assert!(check_error_name("States.Timeout").is_ok());
        assert!(check_error_name("Custom").is_ok());
        let err = check_error_name("States.Bogus").unwrap_err();
        assert!(err.contains("States.Timeout"), "{err}");
        assert!(check_error_name("States.ALL").is_err());
    }
}
