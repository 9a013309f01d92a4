//! Path checking: every JSONPath of a workflow is resolved against the JSON Schema of the data
//! that reaches its state, so a reference to a field that does not exist is found at emit time.
//!
//! The checker follows the data through the graph the way Step Functions processes it
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html>):
//! `InputPath` -> `Parameters` -> task result -> `ResultSelector` -> `ResultPath` ->
//! `OutputPath`, with Catch outputs, Parallel branches and Map iterations. It checks
//! `InputPath`, `OutputPath`, `Parameters`/`ResultSelector`/`ItemSelector` `.$` fields (paths and
//! the paths inside intrinsic functions), Choice `Variable`s and `...Path` operands, `ItemsPath`,
//! Wait `SecondsPath`/`TimestampPath`, Fail `ErrorPath`/`CausePath`, and `ResultPath` syntax.
//! Context paths (`$$.`) are checked against the context object; variables (`$name`) and
//! JSONata states are not checked.
//!
//! ```
//! use serde_json::json;
//! use workflow_dsl::{paths, StateMachine};
//!
//! let machine = StateMachine::from_value(json!({
//!     "StartAt": "Greet",
//!     "States": { "Greet": { "Type": "Pass", "Parameters": { "who.$": "$.nmae" }, "End": true } }
//! })).unwrap();
//! let input = json!({ "type": "object", "properties": { "name": { "type": "string" } } });
//! let errors = paths::check(&machine, &input);
//! assert_eq!(
//!     errors[0].to_string(),
//!     "State 'Greet': path '$.nmae' in Parameters.who.$ does not exist; fields at '$': name"
//! );
//! ```

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use serde_json::{json, Value};

use crate::builder::{Built, Meta};
use crate::intrinsics;
use crate::model::{ChoiceCondition, ChoiceRule, QueryLanguage, State, StateMachine, States};
use crate::schema::Declared;
use crate::schema::{self, Lookup, Missing, Step};

/// A path that does not fit the data (or a declared type that does not), with what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    /// The state where the path is written.
    pub state: String,
    /// The field holding the path, e.g. `Parameters.token.$`, `Choices[0].Variable`.
    pub location: String,
    /// The path as written (empty for declared-type mismatches).
    pub path: String,
    /// The explanation, naming the fields that do exist.
    pub message: String,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "State '{}': {}", self.state, self.message)
    }
}

/// Where a path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// `$`: the state's (effective) input.
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a variable.
    Variable(String),
}

/// Parses a JSONPath into its root and steps.
pub fn parse(path: &str) -> Result<(Root, Vec<Step>), String> {
    let Some(rest) = path.strip_prefix('$') else {
        return Err("a path starts with '$'".into());
    };
    let (root, mut rest) = if let Some(rest) = rest.strip_prefix('$') {
        (Root::Context, rest)
    } else if rest.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        (Root::Variable(rest[..end].to_owned()), &rest[end..])
    } else {
        (Root::Input, rest)
    };
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("..") {
            let _ = after;
            steps.push(Step::Opaque);
            break;
        } else if let Some(after) = rest.strip_prefix(".*") {
            steps.push(Step::Wildcard);
            rest = after;
        } else if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            if end == 0 {
                return Err("empty field name after '.'".into());
            }
            steps.push(Step::Field(after[..end].to_owned()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            if let Some(quoted) = after.strip_prefix('\'').or_else(|| after.strip_prefix('"')) {
                let quote = after.as_bytes()[0] as char;
                let Some(end) = quoted.find(quote) else {
                    return Err("unterminated quoted field name".into());
                };
                let Some(after) = quoted[end + 1..].strip_prefix(']') else {
                    return Err("expected ']' after a quoted field name".into());
                };
                steps.push(Step::Field(quoted[..end].to_owned()));
                rest = after;
            } else {
                let Some(end) = after.find(']') else {
                    return Err("unterminated '['".into());
                };
                let inner = after[..end].trim();
                if inner == "*" {
                    steps.push(Step::Wildcard);
                } else if let Ok(index) = inner.parse::<i64>() {
                    steps.push(Step::Index(index));
                } else {
                    steps.push(Step::Opaque);
                    break;
                }
                rest = &after[end + 1..];
            }
        } else {
            return Err(format!("unexpected '{rest}' (use '.field' or ['field'])"));
        }
    }
    Ok((root, steps))
}

fn render(root: &Root, steps: &[Step]) -> String {
    let mut out = match root {
        Root::Input => "$".to_owned(),
        Root::Context => "$$".to_owned(),
        Root::Variable(name) => format!("${name}"),
    };
    for step in steps {
        match step {
            Step::Field(name) if name.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                out.push('.');
                out.push_str(name);
            }
            Step::Field(name) => out.push_str(&format!("['{name}']")),
            Step::Index(i) => out.push_str(&format!("[{i}]")),
            Step::Wildcard => out.push_str("[*]"),
            Step::Opaque => out.push_str(".."),
        }
    }
    out
}

