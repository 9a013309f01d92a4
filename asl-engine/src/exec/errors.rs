//! Fail states, one attempt of a Task/Map/Parallel state, Retry and Catch.

use super::*;

impl Run<'_> {
    pub(super) fn fail_state(
        &self,
        st: &St<'_>,
        raw: &Value,
        error: &StrSpec,
        cause: &StrSpec,
        scope: &Scope,
    ) -> Failure {
        if !st.node.io.jsonata {
            self.inspect(st, "afterInputPath", || raw.clone());
        }
        let eval = |s: &StrSpec, field: &str| -> Result<Option<String>, Thrown> {
            Ok(match s {
                StrSpec::None => None,
                StrSpec::Lit(t) => Some(t.clone()),
                StrSpec::Dyn(d) => {
                    let env = self.penv(raw, scope, st, None);
                    match d.eval(&env)? {
                        Some(Value::String(s)) => Some(s),
                        Some(other) => Some(to_json(&other)),
                        None => {
                            return Err(Thrown::runtime(
                                names::RUNTIME,
                                format!(
                                    "Invalid path '{}' : No results for path in field {field}Path",
                                    d.text()
                                ),
                            ))
                        }
                    }
                }
                StrSpec::Expr(e) => {
                    let states = self.states_value(raw, st, None, None, None);
                    let v = jsonata::eval_template(
                        e,
                        &JEnv {
                            states: &states,
                            scope,
                        },
                        field,
                    )?;
                    Some(
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| to_json(&v)),
                    )
                }
            })
        };
        let r = (|| {
            Ok::<_, Thrown>(Failure {
                error: eval(error, "Error")?,
                cause: eval(cause, "Cause")?,
            })
        })();
        match r {
            Ok(f) => f,
            Err(t) => t.into_failure(&st.node.name, st.entered_id),
        }
    }

    // ---------- Task, Map, Parallel: retry and catch ----------

    pub(super) async fn with_retry(
        &self,
        st: &mut St<'_>,
        raw: Value,
        scope: &mut Scope,
        prev: &mut u64,
    ) -> StepResult {
        let node = st.node;
        let mut counts = vec![0u32; node.retry.len()];
        loop {
            if let Kind::Task { resource, .. } = &node.kind {
                if resource.ends_with(".waitForTaskToken") {
                    st.task_token = Some(uuid::Uuid::new_v4().to_string());
                }
            }
            let end = match self.attempt(st, &raw, scope, prev).await {
                Ok(result) if node.catch.is_empty() => {
                    // Output processing errors are not retried; without catchers they fail the state.
                    return self
                        .finish(st, raw, result, scope)
                        .map(|out| (out, node.next))
                        .map_err(|t| t.into_failure(&node.name, st.entered_id));
                }
                Ok(result) => match self.finish(st, raw.clone(), result, scope) {
                    Ok(out) => AttemptEnd::Done(out),
                    Err(t) => {
                        let f = t.into_failure(&node.name, st.entered_id);
                        return self.catch_or_fail(st, raw, f, scope);
                    }
                },
                Err(t) => AttemptEnd::Failed(t),
            };
            match end {
                AttemptEnd::Done(out) => return Ok((out, node.next)),
                AttemptEnd::Failed(t) => {
                    // A stop requested while the task ran (a `.sync` child stopped with its
                    // parent) ends the execution here, not in a retrier or catcher.
                    if self
                        .cancel
                        .as_ref()
                        .is_some_and(|c| c.load(Ordering::Relaxed))
                    {
                        self.aborted.store(true, Ordering::Relaxed);
                    }
                    if self.timed_out.load(Ordering::Relaxed)
                        || self.aborted.load(Ordering::Relaxed)
                        || self.rec.full()
                    {
                        return Err(t.failure);
                    }
                    let f = t.into_failure(&node.name, st.entered_id);
                    let err = f.error.as_deref();
                    if let Some(i) = node
                        .retry
                        .iter()
                        .position(|r| error_matches(&r.errors, err))
                    {
                        let r = &node.retry[i];
                        if counts[i] < r.max_attempts {
                            let mut delay = r.interval * r.backoff.powi(counts[i] as i32);
                            if let Some(m) = r.max_delay {
                                delay = delay.min(m);
                            }
                            if r.jitter_full {
                                delay = rand::rng().random_range(0.0..=delay.max(0.0));
                            }
                            counts[i] += 1;
                            st.retry_count += 1;
                            if let Some(deadline) = self.deadline {
                                if self.clock.now()
                                    + chrono::Duration::milliseconds((delay * 1000.0) as i64)
                                    > deadline
                                {
                                    return Err(self.timeout_failure());
                                }
                            }
                            self.clock
                                .sleep(Duration::from_secs_f64(delay.max(0.0)))
                                .await;
                            continue;
                        }
                    }
                    return self.catch_or_fail(st, raw, f, scope);
                }
            }
        }
    }

    pub(super) fn catch_or_fail(
        &self,
        st: &mut St<'_>,
        raw: Value,
        f: Failure,
        scope: &mut Scope,
    ) -> StepResult {
        let node = st.node;
        if self.rec.full() {
            return Err(f);
        }
        if let Some(p) = self.probe_of(st) {
            p.record_failure(&f);
        }
        let Some(c) = node
            .catch
            .iter()
            .find(|c| error_matches(&c.errors, f.error.as_deref()))
        else {
            return Err(f);
        };
        let out = self
            .apply_catch(st, c, raw, &f, scope)
            .map_err(|t| t.into_failure(&node.name, st.entered_id))?;
        Ok((out, Some(c.next)))
    }

    pub(super) fn apply_catch(
        &self,
        st: &mut St<'_>,
        c: &Catch,
        raw: Value,
        f: &Failure,
        scope: &mut Scope,
    ) -> Result<Value, Thrown> {
        let err_out = f.to_error_output();
        if st.node.io.jsonata {
            let states = self.states_value(&raw, st, None, None, Some(&err_out));
            let out = match &c.output {
                Some(o) => jsonata::eval_template(
                    o,
                    &JEnv {
                        states: &states,
                        scope,
                    },
                    "Output",
                )?,
                None => err_out.clone(),
            };
            let assigned =
                self.assign(st, c.assign.as_ref(), &Value::Null, Some(&states), scope)?;
            self.commit(st, assigned, scope);
            return Ok(out);
        }
        let assigned = self.assign(st, c.assign.as_ref(), &err_out, None, scope)?;
        let out = Self::result_path(&c.result_path, raw, err_out)?;
        self.commit(st, assigned, scope);
        Ok(out)
    }

    /// One attempt of a Task, Map or Parallel state: its raw result.
    pub(super) async fn attempt(
        &self,
        st: &St<'_>,
        raw: &Value,
        scope: &mut Scope,
        prev: &mut u64,
    ) -> Result<Value, Thrown> {
        let node = st.node;
        let io = &node.io;
        // The effective input: InputPath + Parameters (JSONPath) or Arguments (JSONata).
        // `built`: whether Arguments or Parameters made the input (otherwise it is the state's input
        // or a part of it, already within the payload quota).
        let (input, built): (Value, bool) = if io.jsonata {
            match &io.arguments {
                Some(a) => {
                    let states = self.states_value(raw, st, None, None, None);
                    let args = jsonata::eval_template(
                        a,
                        &JEnv {
                            states: &states,
                            scope,
                        },
                        "Arguments",
                    )?;
                    (args, true)
                }
                None => (raw.clone(), false),
            }
        } else {
            let eff = self.input_path(st, raw, scope)?;
            let eff_ref = eff.as_ref().unwrap_or(raw);
            self.inspect(st, "afterInputPath", || eff_ref.clone());
            match (&io.parameters, &node.kind) {
                (Some(p), Kind::Task { .. } | Kind::Parallel { .. }) => {
                    (p.eval(&self.penv(eff_ref, scope, st, None))?, true)
                }
                _ => (eff.unwrap_or_else(|| raw.clone()), false),
            }
        };
        if built && payload_too_large(&input) {
            // "After Parameters processing, the input of a state is larger than the payload
            // size quota" (States.DataLimitExceeded,
            // <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>).
            return Err(Thrown::plain(data_limit_failure(&node.name)));
        }
        if !matches!(node.kind, Kind::Map(_)) {
            let field = if io.jsonata {
                "afterArguments"
            } else {
                "afterParameters"
            };
            self.inspect(st, field, || input.clone());
        }
        // TestState runs a mocked Map or Parallel state without its iterations or branches.
        let mocked = self
            .probe_of(st)
            .filter(|p| p.mock_iterations)
            .and(self.mock.as_ref())
            .filter(|m| m.mocks(&node.name))
            .map(|m| m.response(&node.name, 0).unwrap_or(Ok(Value::Null)));
        match &node.kind {
            Kind::Task {
                resource,
                timeout,
                heartbeat,
            } => {
                let timeout = match timeout {
                    Some(n) => Some(self.num_spec(st, raw, n, scope, "TimeoutSeconds")?),
                    None => None,
                };
                let heartbeat = match heartbeat {
                    Some(n) => Some(self.num_spec(st, raw, n, scope, "HeartbeatSeconds")?),
                    None => None,
                };
                self.task(st, resource, input, timeout, heartbeat, prev)
                    .await
            }
            Kind::Parallel { .. } if mocked.is_some() => {
                mocked.unwrap_or(Ok(Value::Null)).map_err(mocked_failure)
            }
            Kind::Parallel { branches } => self.parallel(st, branches, input, scope, prev).await,
            Kind::Map(spec) => self.map(st, spec, raw, input, scope, prev, mocked).await,
            _ => unreachable!("only Task, Map and Parallel states make attempts"),
        }
    }
}

