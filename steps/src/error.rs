//! Errors of the ports (a dependency failed) and how each step's own error enum takes them in.
//!
//! A step's errors are its own enum, declared with the step (`step_errors!` in
//! [`crate::validate`], [`crate::pay`], ...). A port (catalog, order store, payment gateway,
//! notifier) fails with a [`PortError`]: the dependency throttled, was unavailable, or did
//! something unexpected. Every step can fail that way, so every step error enum has the three
//! variants `Throttled` and `ServiceUnavailable` (both `#[transient]`) and `InternalError`:
//! [`order_step_errors!`](crate::order_step_errors) declares them once, with the conversion.

/// A dependency of a step failed. The message says which call, never which data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// The dependency throttled the call or a transaction conflicted: a retry may cure it.
    #[error("{0}")]
    Throttled(String),
    /// The dependency was unreachable, timed out or answered 5xx: a retry may cure it.
    #[error("{0}")]
    ServiceUnavailable(String),
    /// Anything else (misconfiguration, corrupt data, access denied): a retry will not help.
    #[error("{0}")]
    Internal(String),
}

impl PortError {
    /// True when a retry may cure the failure (throttled or unavailable).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PortError::Throttled(_) | PortError::ServiceUnavailable(_)
        )
    }
}

/// Implements `From<PortError>` for `StepError<E>` of step error enums `E` that have the
/// variants `Throttled`, `ServiceUnavailable` and `InternalError`, so a step's handler can use
/// `?` on a port call.
#[macro_export]
macro_rules! port_errors_are {
    ($($error:ident),* $(,)?) => {$(
        impl ::std::convert::From<$crate::error::PortError>
            for ::workflow_dsl::step::StepError<$error>
        {
            fn from(err: $crate::error::PortError) -> Self {
                use ::workflow_dsl::typed::StepErrors as _;
                match err {
                    $crate::error::PortError::Throttled(m) => $error::Throttled.because(m),
                    $crate::error::PortError::ServiceUnavailable(m) => {
                        $error::ServiceUnavailable.because(m)
                    }
                    $crate::error::PortError::Internal(m) => $error::InternalError.because(m),
                }
            }
        }
    )*};
}

/// Declares an order step's error enum ([`workflow_dsl::step_errors!`]): the step's own variants
/// (each followed by a comma), then the three every order step shares, `Throttled` and
/// `ServiceUnavailable` (transient: the workflow retries them) and `InternalError`, and the
/// conversion from [`PortError`].
#[macro_export]
macro_rules! order_step_errors {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($own:tt)* }) => {
        ::workflow_dsl::step_errors! {
            $(#[$meta])*
            $vis enum $name {
                $($own)*
                /// A dependency throttled the call or a transaction conflicted. Retried.
                #[transient]
                Throttled,
                /// A dependency was unreachable, timed out or answered 5xx. Retried.
                #[transient]
                ServiceUnavailable,
                /// Anything else unexpected (misconfiguration, corrupt data). Final.
                InternalError,
            }
        }
        $crate::port_errors_are!($name);
    };
}
