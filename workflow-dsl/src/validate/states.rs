//! Per-state-type rules: transitions, allowed fields, numeric limits, Wait durations, Fail errors,
//! Parallel branches and Map settings (<https://states-language.net/spec.html#state-types>).

use serde_json::Value;

use super::fields::{unknown_object_field, unknown_state_field, wrong_language};
use super::paths::{check_intrinsic, check_path, check_payload_template, PathKind};
use super::{assign, choice, errors, time, At, ScopeKind, Validator};
use crate::jsonata;
use crate::model::{
    Extra, FailState, MapState, NumberOrExpr, ParallelState, PassState, State, SucceedState,
    TaskState, WaitState,
};

/// Largest TimeoutSeconds, HeartbeatSeconds and Wait Seconds AWS accepts.
const MAX_SECONDS: f64 = 99_999_999.0;
/// Longest Map Label (<https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html>).
const MAX_LABEL: usize = 40;
/// Largest ItemBatcher MaxInputBytesPerBatch (256 KiB).
const MAX_BATCH_BYTES: f64 = 262_144.0;

impl<'m> Validator<'m> {
    /// Checks one state (and, through [`Validator::nested`], the workflows inside it).
    pub(crate) fn state(&mut self, at: &At, state: &'m State) {
        let type_name = state.type_name();
        for key in state.extra().keys() {
            self.report(at, key, unknown_state_field(type_name, key));
        }
        for field in present_fields(state) {
            if let Some(message) = wrong_language(field, at.jsonata()) {
                self.report(at, field, message);
            }
        }
        super::expressions::check_state(self, at, state);
        match state {
            State::Pass(s) => self.pass(at, s),
            State::Task(s) => self.task(at, s),
            State::Choice(s) => {
                common_io(self, at, &s.input_path, &None, &s.output_path, &s.output);
                if let Some(assign) = &s.assign {
                    assign_field(self, at, assign);
                }
                choice::choice_state(self, at, s);
            }
            State::Wait(s) => self.wait(at, s),
            State::Succeed(s) => self.succeed(at, s),
            State::Fail(s) => self.fail(at, s),
            State::Parallel(s) => self.parallel(at, s),
            State::Map(s) => self.map(at, s),
        }
        errors::retriers(self, at, state.retriers());
        errors::catchers(self, at, state.catchers());
        if !matches!(state, State::Choice(_) | State::Succeed(_) | State::Fail(_)) {
            let (next, end) = state.next_and_end();
            self.transition(at, next, end);
        }
        match state {
            State::Parallel(p) => {
                for (i, branch) in p.branches.iter().enumerate() {
                    self.nested(at, &format!("Branches[{i}]"), branch, ScopeKind::Branch);
                }
            }
            State::Map(m) => {
                if let Some(processor) = &m.item_processor {
                    self.nested(at, "ItemProcessor", processor, ScopeKind::Processor);
                }
                if let Some(iterator) = &m.iterator {
                    self.nested(at, "Iterator", iterator, ScopeKind::Processor);
                }
            }
            _ => {}
        }
    }

    /// Exactly one of `Next` and `End: true`.
    fn transition(&mut self, at: &At, next: Option<&str>, end: Option<bool>) {
        match (next, end) {
            (Some(_), Some(true)) => self.report(
                at,
                "End",
                "state has both Next and \"End\": true; use exactly one of them",
            ),
            (None, Some(true)) => {}
            (Some(next), _) => self.check_target(at, "Next", next),
            (None, _) => self.report(
                at,
                "",
                "state has neither Next nor \"End\": true; it must either name the next state or end the workflow",
            ),
        }
    }

    fn pass(&mut self, at: &At, s: &PassState) {
        common_io(
            self,
            at,
            &s.input_path,
            &s.result_path,
            &s.output_path,
            &s.output,
        );
        if let Some(parameters) = &s.parameters {
            template(self, at, "Parameters", parameters);
        }
        if let Some(assign) = &s.assign {
            assign_field(self, at, assign);
        }
    }

