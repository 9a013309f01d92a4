//! The shop's whole system on one machine, for development and end-to-end tests: an AWS emulator
//! (moto) with every table, queue, topic, bucket and user pool of `template.yaml`, a sample
//! catalog, the Rust Step Functions engine serving the generated order workflow, a local API
//! Gateway serving the `api` handlers behind a Cognito JWT authorizer, and the SQS starter.
//!
//! `cargo xtask dev` runs it ([`run`]); the end-to-end tests, `cargo xtask load` and
//! `cargo xtask chaos` start it in-process ([`LocalStack::start`]).
//!
//! Code map:
//! - [`stack`]: starts and stops everything, in order ([`LocalStack`], [`run`]);
//! - [`template`], [`cfn`], [`resources`]: reads `template.yaml` (with `Stage`), resolves the
//!   intrinsic functions the stack needs, and creates the resources in the emulator;
//! - [`emulator`], [`tools`]: the moto server (installed under `.tools/` on first use) and SDK
//!   clients of it;
//! - [`gateway`], [`authorizer`]: the local API Gateway (routes, CORS, Lambda proxy events) and
//!   its Cognito authorizer (JWKS signature, issuer, expiry, `token_use`, audience);
//! - [`engine`]: the `workflow serve` child; [`poller`]: the SQS starter's event source;
//! - [`client`]: the one typed client of the shop's HTTP API (tests, load, chaos);
//! - [`seed`]: the sample catalog; [`lock`]: one stack per directory; [`proxy`]: the fault proxy
//!   in front of the emulator (chaos runs); [`process`], [`workspace`]: child processes, builds.

pub mod authorizer;
pub mod cfn;
pub mod client;
pub mod emulator;
pub mod engine;
mod error;
pub mod gateway;
pub mod lock;
pub mod poller;
pub mod process;
pub mod proxy;
pub mod resources;
pub mod seed;
pub mod stack;
pub mod template;
pub mod tools;
pub mod workspace;

pub use error::{Error, Result};
pub use stack::{
    run, Clients, Extras, LocalStack, Options, DEFAULT_API_PORT, DEFAULT_AWS_PORT, DEFAULT_SFN_PORT,
};
