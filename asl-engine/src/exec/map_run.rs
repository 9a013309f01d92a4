//! Distributed Map states: the ItemReader's items, ItemBatcher's batches, one child execution per
//! item or batch in a Map Run (recorded in the registry's [`crate::dmap::MapRuns`]), tolerated
//! failures, and the ResultWriter's export
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html>).

use super::*;
use crate::compile::{DistSpec, Request};
use crate::dmap::{self, exceeds_tolerated_failures, ChildRecord, MapRunRecord};

/// Marks a Map Run ABORTED (and its running children) when its state stops waiting for it before
/// it ended: the execution was stopped, timed out, or its future dropped.
struct AbortOnDrop {
    runs: Arc<dmap::MapRuns>,
    arn: String,
    clock: Arc<dyn crate::clock::Clock>,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        let now = self.clock.now();
        let mut ended = None;
        self.runs.update(&self.arn, |r| {
            if r.status == "RUNNING" {
                r.status = "ABORTED".into();
                r.stop = Some(now);
                r.abort_running_children(now);
                ended = Some(r.execution_arn.clone());
            }
        });
        if let Some(execution_arn) = ended {
            self.runs.ended(&execution_arn);
        }
    }
}

/// A Map Run's ARN, its children's ARN prefix and `<machine>/<label>` path, and their state
/// machine's ARN.
struct MapRunIds {
    map_run_arn: String,
    prefix: String,
    path: String,
    child_sm_arn: String,
}

/// What a Map Run's children did: the results by child, the record, the pending inputs.
struct Outcome {
    outputs: Vec<Result<Value, Failure>>,
    pending: Vec<Value>,
    failure: Option<Failure>,
}