    fn task(&mut self, at: &At, s: &TaskState) {
        resource(self, at, "Resource", &s.resource);
        if s.resource.ends_with(".waitForTaskToken") && !passes_task_token(s) {
            let field = if at.jsonata() {
                "Arguments"
            } else {
                "Parameters"
            };
            let how = if at.jsonata() {
                "\"TaskToken\": \"{% $states.context.Task.Token %}\""
            } else {
                "\"TaskToken.$\": \"$$.Task.Token\""
            };
            self.report(
                at,
                field,
                format!(
                    "a .waitForTaskToken Task must pass the task token in its request ({field}: \
                     {how}), or nothing can ever call SendTaskSuccess for it and the state waits \
                     until it times out (https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html)"
                ),
            );
        }
        if at.scope.express {
            let r = &s.resource;
            if r.contains(".sync") || r.ends_with(".waitForTaskToken") {
                self.report(
                    at,
                    "Resource",
                    format!("Resource '{r}' uses the .sync or .waitForTaskToken integration pattern, which Express workflows do not support"),
                );
            } else if r.contains(":activity:") {
                self.report(
                    at,
                    "Resource",
                    format!(
                        "Resource '{r}' is an activity, which Express workflows do not support"
                    ),
                );
            }
        }
        common_io(
            self,
            at,
            &s.input_path,
            &s.result_path,
            &s.output_path,
            &s.output,
        );
        if let Some(parameters) = &s.parameters {
            template(self, at, "Parameters", parameters);
        }
        if let Some(arguments) = &s.arguments {
            template(self, at, "Arguments", arguments);
        }
        if let Some(credentials) = &s.credentials {
            template(self, at, "Credentials", credentials);
        }
        if let Some(selector) = &s.result_selector {
            template(self, at, "ResultSelector", selector);
        }
        if let Some(assign) = &s.assign {
            assign_field(self, at, assign);
        }
        let timeout = self.value_or_path(
            at,
            "TimeoutSeconds",
            s.timeout_seconds.as_ref(),
            s.timeout_seconds_path.as_deref(),
            Limits::integer(1.0, MAX_SECONDS, "a positive whole number of seconds"),
        );
        let heartbeat = self.value_or_path(
            at,
            "HeartbeatSeconds",
            s.heartbeat_seconds.as_ref(),
            s.heartbeat_seconds_path.as_deref(),
            Limits::integer(1.0, MAX_SECONDS, "a positive whole number of seconds"),
        );
        if let (Some(timeout), Some(heartbeat)) = (timeout, heartbeat) {
            if heartbeat >= timeout {
                self.report(
                    at,
                    "HeartbeatSeconds",
                    format!("HeartbeatSeconds ({heartbeat}) must be smaller than TimeoutSeconds ({timeout})"),
                );
            }
        }
    }

    fn wait(&mut self, at: &At, s: &WaitState) {
        common_io(self, at, &s.input_path, &None, &s.output_path, &s.output);
        if let Some(assign) = &s.assign {
            assign_field(self, at, assign);
        }
        let set: Vec<&str> = [
            ("Seconds", s.seconds.is_some()),
            ("SecondsPath", s.seconds_path.is_some()),
            ("Timestamp", s.timestamp.is_some()),
            ("TimestampPath", s.timestamp_path.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, present)| present.then_some(f))
        .collect();
        if set.len() != 1 {
            let found = if set.is_empty() {
                "none".to_owned()
            } else {
                set.join(", ")
            };
            self.report(
                at,
                "",
                format!("a Wait state needs exactly one of Seconds, SecondsPath, Timestamp and TimestampPath (found: {found})"),
            );
        }
        if let Some(seconds) = &s.seconds {
            self.number(
                at,
                "Seconds",
                seconds,
                Limits::integer(0.0, MAX_SECONDS, "a whole number of seconds, 0 or more"),
            );
        }
        if let Some(timestamp) = &s.timestamp {
            let expression = at.jsonata() && timestamp.starts_with("{%");
            if expression {
                if let Some(message) = jsonata::expression_problem(timestamp) {
                    self.report(at, "Timestamp", message);
                }
            } else if !time::is_rfc3339(timestamp) {
                self.report(
                    at,
                    "Timestamp",
                    format!("Timestamp '{timestamp}' is not an RFC 3339 timestamp such as \"2016-03-14T01:59:00Z\" (uppercase T and Z)"),
                );
            }
        }
        for (field, path) in [
            ("SecondsPath", &s.seconds_path),
            ("TimestampPath", &s.timestamp_path),
        ] {
            if let Some(path) = path {
                reference_path(self, at, field, path);
            }
        }
    }

