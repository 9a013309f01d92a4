//! Task states: integrations through the task registry, callbacks (`.waitForTaskToken`),
//! activities, heartbeats and timeouts.

use super::*;

impl Run<'_> {
    pub(super) async fn task(
        &self,
        st: &St<'_>,
        resource: &str,
        input: Value,
        timeout: Option<f64>,
        heartbeat: Option<f64>,
        prev: &mut u64,
    ) -> Result<Value, Thrown> {
        let name = &*st.node.name;
        let mocked = self.mock.as_ref().filter(|m| m.mocks(name));
        if mocked.is_none() && is_activity(resource) {
            return self
                .activity(resource, input, timeout, heartbeat, prev)
                .await;
        }
        let target = self.registry.target(resource, &input);
        let is_lambda_target =
            matches!(target, Target::LambdaDirect(..) | Target::LambdaInvoke(..));
        let direct_lambda = mocked.is_none() && matches!(target, Target::LambdaDirect(..))
            || (mocked.is_some() && resource.starts_with("arn:aws:lambda:"));
        let (rtype, rname) = resource_parts(resource);
        if direct_lambda {
            self.emit(prev, E::LambdaFunctionScheduled, || {
                let mut d = json!({"resource": resource, "input": to_json(&input), "inputDetails": not_truncated()});
                if let Some(t) = timeout {
                    d["timeoutInSeconds"] = json!(t as u64);
                }
                Some(("lambdaFunctionScheduledEventDetails", d))
            });
            self.emit(prev, E::LambdaFunctionStarted, || None);
        } else {
            self.emit(prev, E::TaskScheduled, || {
                let mut d = json!({"resourceType": rtype, "resource": rname, "region": self.info.region, "parameters": to_json(&input)});
                if let Some(t) = timeout {
                    d["timeoutInSeconds"] = json!(t as u64);
                }
                if let Some(h) = heartbeat {
                    d["heartbeatInSeconds"] = json!(h as u64);
                }
                Some(("taskScheduledEventDetails", d))
            });
            self.emit(prev, E::TaskStarted, || {
                Some((
                    "taskStartedEventDetails",
                    json!({"resourceType": rtype, "resource": rname}),
                ))
            });
        }
        // A `.waitForTaskToken` task waits for its token to be answered after the integration
        // returns (a mocked one takes the mock's response as the answer).
        let waiter = match (&st.task_token, mocked) {
            (Some(token), None) if resource.ends_with(".waitForTaskToken") => {
                Some((token.clone(), self.callbacks.register(token)))
            }
            _ => None,
        };
        // Dropped with this future (StopExecution, the machine's TimeoutSeconds), the token is
        // no longer waited on.
        let _registered = waiter.as_ref().map(|(token, _)| WaitingToken {
            callbacks: self.callbacks,
            token: token.clone(),
            timed_out: false,
        });
        let result: Result<Value, TaskError> = if let Some(m) = mocked {
            let attempt = {
                let mut calls = self.mock_calls.lock().expect("mock lock");
                let c = calls.entry(name.to_string()).or_insert(0);
                *c += 1;
                *c - 1
            };
            m.response(name, attempt).unwrap_or(Ok(Value::Null))
        } else {
            let ctx = TaskContext {
                resource: resource.to_string(),
                state_name: name.to_string(),
                execution_arn: self.info.arn.clone(),
                task_token: st.task_token.clone(),
                virtual_time: self.clock.is_virtual(),
                cancel: self.cancel.clone(),
            };
            let fut: BoxFuture<'_, Result<Value, TaskError>> = match target {
                Target::LambdaDirect(f) => f(input),
                Target::LambdaInvoke(f) => {
                    let payload = input.get("Payload").cloned().unwrap_or_else(|| json!({}));
                    let call = f(payload);
                    Box::pin(async move {
                        match call.await {
                            Ok(out) => Ok(lambda_invoke_response(out)),
                            Err(e) => Err(e),
                        }
                    })
                }
                Target::Handler(h) => {
                    let h = h.clone();
                    Box::pin(async move { h.invoke(input, &ctx).await })
                }
                Target::MissingLambda(fname) => Box::pin(async move {
                    Err(TaskError::new(
                        "Lambda.ResourceNotFoundException",
                        format!("Function not found: {fname} (no Rust handler is registered under that name)"),
                    ))
                }),
                Target::Unknown => {
                    let r = resource.to_string();
                    Box::pin(async move {
                        Err(TaskError::new(
                            names::RUNTIME,
                            format!("No task handler is registered for the resource '{r}'"),
                        ))
                    })
                }
            };
            // In-process handlers cannot send heartbeats, so HeartbeatSeconds bounds the whole call
            // (States.HeartbeatTimeout) when it is shorter than TimeoutSeconds (States.Timeout).
            let limit = match (timeout.filter(|t| *t > 0.0), heartbeat.filter(|h| *h > 0.0)) {
                (Some(t), Some(h)) if h < t => Some((h, names::HEARTBEAT_TIMEOUT)),
                (Some(t), _) => Some((t, names::TIMEOUT)),
                (None, Some(h)) => Some((h, names::HEARTBEAT_TIMEOUT)),
                (None, None) => None,
            };
            match limit {
                Some((t, error)) => {
                    match tokio::time::timeout(Duration::from_secs_f64(t), fut).await {
                        Ok(r) => r,
                        Err(_) => Err(TaskError::new(error, "")),
                    }
                }
                None => fut.await,
            }
        };
        // A task's result is within the payload quota: States.DataLimitExceeded otherwise
        // (<https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>); the cause
        // is the one AWS reports for a Lambda function's oversized result.
        let result = result.and_then(|out| {
            if payload_too_large(&out) {
                Err(TaskError::new(
                    names::DATA_LIMIT_EXCEEDED,
                    format!("The state/task '{resource}' returned a result with a size exceeding the maximum number of bytes service limit."),
                ))
            } else {
                Ok(out)
            }
        });
        // A callback's error and cause are the sender's, never wrapped as a Lambda error.
        let mut from_callback = false;
        let result = match (result, waiter) {
            (Ok(submitted), Some((token, waiter))) => {
                from_callback = true;
                self.emit(prev, E::TaskSubmitted, || {
                    Some(("taskSubmittedEventDetails", json!({"resourceType": rtype, "resource": rname, "output": to_json(&submitted), "outputDetails": not_truncated()})))
                });
                let timeout_at = self.deadline_after(timeout);
                self.wait_for_callback(&token, waiter, timeout_at, heartbeat)
                    .await
            }
            (Err(e), Some(_)) => Err(e),
            (result, None) => result,
        };
        match result {
            Ok(out) => {
                if direct_lambda {
                    self.emit(prev, E::LambdaFunctionSucceeded, || {
                        Some((
                            "lambdaFunctionSucceededEventDetails",
                            json!({"output": to_json(&out), "outputDetails": not_truncated()}),
                        ))
                    });
                } else {
                    self.emit(prev, E::TaskSucceeded, || {
                        Some(("taskSucceededEventDetails", json!({"resourceType": rtype, "resource": rname, "output": to_json(&out), "outputDetails": not_truncated()})))
                    });
                }
                Ok(out)
            }
            Err(e) => {
                let cause = if is_lambda_target
                    && mocked.is_none()
                    && !from_callback
                    && !e.error.starts_with("Lambda.")
                    && !e.error.starts_with("States.")
                {
                    to_json(&json!({"errorMessage": e.cause, "errorType": e.error}))
                } else {
                    e.cause.clone()
                };
                let timed_out = e.error == names::TIMEOUT || e.error == names::HEARTBEAT_TIMEOUT;
                let (t, key) = match (direct_lambda, timed_out) {
                    (true, true) => (
                        E::LambdaFunctionTimedOut,
                        "lambdaFunctionTimedOutEventDetails",
                    ),
                    (true, false) => (E::LambdaFunctionFailed, "lambdaFunctionFailedEventDetails"),
                    (false, true) => (E::TaskTimedOut, "taskTimedOutEventDetails"),
                    (false, false) => (E::TaskFailed, "taskFailedEventDetails"),
                };
                self.emit(prev, t, || {
                    let mut d = json!({"error": e.error, "cause": cause});
                    if !direct_lambda {
                        d["resourceType"] = json!(rtype);
                        d["resource"] = json!(rname);
                    }
                    Some((key, d))
                });
                Err(Thrown::plain(Failure {
                    error: Some(e.error),
                    cause: if cause.is_empty() { None } else { Some(cause) },
                }))
            }
        }
    }

    /// Waits for the answer to `token`: SendTaskSuccess or SendTaskFailure, within
    /// `TimeoutSeconds` (States.Timeout) and with a heartbeat at least every `HeartbeatSeconds`
    /// (States.HeartbeatTimeout). On a virtual clock it waits for the answer without deadline.
    pub(super) async fn wait_for_callback(
        &self,
        token: &str,
        waiter: crate::callbacks::Waiter,
        timeout_at: Option<tokio::time::Instant>,
        heartbeat: Option<f64>,
    ) -> Result<Value, TaskError> {
        use crate::callbacks::CallbackOutcome;
        use tokio::time::sleep_until;
        let after = |secs: Option<f64>| self.deadline_after(secs);
        let mut heartbeat_at = after(heartbeat);
        let crate::callbacks::Waiter {
            mut answer,
            heartbeat: beats,
        } = waiter;
        let never = || std::future::pending::<()>();
        // However the wait ends (an answer, a timeout, or the task dropped by StopExecution or
        // the machine's TimeoutSeconds), the token stops being waited on.
        let mut waiting = WaitingToken {
            callbacks: self.callbacks,
            token: token.to_string(),
            timed_out: false,
        };
        loop {
            // An answer that is ready wins over a timeout that is ready at the same moment.
            tokio::select! {
                biased;
                outcome = &mut answer => {
                    return match outcome {
                        Ok(CallbackOutcome::Success(output)) => Ok(output),
                        Ok(CallbackOutcome::Failure { error, cause }) => Err(TaskError::new(error, cause)),
                        Err(_) => Err(TaskError::new(names::RUNTIME, "the task token was dropped")),
                    };
                }
                _ = beats.notified() => heartbeat_at = after(heartbeat),
                _ = async { match heartbeat_at { Some(at) => sleep_until(at).await, None => never().await } } => {
                    waiting.timed_out = true;
                    return Err(TaskError::new(names::HEARTBEAT_TIMEOUT, ""));
                }
                _ = async { match timeout_at { Some(at) => sleep_until(at).await, None => never().await } } => {
                    waiting.timed_out = true;
                    return Err(TaskError::new(names::TIMEOUT, ""));
                }
            }
        }
    }

    /// The instant `secs` from now, for a positive `secs` on a real clock (a virtual clock waits
    /// for answers without deadline).
    pub(super) fn deadline_after(&self, secs: Option<f64>) -> Option<tokio::time::Instant> {
        secs.filter(|s| *s > 0.0 && !self.clock.is_virtual())
            .map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s))
    }

    /// An activity Task: queue the input and a token for the activity's workers, wait for a
    /// worker to take it (GetActivityTask) and then for its answer, as Step Functions does.
    pub(super) async fn activity(
        &self,
        activity: &str,
        input: Value,
        timeout: Option<f64>,
        heartbeat: Option<f64>,
        prev: &mut u64,
    ) -> Result<Value, Thrown> {
        let token = uuid::Uuid::new_v4().to_string();
        let waiter = self.callbacks.register(&token);
        let mut registered = WaitingToken {
            callbacks: self.callbacks,
            token: token.clone(),
            timed_out: false,
        };
        let text = to_json(&input);
        let started = self
            .callbacks
            .schedule_activity(activity, &token, text.clone());
        self.emit(prev, E::ActivityScheduled, || {
            let mut d =
                json!({"resource": activity, "input": text, "inputDetails": not_truncated()});
            if let Some(t) = timeout {
                d["timeoutInSeconds"] = json!(t as u64);
            }
            if let Some(h) = heartbeat {
                d["heartbeatInSeconds"] = json!(h as u64);
            }
            Some(("activityScheduledEventDetails", d))
        });
        // TimeoutSeconds runs from the scheduling; HeartbeatSeconds from the start.
        let timeout_at = self.deadline_after(timeout);
        let worker = tokio::select! {
            biased;
            worker = started => worker.ok(),
            _ = async { match timeout_at { Some(at) => tokio::time::sleep_until(at).await, None => std::future::pending().await } } => None,
        };
        let result = match worker {
            Some(worker) => {
                self.emit(prev, E::ActivityStarted, || {
                    Some(("activityStartedEventDetails", json!({"workerName": worker})))
                });
                self.wait_for_callback(&token, waiter, timeout_at, heartbeat)
                    .await
            }
            None => {
                registered.timed_out = true;
                Err(TaskError::new(names::TIMEOUT, ""))
            }
        };
        match result {
            Ok(out) => {
                self.emit(prev, E::ActivitySucceeded, || {
                    Some((
                        "activitySucceededEventDetails",
                        json!({"output": to_json(&out), "outputDetails": not_truncated()}),
                    ))
                });
                Ok(out)
            }
            Err(e) => {
                let timed_out = e.error == names::TIMEOUT || e.error == names::HEARTBEAT_TIMEOUT;
                let (t, key) = if timed_out {
                    (E::ActivityTimedOut, "activityTimedOutEventDetails")
                } else {
                    (E::ActivityFailed, "activityFailedEventDetails")
                };
                self.emit(prev, t, || {
                    Some((key, json!({"error": e.error, "cause": e.cause})))
                });
                Err(Thrown::plain(Failure {
                    error: Some(e.error),
                    cause: if e.cause.is_empty() {
                        None
                    } else {
                        Some(e.cause)
                    },
                }))
            }
        }
    }
}

