//! Turns the ASL model into an executable form once per machine: state names become indexes, paths,
//! templates, intrinsic calls and Choice rules are parsed ahead of time.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use serde_json::{json, Value};
use workflow_dsl::model::{
    Catcher, ChoiceCondition, ChoiceRule, ComparisonOperator, JitterStrategy, NumberOrExpr,
    QueryLanguage, Retrier, State, StateMachine, States,
};

use crate::error::EngineError;
use crate::history::EventType;
use crate::jsonata::expr_of;
use crate::jsonpath::Path;
use crate::template::{Dynamic, Template};

/// A state machine ready to run many times.
#[derive(Debug)]
pub struct CompiledMachine {
    pub(crate) graph: Graph,
    pub(crate) timeout_seconds: Option<u64>,
    pub(crate) definition: Arc<StateMachine>,
}

impl CompiledMachine {
    /// Compiles `machine`; fails on definitions AWS would reject when creating the state machine
    /// (unknown `Next`, invalid paths or intrinsic functions, ...).
    pub fn new(machine: &StateMachine) -> Result<CompiledMachine, EngineError> {
        let default_jsonata = machine.query_language == Some(QueryLanguage::JSONata);
        let graph = compile_graph(&machine.start_at, &machine.states, default_jsonata)
            .map_err(EngineError::Definition)?;
        Ok(CompiledMachine {
            graph,
            timeout_seconds: machine.timeout_seconds,
            definition: Arc::new(machine.clone()),
        })
    }

    /// The definition this machine was compiled from.
    pub fn definition(&self) -> &StateMachine {
        &self.definition
    }
}

#[derive(Debug)]
pub(crate) struct Graph {
    pub start: usize,
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone)]
pub(crate) enum OptPath {
    Default,
    Null,
    Path(Box<Path>),
}

#[derive(Debug)]
pub(crate) enum Assign {
    Path(Vec<(String, Template)>),
    Jsonata(Value),
}

/// A number given literally, by a `*Path` field, or by a JSONata expression.
#[derive(Debug, Clone)]
pub(crate) enum NumSpec {
    Lit(f64),
    Path(Box<Path>),
    Expr(Value),
}

/// A string given literally, by a `*Path` field (path or intrinsic) or by JSONata.
#[derive(Debug)]
pub(crate) enum StrSpec {
    None,
    Lit(String),
    Dyn(Dynamic),
    Expr(Value),
}

#[derive(Debug)]
pub(crate) struct Io {
    pub jsonata: bool,
    pub input_path: OptPath,
    pub output_path: OptPath,
    pub parameters: Option<Box<Template>>,
    pub arguments: Option<Value>,
    pub result_selector: Option<Box<Template>>,
    pub result_path: OptPath,
    pub output: Option<Value>,
    pub assign: Option<Assign>,
}

#[derive(Debug)]
pub(crate) struct Retry {
    pub errors: Vec<String>,
    pub interval: f64,
    pub max_attempts: u32,
    pub backoff: f64,
    pub max_delay: Option<f64>,
    pub jitter_full: bool,
}

#[derive(Debug)]
pub(crate) struct Catch {
    pub errors: Vec<String>,
    pub next: usize,
    pub result_path: OptPath,
    pub assign: Option<Assign>,
    pub output: Option<Value>,
}