    fn succeed(&mut self, at: &At, s: &SucceedState) {
        common_io(self, at, &s.input_path, &None, &s.output_path, &s.output);
    }

    fn fail(&mut self, at: &At, s: &FailState) {
        for (value_field, value, path_field, path) in [
            ("Error", &s.error, "ErrorPath", &s.error_path),
            ("Cause", &s.cause, "CausePath", &s.cause_path),
        ] {
            if value.is_some() && path.is_some() {
                self.report(
                    at,
                    path_field,
                    format!("a Fail state cannot have both {value_field} and {path_field}; use one of them"),
                );
            }
            if let Some(text) = value {
                if at.jsonata() && text.starts_with("{%") {
                    if let Some(message) = jsonata::expression_problem(text) {
                        self.report(at, value_field, message);
                    }
                } else if value_field == "Error" {
                    if let Some(message) = errors::error_name_problem(text) {
                        self.report(at, "Error", format!("Error: {message}"));
                    }
                }
            }
            if let Some(path) = path {
                let result = if path.starts_with("States.") {
                    check_intrinsic(path)
                } else {
                    check_path(path, PathKind::Path)
                };
                if let Err(e) = result {
                    self.report(
                        at,
                        path_field,
                        format!(
                            "{path_field} '{path}' must be a valid path or intrinsic function: {e}"
                        ),
                    );
                }
            }
        }
    }

    fn parallel(&mut self, at: &At, s: &ParallelState) {
        if s.branches.is_empty() {
            self.report(
                at,
                "Branches",
                "Branches is empty; a Parallel state needs at least one branch",
            );
        }
        common_io(
            self,
            at,
            &s.input_path,
            &s.result_path,
            &s.output_path,
            &s.output,
        );
        if let Some(parameters) = &s.parameters {
            template(self, at, "Parameters", parameters);
        }
        if let Some(arguments) = &s.arguments {
            template(self, at, "Arguments", arguments);
        }
        if let Some(selector) = &s.result_selector {
            template(self, at, "ResultSelector", selector);
        }
        if let Some(assign) = &s.assign {
            assign_field(self, at, assign);
        }
    }

