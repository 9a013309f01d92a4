//! Child executions on the endpoint: a `states:startExecution` Task of an execution starts a
//! normal execution of a machine registered on this server (by its ARN, a version's or an
//! alias's), which ListExecutions, DescribeExecution, GetExecutionHistory and StopExecution see
//! like any other ([`crate::children`] shapes the Task's result).

use std::sync::{Arc, Weak};

use async_trait::async_trait;
use serde_json::{json, Value};

use super::ops;
use super::protocol::{ApiError, Req};
use super::store::{region_of_arn, Service};
use crate::children::{ChildExecutions, StartRefused};
use crate::tasks::TaskContext;

/// The endpoint's executions, as the place `states:startExecution` Tasks start children. Holds
/// the service weakly: the service's engine holds this.
pub(super) struct ServerChildren {
    pub service: Weak<Service>,
}

fn refused(e: ApiError) -> StartRefused {
    StartRefused::new(e.code, e.message)
}

impl ServerChildren {
    fn service(&self) -> Result<Arc<Service>, StartRefused> {
        self.service
            .upgrade()
            .ok_or_else(|| StartRefused::new("ServiceUnavailable", "The endpoint is shutting down"))
    }
}

fn describe(service: &Service, arn: &str) -> Option<Value> {
    let req = Req {
        body: json!({"executionArn": arn}),
        region: region_of_arn(arn)
            .unwrap_or(&service.config.region)
            .to_string(),
    };
    ops::describe_execution(service, &req).ok()
}

#[async_trait]
impl ChildExecutions for ServerChildren {
    async fn start_execution(
        &self,
        request: Value,
        parent: &TaskContext,
        _sync: bool,
    ) -> Result<Value, StartRefused> {
        let service = self.service()?;
        // The request is the parent's, made in its region (as the integration calls the API).
        let region = region_of_arn(&parent.execution_arn)
            .unwrap_or(&service.config.region)
            .to_string();
        ops::start_execution(
            &service,
            &Req {
                body: request,
                region,
            },
        )
        .map_err(refused)
    }

    async fn wait_closed(&self, execution_arn: &str) -> Option<Value> {
        let service = self.service.upgrade()?;
        let mut closed = service.closed.subscribe();
        loop {
            let description = describe(&service, execution_arn)?;
            if description["status"] != "RUNNING" {
                return Some(description);
            }
            if closed.changed().await.is_err() {
                return describe(&service, execution_arn);
            }
        }
    }

    fn stop_execution(&self, execution_arn: &str) {
        let Some(service) = self.service.upgrade() else {
            return;
        };
        let arn = execution_arn.to_string();
        let stop = move || {
            let req = Req {
                body: json!({"executionArn": arn}),
                region: region_of_arn(&arn)
                    .unwrap_or(&service.config.region)
                    .to_string(),
            };
            // A child already closed answers its stop date and stays as it ended.
            let _ = ops::stop_execution(&service, &req);
        };
        // Called while the parent's task is dropped: stop outside of whatever holds the state.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move { stop() });
            }
            Err(_) => stop(),
        }
    }
}