#[derive(Debug)]
pub(crate) enum Operand {
    Value(Value),
    Path(Path),
    Glob(Vec<GlobTok>),
    Timestamp(Option<DateTime<FixedOffset>>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum GlobTok {
    Lit(char),
    Star,
}

#[derive(Debug)]
pub(crate) enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp {
        var: Path,
        op: ComparisonOperator,
        operand: Operand,
        /// What `op` compares and how, when it is an ordering comparison (not a type test or
        /// `StringMatches`): worked out here, once, rather than from its name on every rule.
        ordering: Option<Ordered>,
    },
    Jsonata(Value),
}

#[derive(Debug)]
pub(crate) struct Rule {
    pub cond: Cond,
    pub next: usize,
    pub assign: Option<Assign>,
    pub output: Option<Value>,
}

#[derive(Debug)]
pub(crate) enum WaitSpec {
    Seconds(NumSpec),
    Timestamp(StrSpec),
    TimestampPath(Path),
}

#[derive(Debug)]
pub(crate) struct MapSpec {
    pub items_path: Option<Path>,
    pub items: Option<Value>,
    pub selector_path: Option<Template>,
    pub selector_jsonata: Option<Value>,
    pub processor: Graph,
    pub max_concurrency: Option<NumSpec>,
    pub tolerated_count: Option<NumSpec>,
    pub tolerated_percentage: Option<NumSpec>,
    /// `ProcessorConfig.Mode: DISTRIBUTED`: the items run as child executions of a Map Run.
    pub distributed: Option<DistSpec>,
}

/// A distributed Map's Map Run settings, ItemReader, ItemBatcher and ResultWriter.
#[derive(Debug)]
pub(crate) struct DistSpec {
    /// `Label`, or the state's name: the Map Run ARN's `<machine>/<label>` part.
    pub label: String,
    /// `ProcessorConfig.ExecutionType` (`STANDARD` by default).
    pub execution_type: String,
    pub reader: Option<ReaderSpec>,
    pub batcher: Option<BatcherSpec>,
    pub writer: Option<WriterSpec>,
}

/// An S3 request of ItemReader or ResultWriter: a JSONPath `Parameters` template or JSONata
/// `Arguments`.
#[derive(Debug)]
pub(crate) enum Request {
    None,
    Path(Template),
    Jsonata(Value),
}

#[derive(Debug)]
pub(crate) struct ReaderSpec {
    pub resource: String,
    pub request: Request,
    /// `ReaderConfig` without `MaxItems`/`MaxItemsPath`.
    pub config: Value,
    pub max_items: Option<NumSpec>,
}

#[derive(Debug)]
pub(crate) struct BatcherSpec {
    pub max_items: Option<NumSpec>,
    pub max_bytes: Option<NumSpec>,
    pub batch_input: Request,
}

#[derive(Debug)]
pub(crate) struct WriterSpec {
    pub request: Request,
    /// `WriterConfig` (`OutputType`, `Transformation`), as given.
    pub config: Option<Value>,
}

#[derive(Debug)]
pub(crate) enum Kind {
    Pass {
        result: Option<Value>,
    },
    Task {
        resource: String,
        timeout: Option<NumSpec>,
        heartbeat: Option<NumSpec>,
    },
    Choice {
        rules: Vec<Rule>,
        default: Option<usize>,
    },
    Wait(Box<WaitSpec>),
    Succeed,
    Fail {
        error: Box<StrSpec>,
        cause: Box<StrSpec>,
    },
    Parallel {
        branches: Vec<Graph>,
    },
    Map(Box<MapSpec>),
}

#[derive(Debug)]
pub(crate) struct Node {
    pub name: Arc<str>,
    pub kind: Kind,
    pub io: Io,
    pub next: Option<usize>,
    pub retry: Vec<Retry>,
    pub catch: Vec<Catch>,
    pub entered: EventType,
    pub exited: Option<EventType>,
}

type CResult<T> = Result<T, String>;

fn compile_graph(start_at: &str, states: &States, default_jsonata: bool) -> CResult<Graph> {
    let index: HashMap<&str, usize> = states
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let lookup = |name: &str, from: &str| -> CResult<usize> {
        index.get(name).copied().ok_or_else(|| {
            format!("state '{from}' refers to '{name}', which is not a state of its workflow")
        })
    };
    let start = *index
        .get(start_at)
        .ok_or_else(|| format!("StartAt '{start_at}' is not a state"))?;
    let mut nodes = Vec::with_capacity(states.len());
    for (name, state) in states {
        nodes.push(compile_state(name, state, default_jsonata, &lookup)?);
    }
    Ok(Graph { start, nodes })
}

fn opt_path(p: &Option<Option<String>>, field: &str, state: &str) -> CResult<OptPath> {
    Ok(match p {
        None => OptPath::Default,
        Some(None) => OptPath::Null,
        Some(Some(s)) => {
            let path = Path::parse(s).map_err(|e| format!("state '{state}', {field}: {e}"))?;
            if path.is_root() {
                OptPath::Default
            } else {
                OptPath::Path(Box::new(path))
            }
        }
    })
}

fn template(v: &Option<Value>, field: &str, state: &str) -> CResult<Option<Template>> {
    v.as_ref()
        .map(|v| Template::compile(v).map_err(|e| format!("state '{state}', {field}: {e}")))
        .transpose()
}

fn assign(v: &Option<Value>, jsonata: bool, state: &str) -> CResult<Option<Assign>> {
    let Some(v) = v else { return Ok(None) };
    if jsonata {
        return Ok(Some(Assign::Jsonata(v.clone())));
    }
    let t = Template::compile(v).map_err(|e| format!("state '{state}', Assign: {e}"))?;
    Ok(Some(Assign::Path(t.fields())))
}

fn num_spec(
    lit: &Option<NumberOrExpr>,
    path: &Option<String>,
    field: &str,
    state: &str,
) -> CResult<Option<NumSpec>> {
    if let Some(p) = path {
        return Ok(Some(NumSpec::Path(Box::new(
            Path::parse(p).map_err(|e| format!("state '{state}', {field}Path: {e}"))?,
        ))));
    }
    Ok(match lit {
        None => None,
        Some(NumberOrExpr::Number(n)) => Some(NumSpec::Lit(n.as_f64().unwrap_or(0.0))),
        Some(NumberOrExpr::Expr(e)) => {
            if expr_of(e).is_none() {
                return Err(format!(
                    "state '{state}', {field}: '{e}' is neither a number nor a JSONata expression"
                ));
            }
            Some(NumSpec::Expr(Value::String(e.clone())))
        }
    })
}

fn str_spec(
    lit: &Option<String>,
    path: &Option<String>,
    jsonata: bool,
    field: &str,
    state: &str,
) -> CResult<StrSpec> {
    if let Some(p) = path {
        return Ok(StrSpec::Dyn(
            Dynamic::parse(p).map_err(|e| format!("state '{state}', {field}Path: {e}"))?,
        ));
    }
    Ok(match lit {
        None => StrSpec::None,
        Some(s) if jsonata && expr_of(s).is_some() => StrSpec::Expr(Value::String(s.clone())),
        Some(s) => StrSpec::Lit(s.clone()),
    })
}

fn retriers(rs: &[Retrier]) -> Vec<Retry> {
    rs.iter()
        .map(|r| Retry {
            errors: r.error_equals.clone(),
            interval: r
                .interval_seconds
                .as_ref()
                .and_then(|n| n.as_f64())
                .unwrap_or(1.0),
            max_attempts: r
                .max_attempts
                .as_ref()
                .and_then(|n| n.as_u64())
                .unwrap_or(3) as u32,
            backoff: r
                .backoff_rate
                .as_ref()
                .and_then(|n| n.as_f64())
                .unwrap_or(2.0),
            max_delay: r.max_delay_seconds.as_ref().and_then(|n| n.as_f64()),
            jitter_full: r.jitter_strategy == Some(JitterStrategy::Full),
        })
        .collect()
}

fn catchers(
    cs: &[Catcher],
    jsonata: bool,
    state: &str,
    lookup: &dyn Fn(&str, &str) -> CResult<usize>,
) -> CResult<Vec<Catch>> {
    cs.iter()
        .map(|c| {
            Ok(Catch {
                errors: c.error_equals.clone(),
                next: lookup(&c.next, state)?,
                result_path: opt_path(&c.result_path, "Catch ResultPath", state)?,
                assign: assign(&c.assign, jsonata, state)?,
                output: c.output.clone(),
            })
        })
        .collect()
}

fn compile_rule(rule: &ChoiceRule, state: &str) -> CResult<Cond> {
    Ok(match &rule.condition {
        ChoiceCondition::And(rs) => Cond::And(
            rs.iter()
                .map(|r| compile_rule(r, state))
                .collect::<CResult<_>>()?,
        ),
        ChoiceCondition::Or(rs) => Cond::Or(
            rs.iter()
                .map(|r| compile_rule(r, state))
                .collect::<CResult<_>>()?,
        ),
        ChoiceCondition::Not(r) => Cond::Not(Box::new(compile_rule(r, state)?)),
        ChoiceCondition::Jsonata(v) => Cond::Jsonata(v.clone()),
        ChoiceCondition::Missing { .. } => {
            return Err(format!("state '{state}': a Choice rule has no condition"))
        }
        ChoiceCondition::Comparison {
            variable,
            operator,
            operand,
        } => {
            let var =
                Path::parse(variable).map_err(|e| format!("state '{state}', Variable: {e}"))?;
            let op = *operator;
            let operand = if op.is_path() {
                let Value::String(p) = operand else {
                    return Err(format!("state '{state}': {} needs a path", op.name()));
                };
                Operand::Path(
                    Path::parse(p).map_err(|e| format!("state '{state}', {}: {e}", op.name()))?,
                )
            } else if op == ComparisonOperator::StringMatches {
                let Value::String(p) = operand else {
                    return Err(format!("state '{state}': StringMatches needs a string"));
                };
                Operand::Glob(glob(p))
            } else if op.name().starts_with("Timestamp") {
                Operand::Timestamp(operand.as_str().and_then(parse_timestamp))
            } else {
                Operand::Value(operand.clone())
            };
            Cond::Cmp {
                var,
                op,
                operand,
                ordering: Ordered::of(op),
            }
        }
    })
}

/// An ordering comparison of a Choice rule: the type it compares and the relation it tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ordered {
    pub compared: Compared,
    pub relation: Relation,
}