    fn map(&mut self, at: &At, s: &MapState) {
        let processor = match (&s.item_processor, &s.iterator) {
            (Some(p), None) | (None, Some(p)) => Some(p),
            (Some(p), Some(_)) => {
                self.report(
                    at,
                    "Iterator",
                    "a Map state cannot have both ItemProcessor and its legacy name Iterator; keep ItemProcessor",
                );
                Some(p)
            }
            (None, None) => {
                self.report(
                    at,
                    "",
                    "a Map state needs an ItemProcessor (or the legacy Iterator) describing the workflow run for each item",
                );
                None
            }
        };
        let processor_field = if s.item_processor.is_some() {
            "ItemProcessor"
        } else {
            "Iterator"
        };
        let mut distributed = false;
        if let Some(config) = processor.and_then(|p| p.processor_config.as_ref()) {
            let field = format!("{processor_field}.ProcessorConfig");
            match config.mode.as_deref() {
                None | Some("INLINE") => {}
                Some("DISTRIBUTED") => distributed = true,
                Some(other) => self.report(
                    at,
                    &format!("{field}.Mode"),
                    format!("ProcessorConfig.Mode is '{other}'; it must be \"INLINE\" or \"DISTRIBUTED\""),
                ),
            }
            match config.execution_type.as_deref() {
                None if distributed => self.report(
                    at,
                    &format!("{field}.ExecutionType"),
                    "a DISTRIBUTED Map needs ProcessorConfig.ExecutionType (\"STANDARD\" or \"EXPRESS\") for its child workflows",
                ),
                None | Some("STANDARD" | "EXPRESS") => {}
                Some(other) => self.report(
                    at,
                    &format!("{field}.ExecutionType"),
                    format!("ProcessorConfig.ExecutionType is '{other}'; it must be \"STANDARD\" or \"EXPRESS\""),
                ),
            }
            for key in config.extra.keys() {
                self.report(
                    at,
                    &format!("{field}.{key}"),
                    format!(
                        "ProcessorConfig: {}",
                        unknown_object_field(key, "ProcessorConfig", &["Mode", "ExecutionType"])
                    ),
                );
            }
        }
        if distributed && at.scope.express {
            self.report(
                at,
                "",
                "a Distributed Map state cannot run inside an Express workflow",
            );
        }
        for (field, present) in [
            ("ItemReader", s.item_reader.is_some()),
            ("ItemBatcher", s.item_batcher.is_some()),
            ("ResultWriter", s.result_writer.is_some()),
            // ToleratedFailure* and Label are not refused: AWS accepts and runs an Inline Map
            // with ToleratedFailureCount/Percentage (recorded in the corpus:
            // evaluate_jsonata/base_evaluate_expressions__base_map_from_input__TOLERATED_*).
            // The builder offers them on `DistributedMap` only.
        ] {
            if present && !distributed {
                self.report(
                    at,
                    field,
                    format!("{field} is only allowed in a Distributed Map (ProcessorConfig.Mode \"DISTRIBUTED\")"),
                );
            }
        }
        common_io(
            self,
            at,
            &s.input_path,
            &s.result_path,
            &s.output_path,
            &s.output,
        );
        if let Some(path) = &s.items_path {
            reference_path(self, at, "ItemsPath", path);
        }
        if let Some(items) = &s.items {
            if at.jsonata() {
                let ok = match items {
                    Value::Array(_) => true,
                    Value::String(text) => jsonata::is_expression(text),
                    _ => false,
                };
                if !ok {
                    self.report(
                        at,
                        "Items",
                        format!("Items must be an array or a JSONata expression '{{% ... %}}', found {}", jsonata::shorten(&items.to_string())),
                    );
                } else {
                    template(self, at, "Items", items);
                }
            }
        }
        if s.item_selector.is_some() && s.parameters.is_some() {
            self.report(
                at,
                "Parameters",
                "a Map state cannot have both ItemSelector and its legacy name Parameters; keep ItemSelector",
            );
        }
        if let Some(selector) = &s.item_selector {
            template(self, at, "ItemSelector", selector);
        }
        if let Some(parameters) = &s.parameters {
            template(self, at, "Parameters", parameters);
        }
        if let Some(selector) = &s.result_selector {
            template(self, at, "ResultSelector", selector);
        }
        if let Some(assign) = &s.assign {
            assign_field(self, at, assign);
        }
        self.value_or_path(
            at,
            "MaxConcurrency",
            s.max_concurrency.as_ref(),
            s.max_concurrency_path.as_deref(),
            Limits::integer(0.0, f64::MAX, "a whole number, 0 (no limit) or more"),
        );
        self.value_or_path(
            at,
            "ToleratedFailureCount",
            s.tolerated_failure_count.as_ref(),
            s.tolerated_failure_count_path.as_deref(),
            Limits::integer(0.0, f64::MAX, "a whole number, 0 or more"),
        );
        self.value_or_path(
            at,
            "ToleratedFailurePercentage",
            s.tolerated_failure_percentage.as_ref(),
            s.tolerated_failure_percentage_path.as_deref(),
            Limits {
                min: 0.0,
                max: 100.0,
                integer: false,
                what: "a number from 0 to 100",
            },
        );
        if let Some(label) = &s.label {
            self.label(at, label);
        }
        if let Some(reader) = &s.item_reader {
            resource(self, at, "ItemReader.Resource", &reader.resource);
            if let Some(config) = &reader.reader_config {
                if !config.is_object() {
                    self.report(
                        at,
                        "ItemReader.ReaderConfig",
                        "ItemReader.ReaderConfig must be an object",
                    );
                }
            }
            self.sub_templates(at, "ItemReader", &reader.parameters, &reader.arguments);
            self.extra_keys(
                at,
                "ItemReader",
                &reader.extra,
                &["Resource", "ReaderConfig", "Parameters", "Arguments"],
            );
        }
        if let Some(batcher) = &s.item_batcher {
            self.value_or_path(
                at,
                "ItemBatcher.MaxItemsPerBatch",
                batcher.max_items_per_batch.as_ref(),
                batcher.max_items_per_batch_path.as_deref(),
                Limits::integer(1.0, f64::MAX, "a positive whole number"),
            );
            self.value_or_path(
                at,
                "ItemBatcher.MaxInputBytesPerBatch",
                batcher.max_input_bytes_per_batch.as_ref(),
                batcher.max_input_bytes_per_batch_path.as_deref(),
                Limits::integer(
                    1.0,
                    MAX_BATCH_BYTES,
                    "a positive whole number of bytes, at most 262144",
                ),
            );
            if let Some(input) = &batcher.batch_input {
                template(self, at, "ItemBatcher.BatchInput", input);
            }
            for (field, present) in [
                (
                    "MaxItemsPerBatchPath",
                    batcher.max_items_per_batch_path.is_some(),
                ),
                (
                    "MaxInputBytesPerBatchPath",
                    batcher.max_input_bytes_per_batch_path.is_some(),
                ),
            ] {
                if present {
                    if let Some(message) = wrong_language(field, at.jsonata()) {
                        self.report(at, &format!("ItemBatcher.{field}"), message);
                    }
                }
            }
            self.extra_keys(
                at,
                "ItemBatcher",
                &batcher.extra,
                &[
                    "MaxItemsPerBatch",
                    "MaxItemsPerBatchPath",
                    "MaxInputBytesPerBatch",
                    "MaxInputBytesPerBatchPath",
                    "BatchInput",
                ],
            );
        }
        if let Some(writer) = &s.result_writer {
            if let Some(r) = &writer.resource {
                resource(self, at, "ResultWriter.Resource", r);
            }
            self.sub_templates(at, "ResultWriter", &writer.parameters, &writer.arguments);
            self.extra_keys(
                at,
                "ResultWriter",
                &writer.extra,
                &["Resource", "Parameters", "Arguments", "WriterConfig"],
            );
            if let Some(config) = &writer.writer_config {
                self.writer_config(at, config);
            }
        }
    }

