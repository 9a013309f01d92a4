//! The workflow builder: chains states into a typed [`Flow`], branches with [`Choice`], nests
//! [`Parallel`] branches and [`Map`] processors, and produces the ASL model.
//!
//! A `Flow<T>` is the workflow under construction, where `T` is the Rust type of the data the
//! next state receives. [`Flow::then`] appends a typed step ([`TypedTask`]) and only compiles
//! when the step's input type is `T`; the flow then carries the step's output type. Shapes the
//! type system cannot follow (a `ResultPath` merge, a raw state) are declared with
//! [`Flow::assume`] and friends and verified against JSON Schemas when the workflow is emitted
//! ([`crate::emit::emit`]).
//!
//! ```
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//! use workflow_dsl::builder::{task, workflow, Cond, Fail};
//! use workflow_dsl::typed::{Retry, TaskStep};
//! use workflow_dsl::step_errors;
//!
//! #[derive(Serialize, Deserialize, JsonSchema)]
//! #[serde(rename_all = "camelCase")]
//! struct Order { order_id: String, total_cents: i64 }
//!
//! step_errors! { pub enum ValidateError { InvalidOrder } }
//!
//! struct ValidateOrder;
//! impl TaskStep for ValidateOrder {
//!     const NAME: &'static str = "validate-order";
//!     type Input = Order;
//!     type Output = Order;
//!     type Error = ValidateError;
//! }
//!
//! let flow = workflow::<Order>("Validates orders")
//!     .then(task::<ValidateOrder>("Validate order").retry(Retry::lambda_service_errors()))
//!     .choice("Free?", |c| {
//!         c.when(Cond::numeric_equals("$.totalCents", 0), |f| {
//!             f.fail(Fail::new("Free order").error(ValidateError::InvalidOrder))
//!         })
//!         .otherwise(|f| f)
//!     })
//!     .succeed("Done");
//! let emitted = workflow_dsl::emit::emit(flow).unwrap();
//! assert!(emitted.json.contains("${ValidateOrderFunctionArn}"));
//! ```

mod child;
mod choice;
pub mod distributed;
mod states;

pub use choice::{Choice, Cond, NumericOperand};
pub use states::{
    task, AsIs, Fail, FromArguments, Map, Parallel, Pass, StepInput, Task, TypedTask, Wait,
};

pub use distributed::{CsvHeaders, DistributedMap, ItemBatcher, ItemReader, ResultWriter};

pub use child::{child, ChildTask};

pub(crate) use child::ChildPlan;
pub(crate) use states::TypedPlan;

use std::collections::BTreeMap;
use std::marker::PhantomData;

use schemars::JsonSchema;
use serde_json::Value;

use crate::model::{QueryLanguage, State, StateMachine, States, SubWorkflow};
use crate::schema::{self, Declared};
use crate::typed::{TaskStep, TypedWorkflow};

/// What the builder knows beyond the ASL: schemas of task results, declared types, problems.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    /// JSON Schema of each Task's raw result, by state name.
    pub(crate) result_schemas: BTreeMap<String, Value>,
    /// Types declared for a state's output, by state name.
    pub(crate) declared_outputs: BTreeMap<String, Declared>,
    /// Types declared for a state's input, by state name.
    pub(crate) declared_inputs: BTreeMap<String, Declared>,
    /// Mistakes found while building, reported by emit.
    pub(crate) problems: Vec<String>,
    /// Declared types of workflow variables ([`crate::vars::Var`]), by name.
    pub(crate) variables: BTreeMap<String, Declared>,
    /// The type a typed step's `arguments` template must produce (its input), by state name.
    pub(crate) declared_arguments: BTreeMap<String, Declared>,
    /// How each typed step is written in either query language, by state name.
    pub(crate) typed_plans: BTreeMap<String, TypedPlan>,
    /// How each child-workflow Task is written in either query language, by state name.
    pub(crate) child_plans: BTreeMap<String, ChildPlan>,
}

impl Meta {
    fn merge(&mut self, other: Meta) {
        self.result_schemas.extend(other.result_schemas);
        self.declared_outputs.extend(other.declared_outputs);
        self.declared_inputs.extend(other.declared_inputs);
        self.problems.extend(other.problems);
        for (name, declared) in other.variables {
            self.declare_variable("", name, declared);
        }
        self.declared_arguments.extend(other.declared_arguments);
        self.typed_plans.extend(other.typed_plans);
        self.child_plans.extend(other.child_plans);
    }