/// The JSON type an ordering comparison compares (both sides must have it, or the rule is false).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compared {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

/// The relation an ordering comparison tests between the variable and the operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

impl Ordered {
    /// The ordering comparison `op` is, from its name (`NumericLessThanEqualsPath` compares
    /// numbers with `<=`); `None` for the type tests and `StringMatches`.
    pub(crate) fn of(op: ComparisonOperator) -> Option<Ordered> {
        let name = op.name().strip_suffix("Path").unwrap_or(op.name());
        let (compared, rest) = [
            ("String", Compared::String),
            ("Numeric", Compared::Numeric),
            ("Boolean", Compared::Boolean),
            ("Timestamp", Compared::Timestamp),
        ]
        .into_iter()
        .find_map(|(prefix, c)| name.strip_prefix(prefix).map(|rest| (c, rest)))?;
        let relation = match rest {
            "Equals" => Relation::Equals,
            "LessThan" => Relation::LessThan,
            "GreaterThan" => Relation::GreaterThan,
            "LessThanEquals" => Relation::LessThanEquals,
            "GreaterThanEquals" => Relation::GreaterThanEquals,
            _ => return None,
        };
        Some(Ordered { compared, relation })
    }
}

impl Relation {
    /// Whether the variable, ordered `o` against the operand, satisfies the relation.
    pub(crate) fn holds(self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Relation::Equals => o == Equal,
            Relation::LessThan => o == Less,
            Relation::GreaterThan => o == Greater,
            Relation::LessThanEquals => o != Greater,
            Relation::GreaterThanEquals => o != Less,
        }
    }
}