    /// `ResultWriter.WriterConfig`: `Transformation` NONE, COMPACT or FLATTEN and `OutputType`
    /// JSON or JSONL
    /// (<https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html>).
    fn writer_config(&mut self, at: &At, config: &Value) {
        let Some(config) = config.as_object() else {
            self.report(
                at,
                "ResultWriter.WriterConfig",
                "WriterConfig must be an object",
            );
            return;
        };
        for (key, allowed) in [
            ("Transformation", &["NONE", "COMPACT", "FLATTEN"][..]),
            ("OutputType", &["JSON", "JSONL"][..]),
        ] {
            if let Some(v) = config.get(key) {
                if !v.as_str().is_some_and(|v| allowed.contains(&v)) {
                    self.report(
                        at,
                        &format!("ResultWriter.WriterConfig.{key}"),
                        format!("{key} must be one of {}, not {v}", allowed.join(", ")),
                    );
                }
            }
        }
        for key in config.keys() {
            if key != "Transformation" && key != "OutputType" {
                self.report(
                    at,
                    &format!("ResultWriter.WriterConfig.{key}"),
                    format!(
                        "WriterConfig has no field '{key}' (it has Transformation and OutputType)"
                    ),
                );
            }
        }
    }

    fn label(&mut self, at: &At, label: &str) {
        if label.chars().count() > MAX_LABEL {
            self.report(
                at,
                "Label",
                format!(
                    "Label is {} characters long; it can have at most {MAX_LABEL}",
                    label.chars().count()
                ),
            );
        }
        const FORBIDDEN: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";
        if let Some(c) = label
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || FORBIDDEN.contains(*c))
        {
            self.report(
                at,
                "Label",
                format!("Label contains {c:?}, which is not allowed (no whitespace, control characters or any of {FORBIDDEN})"),
            );
        }
    }

    /// Parameters / Arguments of an ItemReader or ResultWriter.
    fn sub_templates(
        &mut self,
        at: &At,
        object: &str,
        parameters: &Option<Value>,
        arguments: &Option<Value>,
    ) {
        for (field, value) in [("Parameters", parameters), ("Arguments", arguments)] {
            if let Some(value) = value {
                let location = format!("{object}.{field}");
                if let Some(message) = wrong_language(field, at.jsonata()) {
                    self.report(at, &location, format!("{object}: {message}"));
                } else {
                    template(self, at, &location, value);
                }
            }
        }
    }

    fn extra_keys(&mut self, at: &At, object: &str, extra: &Extra, allowed: &[&str]) {
        for key in extra.keys() {
            self.report(
                at,
                &format!("{object}.{key}"),
                format!("{object}: {}", unknown_object_field(key, object, allowed)),
            );
        }
    }

    /// A numeric field with its `...Path` twin: never both; returns the literal value if any.
    fn value_or_path(
        &mut self,
        at: &At,
        field: &str,
        value: Option<&NumberOrExpr>,
        path: Option<&str>,
        limits: Limits,
    ) -> Option<f64> {
        let path_field = format!("{field}Path");
        if value.is_some() && path.is_some() {
            let short = field.rsplit('.').next().unwrap_or(field);
            self.report(
                at,
                &path_field,
                format!("{short} and {short}Path cannot both be set; use one of them"),
            );
        }
        if let Some(path) = path {
            reference_path(self, at, &path_field, path);
        }
        value.and_then(|v| self.number(at, field, v, limits))
    }

    /// A number (or, in JSONata, a `{% %}` expression) within `limits`; returns the literal.
    fn number(
        &mut self,
        at: &At,
        field: &str,
        value: &NumberOrExpr,
        limits: Limits,
    ) -> Option<f64> {
        match value {
            NumberOrExpr::Expr(text) => {
                if !at.jsonata() {
                    self.report(
                        at,
                        field,
                        format!("{field} must be a number in a JSONPath state, found '{}' (use {field}Path to read it from the input)", jsonata::shorten(text)),
                    );
                } else if !jsonata::is_expression(text) {
                    self.report(
                        at,
                        field,
                        format!("{field} must be a number or a JSONata expression '{{% ... %}}', found '{}'", jsonata::shorten(text)),
                    );
                } else if let Some(message) = jsonata::expression_problem(text) {
                    self.report(at, field, message);
                }
                None
            }
            NumberOrExpr::Number(n) => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                let whole = n.is_u64() || n.is_i64() || f.fract() == 0.0;
                if f < limits.min || f > limits.max || (limits.integer && !whole) {
                    self.report(
                        at,
                        field,
                        format!("{field} is {n}; it must be {}", limits.what),
                    );
                    None
                } else {
                    Some(f)
                }
            }
        }
    }
}