    /// Records that `state` assigns `variable` as a `declared`; one variable has one type.
    pub(crate) fn declare_variable(&mut self, state: &str, variable: String, declared: Declared) {
        match self.variables.get(&variable) {
            Some(existing) if existing.schema != declared.schema => {
                let by = if state.is_empty() {
                    String::new()
                } else {
                    format!("State '{state}': ")
                };
                self.problems.push(format!(
                    "{by}variable '{variable}' is assigned as `{}` here and as `{}` elsewhere; \
                     one variable has one type (use two variables)",
                    declared.type_name, existing.type_name
                ));
            }
            Some(_) => {}
            None => {
                self.variables.insert(variable, declared);
            }
        }
    }
}

/// A pointer that waits for the next state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hole {
    /// `StartAt` of the (sub-)workflow.
    Start,
    /// `Next` of the named state.
    Next(String),
    /// `Default` of the named Choice state.
    Default(String),
    /// `Next` of rule `usize` of the named Choice state.
    Rule(String, usize),
    /// The first state of a detached chain (reached by Catch or goto only).
    Detached,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Graph {
    states: States,
    start: Option<String>,
    detached_start: Option<String>,
    meta: Meta,
    comment: Option<String>,
    timeout_seconds: Option<u64>,
    input_schema: Option<Value>,
    query_language: Option<QueryLanguage>,
}

impl Graph {
    fn problem(&mut self, message: String) {
        self.meta.problems.push(message);
    }

    fn fill(&mut self, hole: &Hole, target: &str) {
        let target = target.to_owned();
        match hole {
            Hole::Start => self.start = Some(target),
            Hole::Detached => self.detached_start = Some(target),
            Hole::Next(name) => match self.states.get_mut(name) {
                Some(State::Pass(s)) => s.next = Some(target),
                Some(State::Task(s)) => s.next = Some(target),
                Some(State::Wait(s)) => s.next = Some(target),
                Some(State::Parallel(s)) => s.next = Some(target),
                Some(State::Map(s)) => s.next = Some(target),
                _ => unreachable!("only transitioning states leave a Next hole"),
            },
            Hole::Default(name) => {
                if let Some(State::Choice(c)) = self.states.get_mut(name) {
                    c.default = Some(target);
                }
            }
            Hole::Rule(name, index) => {
                if let Some(State::Choice(c)) = self.states.get_mut(name) {
                    c.choices[*index].next = Some(target);
                }
            }
        }
    }

    /// Closes the open ends: `End: true` where allowed, a problem elsewhere.
    fn close(&mut self, holes: Vec<Hole>) {
        for hole in holes {
            match hole {
                Hole::Next(name) => match self.states.get_mut(&name) {
                    Some(State::Pass(s)) => s.end = Some(true),
                    Some(State::Task(s)) => s.end = Some(true),
                    Some(State::Wait(s)) => s.end = Some(true),
                    Some(State::Parallel(s)) => s.end = Some(true),
                    Some(State::Map(s)) => s.end = Some(true),
                    _ => {}
                },
                Hole::Rule(name, index) => self.problem(format!(
                    "Choice '{name}': rule {} leads nowhere; add a state to its branch, `goto` an \
                     existing state, or continue the flow after the choice",
                    index + 1
                )),
                Hole::Default(name) => self.problem(format!(
                    "Choice '{name}': the `otherwise` branch leads nowhere; add a state to it, \
                     `goto` an existing state, or continue the flow after the choice"
                )),
                Hole::Start => self.problem(
                    "the workflow (or a branch) has no states; add at least one state".into(),
                ),
                Hole::Detached => {}
            }
        }
    }
}

/// Checks a state name against the ASL rules (1-80 characters).
fn check_name(graph: &mut Graph, name: &str) {
    let length = name.chars().count();
    if length == 0 {
        graph.problem("a state name is empty; name every state".into());
    } else if length > 80 {
        graph.problem(format!(
            "state name '{name}' is {length} characters long; ASL allows at most 80"
        ));
    }
    if graph.states.contains_key(name) {
        graph.problem(format!(
            "state name '{name}' is used twice; state names must be unique in the workflow"
        ));
    }
}

/// A workflow under construction; the next state receives data of type `T`.
#[must_use = "a flow does nothing until it is emitted"]
pub struct Flow<T> {
    graph: Graph,
    holes: Vec<Hole>,
    _data: PhantomData<fn() -> T>,
}