/// StringMatches patterns: `*` matches any run of characters; `\*` and `\\` are literal.
pub(crate) fn glob(p: &str) -> Vec<GlobTok> {
    let mut out = Vec::new();
    let mut it = p.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some(n) => out.push(GlobTok::Lit(n)),
                None => out.push(GlobTok::Lit('\\')),
            },
            '*' => out.push(GlobTok::Star),
            c => out.push(GlobTok::Lit(c)),
        }
    }
    out
}

/// An RFC 3339 timestamp as AWS accepts it: uppercase `T` between date and time, `Z` or a numeric offset.
pub(crate) fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' || s.ends_with('z') {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

fn compile_state(
    name: &str,
    state: &State,
    default_jsonata: bool,
    lookup: &dyn Fn(&str, &str) -> CResult<usize>,
) -> CResult<Node> {
    let jsonata = match state.query_language() {
        Some(QueryLanguage::JSONata) => true,
        Some(QueryLanguage::JSONPath) => false,
        None => default_jsonata,
    };
    let next = match (state.next_and_end(), state) {
        ((Some(n), _), _) => Some(lookup(n, name)?),
        (_, State::Choice(_) | State::Succeed(_) | State::Fail(_)) | ((None, Some(true)), _) => {
            None
        }
        _ => return Err(format!("state '{name}' has neither 'Next' nor 'End: true'")),
    };
    let mut io = Io {
        jsonata,
        input_path: OptPath::Default,
        output_path: OptPath::Default,
        parameters: None,
        arguments: None,
        result_selector: None,
        result_path: OptPath::Default,
        output: None,
        assign: None,
    };
    let (kind, entered, exited, retry, catch) = match state {
        State::Pass(s) => {
            io.input_path = opt_path(&s.input_path, "InputPath", name)?;
            io.output_path = opt_path(&s.output_path, "OutputPath", name)?;
            io.result_path = opt_path(&s.result_path, "ResultPath", name)?;
            io.parameters = template(&s.parameters, "Parameters", name)?.map(Box::new);
            io.output = s.output.clone();
            io.assign = assign(&s.assign, jsonata, name)?;
            (
                Kind::Pass {
                    result: s.result.clone(),
                },
                EventType::PassStateEntered,
                Some(EventType::PassStateExited),
                Vec::new(),
                Vec::new(),
            )
        }
        State::Task(s) => {
            io.input_path = opt_path(&s.input_path, "InputPath", name)?;
            io.output_path = opt_path(&s.output_path, "OutputPath", name)?;
            io.result_path = opt_path(&s.result_path, "ResultPath", name)?;
            io.parameters = if jsonata {
                None
            } else {
                template(&s.parameters, "Parameters", name)?.map(Box::new)
            };
            io.arguments = s.arguments.clone();
            io.result_selector =
                template(&s.result_selector, "ResultSelector", name)?.map(Box::new);
            io.output = s.output.clone();
            io.assign = assign(&s.assign, jsonata, name)?;
            (
                Kind::Task {
                    resource: s.resource.clone(),
                    timeout: num_spec(
                        &s.timeout_seconds,
                        &s.timeout_seconds_path,
                        "TimeoutSeconds",
                        name,
                    )?,
                    heartbeat: num_spec(
                        &s.heartbeat_seconds,
                        &s.heartbeat_seconds_path,
                        "HeartbeatSeconds",
                        name,
                    )?,
                },
                EventType::TaskStateEntered,
                Some(EventType::TaskStateExited),
                retriers(&s.retry),
                catchers(&s.catch, jsonata, name, lookup)?,
            )
        }
        State::Choice(s) => {
            io.input_path = opt_path(&s.input_path, "InputPath", name)?;
            io.output_path = opt_path(&s.output_path, "OutputPath", name)?;
            io.output = s.output.clone();
            io.assign = assign(&s.assign, jsonata, name)?;
            let mut rules = Vec::with_capacity(s.choices.len());
            for r in &s.choices {
                let next = r
                    .next
                    .as_deref()
                    .ok_or_else(|| format!("state '{name}': a Choice rule has no Next"))?;
                rules.push(Rule {
                    cond: compile_rule(r, name)?,
                    next: lookup(next, name)?,
                    assign: assign(&r.assign, jsonata, name)?,
                    output: r.output.clone(),
                });
            }
            let default = s.default.as_deref().map(|d| lookup(d, name)).transpose()?;
            (
                Kind::Choice { rules, default },
                EventType::ChoiceStateEntered,
                Some(EventType::ChoiceStateExited),
                Vec::new(),
                Vec::new(),
            )
        }
        State::Wait(s) => {
            io.input_path = opt_path(&s.input_path, "InputPath", name)?;
            io.output_path = opt_path(&s.output_path, "OutputPath", name)?;
            io.output = s.output.clone();
            io.assign = assign(&s.assign, jsonata, name)?;
            let spec = if let Some(p) = &s.timestamp_path {
                WaitSpec::TimestampPath(
                    Path::parse(p).map_err(|e| format!("state '{name}', TimestampPath: {e}"))?,
                )
            } else if s.timestamp.is_some() {
                WaitSpec::Timestamp(str_spec(&s.timestamp, &None, jsonata, "Timestamp", name)?)
            } else {
                WaitSpec::Seconds(
                    num_spec(&s.seconds, &s.seconds_path, "Seconds", name)?
                        .ok_or_else(|| format!("state '{name}': a Wait state needs Seconds, SecondsPath, Timestamp or TimestampPath"))?,
                )
            };
            (
                Kind::Wait(Box::new(spec)),
                EventType::WaitStateEntered,
                Some(EventType::WaitStateExited),
                Vec::new(),
                Vec::new(),
            )
        }
        State::Succeed(s) => {
            io.input_path = opt_path(&s.input_path, "InputPath", name)?;
            io.output_path = opt_path(&s.output_path, "OutputPath", name)?;
            io.output = s.output.clone();
            (
                Kind::Succeed,
                EventType::SucceedStateEntered,
                Some(EventType::SucceedStateExited),
                Vec::new(),
                Vec::new(),
            )
        }
        State::Fail(s) => (
            Kind::Fail {
                error: Box::new(str_spec(&s.error, &s.error_path, jsonata, "Error", name)?),
                cause: Box::new(str_spec(&s.cause, &s.cause_path, jsonata, "Cause", name)?),
            },
            EventType::FailStateEntered,
            None,
            Vec::new(),
            Vec::new(),
        ),
        State::Parallel(s) => {
            io.input_path = opt_path(&s.input_path, "InputPath", name)?;
            io.output_path = opt_path(&s.output_path, "OutputPath", name)?;
            io.result_path = opt_path(&s.result_path, "ResultPath", name)?;
            io.parameters = if jsonata {
                None
            } else {
                template(&s.parameters, "Parameters", name)?.map(Box::new)
            };
            io.arguments = s.arguments.clone();
            io.result_selector =
                template(&s.result_selector, "ResultSelector", name)?.map(Box::new);
            io.output = s.output.clone();
            io.assign = assign(&s.assign, jsonata, name)?;
            let branches = s
                .branches
                .iter()
                .map(|b| compile_graph(&b.start_at, &b.states, default_jsonata))
                .collect::<CResult<Vec<_>>>()?;
            (
                Kind::Parallel { branches },
                EventType::ParallelStateEntered,
                Some(EventType::ParallelStateExited),
                retriers(&s.retry),
                catchers(&s.catch, jsonata, name, lookup)?,
            )
        }
        State::Map(s) => {
            io.input_path = opt_path(&s.input_path, "InputPath", name)?;
            io.output_path = opt_path(&s.output_path, "OutputPath", name)?;
            io.result_path = opt_path(&s.result_path, "ResultPath", name)?;
            io.result_selector =
                template(&s.result_selector, "ResultSelector", name)?.map(Box::new);
            io.output = s.output.clone();
            io.assign = assign(&s.assign, jsonata, name)?;
            let proc = s
                .item_processor
                .as_ref()
                .or(s.iterator.as_ref())
                .ok_or_else(|| format!("state '{name}': a Map state needs an ItemProcessor"))?;
            let selector = s.item_selector.as_ref().or(s.parameters.as_ref());
            let spec = MapSpec {
                items_path: match &s.items_path {
                    Some(p) => Some(
                        Path::parse(p).map_err(|e| format!("state '{name}', ItemsPath: {e}"))?,
                    ),
                    None => None,
                },
                items: s.items.clone(),
                selector_path: if jsonata {
                    None
                } else {
                    template(&selector.cloned(), "ItemSelector", name)?
                },
                selector_jsonata: if jsonata { selector.cloned() } else { None },
                processor: compile_graph(&proc.start_at, &proc.states, default_jsonata)?,
                max_concurrency: num_spec(
                    &s.max_concurrency,
                    &s.max_concurrency_path,
                    "MaxConcurrency",
                    name,
                )?,
                tolerated_count: num_spec(
                    &s.tolerated_failure_count,
                    &s.tolerated_failure_count_path,
                    "ToleratedFailureCount",
                    name,
                )?,
                tolerated_percentage: num_spec(
                    &s.tolerated_failure_percentage,
                    &s.tolerated_failure_percentage_path,
                    "ToleratedFailurePercentage",
                    name,
                )?,
                distributed: distributed_spec(s, proc, jsonata, name)?,
            };
            (
                Kind::Map(Box::new(spec)),
                EventType::MapStateEntered,
                Some(EventType::MapStateExited),
                retriers(&s.retry),
                catchers(&s.catch, jsonata, name, lookup)?,
            )
        }
    };
    Ok(Node {
        name: Arc::from(name),
        kind,
        io,
        next,
        retry,
        catch,
        entered,
        exited,
    })
}