/// "a string", "an array or a null".
fn a(types: &[String]) -> String {
    if types.is_empty() {
        return "of unknown type".to_owned();
    }
    types
        .iter()
        .map(|t| match t.as_str() {
            "array" | "object" | "integer" => format!("an {t}"),
            other => format!("a {other}"),
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

fn list(fields: &[String]) -> String {
    if fields.is_empty() {
        "(none declared)".to_owned()
    } else {
        fields.join(", ")
    }
}

/// Checks every path of `machine` against `input_schema` (the schema of the execution input;
/// `true` if unknown). Task results are unknown, so paths below a Task's result are accepted.
pub fn check(machine: &StateMachine, input_schema: &Value) -> Vec<PathError> {
    let meta = Meta::default();
    Checker::new(&meta, input_schema.clone(), machine.query_language).run(machine)
}

/// Checks a built workflow, using the schemas of typed task results and declared types.
pub fn check_built(built: &Built) -> Vec<PathError> {
    Checker::new(
        &built.meta,
        built.input_schema.clone(),
        built.machine.query_language,
    )
    .run(&built.machine)
}

fn union_all(schemas: Vec<Value>) -> Value {
    let mut unique: Vec<Value> = Vec::new();
    for schema in schemas {
        if schema == Value::Bool(true) {
            return Value::Bool(true);
        }
        if !unique.contains(&schema) {
            unique.push(schema);
        }
    }
    match unique.len() {
        0 => Value::Bool(true),
        1 => unique.pop().expect("one"),
        _ => json!({ "anyOf": unique }),
    }
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "properties": { "Error": { "type": "string" }, "Cause": { "type": "string" } },
        "required": ["Error", "Cause"],
    })
}

/// What a JSONata field can read besides variables.
struct Env {
    input: Value,
    /// `$states.result` (Output and Assign of Task, Map and Parallel states).
    result: Option<Value>,
    /// `$states.errorOutput` is available (a Catcher's Output and Assign).
    error: bool,
}

/// The schema of one item a distributed Map's ItemReader produces
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html>): an
/// object of the S3 listing, a CSV row (an object of strings), or anything for JSON files (and
/// Parquet files, whose schema is in the file).
fn reader_item(reader: &crate::model::ItemReader) -> Value {
    let config = reader.reader_config.as_ref();
    let input_type = config
        .and_then(|c| c.get("InputType"))
        .and_then(Value::as_str);
    if reader.resource.ends_with(":s3:listObjectsV2") {
        return schema::of::<crate::builder::distributed::S3ObjectItem>();
    }
    if input_type == Some("CSV") || input_type == Some("MANIFEST") {
        let mut item = json!({ "type": "object", "additionalProperties": { "type": "string" } });
        if let Some(Value::Array(headers)) = config.and_then(|c| c.get("CSVHeaders")) {
            let properties: serde_json::Map<String, Value> = headers
                .iter()
                .filter_map(Value::as_str)
                .map(|h| (h.to_owned(), json!({ "type": "string" })))
                .collect();
            let required: Vec<&String> = properties.keys().collect();
            item["required"] = json!(required);
            item["properties"] = Value::Object(properties);
        }
        return item;
    }
    Value::Bool(true)
}

/// With an ItemBatcher, each iteration receives `{"Items": [...], "BatchInput": ...}`
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html>).
fn batched(map: &crate::model::MapState, item: Value, batch_input: Option<Value>) -> Value {
    match &map.item_batcher {
        None => item,
        Some(_) => {
            let batch_input = batch_input.unwrap_or(Value::Bool(true));
            json!({
                "type": "object",
                "properties": {
                    "Items": { "type": "array", "items": item },
                    "BatchInput": batch_input,
                },
                "required": ["Items"],
            })
        }
    }
}

/// A Map's result: the array of the iterations' outputs, or with a ResultWriter the Map Run
/// and where its results are.
fn map_result(map: &crate::model::MapState, processor_output: Value) -> Value {
    if map.result_writer.is_some() {
        schema::of::<crate::builder::distributed::MapRunResult>()
    } else {
        json!({ "type": "array", "items": processor_output })
    }
}

fn collect_languages(states: &States, out: &mut BTreeMap<String, QueryLanguage>) {
    for (name, state) in states {
        if let Some(language) = state.query_language() {
            out.insert(name.clone(), language);
        }
        for sub in state.sub_workflows() {
            collect_languages(&sub.states, out);
        }
    }
}

/// Follows `fields` down `schema`, `None` when a field is not there.
fn follow(schema: &Value, fields: &[String]) -> Option<Value> {
    let mut current = schema.clone();
    for field in fields {
        match schema::child(&current, &Step::Field(field.clone())) {
            Lookup::Found(next) => current = next,
            _ => return None,
        }
    }
    Some(current)
}

struct Checker<'a> {
    meta: &'a Meta,
    /// Each state's own QueryLanguage, where it sets one.
    languages: BTreeMap<String, QueryLanguage>,
    execution_input: Value,
    default_language: Option<QueryLanguage>,
    map_item: Option<Value>,
    errors: Vec<PathError>,
}

/// What one state passes on.
struct Outcome {
    output: Value,
    edges: Vec<(String, Value)>,
    ends: bool,
}

impl<'a> Checker<'a> {
    fn new(meta: &'a Meta, execution_input: Value, language: Option<QueryLanguage>) -> Self {
        Checker {
            meta,
            languages: BTreeMap::new(),
            execution_input,
            default_language: language,
            map_item: None,
            errors: Vec::new(),
        }
    }

    fn run(mut self, machine: &StateMachine) -> Vec<PathError> {
        collect_languages(&machine.states, &mut self.languages);
        let input = self.execution_input.clone();
        self.graph(&machine.start_at, &machine.states, input);
        self.errors
    }

    fn error(&mut self, state: &str, location: &str, path: &str, message: String) {
        self.errors.push(PathError {
            state: state.to_owned(),
            location: location.to_owned(),
            path: path.to_owned(),
            message,
        });
    }

    fn context_schema(&self) -> Value {
        let string = json!({ "type": "string" });
        let mut properties = json!({
            "Execution": { "type": "object", "properties": {
                "Id": string, "Input": self.execution_input, "Name": string, "RoleArn": string,
                "StartTime": string, "RedriveCount": { "type": "integer" },
                "RedriveStatus": string, "RedriveTime": string,
            }},
            "State": { "type": "object", "properties": {
                "EnteredTime": string, "Name": string, "RetryCount": { "type": "integer" },
            }},
            "StateMachine": { "type": "object", "properties": { "Id": string, "Name": string } },
            "Task": { "type": "object", "properties": { "Token": string } },
        });
        if let Some(item) = &self.map_item {
            properties["Map"] = json!({ "type": "object", "properties": { "Item": {
                "type": "object",
                "properties": { "Index": { "type": "integer" }, "Value": item, "Key": string, "Source": string },
            }}});
        }
        json!({ "type": "object", "properties": properties })
    }