/// A flow whose every path has ended (with Succeed, Fail or goto). More chains can still be
/// added with [`Ended::detached`], and it can be emitted.
#[must_use = "a flow does nothing until it is emitted"]
pub struct Ended {
    graph: Graph,
}

/// The data type after a Choice whose every branch ends ([`Flow::choice_ended`]): it has no
/// values, so no branch can continue into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllEnded {}

/// What a Choice branch, a Parallel branch or a Map processor returns: a [`Flow`] carrying `U`,
/// or an [`Ended`] flow.
#[diagnostic::on_unimplemented(
    message = "a branch returning `{Self}` cannot join a flow that carries `{U}`",
    label = "this branch does not end, and its data is not `{U}`",
    note = "every branch either ends (`.succeed`, `.fail`, `.goto`) or continues with the same data \
            type as the other branches: declare a branch's type with `.assume::<T>()` or \
            `.pass_as::<T>(...)`, or name the type after the choice with `.choice::<T>(...)`; \
            with `choice_ended`, every branch must end"
)]
pub trait Branch<U>: sealed::Sealed {
    #[doc(hidden)]
    fn into_parts(self) -> BranchParts;
}

mod sealed {
    pub trait Sealed {}
    impl<U> Sealed for super::Flow<U> {}
    impl Sealed for super::Ended {}
}

/// The inside of a finished branch (opaque).
#[doc(hidden)]
pub struct BranchParts {
    graph: Graph,
    holes: Vec<Hole>,
}

impl BranchParts {
    pub(crate) fn split(self) -> (Graph, Vec<Hole>) {
        (self.graph, self.holes)
    }
}

impl<U> Branch<U> for Flow<U> {
    fn into_parts(self) -> BranchParts {
        BranchParts {
            graph: self.graph,
            holes: self.holes,
        }
    }
}

impl<U> Branch<U> for Ended {
    fn into_parts(self) -> BranchParts {
        BranchParts {
            graph: self.graph,
            holes: Vec::new(),
        }
    }
}

/// Starts a workflow whose input is `T` (for SQS-started workflows: the message type).
pub fn workflow<T: JsonSchema>(comment: impl Into<String>) -> Flow<T> {
    let mut flow = Flow::<T>::sub();
    flow.graph.comment = Some(comment.into());
    flow.graph.input_schema = Some(schema::of::<T>());
    flow
}

impl<T> Flow<T> {
    fn with(graph: Graph, holes: Vec<Hole>) -> Self {
        Flow {
            graph,
            holes,
            _data: PhantomData,
        }
    }

    fn sub() -> Self {
        Flow::with(Graph::default(), vec![Hole::Start])
    }

    fn retype<U>(self) -> Flow<U> {
        Flow::with(self.graph, self.holes)
    }

    /// Adds `state` called `name` after the open ends. `transitions`: it has Next/End.
    fn attach(&mut self, name: &str, state: State) {
        check_name(&mut self.graph, name);
        if self.holes.is_empty() {
            self.graph.problem(format!(
                "state '{name}' is unreachable: the flow before it has ended (Succeed, Fail or \
                 goto); attach it with `detached` and reach it by Catch or goto"
            ));
        }
        let transitions = matches!(
            state,
            State::Pass(_) | State::Task(_) | State::Wait(_) | State::Parallel(_) | State::Map(_)
        );
        for hole in std::mem::take(&mut self.holes) {
            self.graph.fill(&hole, name);
        }
        self.graph.states.insert(name.to_owned(), state);
        if transitions {
            self.holes = vec![Hole::Next(name.to_owned())];
        }
    }

    fn declare_output(&mut self, state: &str, declared: Declared) {
        self.graph
            .meta
            .declared_outputs
            .insert(state.to_owned(), declared);
    }

    /// Names of the states whose output the next state receives.
    fn open_states(&self) -> Vec<String> {
        self.holes
            .iter()
            .filter_map(|h| match h {
                Hole::Next(n) | Hole::Default(n) | Hole::Rule(n, _) => Some(n.clone()),
                Hole::Start | Hole::Detached => None,
            })
            .collect()
    }

    /// Total execution timeout of the workflow (`TimeoutSeconds` at the top level).
    pub fn execution_timeout_seconds(mut self, seconds: u64) -> Self {
        self.graph.timeout_seconds = Some(seconds);
        self
    }