/// Accepted range of a numeric field.
struct Limits {
    min: f64,
    max: f64,
    integer: bool,
    what: &'static str,
}

impl Limits {
    fn integer(min: f64, max: f64, what: &'static str) -> Self {
        Limits {
            min,
            max,
            integer: true,
            what,
        }
    }
}

/// The model fields a state has set, by ASL name (for the query-language rules).
fn present_fields(state: &State) -> Vec<&'static str> {
    fn set<T>(out: &mut Vec<&'static str>, name: &'static str, value: &Option<T>) {
        if value.is_some() {
            out.push(name);
        }
    }
    let mut out = Vec::new();
    match state {
        State::Pass(s) => {
            set(&mut out, "InputPath", &s.input_path);
            set(&mut out, "Parameters", &s.parameters);
            set(&mut out, "Result", &s.result);
            set(&mut out, "ResultPath", &s.result_path);
            set(&mut out, "OutputPath", &s.output_path);
            set(&mut out, "Output", &s.output);
        }
        State::Task(s) => {
            set(&mut out, "InputPath", &s.input_path);
            set(&mut out, "Parameters", &s.parameters);
            set(&mut out, "Arguments", &s.arguments);
            set(&mut out, "ResultSelector", &s.result_selector);
            set(&mut out, "ResultPath", &s.result_path);
            set(&mut out, "OutputPath", &s.output_path);
            set(&mut out, "Output", &s.output);
            set(&mut out, "TimeoutSecondsPath", &s.timeout_seconds_path);
            set(&mut out, "HeartbeatSecondsPath", &s.heartbeat_seconds_path);
        }
        State::Choice(s) => {
            set(&mut out, "InputPath", &s.input_path);
            set(&mut out, "OutputPath", &s.output_path);
            set(&mut out, "Output", &s.output);
        }
        State::Wait(s) => {
            set(&mut out, "InputPath", &s.input_path);
            set(&mut out, "SecondsPath", &s.seconds_path);
            set(&mut out, "TimestampPath", &s.timestamp_path);
            set(&mut out, "OutputPath", &s.output_path);
            set(&mut out, "Output", &s.output);
        }
        State::Succeed(s) => {
            set(&mut out, "InputPath", &s.input_path);
            set(&mut out, "OutputPath", &s.output_path);
            set(&mut out, "Output", &s.output);
        }
        State::Fail(s) => {
            set(&mut out, "ErrorPath", &s.error_path);
            set(&mut out, "CausePath", &s.cause_path);
        }
        State::Parallel(s) => {
            set(&mut out, "InputPath", &s.input_path);
            set(&mut out, "Parameters", &s.parameters);
            set(&mut out, "Arguments", &s.arguments);
            set(&mut out, "ResultSelector", &s.result_selector);
            set(&mut out, "ResultPath", &s.result_path);
            set(&mut out, "OutputPath", &s.output_path);
            set(&mut out, "Output", &s.output);
        }
        State::Map(s) => {
            set(&mut out, "InputPath", &s.input_path);
            set(&mut out, "ItemsPath", &s.items_path);
            set(&mut out, "Items", &s.items);
            set(&mut out, "Parameters", &s.parameters);
            set(&mut out, "MaxConcurrencyPath", &s.max_concurrency_path);
            set(
                &mut out,
                "ToleratedFailureCountPath",
                &s.tolerated_failure_count_path,
            );
            set(
                &mut out,
                "ToleratedFailurePercentagePath",
                &s.tolerated_failure_percentage_path,
            );
            set(&mut out, "ResultSelector", &s.result_selector);
            set(&mut out, "ResultPath", &s.result_path);
            set(&mut out, "OutputPath", &s.output_path);
            set(&mut out, "Output", &s.output);
        }
    }
    out
}