    /// Resolves `path` (written at `location` of `state`) against `input`; reports what is
    /// wrong and returns `true` (anything) then.
    fn resolve(&mut self, state: &str, location: &str, path: &str, input: &Value) -> Value {
        let (root, steps) = match parse(path) {
            Ok(parsed) => parsed,
            Err(reason) => {
                self.error(
                    state,
                    location,
                    path,
                    format!("path '{path}' in {location} is not a valid JSONPath: {reason}"),
                );
                return Value::Bool(true);
            }
        };
        let mut current = match &root {
            Root::Input => input.clone(),
            Root::Context => self.context_schema(),
            Root::Variable(name) => match self.meta.variables.get(name) {
                Some(declared) => declared.schema.clone(),
                None => return Value::Bool(true),
            },
        };
        for (i, step) in steps.iter().enumerate() {
            let prefix = render(&root, &steps[..i]);
            let message = match schema::child(&current, step) {
                Lookup::Found(next) => {
                    current = next;
                    continue;
                }
                Lookup::Unknown => return Value::Bool(true),
                Lookup::Missing(Missing::NoField { available }) => format!(
                    "path '{path}' in {location} does not exist; fields at '{prefix}': {}",
                    list(&available)
                ),
                Lookup::Missing(Missing::NotObject { types }) => format!(
                    "path '{path}' in {location} does not exist: '{prefix}' is {}, not an object",
                    a(&types)
                ),
                Lookup::Missing(Missing::NotArray { types }) => format!(
                    "path '{path}' in {location} does not exist: '{prefix}' is {}, not an array",
                    if types.is_empty() {
                        "not known to be an array".to_owned()
                    } else {
                        a(&types)
                    }
                ),
                Lookup::Missing(Missing::Impossible) => format!(
                    "path '{path}' in {location} does not exist: '{prefix}' never has a value"
                ),
            };
            self.error(state, location, path, message);
            return Value::Bool(true);
        }
        current
    }

    /// Evaluates a payload template (`Parameters`, `ResultSelector`, `ItemSelector`).
    fn template(&mut self, state: &str, location: &str, template: &Value, input: &Value) -> Value {
        let Value::Object(map) = template else {
            return schema::of_value(template);
        };
        let mut properties = serde_json::Map::new();
        for (key, value) in map {
            let here = format!("{location}.{key}");
            match (key.strip_suffix(".$"), value) {
                (Some(field), Value::String(expression)) => {
                    let schema = if expression.starts_with("States.") {
                        for path in intrinsics::referenced_paths(expression) {
                            self.resolve(state, &here, &path, input);
                        }
                        match intrinsics::result_type(expression) {
                            Some(kind) => json!({ "type": kind }),
                            None => Value::Bool(true),
                        }
                    } else {
                        self.resolve(state, &here, expression, input)
                    };
                    properties.insert(field.to_owned(), schema);
                }
                (Some(field), _) => {
                    self.error(
                        state,
                        &here,
                        "",
                        format!("{here} must be a string (a path or an intrinsic function)"),
                    );
                    properties.insert(field.to_owned(), Value::Bool(true));
                }
                (None, nested @ Value::Object(_)) => {
                    let schema = self.template(state, &here, nested, input);
                    properties.insert(key.clone(), schema);
                }
                (None, literal) => {
                    properties.insert(key.clone(), schema::of_value(literal));
                }
            }
        }
        let required: Vec<&String> = properties.keys().collect();
        json!({ "type": "object", "properties": properties, "required": required })
    }

    fn input_path(&mut self, state: &str, path: &Option<Option<String>>, input: &Value) -> Value {
        match path {
            None => input.clone(),
            Some(None) => json!({ "type": "object", "properties": {} }),
            Some(Some(p)) => self.resolve(state, "InputPath", p, input),
        }
    }

    fn output_path(&mut self, state: &str, path: &Option<Option<String>>, value: &Value) -> Value {
        match path {
            None => value.clone(),
            Some(None) => json!({ "type": "object", "properties": {} }),
            Some(Some(p)) => self.resolve(state, "OutputPath", p, value),
        }
    }

    fn result_path(
        &mut self,
        state: &str,
        location: &str,
        path: &Option<Option<String>>,
        raw_input: &Value,
        result: Value,
    ) -> Value {
        match path {
            None => result,
            Some(None) => raw_input.clone(),
            Some(Some(p)) => match parse(p) {
                Ok((Root::Input, steps))
                    if !steps
                        .iter()
                        .any(|s| *s == Step::Opaque || *s == Step::Wildcard) =>
                {
                    schema::set_at(raw_input, &steps, result)
                }
                Ok(_) => {
                    self.error(
                        state,
                        location,
                        p,
                        format!(
                            "{location} '{p}' must be a reference path into the state input \
                             ('$', '$.field', '$.a.b'), without wildcards or filters"
                        ),
                    );
                    Value::Bool(true)
                }
                Err(reason) => {
                    self.error(
                        state,
                        location,
                        p,
                        format!("{location} '{p}' is not a valid JSONPath: {reason}"),
                    );
                    Value::Bool(true)
                }
            },
        }
    }

    fn choice_rule(&mut self, state: &str, location: &str, rule: &ChoiceRule, input: &Value) {
        match &rule.condition {
            ChoiceCondition::And(rules) | ChoiceCondition::Or(rules) => {
                let kind = if matches!(rule.condition, ChoiceCondition::And(_)) {
                    "And"
                } else {
                    "Or"
                };
                for (i, nested) in rules.iter().enumerate() {
                    self.choice_rule(state, &format!("{location}.{kind}[{i}]"), nested, input);
                }
            }
            ChoiceCondition::Not(nested) => {
                self.choice_rule(state, &format!("{location}.Not"), nested, input)
            }
            ChoiceCondition::Comparison {
                variable,
                operator,
                operand,
            } => {
                // IsPresent/IsNull test existence: a missing field is what they look for only
                // if the schema says the field may be absent; still, a typo is a typo.
                let field = self.resolve(state, &format!("{location}.Variable"), variable, input);
                self.operand_type(
                    state,
                    &format!("{location}.Variable"),
                    variable,
                    &field,
                    *operator,
                );
                if operator.is_path() {
                    if let Value::String(other) = operand {
                        let at = format!("{location}.{}", operator.name());
                        let other_schema = self.resolve(state, &at, other, input);
                        self.operand_type(state, &at, other, &other_schema, *operator);
                    }
                }
            }
            ChoiceCondition::Jsonata(_) | ChoiceCondition::Missing { .. } => {}
        }
    }