    /// Appends a typed step. Compiles only when the step's input type is the current data type
    /// `T`; the next state receives the step's output.
    pub fn then<S: TaskStep, In: StepInput<S, T>>(
        mut self,
        step: TypedTask<S, In>,
    ) -> Flow<S::Output> {
        if step.has_result_path() {
            self.graph.problem(format!(
                "State '{}': a step with result_path merges its output into the data; append \
                 it with `then_merged::<Merged>(...)`, naming the merged type",
                step.name()
            ));
        }
        self.attach_typed(step, false);
        self.retype()
    }

    /// Appends a typed step whose output is merged into the data at its
    /// [`TypedTask::result_path`]; the next state receives `M`, checked at emit against the
    /// merged data (every required field of `M` must be there, with its type).
    pub fn then_merged<M: JsonSchema, S: TaskStep, In: StepInput<S, T>>(
        mut self,
        step: TypedTask<S, In>,
    ) -> Flow<M> {
        let name = step.name().to_owned();
        if !step.has_result_path() {
            self.graph.problem(format!(
                "State '{name}': then_merged needs a step with result_path (where its output goes)"
            ));
        }
        self.attach_typed(step, false);
        self.declare_output(&name, Declared::of::<M>());
        self.retype()
    }

    fn attach_typed<S: TaskStep, In>(&mut self, step: TypedTask<S, In>, keep_input: bool) {
        let (name, state, result_schema, plan, meta) = step.into_state(keep_input);
        self.graph.meta.merge(meta);
        self.graph
            .meta
            .result_schemas
            .insert(name.clone(), result_schema);
        self.graph.meta.typed_plans.insert(name.clone(), plan);
        self.attach(&name, state);
    }

    /// Appends a typed step run for its effect (a notification, say): its result is discarded
    /// (`ResultPath: null`), so the next state receives the same data `T`, the step's input.
    /// Compiles only when the step's input type is `T`.
    pub fn then_for_effect<S: TaskStep, In: StepInput<S, T>>(
        mut self,
        step: TypedTask<S, In>,
    ) -> Flow<T>
    where
        T: JsonSchema,
    {
        let name = step_name(&step);
        self.attach_typed(step, true);
        self.declare_output(&name, Declared::of::<T>());
        self
    }

    /// Makes JSONata the workflow's query language (top-level `"QueryLanguage": "JSONata"`,
    /// <https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>): every
    /// state evaluates `{% %}` expressions in `Arguments`, `Output`, `Assign`, `Condition`,
    /// `Items`..., and typed steps are written with `Arguments`/`Output`. Call it right after
    /// [`workflow`], before any state.
    pub fn jsonata(mut self) -> Self {
        if self.graph.start.is_some() || !self.graph.states.is_empty() {
            self.graph.problem(
                "`jsonata()` sets the language of the whole workflow: call it right after \
                 `workflow(...)`, before the first state (or set `query_language` on a state)"
                    .into(),
            );
        }
        self.graph.query_language = Some(QueryLanguage::JSONata);
        self
    }

    /// Appends an untyped Task whose result is discarded (`ResultPath: null` unless the task
    /// sets its own): the next state receives the same data.
    pub fn then_keep(mut self, task: Task) -> Flow<T>
    where
        T: JsonSchema,
    {
        let task = if task.has_result_path() {
            task
        } else {
            task.discard_result()
        };
        let (name, state, result_schema, meta) = task.into_state();
        self.graph.meta.merge(meta);
        self.graph
            .meta
            .result_schemas
            .insert(name.clone(), result_schema);
        self.attach(&name, state);
        self.declare_output(&name, Declared::of::<T>());
        self
    }

    /// Appends an untyped Task whose output is declared to be `U` (checked at emit against the
    /// task's result schema and its ResultSelector/ResultPath/OutputPath).
    pub fn then_as<U: JsonSchema>(mut self, task: Task) -> Flow<U> {
        let (name, state, result_schema, meta) = task.into_state();
        self.graph.meta.merge(meta);
        self.graph
            .meta
            .result_schemas
            .insert(name.clone(), result_schema);
        self.attach(&name, state);
        self.declare_output(&name, Declared::of::<U>());
        self.retype()
    }

    /// Appends a Task starting the typed workflow `W` as a child execution and waiting for it
    /// ([`child`]). Compiles only when the flow carries `W::Input`; the next state receives
    /// `W::Output`.
    pub fn then_child<W: TypedWorkflow<Input = T>>(
        mut self,
        task: ChildTask<W>,
    ) -> Flow<W::Output> {
        let (name, state, result_schema, plan, meta) = task.into_state();
        self.graph.meta.merge(meta);
        self.graph
            .meta
            .result_schemas
            .insert(name.clone(), result_schema);
        self.graph.meta.child_plans.insert(name.clone(), plan);
        self.attach(&name, state);
        self.declare_output(&name, child::declared_output::<W>());
        self.retype()
    }

