//! The e-commerce HTTP API: handlers behind small ports, with AWS SDK adapters at the edge.
//!
//! The core is framework-independent: build an [`http::ApiRequest`], pass it to
//! [`app::App::handle`] (or one route group's [`app::Service`]), get an
//! [`http::ApiResponse`]. [`lambda`] converts API Gateway REST proxy events through
//! `lambda_http`; a local gateway can call the same entry with claims it verified itself.

pub mod app;
pub mod aws;
pub mod contract;
pub mod error;
pub mod handlers;
pub mod http;
pub mod intake;
pub mod lambda;
pub mod memory;
pub mod metrics;
pub mod ports;
pub mod routes;

pub use app::{App, AuthConfig, Service};
pub use error::ApiError;
pub use http::{ApiRequest, ApiResponse, Claims};

#[cfg(test)]
mod tests;