/// InputPath, ResultPath, OutputPath (JSONPath) and Output (JSONata), in that order.
fn common_io(
    v: &mut Validator,
    at: &At,
    input_path: &Option<Option<String>>,
    result_path: &Option<Option<String>>,
    output_path: &Option<Option<String>>,
    output: &Option<Value>,
) {
    if at.jsonata() {
        if let Some(output) = output {
            template(v, at, "Output", output);
        }
        return;
    }
    for (field, path, kind) in [
        ("InputPath", input_path, PathKind::Path),
        ("ResultPath", result_path, PathKind::Result),
        ("OutputPath", output_path, PathKind::Path),
    ] {
        if let Some(Some(path)) = path {
            if let Err(e) = check_path(path, kind) {
                let what = if kind == PathKind::Result {
                    "Reference Path"
                } else {
                    "path"
                };
                v.report(
                    at,
                    field,
                    format!("{field} '{path}' is not a valid {what}: {e}"),
                );
            }
        }
    }
}

/// A `...Path` field holding a Reference Path (into the input, the context or a variable).
fn reference_path(v: &mut Validator, at: &At, field: &str, path: &str) {
    if at.jsonata() {
        // Already reported as a JSONPath-only field.
        return;
    }
    if let Err(e) = check_path(path, PathKind::Reference) {
        v.report(
            at,
            field,
            format!("{field} '{path}' is not a valid Reference Path: {e}"),
        );
    }
}