    /// Appends a callback Task (`.waitForTaskToken`: an integration such as
    /// `sqs::send_message` or `lambda::invoke` whose request carries the task token) that waits
    /// until `SendTaskSuccess` sends an `R`; the next state receives that `R` (not the
    /// integration's own response). A request without the task token is refused at emit, as
    /// nothing could answer it; set `heartbeat_seconds` to fail a callback nobody keeps alive.
    pub fn then_callback<R: JsonSchema>(mut self, task: Task) -> Flow<R> {
        let (name, state, result_schema, meta) = task.into_callback::<R>().into_state();
        self.graph.meta.merge(meta);
        self.graph
            .meta
            .result_schemas
            .insert(name.clone(), result_schema);
        self.attach(&name, state);
        self.declare_output(&name, Declared::of::<R>());
        self.retype()
    }

    /// Appends a Pass state that keeps the data type (checked at emit).
    pub fn pass(self, pass: Pass) -> Flow<T>
    where
        T: JsonSchema,
    {
        self.pass_as::<T>(pass)
    }

    /// Appends a Pass state whose output is declared to be `U` (checked at emit).
    pub fn pass_as<U: JsonSchema>(mut self, pass: Pass) -> Flow<U> {
        let (name, state, meta) = pass.into_state();
        self.graph.meta.merge(meta);
        self.attach(&name, state);
        self.declare_output(&name, Declared::of::<U>());
        self.retype()
    }

    /// Appends a Wait state (the data passes through).
    pub fn wait(mut self, wait: Wait) -> Flow<T> {
        let (name, state, meta) = wait.into_state();
        self.graph.meta.merge(meta);
        self.attach(&name, state);
        self
    }

    /// Ends this path with a Succeed state.
    pub fn succeed(mut self, name: &str) -> Ended {
        self.attach(name, State::Succeed(Default::default()));
        Ended { graph: self.graph }
    }

    /// Ends this path with a Fail state.
    pub fn fail(mut self, fail: Fail) -> Ended {
        let (name, state) = fail.into_state();
        self.attach(&name, state);
        Ended { graph: self.graph }
    }

    /// Continues at an existing (or later `detached`) state: a loop or a shared tail.
    pub fn goto(mut self, state: &str) -> Ended {
        for hole in std::mem::take(&mut self.holes) {
            self.graph.fill(&hole, state);
        }
        Ended { graph: self.graph }
    }

    /// A Choice state: `build` adds rules with [`Choice::when`] and the default with
    /// [`Choice::otherwise`]. The flow continues after the choice with the open ends of all
    /// branches, carrying `U`.
    pub fn choice<U>(
        mut self,
        name: &str,
        build: impl FnOnce(Choice<T, U>) -> Choice<T, U>,
    ) -> Flow<U> {
        self.attach(name, State::Choice(Default::default()));
        let choice = Choice::new(self.graph, name.to_owned());
        let (graph, holes) = build(choice).finish();
        Flow::with(graph, holes)
    }

    /// A Choice state whose every branch ends (with Succeed, Fail or a goto): the flow ends
    /// here, so no data type needs to be named. A branch that continues does not compile (its
    /// flow would carry data into [`AllEnded`], which has no values).
    ///
    /// ```
    /// use workflow_dsl::builder::{workflow, Cond, Fail};
    ///
    /// let flow = workflow::<serde_json::Value>("gate").choice_ended("Allowed?", |c| {
    ///     c.when(Cond::boolean_equals("$.allowed", true), |f| f.succeed("Done"))
    ///         .otherwise(|f| f.fail(Fail::new("Refused")))
    /// });
    /// assert!(workflow_dsl::emit::emit(flow).is_ok());
    /// ```
    pub fn choice_ended(
        mut self,
        name: &str,
        build: impl FnOnce(Choice<T, AllEnded>) -> Choice<T, AllEnded>,
    ) -> Ended {
        self.attach(name, State::Choice(Default::default()));
        let choice = Choice::new(self.graph, name.to_owned());
        let (mut graph, holes) = build(choice).finish();
        if !holes.is_empty() {
            graph.problem(format!(
                "Choice '{name}' was built with choice_ended, but a branch does not end"
            ));
        }
        Ended { graph }
    }