/// Stops waiting on a task token when dropped (remembering a timeout, to answer TaskTimedOut).
pub(super) struct WaitingToken<'a> {
    callbacks: &'a crate::Callbacks,
    token: String,
    timed_out: bool,
}

impl Drop for WaitingToken<'_> {
    fn drop(&mut self) {
        self.callbacks.forget(&self.token, self.timed_out);
    }
}

/// True for an activity ARN (`arn:<partition>:states:<region>:<account>:activity:<name>`).
pub(super) fn is_activity(resource: &str) -> bool {
    let parts: Vec<&str> = resource.split(':').collect();
    parts.len() == 7 && parts[0] == "arn" && parts[2] == "states" && parts[5] == "activity"
}

/// `arn:aws:states:::lambda:invoke` → ("lambda", "invoke"); `...:::aws-sdk:dynamodb:getItem` →
/// ("aws-sdk:dynamodb", "getItem"); the integration pattern stays on the name:
/// `...:::states:startExecution.sync:2` → ("states", "startExecution.sync:2"),
/// `...:::lambda:invoke.waitForTaskToken` → ("lambda", "invoke.waitForTaskToken"), as
/// TaskScheduled and the other task events report them
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_TaskScheduledEventDetails.html>).
pub(super) fn resource_parts(resource: &str) -> (String, String) {
    let service = resource
        .strip_prefix("arn:")
        .and_then(|r| r.split_once(':'))
        .and_then(|(_partition, r)| r.strip_prefix("states:::"));
    if let Some(rest) = service {
        let (base, pattern) = [".waitForTaskToken", ".sync:2", ".sync"]
            .iter()
            .find_map(|p| rest.strip_suffix(p).map(|b| (b, *p)))
            .unwrap_or((rest, ""));
        if let Some((t, r)) = base.rsplit_once(':') {
            return (t.to_string(), format!("{r}{pattern}"));
        }
    }
    if resource.starts_with("arn:aws:lambda:") {
        return ("lambda".into(), resource.to_string());
    }
    ("custom".into(), resource.to_string())
}

