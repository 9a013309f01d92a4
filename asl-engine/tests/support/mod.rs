//! Helpers shared by the engine's endpoint tests (`mod support;` in each test crate).

use std::time::Duration;

use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;

/// Waits (up to 10 s; no timing asserted) until the execution `arn` is not RUNNING; panics with
/// [`asl_engine::client::WaitError`]'s message otherwise.
pub async fn wait_done(client: &aws_sdk_sfn::Client, arn: &str) -> DescribeExecutionOutput {
    asl_engine::client::wait_for_end(client, arn, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}