/// True when a Task's request reads the task token: `$$.Task.Token` (or `$$.Task`, `$$`) in a
/// JSONPath `.$` value or intrinsic function, or `$states.context.Task.Token` (or
/// `$states.context.Task`, `$states.context`) in a JSONata expression.
pub(crate) fn passes_task_token(s: &TaskState) -> bool {
    fn reads_token(value: &Value) -> bool {
        match value {
            Value::String(text) if crate::jsonata::is_expression(text) => {
                crate::jsonata::references(&text[2..text.len() - 2])
                    .states
                    .iter()
                    .any(|r| {
                        r.path.first().map(String::as_str) == Some("context")
                            && r.path.get(1).is_none_or(|p| p == "Task")
                            && r.path.get(2).is_none_or(|p| p == "Token")
                    })
            }
            Value::Object(map) => map.iter().any(|(key, child)| {
                if key.ends_with(".$") {
                    if let Value::String(path) = child {
                        let token_path =
                            |p: &str| p == "$$" || p == "$$.Task" || p == "$$.Task.Token";
                        return token_path(path)
                            || crate::intrinsics::referenced_paths(path)
                                .iter()
                                .any(|p| token_path(p));
                    }
                }
                reads_token(child)
            }),
            Value::Array(items) => items.iter().any(reads_token),
            _ => false,
        }
    }
    s.parameters.as_ref().is_some_and(reads_token) || s.arguments.as_ref().is_some_and(reads_token)
}

/// A Task or ItemReader/ResultWriter `Resource`: a URI, normally an ARN, or a whole SAM/CDK
/// `DefinitionSubstitutions` placeholder (`${ValidateFunctionArn}`), which the deployment
/// replaces by an ARN
/// (<https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-statemachine.html#sam-statemachine-definitionsubstitutions>).
fn resource(v: &mut Validator, at: &At, field: &str, resource: &str) {
    let placeholder = resource
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .is_some_and(|name| !name.is_empty() && !name.contains(['$', '{', '}']));
    if placeholder {
        return;
    }
    let scheme = resource.split(':').next().unwrap_or("");
    let uri = resource.contains(':')
        && !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !uri {
        v.report(
            at,
            field,
            format!("{field} '{resource}' is not a URI; it must identify the task, e.g. an ARN such as arn:aws:states:::lambda:invoke"),
        );
    }
}

/// A payload template in the state's language: `key.$` rules in JSONPath, `{% %}` in JSONata.
fn template(v: &mut Validator, at: &At, field: &str, value: &Value) {
    let found = if at.jsonata() {
        jsonata::check_template(value)
    } else {
        check_payload_template(value)
    };
    for (suffix, message) in found {
        v.report(
            at,
            &format!("{field}{suffix}"),
            format!("{field}: {message}"),
        );
    }
}

fn assign_field(v: &mut Validator, at: &At, value: &Value) {
    assign::assign(v, at, "Assign", value);
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn present_fields_lists_the_set_jsonpath_fields() {
        let state = State::Pass(PassState {
            input_path: Some(None),
            ..Default::default()
        });
        assert_eq!(present_fields(&state), vec!["InputPath"]);
    }
}