    /// A comparison of a value whose schema says it is never of the type the operator compares
    /// (`NumericEquals` on a string field) can never match: reported at emit
    /// (<https://states-language.net/spec.html#choice-state>).
    fn operand_type(
        &mut self,
        state: &str,
        location: &str,
        path: &str,
        schema: &Value,
        operator: crate::model::ComparisonOperator,
    ) {
        let Some(wanted) = operator.compared_type() else {
            return;
        };
        let types = schema::types(schema);
        if !wanted_type_fits(wanted, &types) {
            self.error(
                state,
                location,
                path,
                format!(
                    "{location} '{path}' is {}, but {} compares {}; the rule can never match \
                     (compare with an operator of the field's type, or fix the path)",
                    a(&types),
                    operator.name(),
                    match wanted {
                        "timestamp" => "timestamps (strings)".to_owned(),
                        other => format!("{other}s"),
                    }
                ),
            );
        }
    }

    /// `SecondsPath` must select an integer, `TimestampPath` a string.
    fn duration_type(&mut self, state: &str, location: &str, path: &str, schema: &Value) {
        let wanted = if location == "SecondsPath" {
            "number"
        } else {
            "timestamp"
        };
        let types = schema::types(schema);
        if !wanted_type_fits(wanted, &types) {
            self.error(
                state,
                location,
                path,
                format!(
                    "{location} '{path}' is {}, but it must select {}",
                    a(&types),
                    if wanted == "number" {
                        "a number of seconds"
                    } else {
                        "an RFC 3339 timestamp string"
                    }
                ),
            );
        }
    }

    fn conforms(&mut self, state: &str, what: &str, declared: &Declared, computed: &Value) {
        let mut problems = Vec::new();
        conformance(&declared.schema, computed, "$".to_owned(), &mut problems, 0);
        for problem in problems {
            self.error(
                state,
                what,
                "",
                format!(
                    "{what} is declared as `{}` but {problem}; fix the data flow (Parameters, \
                     ResultPath, OutputPath) or the declared type",
                    declared.type_name
                ),
            );
        }
    }

    fn catches(
        &mut self,
        state_name: &str,
        state: &State,
        raw_input: &Value,
    ) -> Vec<(String, Value)> {
        let mut edges = Vec::new();
        for (i, catcher) in state.catchers().iter().enumerate() {
            let output = self.result_path(
                state_name,
                &format!("Catch[{i}].ResultPath"),
                &catcher.result_path,
                raw_input,
                error_schema(),
            );
            edges.push((catcher.next.clone(), output));
        }
        edges
    }