/// The result of `arn:aws:states:::lambda:invoke`: Lambda's Invoke response around the payload.
pub(super) fn lambda_invoke_response(payload: Value) -> Value {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut response = serde_json::Map::with_capacity(5);
    response.insert("ExecutedVersion".into(), "$LATEST".into());
    // Moved in: `json!` would copy the payload through its serializer.
    response.insert("Payload".into(), payload);
    response.insert(
        "SdkHttpMetadata".into(),
        json!({
            "HttpHeaders": {
                "Content-Type": "application/json",
                "X-Amz-Executed-Version": "$LATEST",
                "x-amzn-RequestId": request_id,
            },
            "HttpStatusCode": 200,
        }),
    );
    response.insert(
        "SdkResponseMetadata".into(),
        json!({ "RequestId": request_id }),
    );
    response.insert("StatusCode".into(), 200.into());
    Value::Object(response)
}

#[cfg(test)]
mod tests {
    use super::resource_parts;

    #[test]
    fn task_events_keep_the_integration_pattern() {
        let parts = |r: &str| {
            let (t, n) = resource_parts(r);
            format!("{t} {n}")
        };
        assert_eq!(parts("arn:aws:states:::lambda:invoke"), "lambda invoke");
        assert_eq!(
            parts("arn:aws:states:::states:startExecution.sync:2"),
            "states startExecution.sync:2"
        );
        assert_eq!(
            parts("arn:aws:states:::states:startExecution.sync"),
            "states startExecution.sync"
        );
        assert_eq!(
            parts("arn:aws:states:::lambda:invoke.waitForTaskToken"),
            "lambda invoke.waitForTaskToken"
        );
        assert_eq!(
            parts("arn:aws:states:::aws-sdk:dynamodb:getItem"),
            "aws-sdk:dynamodb getItem"
        );
        assert_eq!(
            parts("arn:aws-cn:states:::sqs:sendMessage.waitForTaskToken"),
            "sqs sendMessage.waitForTaskToken"
        );
    }
}