    /// A Parallel state; its output is the array of the branches' outputs, declared here as
    /// `Vec<serde_json::Value>` (use [`Flow::assume`] for a precise type, or
    /// [`Flow::parallel2`]).
    pub fn parallel(mut self, parallel: Parallel<T>) -> Flow<Vec<Value>> {
        let (name, state, meta) = parallel.into_state();
        self.graph.meta.merge(meta);
        self.attach(&name, state);
        self.retype()
    }

    /// A Parallel state whose output is declared to be `M` (checked at emit): the array of
    /// the branches' outputs, or, with a `result_path`, the input with that array merged in.
    pub fn parallel_as<M: JsonSchema>(self, parallel: Parallel<T>) -> Flow<M> {
        let name = parallel.name().to_owned();
        let mut flow = self.parallel(parallel).retype::<M>();
        flow.declare_output(&name, Declared::of::<M>());
        flow
    }

    /// A Parallel state of two typed branches; the next state receives `(A, B)`.
    pub fn parallel2<A, B>(
        self,
        parallel: Parallel<T>,
        first: impl FnOnce(Flow<T>) -> Flow<A>,
        second: impl FnOnce(Flow<T>) -> Flow<B>,
    ) -> Flow<(A, B)>
    where
        A: JsonSchema,
        B: JsonSchema,
    {
        let parallel = parallel.branch(first).branch(second);
        let name = parallel.name().to_owned();
        let merged = parallel.has_result_path();
        let mut flow = self.parallel(parallel).retype::<(A, B)>();
        if merged {
            flow.graph.problem(format!(
                "Parallel '{name}': parallel2 hands the next state the branches' outputs (A, B); \
                 with result_path the output is the merged input: use `parallel_as::<Merged>`"
            ));
        }
        flow.declare_output(&name, Declared::of::<(A, B)>());
        flow
    }

    /// A Map state iterating over items of type `I` (from `ItemsPath`, or `ItemSelector`);
    /// `processor` runs for each item and produces `R`; the next state receives `Vec<R>`.
    pub fn map<I: JsonSchema, R>(
        mut self,
        map: Map,
        processor: impl FnOnce(Flow<I>) -> Flow<R>,
    ) -> Flow<Vec<R>> {
        let sub = Flow::<I>::sub();
        let (mut graph, holes) = processor(sub).into_parts().split();
        graph.close(holes);
        let start = graph.start.clone();
        if let Some(start) = &start {
            graph
                .meta
                .declared_inputs
                .insert(start.clone(), Declared::of::<I>());
        }
        let (name, state, meta) = map.into_state(graph);
        self.graph.meta.merge(meta);
        self.attach(&name, state);
        self.retype()
    }

    /// A Map state whose output is declared to be `M` (checked at emit): the array of the
    /// processor's outputs, or, with a `result_path`, the input with that array merged in.
    pub fn map_as<I: JsonSchema, R, M: JsonSchema>(
        self,
        map: Map,
        processor: impl FnOnce(Flow<I>) -> Flow<R>,
    ) -> Flow<M> {
        let name = map.name().to_owned();
        let mut flow = self.map::<I, R>(map, processor).retype::<M>();
        flow.declare_output(&name, Declared::of::<M>());
        flow
    }

    /// A distributed Map (each item, or batch, a child workflow execution) whose processor
    /// receives `I` (what the reader produces: checked at emit) and produces `R`; the next state
    /// receives `Vec<R>`. With a [`ResultWriter`], use [`Flow::distributed_map_to_s3`].
    pub fn distributed_map<I: JsonSchema, R>(
        mut self,
        map: DistributedMap,
        processor: impl FnOnce(Flow<I>) -> Flow<R>,
    ) -> Flow<Vec<R>> {
        if map.has_result_writer() {
            self.graph.problem(format!(
                "Map '{}' writes its results to S3, so its output is the Map Run result, not the \
                 array: use `distributed_map_to_s3`",
                map.name()
            ));
        }
        self.attach_distributed::<I, R>(map, processor);
        self.retype()
    }