/// Whether a Retry/Catch `ErrorEquals` list matches an error name
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>):
/// `States.ALL` matches everything but `States.Runtime` and `States.DataLimitExceeded`;
/// `States.TaskFailed` matches everything but timeouts; `States.Timeout` also matches heartbeat timeouts.
pub(crate) fn error_matches(list: &[String], error: Option<&str>) -> bool {
    let e = error.unwrap_or("");
    list.iter().any(|x| match x.as_str() {
        names::ALL => e != names::RUNTIME && e != names::DATA_LIMIT_EXCEEDED,
        names::TIMEOUT => e == names::TIMEOUT || e == names::HEARTBEAT_TIMEOUT,
        names::TASK_FAILED => {
            e != names::TIMEOUT
                && e != names::HEARTBEAT_TIMEOUT
                && e != names::RUNTIME
                && e != names::DATA_LIMIT_EXCEEDED
                && !e.is_empty()
        }
        other => other == e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_matching() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(error_matches(&l(&["States.ALL"]), Some("Custom")));
        assert!(!error_matches(&l(&["States.ALL"]), Some("States.Runtime")));
        assert!(!error_matches(
            &l(&["States.TaskFailed"]),
            Some("States.Timeout")
        ));
        assert!(error_matches(&l(&["A", "B"]), Some("B")));
    }
}
