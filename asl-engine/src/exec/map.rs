//! Map states: items, ItemSelector, concurrency, tolerated failures and the iteration history.

use super::*;
use crate::dmap::{self, exceeds_tolerated_failures};

impl Run<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn map(
        &self,
        st: &St<'_>,
        spec: &MapSpec,
        raw: &Value,
        eff: Value,
        scope: &mut Scope,
        prev: &mut u64,
        mocked: Option<Result<Value, TaskError>>,
    ) -> Result<Value, Thrown> {
        let jsonata = st.node.io.jsonata;
        let probe = self.probe_of(st);
        let reader_data = probe.and_then(|p| p.map_item_reader_data.clone());
        // The items and the per-item inputs.
        let read = match (&reader_data, &spec.distributed) {
            (None, Some(d)) => self.read_items(st, d, raw, &eff, scope).await?,
            _ => None,
        };
        // Where the items come from, for the context's `Map.Item.Source` (the items themselves
        // are taken out below).
        let mut origin = dmap::ReadItems {
            items: Vec::new(),
            sources: vec![(0, "STATE_DATA".to_string())],
        };
        let items: Vec<Value> = if let Some(data) = reader_data {
            // TestState's reader data: from the source the reader's request names (not known
            // for a LOAD_AND_FLATTEN listing, whose items come from each object it lists).
            let reader = spec.distributed.as_ref().and_then(|d| d.reader.as_ref());
            origin.sources = reader
                .filter(|r| {
                    r.config.get("Transformation").and_then(Value::as_str)
                        != Some("LOAD_AND_FLATTEN")
                })
                .and_then(|r| {
                    let request = self
                        .dist_request(st, &r.request, raw, &eff, scope, "ItemReader")
                        .ok()?;
                    dmap::reader_source(&r.resource, &request)
                })
                .map(|source| vec![(0, source)])
                .unwrap_or_default();
            data
        } else if let Some(mut read) = read {
            let items = std::mem::take(&mut read.items);
            origin = read;
            items
        } else if jsonata {
            match &spec.items {
                Some(items) => {
                    let states = self.states_value(raw, st, None, None, None);
                    match jsonata::eval_typed(
                        items,
                        &JEnv {
                            states: &states,
                            scope,
                        },
                        "Items",
                        "array",
                    )? {
                        Value::Array(a) => a,
                        _ => unreachable!("eval_typed checked the type"),
                    }
                }
                None => match raw {
                    Value::Array(a) => a.clone(),
                    other => {
                        return Err(Thrown::runtime(
                            names::QUERY_EVALUATION_ERROR,
                            format!(
                                "Map state input must be an array but was: {}",
                                to_json(other)
                            ),
                        ))
                    }
                },
            }
        } else {
            let found = match &spec.items_path {
                Some(p) => {
                    let env = self.penv(&eff, scope, st, None);
                    env.resolve(p)?
                        .map(Cow::into_owned)
                        .ok_or_else(|| invalid_path(p))?
                }
                None => eff.clone(),
            };
            match found {
                Value::Array(a) => {
                    self.inspect(st, "afterItemsPath", || Value::Array(a.clone()));
                    a
                }
                // AWS's answer (recorded through TestState, without the state's prefix): the
                // path, a context path (`$$`) written from `$`.
                _ => {
                    let path = spec.items_path.as_ref().map_or("$", |p| p.as_str());
                    let path = path
                        .strip_prefix('$')
                        .filter(|p| p.starts_with('$'))
                        .unwrap_or(path);
                    return Err(Thrown::plain(Failure::new(
                        names::RUNTIME,
                        format!("Reference path \"{path}\" must point to array."),
                    )));
                }
            }
        };
        let max_conc = match &spec.max_concurrency {
            Some(n) => self.num_spec(st, &eff, n, scope, "MaxConcurrency")? as usize,
            None => 0,
        };
        let tol_count = match &spec.tolerated_count {
            Some(n) => Some(self.num_spec(st, &eff, n, scope, "ToleratedFailureCount")?),
            None => None,
        };
        let tol_pct = match &spec.tolerated_percentage {
            Some(n) => Some(self.num_spec(st, &eff, n, scope, "ToleratedFailurePercentage")?),
            None => None,
        };
        // Each iteration's input: the ItemSelector's value, or the item itself (moved, not copied).
        let inputs: Vec<Value> = if let Some(t) = &spec.selector_path {
            items
                .iter()
                .enumerate()
                .map(|(i, item)| t.eval(&self.penv(&eff, scope, st, Some(origin.item(i, item)))))
                .collect::<Result<_, _>>()?
        } else if let Some(t) = &spec.selector_jsonata {
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let states = self.states_value(raw, st, Some(origin.item(i, item)), None, None);
                    jsonata::eval_template(
                        t,
                        &JEnv {
                            states: &states,
                            scope,
                        },
                        "ItemSelector",
                    )
                })
                .collect::<Result<_, _>>()?
        } else {
            items
        };
        let n = inputs.len();
        if probe.is_some() {
            if spec.selector_path.is_some() || spec.selector_jsonata.is_some() {
                self.inspect(st, "afterItemSelector", || Value::Array(inputs.clone()));
            }
            // API_InspectionData.html afterItemBatcher: the batches the children would get.
            if let Some(d) = spec.distributed.as_ref().filter(|d| d.batcher.is_some()) {
                let (batches, _) = self.batches(st, d, inputs.clone(), raw, &eff, scope)?;
                self.inspect(st, "afterItemBatcher", || Value::Array(batches));
            }
            self.inspect(st, "maxConcurrency", || json!(max_conc));
            if let Some(c) = tol_count {
                self.inspect(st, "toleratedFailureCount", || json!(c as u64));
            }
            if let Some(p) = tol_pct {
                self.inspect(st, "toleratedFailurePercentage", || json!(p));
            }
        }
        if let Some(mocked) = mocked {
            // TestState: the mock is the Map's result, and `mapIterationFailureCount` iterations
            // failed (https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestStateConfiguration.html).
            let result = mocked.map_err(mocked_failure)?;
            let failures = probe
                .and_then(|p| p.map_iteration_failure_count)
                .unwrap_or(0);
            let thresholds = tol_count.is_some() || tol_pct.is_some();
            if thresholds && exceeds_tolerated_failures(failures, n as u64, tol_count, tol_pct) {
                return Err(Thrown::plain(Failure::new(
                    names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                    "The specified tolerated failure threshold was exceeded",
                )));
            }
            return Ok(result);
        }
        let started = self.emit(prev, E::MapStateStarted, || {
            Some(("mapStateStartedEventDetails", json!({"length": n})))
        });
        let before = self.before(st);
        if let Some(d) = &spec.distributed {
            let r = self
                .map_run(
                    st,
                    spec,
                    d,
                    inputs,
                    (raw, &eff, scope),
                    prev,
                    (max_conc, tol_count, tol_pct),
                    before.map_run,
                )
                .await;
            let t = if r.is_ok() {
                E::MapStateSucceeded
            } else {
                E::MapStateFailed
            };
            self.emit(prev, t, || None);
            return r;
        }
        let parent = Arc::new(std::mem::take(scope));
        let name = &*st.node.name;
        let limit = if max_conc == 0 { n.max(1) } else { max_conc };
        // A redrive runs only the iterations that did not succeed before; the others' results
        // stay where they were.
        let mut done = before.done;
        let result = {
            let mut outs: Vec<Value> = vec![Value::Null; n];
            for (&i, v) in done.iter_mut() {
                if let Some(out) = outs.get_mut(i) {
                    *out = std::mem::take(v);
                }
            }
            let mut queue = inputs
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !done.contains_key(i));
            let mut running = FuturesUnordered::new();
            let mut failures = 0usize;
            let mut first_failure: Option<Failure> = None;
            let mut last = started;
            let spawn = |i: usize, input: Value, parent: Arc<Scope>| async move {
                let mut p = started;
                self.emit(&mut p, E::MapIterationStarted, || {
                    Some((
                        "mapIterationStartedEventDetails",
                        json!({"name": name, "index": i}),
                    ))
                });
                let mut scope = Scope::child(parent);
                let r = self
                    .run_graph(&spec.processor, input, &mut scope, &mut p)
                    .await;
                let (t, key) = if r.is_ok() {
                    (
                        E::MapIterationSucceeded,
                        "mapIterationSucceededEventDetails",
                    )
                } else {
                    (E::MapIterationFailed, "mapIterationFailedEventDetails")
                };
                self.emit(&mut p, t, || Some((key, json!({"name": name, "index": i}))));
                (i, r, p)
            };
            for _ in 0..limit {
                if let Some((i, input)) = queue.next() {
                    running.push(spawn(i, input, parent.clone()));
                }
            }
            let mut outcome: Result<(), Failure> = Ok(());
            while let Some((i, r, p)) = running.next().await {
                last = last.max(p);
                match r {
                    Ok(v) => outs[i] = v,
                    Err(f) => {
                        failures += 1;
                        outs[i] = f.to_error_output();
                        if first_failure.is_none() {
                            first_failure = Some(f.clone());
                        }
                        if exceeds_tolerated_failures(failures as u64, n as u64, tol_count, tol_pct)
                        {
                            outcome = Err(if tol_count.is_some() || tol_pct.is_some() {
                                Failure::new(
                                    names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                                    "The specified tolerated failure threshold was exceeded",
                                )
                            } else {
                                f
                            });
                            break;
                        }
                    }
                }
                if let Some((i, input)) = queue.next() {
                    running.push(spawn(i, input, parent.clone()));
                }
            }
            drop(running);
            *prev = last;
            outcome.map(|_| Value::Array(outs))
        };
        *scope = Arc::try_unwrap(parent).unwrap_or_default();
        match result {
            Ok(v) => {
                self.emit(prev, E::MapStateSucceeded, || None);
                Ok(v)
            }
            Err(f) => {
                self.emit(prev, E::MapStateFailed, || None);
                Err(Thrown::plain(f))
            }
        }
    }
}

/// A mocked Map or Parallel state's error (TestState's `mock.errorOutput`).
pub(super) fn mocked_failure(e: TaskError) -> Thrown {
    Thrown::plain(Failure {
        error: Some(e.error),
        cause: (!e.cause.is_empty()).then_some(e.cause),
    })
}

/// The Map state's number fields whose `*Path` may name an integer written as a string.
pub(super) const MAP_NUMBER_FIELDS: [&str; 3] = [
    "MaxConcurrency",
    "ToleratedFailureCount",
    "ToleratedFailurePercentage",
];

impl dmap::ReadItems {
    /// Item `index` (`value`) of a Map state reading from here, as its context object shows it.
    fn item<'v>(&'v self, index: usize, value: &'v Value) -> MapItem<'v> {
        MapItem {
            index,
            value,
            source: self.source_of(index),
        }
    }
}
