//! Helpers shared by the engine's endpoint tests (`mod support;` in each test crate): an
//! endpoint on a free loopback port, a client for it, unique names, waiting for an execution.
#![allow(dead_code)] // each test crate uses a different subset

use std::time::Duration;

use asl_engine::server::{local_client, local_config, ServerConfig, StepFunctions};
use asl_engine::TaskRegistry;
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::Client;

/// Serves the endpoint on a free loopback port, dispatching Tasks to `registry`, for the rest of
/// the test's runtime; its URL.
pub async fn serve_on_loopback(registry: TaskRegistry, config: ServerConfig) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(asl_engine::server::serve(listener, registry, config));
    endpoint
}

/// Serves `service` (an opened [`StepFunctions`], with its state directory) on a free loopback
/// port until the test's runtime ends; its URL.
pub async fn serve_service_on_loopback(service: StepFunctions) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(asl_engine::server::serve_with_shutdown(
        listener,
        service,
        std::future::pending(),
    ));
    endpoint
}

/// A client of the endpoint at `endpoint`, signing for us-east-1.
pub fn client(endpoint: &str) -> Client {
    client_in(endpoint, "us-east-1")
}

/// A client of the endpoint at `endpoint`, signing for `region`.
pub fn client_in(endpoint: &str, region: &'static str) -> Client {
    local_client(
        local_config(region).http_client(shop_model::aws::https_client()),
        endpoint,
    )
}

/// `prefix` and a random suffix: a machine or execution name no other test uses.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Waits (up to 10 s; no timing asserted) until the execution `arn` is not RUNNING; panics with
/// [`asl_engine::client::WaitError`]'s message otherwise.
pub async fn wait_done(client: &Client, arn: &str) -> DescribeExecutionOutput {
    asl_engine::client::wait_for_end(client, arn, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}