    fn state(&mut self, name: &str, state: &State, input: &Value) -> Outcome {
        let language = state.query_language().or(self.default_language);
        if language == Some(QueryLanguage::JSONata) {
            return self.jsonata_state(name, state, input);
        }
        let next = |output: &Value| match state.next_and_end() {
            (Some(next), _) => vec![(next.to_owned(), output.clone())],
            _ => Vec::new(),
        };
        match state {
            State::Pass(s) => {
                let effective = self.input_path(name, &s.input_path, input);
                let result = if let Some(result) = &s.result {
                    schema::of_value(result)
                } else if let Some(parameters) = &s.parameters {
                    self.template(name, "Parameters", parameters, &effective)
                } else {
                    effective
                };
                let merged = self.result_path(name, "ResultPath", &s.result_path, input, result);
                let output = self.output_path(name, &s.output_path, &merged);
                Outcome {
                    edges: next(&output),
                    output,
                    ends: s.end == Some(true),
                }
            }
            State::Task(s) => {
                let effective = self.input_path(name, &s.input_path, input);
                if let Some(parameters) = &s.parameters {
                    let built = self.template(name, "Parameters", parameters, &effective);
                    self.check_arguments(name, &built);
                }
                for (location, path) in [
                    ("TimeoutSecondsPath", &s.timeout_seconds_path),
                    ("HeartbeatSecondsPath", &s.heartbeat_seconds_path),
                ] {
                    if let Some(path) = path {
                        self.resolve(name, location, path, &effective);
                    }
                }
                let mut result = self
                    .meta
                    .result_schemas
                    .get(name)
                    .cloned()
                    .unwrap_or(Value::Bool(true));
                if let Some(selector) = &s.result_selector {
                    result = self.template(name, "ResultSelector", selector, &result);
                }
                let merged = self.result_path(name, "ResultPath", &s.result_path, input, result);
                let output = self.output_path(name, &s.output_path, &merged);
                let mut edges = next(&output);
                edges.extend(self.catches(name, state, input));
                Outcome {
                    output,
                    edges,
                    ends: s.end == Some(true),
                }
            }
            State::Choice(s) => {
                let effective = self.input_path(name, &s.input_path, input);
                for (i, rule) in s.choices.iter().enumerate() {
                    self.choice_rule(name, &format!("Choices[{i}]"), rule, &effective);
                }
                let output = self.output_path(name, &s.output_path, &effective);
                let edges = state
                    .successors()
                    .into_iter()
                    .map(|t| (t.to_owned(), output.clone()))
                    .collect();
                Outcome {
                    output,
                    edges,
                    ends: false,
                }
            }
            State::Wait(s) => {
                let effective = self.input_path(name, &s.input_path, input);
                for (location, path) in [
                    ("SecondsPath", &s.seconds_path),
                    ("TimestampPath", &s.timestamp_path),
                ] {
                    if let Some(path) = path {
                        let selected = self.resolve(name, location, path, &effective);
                        self.duration_type(name, location, path, &selected);
                    }
                }
                let output = self.output_path(name, &s.output_path, &effective);
                Outcome {
                    edges: next(&output),
                    output,
                    ends: s.end == Some(true),
                }
            }
            State::Succeed(s) => {
                let effective = self.input_path(name, &s.input_path, input);
                let output = self.output_path(name, &s.output_path, &effective);
                Outcome {
                    output,
                    edges: Vec::new(),
                    ends: true,
                }
            }
            State::Fail(s) => {
                for (location, path) in [("ErrorPath", &s.error_path), ("CausePath", &s.cause_path)]
                {
                    if let Some(path) = path {
                        if !path.starts_with("States.") {
                            self.resolve(name, location, path, input);
                        }
                    }
                }
                Outcome {
                    output: Value::Bool(true),
                    edges: Vec::new(),
                    ends: false,
                }
            }
            State::Parallel(s) => {
                let effective = self.input_path(name, &s.input_path, input);
                let branch_input = match &s.parameters {
                    Some(parameters) => self.template(name, "Parameters", parameters, &effective),
                    None => effective,
                };
                let outputs: Vec<Value> = s
                    .branches
                    .iter()
                    .map(|b| self.graph(&b.start_at, &b.states, branch_input.clone()))
                    .collect();
                let mut result = json!({
                    "type": "array",
                    "prefixItems": outputs,
                    "items": union_all(outputs.clone()),
                });
                if let Some(selector) = &s.result_selector {
                    result = self.template(name, "ResultSelector", selector, &result);
                }
                let merged = self.result_path(name, "ResultPath", &s.result_path, input, result);
                let output = self.output_path(name, &s.output_path, &merged);
                let mut edges = next(&output);
                edges.extend(self.catches(name, state, input));
                Outcome {
                    output,
                    edges,
                    ends: s.end == Some(true),
                }
            }
            State::Map(s) => {
                let effective = self.input_path(name, &s.input_path, input);
                // ItemReader, ResultWriter and BatchInput templates read the state input.
                if let Some(parameters) = s.item_reader.as_ref().and_then(|r| r.parameters.as_ref())
                {
                    self.template(name, "ItemReader.Parameters", parameters, &effective);
                }
                if let Some(parameters) =
                    s.result_writer.as_ref().and_then(|w| w.parameters.as_ref())
                {
                    self.template(name, "ResultWriter.Parameters", parameters, &effective);
                }
                let batch_input = s
                    .item_batcher
                    .as_ref()
                    .and_then(|b| b.batch_input.as_ref())
                    .map(|b| self.template(name, "ItemBatcher.BatchInput", b, &effective));
                let item = if let Some(reader) = &s.item_reader {
                    reader_item(reader)
                } else if s.items.is_some() {
                    Value::Bool(true)
                } else {
                    let items_path = s.items_path.as_deref().unwrap_or("$");
                    let items = self.resolve(name, "ItemsPath", items_path, &effective);
                    match schema::child(&items, &Step::Wildcard) {
                        Lookup::Found(item) => item,
                        Lookup::Unknown => Value::Bool(true),
                        Lookup::Missing(_) => {
                            self.error(
                                name,
                                "ItemsPath",
                                items_path,
                                format!(
                                    "ItemsPath '{items_path}' must select an array, but it is {}",
                                    a(&schema::types(&items))
                                ),
                            );
                            Value::Bool(true)
                        }
                    }
                };
                let selector = s.item_selector.as_ref().or(s.parameters.as_ref());
                let item_input = match selector {
                    Some(selector) => {
                        let saved = self.map_item.replace(item.clone());
                        let location = if s.item_selector.is_some() {
                            "ItemSelector"
                        } else {
                            "Parameters"
                        };
                        let schema = self.template(name, location, selector, &effective);
                        self.map_item = saved;
                        schema
                    }
                    None => item,
                };
                let item_input = batched(s, item_input, batch_input);
                let processor_output = match s.item_processor.as_ref().or(s.iterator.as_ref()) {
                    Some(p) => self.graph(&p.start_at, &p.states, item_input),
                    None => Value::Bool(true),
                };
                let mut result = map_result(s, processor_output);
                if let Some(selector) = &s.result_selector {
                    result = self.template(name, "ResultSelector", selector, &result);
                }
                let merged = self.result_path(name, "ResultPath", &s.result_path, input, result);
                let output = self.output_path(name, &s.output_path, &merged);
                let mut edges = next(&output);
                edges.extend(self.catches(name, state, input));
                Outcome {
                    output,
                    edges,
                    ends: s.end == Some(true),
                }
            }
        }
    }

