//! The order-processing steps (validate, pay, persist, record-failure, notify) and the SQS starter.
//!
//! Each step is an async function generic over the ports it needs ([`ports`]); the AWS
//! adapters are in [`aws`], in-memory ones in [`ports`]. [`registry::invoke`] runs a step by name
//! on JSON (for the local engine); `src/bin/*` are the Lambda entry points.

pub mod aws;
pub mod error;
pub mod lambda;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod pay;
pub mod persist;
pub mod ports;
pub mod record_failure;
pub mod registry;
pub mod starter;
pub mod validate;

#[cfg(test)]
mod fixtures;

pub use error::{names as error_names, StepError, StepFailure};
pub use registry::{invoke, StepName, StepPorts};