/// A request object of ItemReader/ResultWriter: `Parameters` (JSONPath) or `Arguments` (JSONata).
fn request(
    params: &Option<Value>,
    args: &Option<Value>,
    jsonata: bool,
    field: &str,
    state: &str,
) -> CResult<Request> {
    Ok(match (jsonata, params, args) {
        (true, _, Some(a)) => Request::Jsonata(a.clone()),
        (false, Some(p), _) => Request::Path(
            Template::compile(p).map_err(|e| format!("state '{state}', {field}.Parameters: {e}"))?,
        ),
        (true, Some(_), None) => {
            return Err(format!(
                "state '{state}', {field}: a JSONata state gives its request as Arguments, not Parameters"
            ))
        }
        (false, None, Some(_)) => {
            return Err(format!(
                "state '{state}', {field}: a JSONPath state gives its request as Parameters, not Arguments"
            ))
        }
        _ => Request::None,
    })
}

/// The distributed Map parts of a Map state
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html>):
/// ItemReader, ItemBatcher and ResultWriter need `ProcessorConfig.Mode: DISTRIBUTED`.
fn distributed_spec(
    s: &workflow_dsl::model::MapState,
    proc: &workflow_dsl::model::SubWorkflow,
    jsonata: bool,
    name: &str,
) -> CResult<Option<DistSpec>> {
    let config = proc.processor_config.as_ref();
    let distributed = config.and_then(|c| c.mode.as_deref()) == Some("DISTRIBUTED");
    if !distributed {
        if s.item_reader.is_some() || s.item_batcher.is_some() || s.result_writer.is_some() {
            return Err(format!(
                "state '{name}': ItemReader, ItemBatcher and ResultWriter need ItemProcessor.ProcessorConfig.Mode DISTRIBUTED"
            ));
        }
        return Ok(None);
    }
    let execution_type = config
        .and_then(|c| c.execution_type.clone())
        .unwrap_or_else(|| "STANDARD".into());
    if execution_type != "STANDARD" && execution_type != "EXPRESS" {
        return Err(format!(
            "state '{name}': ProcessorConfig.ExecutionType must be STANDARD or EXPRESS, not '{execution_type}'"
        ));
    }
    let reader = match &s.item_reader {
        None => None,
        Some(r) => {
            if r.resource != crate::dmap::GET_OBJECT && r.resource != crate::dmap::LIST_OBJECTS_V2 {
                return Err(format!(
                    "state '{name}': ItemReader.Resource '{}' is not supported (s3:getObject, s3:listObjectsV2)",
                    r.resource
                ));
            }
            let mut config = r.reader_config.clone().unwrap_or_else(|| json!({}));
            let mut max_items = None;
            if let Some(c) = config.as_object_mut() {
                if let Some(p) = c.remove("MaxItemsPath") {
                    let p = p.as_str().ok_or_else(|| {
                        format!("state '{name}', ReaderConfig.MaxItemsPath must be a string")
                    })?;
                    max_items = Some(NumSpec::Path(Box::new(Path::parse(p).map_err(|e| {
                        format!("state '{name}', ReaderConfig.MaxItemsPath: {e}")
                    })?)));
                }
                match c.remove("MaxItems") {
                    None => {}
                    Some(Value::Number(n)) => {
                        max_items = Some(NumSpec::Lit(n.as_f64().unwrap_or(0.0)))
                    }
                    Some(Value::String(e)) if expr_of(&e).is_some() => {
                        max_items = Some(NumSpec::Expr(Value::String(e)))
                    }
                    Some(other) => {
                        return Err(format!(
                            "state '{name}', ReaderConfig.MaxItems must be a number, not {other}"
                        ))
                    }
                }
            }
            Some(ReaderSpec {
                resource: r.resource.clone(),
                request: request(&r.parameters, &r.arguments, jsonata, "ItemReader", name)?,
                config,
                max_items,
            })
        }
    };
    let batcher = match &s.item_batcher {
        None => None,
        Some(b) => {
            let max_items = num_spec(
                &b.max_items_per_batch,
                &b.max_items_per_batch_path,
                "MaxItemsPerBatch",
                name,
            )?;
            let max_bytes = num_spec(
                &b.max_input_bytes_per_batch,
                &b.max_input_bytes_per_batch_path,
                "MaxInputBytesPerBatch",
                name,
            )?;
            if max_items.is_none() && max_bytes.is_none() {
                return Err(format!(
                    "state '{name}': ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch"
                ));
            }
            Some(BatcherSpec {
                max_items,
                max_bytes,
                batch_input: match &b.batch_input {
                    None => Request::None,
                    Some(v) if jsonata => Request::Jsonata(v.clone()),
                    Some(v) => Request::Path(
                        Template::compile(v)
                            .map_err(|e| format!("state '{name}', ItemBatcher.BatchInput: {e}"))?,
                    ),
                },
            })
        }
    };
    let writer = match &s.result_writer {
        None => None,
        Some(w) => {
            if let Some(r) = &w.resource {
                if r != crate::dmap::PUT_OBJECT {
                    return Err(format!(
                        "state '{name}': ResultWriter.Resource '{r}' is not supported (arn:aws:states:::s3:putObject)"
                    ));
                }
            }
            let req = request(&w.parameters, &w.arguments, jsonata, "ResultWriter", name)?;
            if w.resource.is_some() == matches!(req, Request::None) {
                return Err(format!(
                    "state '{name}': ResultWriter needs Resource and its Parameters/Arguments together"
                ));
            }
            if w.resource.is_none() && w.writer_config.is_none() {
                return Err(format!("state '{name}': ResultWriter cannot be empty"));
            }
            Some(WriterSpec {
                request: req,
                config: w.writer_config.clone(),
            })
        }
    };
    Ok(Some(DistSpec {
        label: s.label.clone().unwrap_or_else(|| name.to_string()),
        execution_type,
        reader,
        batcher,
        writer,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every comparison operator of the specification
    /// (<https://states-language.net/spec.html#choice-state>) but the type tests and
    /// `StringMatches` is an ordering comparison of the type its name says.
    #[test]
    fn every_ordering_operator_is_classified_by_its_name() {
        for &op in ComparisonOperator::ALL {
            let ordered = Ordered::of(op);
            if op.is_type_test() || op == ComparisonOperator::StringMatches {
                assert_eq!(ordered, None, "{}", op.name());
                continue;
            }
            let ordered = ordered.unwrap_or_else(|| panic!("{} is not classified", op.name()));
            let expected = match op.compared_type() {
                Some("string") => Compared::String,
                Some("number") => Compared::Numeric,
                Some("boolean") => Compared::Boolean,
                Some("timestamp") => Compared::Timestamp,
                other => panic!("{}: compared type {other:?}", op.name()),
            };
            assert_eq!(ordered.compared, expected, "{}", op.name());
        }
        let le = Ordered::of(ComparisonOperator::NumericLessThanEqualsPath).map(|o| o.relation);
        assert_eq!(le, Some(Relation::LessThanEquals));
        assert!(Relation::LessThanEquals.holds(std::cmp::Ordering::Equal));
        assert!(!Relation::GreaterThan.holds(std::cmp::Ordering::Equal));
    }
}