    /// Follows the data through a JSONata state: `$states.input`, `$states.result`,
    /// `$states.errorOutput` and typed variables read by its expressions are resolved against
    /// their schemas, and an `Output`/`Arguments` template gives the schema of what it builds
    /// (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>).
    fn jsonata_state(&mut self, name: &str, state: &State, input: &Value) -> Outcome {
        let plain = Env {
            input: input.clone(),
            result: None,
            error: false,
        };
        let next = |output: &Value| match state.next_and_end() {
            (Some(next), _) => vec![(next.to_owned(), output.clone())],
            _ => Vec::new(),
        };
        match state {
            State::Pass(s) => {
                self.assign(name, "Assign", &s.assign, &plain);
                let output = self.output(name, &s.output, &plain, input.clone());
                Outcome {
                    edges: next(&output),
                    output,
                    ends: s.end == Some(true),
                }
            }
            State::Task(s) => {
                if let Some(arguments) = &s.arguments {
                    let built = self.jsonata_value(name, "Arguments", arguments, &plain);
                    self.check_arguments(name, &built);
                }
                for (field, value) in [
                    ("TimeoutSeconds", &s.timeout_seconds),
                    ("HeartbeatSeconds", &s.heartbeat_seconds),
                ] {
                    if let Some(crate::model::NumberOrExpr::Expr(text)) = value {
                        self.jsonata_value(name, field, &json!(text), &plain);
                    }
                }
                let result = self
                    .meta
                    .result_schemas
                    .get(name)
                    .cloned()
                    .unwrap_or(Value::Bool(true));
                let after = Env {
                    input: input.clone(),
                    result: Some(result.clone()),
                    error: false,
                };
                self.assign(name, "Assign", &s.assign, &after);
                let output = self.output(name, &s.output, &after, result);
                let mut edges = next(&output);
                edges.extend(self.jsonata_catches(name, state, input));
                Outcome {
                    output,
                    edges,
                    ends: s.end == Some(true),
                }
            }
            State::Choice(s) => {
                let mut edges = Vec::new();
                for (i, rule) in s.choices.iter().enumerate() {
                    if let ChoiceCondition::Jsonata(condition) = &rule.condition {
                        self.jsonata_value(
                            name,
                            &format!("Choices[{i}].Condition"),
                            condition,
                            &plain,
                        );
                    }
                    self.assign(name, &format!("Choices[{i}].Assign"), &rule.assign, &plain);
                    let output = match &rule.output {
                        Some(_) => self.output(name, &rule.output, &plain, input.clone()),
                        None => self.output(name, &s.output, &plain, input.clone()),
                    };
                    if let Some(target) = &rule.next {
                        edges.push((target.clone(), output));
                    }
                }
                self.assign(name, "Assign", &s.assign, &plain);
                let output = self.output(name, &s.output, &plain, input.clone());
                if let Some(default) = &s.default {
                    edges.push((default.clone(), output.clone()));
                }
                Outcome {
                    output,
                    edges,
                    ends: false,
                }
            }
            State::Wait(s) => {
                if let Some(crate::model::NumberOrExpr::Expr(text)) = &s.seconds {
                    self.jsonata_value(name, "Seconds", &json!(text), &plain);
                }
                if let Some(timestamp) = &s.timestamp {
                    self.jsonata_value(name, "Timestamp", &json!(timestamp), &plain);
                }
                self.assign(name, "Assign", &s.assign, &plain);
                let output = self.output(name, &s.output, &plain, input.clone());
                Outcome {
                    edges: next(&output),
                    output,
                    ends: s.end == Some(true),
                }
            }
            State::Succeed(s) => {
                let output = self.output(name, &s.output, &plain, input.clone());
                Outcome {
                    output,
                    edges: Vec::new(),
                    ends: true,
                }
            }
            State::Fail(s) => {
                for (field, value) in [("Error", &s.error), ("Cause", &s.cause)] {
                    if let Some(text) = value {
                        self.jsonata_value(name, field, &json!(text), &plain);
                    }
                }
                Outcome {
                    output: Value::Bool(true),
                    edges: Vec::new(),
                    ends: false,
                }
            }
            State::Parallel(s) => {
                let branch_input = match &s.arguments {
                    Some(arguments) => self.jsonata_value(name, "Arguments", arguments, &plain),
                    None => input.clone(),
                };
                let outputs: Vec<Value> = s
                    .branches
                    .iter()
                    .map(|b| self.graph(&b.start_at, &b.states, branch_input.clone()))
                    .collect();
                let result = json!({
                    "type": "array",
                    "prefixItems": outputs,
                    "items": union_all(outputs.clone()),
                });
                let after = Env {
                    input: input.clone(),
                    result: Some(result.clone()),
                    error: false,
                };
                self.assign(name, "Assign", &s.assign, &after);
                let output = self.output(name, &s.output, &after, result);
                let mut edges = next(&output);
                edges.extend(self.jsonata_catches(name, state, input));
                Outcome {
                    output,
                    edges,
                    ends: s.end == Some(true),
                }
            }
            State::Map(s) => {
                let items = match (&s.items, &s.item_reader) {
                    (_, Some(reader)) => json!({ "type": "array", "items": reader_item(reader) }),
                    (Some(items), None) => self.jsonata_value(name, "Items", items, &plain),
                    (None, None) => input.clone(),
                };
                let item = match schema::child(&items, &Step::Wildcard) {
                    Lookup::Found(item) => item,
                    Lookup::Unknown => Value::Bool(true),
                    Lookup::Missing(_) => {
                        self.error(
                            name,
                            "Items",
                            "",
                            format!(
                                "Items must produce an array, but it is {}",
                                a(&schema::types(&items))
                            ),
                        );
                        Value::Bool(true)
                    }
                };
                let item_input = match &s.item_selector {
                    Some(selector) => {
                        let saved = self.map_item.replace(item.clone());
                        let schema = self.jsonata_value(name, "ItemSelector", selector, &plain);
                        self.map_item = saved;
                        schema
                    }
                    None => item,
                };
                let batch_input = s
                    .item_batcher
                    .as_ref()
                    .and_then(|b| b.batch_input.as_ref())
                    .map(|b| self.jsonata_value(name, "ItemBatcher.BatchInput", b, &plain));
                if let Some(arguments) = s.item_reader.as_ref().and_then(|r| r.arguments.as_ref()) {
                    self.jsonata_value(name, "ItemReader.Arguments", arguments, &plain);
                }
                let item_input = batched(s, item_input, batch_input);
                let processor_output = match s.item_processor.as_ref().or(s.iterator.as_ref()) {
                    Some(p) => self.graph(&p.start_at, &p.states, item_input),
                    None => Value::Bool(true),
                };
                let result = map_result(s, processor_output);
                let after = Env {
                    input: input.clone(),
                    result: Some(result.clone()),
                    error: false,
                };
                self.assign(name, "Assign", &s.assign, &after);
                let output = self.output(name, &s.output, &after, result);
                let mut edges = next(&output);
                edges.extend(self.jsonata_catches(name, state, input));
                Outcome {
                    output,
                    edges,
                    ends: s.end == Some(true),
                }
            }
        }
    }

    fn jsonata_catches(
        &mut self,
        name: &str,
        state: &State,
        input: &Value,
    ) -> Vec<(String, Value)> {
        let env = Env {
            input: input.clone(),
            result: None,
            error: true,
        };
        let mut edges = Vec::new();
        for (i, catcher) in state.catchers().iter().enumerate() {
            self.assign(name, &format!("Catch[{i}].Assign"), &catcher.assign, &env);
            let output = match &catcher.output {
                Some(output) => {
                    self.jsonata_value(name, &format!("Catch[{i}].Output"), output, &env)
                }
                None => error_schema(),
            };
            edges.push((catcher.next.clone(), output));
        }
        edges
    }