    /// A distributed Map with a [`ResultWriter`]: the results go to S3 and the next state
    /// receives the [`distributed::MapRunResult`] (the Map Run's ARN and the manifest's key).
    pub fn distributed_map_to_s3<I: JsonSchema, R>(
        mut self,
        map: DistributedMap,
        processor: impl FnOnce(Flow<I>) -> Flow<R>,
    ) -> Flow<distributed::MapRunResult> {
        let name = map.name().to_owned();
        if !map.has_result_writer() {
            self.graph.problem(format!(
                "Map '{name}': distributed_map_to_s3 needs a `result_writer`"
            ));
        }
        self.attach_distributed::<I, R>(map, processor);
        self.declare_output(&name, Declared::of::<distributed::MapRunResult>());
        self.retype()
    }

    fn attach_distributed<I: JsonSchema, R>(
        &mut self,
        map: DistributedMap,
        processor: impl FnOnce(Flow<I>) -> Flow<R>,
    ) {
        let sub = Flow::<I>::sub();
        let (mut graph, holes) = processor(sub).into_parts().split();
        graph.close(holes);
        if let Some(start) = graph.start.clone() {
            graph
                .meta
                .declared_inputs
                .insert(start, Declared::of::<I>());
        }
        let (name, state, meta) = map.into_state(graph);
        self.graph.meta.merge(meta);
        self.attach(&name, state);
    }

    /// Inserts any ASL state (the escape hatch for what the builder does not model). Its
    /// `Next`/`End` are set by the flow; its output is declared to be `U` (checked at emit).
    pub fn raw<U: JsonSchema>(mut self, name: &str, state: State) -> Flow<U> {
        let state = match state {
            State::Choice(_) => {
                self.graph.problem(format!(
                    "raw state '{name}': insert Choice states with `choice`, not `raw`"
                ));
                state
            }
            other => other,
        };
        self.attach(name, state);
        self.declare_output(name, Declared::of::<U>());
        self.retype()
    }

    /// Inserts an ASL state given as JSON (e.g. `{"Type": "Pass", "Result": {...}}`); see
    /// [`Flow::raw`]. A document that is not a valid state is reported at emit.
    pub fn raw_json<U: JsonSchema>(mut self, name: &str, state: Value) -> Flow<U> {
        match serde_json::from_value::<State>(state) {
            Ok(state) => self.raw(name, state),
            Err(error) => {
                self.graph.problem(format!(
                    "raw state '{name}' is not a valid ASL state: {error}"
                ));
                self.retype()
            }
        }
    }

    /// Declares that the data is of type `U` from here on (after a ResultPath merge, say).
    /// Checked at emit: every required field of `U` must exist in the computed data.
    pub fn assume<U: JsonSchema>(mut self) -> Flow<U> {
        for state in self.open_states() {
            self.declare_output(&state, Declared::of::<U>());
        }
        self.retype()
    }

    /// Adds a chain that nothing flows into (reached by Catch targets or `goto`), whose first
    /// state receives `X`. The current flow continues unchanged.
    pub fn detached<X: JsonSchema, Y>(mut self, chain: impl FnOnce(Flow<X>) -> Flow<Y>) -> Self {
        self.graph = add_detached(self.graph, chain);
        self
    }

    /// Like [`Flow::detached`] for a chain that ends with Succeed/Fail/goto.
    pub fn detached_ended<X: JsonSchema>(mut self, chain: impl FnOnce(Flow<X>) -> Ended) -> Self {
        self.graph = add_detached::<X, Ended, ()>(self.graph, chain);
        self
    }
}

fn step_name<S: TaskStep, In>(step: &TypedTask<S, In>) -> String {
    step.name().to_owned()
}

fn add_detached<X: JsonSchema, B: Branch<Y>, Y>(
    mut graph: Graph,
    chain: impl FnOnce(Flow<X>) -> B,
) -> Graph {
    graph.detached_start = None;
    let (mut graph, holes) = chain(Flow::with(graph, vec![Hole::Detached]))
        .into_parts()
        .split();
    graph.close(holes);
    match graph.detached_start.take() {
        Some(first) => {
            graph
                .meta
                .declared_inputs
                .insert(first, Declared::of::<X>());
        }
        None => graph.problem("a detached chain has no states; add at least one".into()),
    }
    graph
}

impl Ended {
    /// Adds a chain reached by Catch targets or `goto`; see [`Flow::detached`].
    pub fn detached<X: JsonSchema, Y>(mut self, chain: impl FnOnce(Flow<X>) -> Flow<Y>) -> Self {
        self.graph = add_detached(self.graph, chain);
        self
    }

    /// Adds a chain that ends with Succeed/Fail/goto; see [`Flow::detached`].
    pub fn detached_ended<X: JsonSchema>(mut self, chain: impl FnOnce(Flow<X>) -> Ended) -> Self {
        self.graph = add_detached::<X, Ended, ()>(self.graph, chain);
        self
    }