impl Run<'_> {
    /// Evaluates an ItemReader/ResultWriter/BatchInput request on the effective input.
    pub(super) fn dist_request(
        &self,
        st: &St<'_>,
        req: &Request,
        raw: &Value,
        eff: &Value,
        scope: &Scope,
        field: &str,
    ) -> Result<Value, Thrown> {
        match req {
            Request::None => Ok(json!({})),
            Request::Path(t) => t.eval(&self.penv(eff, scope, st, None)),
            Request::Jsonata(v) => {
                let states = self.states_value(raw, st, None, None, None);
                jsonata::eval_template(
                    v,
                    &JEnv {
                        states: &states,
                        scope,
                    },
                    field,
                )
            }
        }
    }

    /// The ItemReader's items, from the registry's item store.
    pub(super) async fn read_items(
        &self,
        st: &St<'_>,
        d: &DistSpec,
        raw: &Value,
        eff: &Value,
        scope: &Scope,
    ) -> Result<Option<dmap::ReadItems>, Thrown> {
        let Some(reader) = &d.reader else {
            return Ok(None);
        };
        let request = self.dist_request(st, &reader.request, raw, eff, scope, "ItemReader")?;
        let max_items = match &reader.max_items {
            Some(n) => Some(self.num_spec(st, eff, n, scope, "MaxItems")? as u64),
            None => None,
        };
        let store = self.registry.item_store().ok_or_else(|| {
            Thrown::plain(Failure::new(
                dmap::ITEM_READER_FAILED,
                "No item store is configured for distributed Map states (TaskRegistry::set_item_store)",
            ))
        })?;
        dmap::read_items_and_sources(
            store.as_ref(),
            &reader.resource,
            &request,
            &reader.config,
            max_items,
        )
        .await
        .map(Some)
        .map_err(Thrown::plain)
    }

    /// Runs the Map Run of a distributed Map state on its item inputs (after ItemSelector) and
    /// answers the state's result.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn map_run(
        &self,
        st: &St<'_>,
        spec: &MapSpec,
        d: &DistSpec,
        inputs: Vec<Value>,
        (raw, eff, scope): (&Value, &Value, &Scope),
        prev: &mut u64,
        (max_conc, tol_count, tol_pct): (usize, Option<f64>, Option<f64>),
        redrive_of: Option<String>,
    ) -> Result<Value, Thrown> {
        let total_items = inputs.len() as u64;
        let (children_inputs, item_counts) = self.batches(st, d, inputs, raw, eff, scope)?;
        let runs = self.registry.map_runs().clone();
        // The execution's redrive redrives the Map Run that ended unsuccessfully: the same Map
        // Run runs its unsuccessful children again (and starts those that never started)
        // (https://docs.aws.amazon.com/step-functions/latest/dg/redrive-map-run.html).
        let now = self.clock.now();
        let mut redriven = None;
        if let Some(arn) = &redrive_of {
            runs.update(arn, |r| {
                if matches!(r.status.as_str(), "FAILED" | "ABORTED")
                    && r.execution_arn == self.info.arn
                {
                    r.status = "RUNNING".into();
                    r.stop = None;
                    let again = dmap::Redriven::again(r.redriven, now);
                    r.redriven = Some(again);
                    redriven = Some((r.state_machine_arn.clone(), again.count));
                }
            });
        }
        let prefix = self
            .info
            .arn
            .split(":execution:")
            .next()
            .unwrap_or_default()
            .to_string();
        let path = format!("{}/{}", self.info.sm_name, d.label);
        let (map_run_arn, child_sm_arn) = match (redrive_of, redriven) {
            (Some(map_run_arn), Some((child_sm_arn, count))) => {
                self.emit(prev, E::MapRunRedriven, || {
                    Some((
                        "mapRunRedrivenEventDetails",
                        json!({"mapRunArn": map_run_arn, "redriveCount": count}),
                    ))
                });
                (map_run_arn, child_sm_arn)
            }
            _ => {
                let id = uuid::Uuid::new_v4().to_string();
                let map_run_arn = format!("{prefix}:mapRun:{path}:{id}");
                let child_sm_arn = format!("{prefix}:stateMachine:{path}");
                runs.insert(MapRunRecord {
                    map_run_arn: map_run_arn.clone(),
                    execution_arn: self.info.arn.clone(),
                    state_machine_arn: child_sm_arn.clone(),
                    execution_type: d.execution_type.clone(),
                    status: "RUNNING".into(),
                    start: self.clock.now(),
                    stop: None,
                    max_concurrency: max_conc as u64,
                    tolerated_failure_percentage: tol_pct,
                    tolerated_failure_count: tol_count.map(|c| c as u64),
                    total_items,
                    results_written: 0,
                    children: Vec::new(),
                    total_executions: children_inputs.len() as u64,
                    redriven: None,
                });
                self.emit(prev, E::MapRunStarted, || {
                    Some((
                        "mapRunStartedEventDetails",
                        json!({"mapRunArn": map_run_arn}),
                    ))
                });
                (map_run_arn, child_sm_arn)
            }
        };
        self.run_map_run(
            st,
            spec,
            d,
            (raw, eff, scope),
            prev,
            MapRunIds {
                map_run_arn,
                prefix,
                path,
                child_sm_arn,
            },
            (children_inputs, item_counts, total_items),
        )
        .await
    }

    /// Runs the Map Run `ids` names (started or redriven) to its end: its children, the
    /// ResultWriter's export, its end events; answers the state's result.
    #[allow(clippy::too_many_arguments)]
    async fn run_map_run(
        &self,
        st: &St<'_>,
        spec: &MapSpec,
        d: &DistSpec,
        (raw, eff, scope): (&Value, &Value, &Scope),
        prev: &mut u64,
        ids: MapRunIds,
        (children_inputs, item_counts, total_items): (Vec<Value>, Vec<u64>, u64),
    ) -> Result<Value, Thrown> {
        let MapRunIds {
            map_run_arn,
            prefix,
            path,
            child_sm_arn,
        } = ids;
        let runs = self.registry.map_runs().clone();
        let _abort = AbortOnDrop {
            runs: runs.clone(),
            arn: map_run_arn.clone(),
            clock: self.clock.clone(),
        };
        let outcome = self
            .run_children(
                spec,
                &runs,
                &map_run_arn,
                &prefix,
                &path,
                &child_sm_arn,
                children_inputs,
                &item_counts,
                total_items,
            )
            .await;
        let record = runs.get(&map_run_arn);
        // ResultWriter (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html).
        let mut failure = outcome.failure;
        let mut written = None;
        if let (Some(w), Some(record)) = (&d.writer, &record) {
            if !matches!(w.request, Request::None) {
                // A failed export fails the Map Run (States.ResultWriterFailed).
                let format = dmap::ResultFormat::new(w.config.as_ref(), true);
                match self
                    .write_map_run(
                        st,
                        &w.request,
                        record,
                        (raw, eff, scope),
                        &outcome.pending,
                        format,
                    )
                    .await
                {
                    Ok(summary) => {
                        let done = record
                            .children
                            .iter()
                            .filter(|c| c.status != "RUNNING")
                            .count() as u64;
                        runs.update(&map_run_arn, |r| r.results_written = done);
                        written = Some(summary);
                    }
                    Err(t) => {
                        failure.get_or_insert(t.failure);
                    }
                }
            }
        }
        let stop = self.clock.now();
        match failure {
            Some(f) => {
                runs.update(&map_run_arn, |r| {
                    r.status = "FAILED".into();
                    r.stop = Some(stop);
                });
                runs.ended(&self.info.arn);
                self.emit(prev, E::MapRunFailed, || {
                    let mut d = Map::new();
                    if let Some(e) = &f.error {
                        d.insert("error".into(), json!(e));
                    }
                    if let Some(c) = &f.cause {
                        d.insert("cause".into(), json!(c));
                    }
                    Some(("mapRunFailedEventDetails", Value::Object(d)))
                });
                Err(Thrown::plain(f))
            }
            None => {
                runs.update(&map_run_arn, |r| {
                    r.status = "SUCCEEDED".into();
                    r.stop = Some(stop);
                });
                runs.ended(&self.info.arn);
                self.emit(prev, E::MapRunSucceeded, || None);
                if let Some(summary) = written {
                    return Ok(summary);
                }
                let format = dmap::ResultFormat::new(
                    d.writer.as_ref().and_then(|w| w.config.as_ref()),
                    false,
                );
                let record = runs.get(&map_run_arn);
                let mut out = Vec::new();
                for (i, r) in outcome.outputs.into_iter().enumerate() {
                    match (
                        record.as_ref(),
                        record.as_ref().and_then(|rec| rec.children.get(i)),
                    ) {
                        (Some(rec), Some(c)) => format.push(rec, c, r.ok(), &mut out),
                        // Every child is recorded; kept total anyway.
                        _ => out.push(r.unwrap_or_else(|f| f.to_error_output())),
                    }
                }
                Ok(Value::Array(out))
            }
        }
    }

    /// The children's inputs and how many items each holds: one per item, or the ItemBatcher's
    /// batches (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html).
    pub(super) fn batches(
        &self,
        st: &St<'_>,
        d: &DistSpec,
        inputs: Vec<Value>,
        raw: &Value,
        eff: &Value,
        scope: &Scope,
    ) -> Result<(Vec<Value>, Vec<u64>), Thrown> {
        Ok(match &d.batcher {
            None => {
                let n = inputs.len();
                (inputs, vec![1; n])
            }
            Some(b) => {
                let max_items = match &b.max_items {
                    Some(n) => Some(self.num_spec(st, eff, n, scope, "MaxItemsPerBatch")? as u64),
                    None => None,
                };
                let max_bytes = match &b.max_bytes {
                    Some(n) => {
                        let v = self.num_spec(st, eff, n, scope, "MaxInputBytesPerBatch")? as u64;
                        if v > dmap::MAX_BATCH_BYTES {
                            return Err(Thrown::runtime(
                                names::RUNTIME,
                                format!(
                                    "MaxInputBytesPerBatch must be at most {} bytes (256 KiB), but was {v}",
                                    dmap::MAX_BATCH_BYTES
                                ),
                            ));
                        }
                        Some(v)
                    }
                    None => None,
                };
                let batch_input = match &b.batch_input {
                    Request::None => None,
                    r => Some(self.dist_request(st, r, raw, eff, scope, "BatchInput")?),
                };
                let batches = dmap::batch(inputs, max_items, max_bytes, batch_input.as_ref())
                    .map_err(Thrown::plain)?;
                let counts = batches
                    .iter()
                    .map(|b| b["Items"].as_array().map_or(0, |a| a.len() as u64))
                    .collect();
                (batches, counts)
            }
        })
    }

    /// Exports a Map Run's results with the ResultWriter's request (`Bucket`, `Prefix`), read
    /// from the state's raw and effective input and its scope, in `format`.
    async fn write_map_run(
        &self,
        st: &St<'_>,
        req: &Request,
        record: &MapRunRecord,
        (raw, eff, scope): (&Value, &Value, &Scope),
        pending: &[Value],
        format: dmap::ResultFormat,
    ) -> Result<Value, Thrown> {
        let request = self.dist_request(st, req, raw, eff, scope, "ResultWriter")?;
        let bucket = request
            .get("Bucket")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                Thrown::plain(Failure::new(
                    dmap::RESULT_WRITER_FAILED,
                    "The ResultWriter's parameters must include the string field 'Bucket'",
                ))
            })?;
        let prefix = request.get("Prefix").and_then(Value::as_str).unwrap_or("");
        let store = self.registry.item_store().ok_or_else(|| {
            Thrown::plain(Failure::new(
                dmap::RESULT_WRITER_FAILED,
                "No item store is configured for distributed Map states (TaskRegistry::set_item_store)",
            ))
        })?;
        dmap::write_results(store.as_ref(), record, bucket, prefix, pending, format)
            .await
            .map_err(Thrown::plain)
    }

    /// Runs the children, at most MaxConcurrency at once (read again as each child ends, so
    /// UpdateMapRun applies), until they all ended or the tolerated failures are exceeded.
    #[allow(clippy::too_many_arguments)]
    async fn run_children(
        &self,
        spec: &MapSpec,
        runs: &Arc<dmap::MapRuns>,
        map_run_arn: &str,
        prefix: &str,
        path: &str,
        child_sm_arn: &str,
        inputs: Vec<Value>,
        item_counts: &[u64],
        total_items: u64,
    ) -> Outcome {
        let n = inputs.len();
        let mut outputs: Vec<Result<Value, Failure>> = (0..n).map(|_| Ok(Value::Null)).collect();
        let mut running = FuturesUnordered::new();
        let mut failed_items = 0u64;
        let mut failure = None;
        // A STANDARD child has a Standard execution's history limit; an EXPRESS one has none.
        let standard = spec
            .distributed
            .as_ref()
            .is_some_and(|d| d.execution_type == "STANDARD");
        // The children a redriven Map Run had already: the ones that succeeded keep their
        // results, the others run again (in their records).
        let earlier: Vec<(String, Option<Value>)> = runs
            .read(map_run_arn, |r| {
                r.children
                    .iter()
                    .map(|c| (c.status.clone(), c.output.clone()))
                    .collect()
            })
            .unwrap_or_default();
        for (i, (status, output)) in earlier.iter().enumerate() {
            if status == "SUCCEEDED" {
                if let Some(out) = outputs.get_mut(i) {
                    *out = Ok(output.clone().unwrap_or(Value::Null));
                }
            }
        }
        let mut queue = inputs
            .into_iter()
            .enumerate()
            .filter(|(i, _)| earlier.get(*i).is_none_or(|(s, _)| s != "SUCCEEDED"));
        let spawn = |i: usize, input: Value| {
            // The child's history, shown while it runs (GetExecutionHistory of a child), limited
            // as any execution's (25,000 events).
            let live = crate::LiveHistory::new();
            let history_limit = standard.then_some(crate::history::HISTORY_LIMIT);
            let now = self.clock.now();
            // StopExecution of the child drops its run ([`dmap::MapRuns::stop_child`]).
            let (abort, registration) = futures::future::AbortHandle::new_pair();
            let mut again = None;
            if i < earlier.len() {
                runs.update(map_run_arn, |r| {
                    let Some(c) = r.children.get_mut(i) else {
                        return;
                    };
                    // A STANDARD child is redriven: the same execution runs again from the state
                    // it did not complete, its history continued; an EXPRESS child starts again
                    // from its first state under the same ARN (redrive-map-run.html).
                    let redrive = standard.then(|| {
                        let before = c.history.values();
                        let redriven = dmap::Redriven::again(c.redriven, now);
                        c.redriven = Some(redriven);
                        let redrive = crate::Redrive {
                            redrive_count: redriven.count,
                            started: Some(c.start),
                            ..crate::resume::redrive_point(
                                &spec.processor,
                                &before,
                                c.input.clone(),
                            )
                        };
                        let events_before = before.len() as u64;
                        c.history = dmap::ChildHistory::Continued {
                            before: before.into(),
                            live: live.clone(),
                        };
                        (redrive, events_before)
                    });
                    if redrive.is_none() {
                        c.start = now;
                        c.history = dmap::ChildHistory::Live(live.clone());
                    }
                    c.status = "RUNNING".into();
                    c.stop = None;
                    c.output = None;
                    c.error = None;
                    c.cause = None;
                    c.abort = Some(abort.clone());
                    again = Some((c.arn.clone(), c.name.clone(), c.start, redrive));
                });
            }
            let (arn, name, start, redrive) = match again {
                Some((arn, name, start, redrive)) => (arn, name, start, redrive),
                None => {
                    let name = uuid::Uuid::new_v4().to_string();
                    let arn = format!("{prefix}:execution:{path}:{name}");
                    runs.update(map_run_arn, |r| {
                        r.children.push(ChildRecord {
                            arn: arn.clone(),
                            name: name.clone(),
                            input: input.clone(),
                            status: "RUNNING".into(),
                            output: None,
                            error: None,
                            cause: None,
                            start: now,
                            stop: None,
                            item_count: item_counts.get(i).copied().unwrap_or(1),
                            history: dmap::ChildHistory::Live(live.clone()),
                            abort: Some(abort),
                            redriven: None,
                        })
                    });
                    (arn, name, now, None)
                }
            };
            let (redrive, events_before) = match redrive {
                Some((redrive, n)) => (Some(redrive), n),
                None => (None, 0),
            };
            let child = Run {
                registry: self.registry,
                callbacks: self.callbacks,
                machine: self.machine,
                info: ExecInfo {
                    arn: arn.clone(),
                    name,
                    input: input.clone(),
                    start: crate::clock::format_time(&start),
                    redrive: redrive
                        .as_ref()
                        .map(|r| (r.redrive_count, crate::clock::format_time(&now))),
                    role_arn: self.info.role_arn.clone(),
                    sm_arn: child_sm_arn.to_string(),
                    sm_name: path.to_string(),
                    region: self.info.region.clone(),
                },
                clock: self.clock.clone(),
                rec: Recorder::new(true, history_limit, Some(live), events_before),
                mock: self.mock.clone(),
                mock_calls: Mutex::new(HashMap::new()),
                deadline: self.deadline,
                cancel: self.cancel.clone(),
                timed_out: AtomicBool::new(false),
                aborted: AtomicBool::new(false),
                before: Before::of(redrive.as_ref(), None),
                redrive,
                resume: None,
                probe: None,
            };
            async move {
                let run = child.run_execution(&spec.processor, input);
                // Stopped: the record says so already; the result is set from it below.
                let r = futures::future::Abortable::new(run, registration)
                    .await
                    .unwrap_or(Err(Failure {
                        error: None,
                        cause: None,
                    }));
                (i, arn, r)
            }
        };
        let limit = |runs: &dmap::MapRuns| -> usize {
            match runs.read(map_run_arn, |r| r.max_concurrency) {
                Some(0) | None => usize::MAX,
                Some(m) => m as usize,
            }
        };
        let mut next = queue.next();
        loop {
            while running.len() < limit(runs) {
                match next.take() {
                    Some((i, input)) => {
                        running.push(spawn(i, input));
                        next = queue.next();
                    }
                    None => break,
                }
            }
            let Some((i, arn, mut r)) = running.next().await else {
                break;
            };
            let stop = self.clock.now();
            runs.update(map_run_arn, |rec| {
                // Child `i` is the i-th started (children are recorded in start order).
                let at = match rec.children.get(i) {
                    Some(c) if c.arn == arn => Some(i),
                    _ => rec.children.iter().position(|c| c.arn == arn),
                };
                let Some(c) = at.and_then(|at| rec.children.get_mut(at)) else {
                    return;
                };
                c.abort = None;
                if c.status == "ABORTED" {
                    // Stopped (StopExecution), whatever its run returned meanwhile: a failed item
                    // with the stop's error and cause.
                    r = Err(Failure {
                        error: c.error.clone(),
                        cause: c.cause.clone(),
                    });
                } else {
                    c.stop = Some(stop);
                    c.history.end();
                    match &r {
                        Ok(v) => {
                            c.status = "SUCCEEDED".into();
                            c.output = Some(v.clone());
                        }
                        Err(f) => {
                            c.status = "FAILED".into();
                            c.error = f.error.clone();
                            c.cause = f.cause.clone();
                        }
                    }
                }
            });
            if r.is_err() {
                failed_items += item_counts.get(i).copied().unwrap_or(1);
                // The thresholds as they are now (UpdateMapRun may have changed them).
                let (count, pct) = runs
                    .read(map_run_arn, |r| {
                        (r.tolerated_failure_count, r.tolerated_failure_percentage)
                    })
                    .unwrap_or((None, None));
                if exceeds_tolerated_failures(
                    failed_items,
                    total_items,
                    count.map(|c| c as f64),
                    pct,
                ) {
                    failure = Some(Failure::new(
                        names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                        "The specified tolerated failure threshold was exceeded",
                    ));
                }
            }
            outputs[i] = r;
            if failure.is_some() {
                break;
            }
        }
        // Children still running when the Map Run failed are aborted.
        drop(running);
        let stop = self.clock.now();
        runs.update(map_run_arn, |rec| rec.abort_running_children(stop));
        let pending = next.into_iter().chain(queue).map(|(_, v)| v).collect();
        Outcome {
            outputs,
            pending,
            failure,
        }
    }
}