    /// The schema of a state's output: its `Output` template, or `default`.
    fn output(&mut self, name: &str, output: &Option<Value>, env: &Env, default: Value) -> Value {
        match output {
            Some(template) => self.jsonata_value(name, "Output", template, env),
            None => default,
        }
    }

    /// Checks an `Assign` object: every value's references, and its type against the
    /// variable's declared type.
    fn assign(&mut self, name: &str, location: &str, assign: &Option<Value>, env: &Env) {
        let Some(Value::Object(map)) = assign else {
            return;
        };
        for (variable, value) in map {
            let here = format!("{location}.{variable}");
            let computed = self.jsonata_value(name, &here, value, env);
            if let Some(declared) = self.meta.variables.get(variable).cloned() {
                self.conforms(
                    name,
                    &format!("the variable '{variable}'"),
                    &declared,
                    &computed,
                );
            }
        }
    }

    /// The query language of the state called `name` (its own or the workflow's).
    fn language_of(&self, name: &str) -> QueryLanguage {
        self.languages
            .get(name)
            .copied()
            .or(self.default_language)
            .unwrap_or(QueryLanguage::JSONPath)
    }

    /// A typed step's `arguments` template must build the step's input.
    fn check_arguments(&mut self, name: &str, built: &Value) {
        let Some(declared) = self.meta.declared_arguments.get(name).cloned() else {
            return;
        };
        let payload = match self.meta.typed_plans.get(name) {
            Some(plan) if plan.invokes_lambda(self.language_of(name)) => {
                match schema::child(built, &Step::Field("Payload".into())) {
                    Lookup::Found(payload) => payload,
                    _ => Value::Bool(true),
                }
            }
            _ => built.clone(),
        };
        self.conforms(
            name,
            "the step's input (built by its arguments)",
            &declared,
            &payload,
        );
    }

    /// The schema of a JSONata template (a literal, a `{% %}` string, or an object/array of
    /// them), checking the references of every expression in it.
    fn jsonata_value(&mut self, name: &str, location: &str, value: &Value, env: &Env) -> Value {
        match value {
            Value::String(text) if crate::jsonata::is_expression(text) => {
                self.jsonata_expression(name, location, &text[2..text.len() - 2], env)
            }
            Value::Object(map) => {
                let mut properties = serde_json::Map::new();
                for (key, child) in map {
                    let schema = self.jsonata_value(name, &format!("{location}.{key}"), child, env);
                    properties.insert(key.clone(), schema);
                }
                let required: Vec<&String> = properties.keys().collect();
                json!({ "type": "object", "properties": properties, "required": required })
            }
            Value::Array(items) => {
                let schemas: Vec<Value> = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        self.jsonata_value(name, &format!("{location}[{i}]"), item, env)
                    })
                    .collect();
                json!({ "type": "array", "prefixItems": schemas, "items": union_all(schemas.clone()) })
            }
            literal => schema::of_value(literal),
        }
    }

    fn jsonata_expression(&mut self, name: &str, location: &str, inner: &str, env: &Env) -> Value {
        let found = crate::jsonata::references(inner);
        let sole = crate::jsonata::sole_reference(inner);
        let mut value = Value::Bool(true);
        for reference in found.states.iter().chain(found.variables.iter()) {
            let resolved = self.jsonata_reference(name, location, reference, env);
            if sole.as_ref() == Some(reference) {
                value = resolved;
            }
        }
        value
    }

    /// Resolves `$states.<field>.a.b` or `$var.a.b` against what is known of it; reports a
    /// field that does not exist. JSONata maps a field over an array, so `$x.items.price` is
    /// the prices of the items.
    fn jsonata_reference(
        &mut self,
        name: &str,
        location: &str,
        reference: &crate::jsonata::Reference,
        env: &Env,
    ) -> Value {
        let (root, fields, label) = if reference.name == "states" {
            let Some((first, rest)) = reference.path.split_first() else {
                return Value::Bool(true);
            };
            let root = match first.as_str() {
                "input" => env.input.clone(),
                "result" => match &env.result {
                    Some(result) => result.clone(),
                    None => return Value::Bool(true),
                },
                "errorOutput" if env.error => error_schema(),
                // The context object's own fields are linted; its values are known here.
                "context" => {
                    let context = self.context_schema();
                    return follow(&context, rest).unwrap_or(Value::Bool(true));
                }
                _ => return Value::Bool(true),
            };
            (root, rest.to_vec(), format!("$states.{first}"))
        } else {
            match self.meta.variables.get(&reference.name) {
                Some(declared) => (
                    declared.schema.clone(),
                    reference.path.clone(),
                    format!("${}", reference.name),
                ),
                None => return Value::Bool(true),
            }
        };
        let mut current = root;
        let mut prefix = label;
        let mut mapped = false;
        for field in &fields {
            if schema::types(&current) == ["array"] {
                if let Lookup::Found(item) = schema::child(&current, &Step::Wildcard) {
                    current = item;
                    mapped = true;
                }
            }
            match schema::child(&current, &Step::Field(field.clone())) {
                Lookup::Found(next) => current = next,
                Lookup::Unknown => return Value::Bool(true),
                Lookup::Missing(missing) => {
                    let text = reference.text();
                    let message = match missing {
                        Missing::NoField { available } => format!(
                            "{location} reads {text}, which does not exist; fields at '{prefix}': {}",
                            list(&available)
                        ),
                        Missing::NotObject { types } => format!(
                            "{location} reads {text}, which does not exist: '{prefix}' is {}, not an object",
                            a(&types)
                        ),
                        _ => format!("{location} reads {text}, which never has a value"),
                    };
                    self.error(name, location, &text, message);
                    return Value::Bool(true);
                }
            }
            prefix = format!("{prefix}.{field}");
        }
        if mapped {
            Value::Bool(true)
        } else {
            current
        }
    }

    /// Walks one (sub-)graph from `start_at`; returns the union of the outputs of its end states.
    fn graph(&mut self, start_at: &str, states: &States, input: Value) -> Value {
        let mut incoming: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut queue: VecDeque<String> = VecDeque::new();
        let mut visited: BTreeSet<String> = BTreeSet::new();
        let mut outputs = Vec::new();
        incoming.entry(start_at.to_owned()).or_default().push(input);
        queue.push_back(start_at.to_owned());
        while let Some(name) = queue.pop_front() {
            if !visited.insert(name.clone()) {
                continue;
            }
            let Some(state) = states.get(&name) else {
                continue;
            };
            let input = union_all(incoming.remove(&name).unwrap_or_default());
            let before = self.errors.len();
            if let Some(declared) = self.meta.declared_inputs.get(&name) {
                self.conforms(&name, "the state input", declared, &input);
            }
            // A wrong input is reported once, not again as a wrong output.
            let input_ok = self.errors.len() == before;
            let outcome = self.state(&name, state, &input);
            if let (Some(declared), true) = (self.meta.declared_outputs.get(&name), input_ok) {
                self.conforms(&name, "the state output", declared, &outcome.output);
            }
            if outcome.ends {
                outputs.push(outcome.output);
            }
            for (target, schema) in outcome.edges {
                if !visited.contains(&target) {
                    incoming.entry(target.clone()).or_default().push(schema);
                    queue.push_back(target);
                }
            }
        }
        union_all(outputs)
    }
}