    /// Total execution timeout of the workflow (`TimeoutSeconds` at the top level).
    pub fn execution_timeout_seconds(mut self, seconds: u64) -> Self {
        self.graph.timeout_seconds = Some(seconds);
        self
    }
}

/// A built workflow: the ASL document plus what the builder knows about its data.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    /// The ASL document.
    pub machine: StateMachine,
    /// JSON Schema of the workflow input (`$ref`s inlined).
    pub input_schema: Value,
    pub(crate) meta: Meta,
}

impl Built {
    /// Mistakes found while building (unreachable states, duplicate names, ...).
    pub fn problems(&self) -> &[String] {
        &self.meta.problems
    }
}

/// Anything that can be turned into a [`Built`] workflow: a [`Flow`] or an [`Ended`] flow.
pub trait IntoWorkflow {
    /// Closes the open ends (`End: true`) and assembles the ASL document.
    fn build(self) -> Built;
}

/// Writes every typed step in the query language it ends up in: its own, or the workflow's.
fn apply_typed_plans(states: &mut States, top: QueryLanguage, meta: &mut Meta) {
    for (name, state) in states.iter_mut() {
        match state {
            State::Task(task) => {
                let language = task.query_language.unwrap_or(top);
                if let Some(plan) = meta.typed_plans.get(name) {
                    plan.apply(task, language);
                    let schema = plan.result_schema(language);
                    meta.result_schemas.insert(name.clone(), schema);
                }
                if let Some(plan) = meta.child_plans.get(name) {
                    plan.apply(task, language);
                    if let Some(problem) = plan.problem(name, language) {
                        meta.problems.push(problem);
                    }
                }
            }
            State::Parallel(parallel) => {
                for branch in &mut parallel.branches {
                    apply_typed_plans(&mut branch.states, top, meta);
                }
            }
            State::Map(map) => {
                // A JSONata ItemReader/ResultWriter takes Arguments, not Parameters
                // (<https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html>).
                if map.query_language.unwrap_or(top) == QueryLanguage::JSONata {
                    if let Some(reader) = &mut map.item_reader {
                        if reader.arguments.is_none() {
                            reader.arguments = reader.parameters.take();
                        }
                    }
                    if let Some(writer) = &mut map.result_writer {
                        if writer.arguments.is_none() {
                            writer.arguments = writer.parameters.take();
                        }
                    }
                }
                for processor in map.item_processor.iter_mut().chain(map.iterator.iter_mut()) {
                    apply_typed_plans(&mut processor.states, top, meta);
                }
            }
            _ => {}
        }
    }
}

fn build_graph(mut graph: Graph, holes: Vec<Hole>) -> Built {
    graph.close(holes);
    let input_schema = graph.input_schema.take().unwrap_or(Value::Bool(true));
    let top = graph.query_language.unwrap_or(QueryLanguage::JSONPath);
    apply_typed_plans(&mut graph.states, top, &mut graph.meta);
    let machine = StateMachine {
        comment: graph.comment.take(),
        query_language: graph.query_language,
        start_at: graph.start.clone().unwrap_or_default(),
        states: std::mem::take(&mut graph.states),
        timeout_seconds: graph.timeout_seconds,
        version: None,
        extra: Default::default(),
    };
    Built {
        machine,
        input_schema,
        meta: graph.meta,
    }
}

impl<T> IntoWorkflow for Flow<T> {
    fn build(self) -> Built {
        build_graph(self.graph, self.holes)
    }
}

impl IntoWorkflow for Ended {
    fn build(self) -> Built {
        build_graph(self.graph, Vec::new())
    }
}

/// Builds a nested workflow from a closure, merging its meta into `meta`.
pub(crate) fn sub_workflow<I, U, B: Branch<U>>(
    build: impl FnOnce(Flow<I>) -> B,
    meta: &mut Meta,
) -> SubWorkflow {
    let (mut graph, holes) = build(Flow::<I>::sub()).into_parts().split();
    graph.close(holes);
    meta.merge(std::mem::take(&mut graph.meta));
    SubWorkflow {
        comment: None,
        processor_config: None,
        start_at: graph.start.unwrap_or_default(),
        states: graph.states,
        extra: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(Declared::of::<Vec<String>>().type_name, "Vec<String>");
        assert_eq!(Declared::of::<(u8, Value)>().type_name, "(u8, Value)");
    }
}