/// True when a value of one of `types` (empty: unknown) can be of the `wanted` kind.
fn wanted_type_fits(wanted: &str, types: &[String]) -> bool {
    types.is_empty()
        || types.iter().any(|t| match wanted {
            "number" => t == "number" || t == "integer",
            "timestamp" => t == "string",
            other => t == other,
        })
}

fn compatible(declared: &[String], computed: &[String]) -> bool {
    declared.is_empty()
        || computed.is_empty()
        || declared.iter().any(|d| {
            computed
                .iter()
                .any(|c| c == d || (d == "number" && c == "integer"))
        })
}

/// Every required field of `declared` must exist in `computed` (recursively, a few levels).
fn conformance(
    declared: &Value,
    computed: &Value,
    at: String,
    out: &mut Vec<String>,
    depth: usize,
) {
    if depth > 6 || computed == &Value::Bool(true) {
        return;
    }
    let declared_types = schema::types(declared);
    let computed_types = schema::types(computed);
    if !compatible(&declared_types, &computed_types) {
        out.push(format!(
            "'{at}' is {} where {} is expected",
            a(&computed_types),
            a(&declared_types)
        ));
        return;
    }
    for field in schema::required(declared) {
        let here = if at == "$" {
            format!("$.{field}")
        } else {
            format!("{at}.{field}")
        };
        match schema::child(computed, &Step::Field(field.clone())) {
            Lookup::Found(sub) => {
                if let Some(declared_sub) = declared.get("properties").and_then(|p| p.get(&field)) {
                    conformance(declared_sub, &sub, here, out, depth + 1);
                }
            }
            Lookup::Unknown => {}
            Lookup::Missing(Missing::NoField { available }) => out.push(format!(
                "field '{here}' is missing; fields at '{at}': {}",
                list(&available)
            )),
            Lookup::Missing(_) => out.push(format!("'{at}' is not an object with field '{field}'")),
        }
    }
    if let (Some(declared_items), Some(computed_items)) =
        (declared.get("items"), computed.get("items"))
    {
        conformance(
            declared_items,
            computed_items,
            format!("{at}[*]"),
            out,
            depth + 1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths() {
        assert_eq!(
            parse("$.a['b c'][0][*].d").unwrap(),
            (
                Root::Input,
                vec![
                    Step::Field("a".into()),
                    Step::Field("b c".into()),
                    Step::Index(0),
                    Step::Wildcard,
                    Step::Field("d".into())
                ]
            )
        );
        assert_eq!(parse("$$.Task.Token").unwrap().0, Root::Context);
        assert_eq!(
            parse("$order.id").unwrap().0,
            Root::Variable("order".into())
        );
        assert_eq!(parse("$").unwrap(), (Root::Input, vec![]));
        assert!(parse("a.b").is_err());
        assert!(parse("$.").is_err());
        assert_eq!(parse("$..x").unwrap().1, vec![Step::Opaque]);
    }

    #[test]
    fn checks_a_document() {
        let machine = StateMachine::from_value(json!({
            "StartAt": "Check",
            "States": {
                "Check": {
                    "Type": "Choice",
                    "Choices": [
                        { "And": [
                            { "Variable": "$.total", "NumericGreaterThan": 0 },
                            { "Not": { "Variable": "$.totl", "IsPresent": true } }
                        ], "Next": "Items" }
                    ],
                    "Default": "Items"
                },
                "Items": {
                    "Type": "Map",
                    "ItemsPath": "$.lines",
                    "ItemSelector": { "sku.$": "$$.Map.Item.Value.sku", "bad.$": "$$.Map.Item.Value.skew" },
                    "ItemProcessor": { "StartAt": "One", "States": {
                        "One": { "Type": "Pass", "Parameters": { "s.$": "$.sku", "x.$": "$.nope" }, "End": true }
                    }},
                    "ResultPath": "$.checked",
                    "Next": "Done"
                },
                "Done": { "Type": "Pass", "OutputPath": "$.checked[0].s", "End": true }
            }
        }))
        .unwrap();
        let input = json!({
            "type": "object",
            "properties": {
                "total": { "type": "integer" },
                "lines": { "type": "array", "items": { "type": "object", "properties": { "sku": { "type": "string" } } } }
            }
        });
        let errors: Vec<String> = check(&machine, &input)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            errors,
            [
                "State 'Check': path '$.totl' in Choices[0].And[1].Not.Variable does not exist; fields at '$': lines, total",
                "State 'Items': path '$$.Map.Item.Value.skew' in ItemSelector.bad.$ does not exist; fields at '$$.Map.Item.Value': sku",
                "State 'One': path '$.nope' in Parameters.x.$ does not exist; fields at '$': bad, sku",
            ]
        );
    }
}
