//! In-memory state of the endpoint: state machines, executions, and the background tasks that run
//! executions on the engine; with a state directory, every change is also journaled
//! ([`super::journal`], each running execution's events as they happen) and a restarted endpoint
//! reloads it and resumes each interrupted execution at the state it was in ([`crate::resume`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::faults::Faults;
use super::journal::{self, ExecRecord, Journal, MachineRecord};
use super::protocol::ApiError;
use super::{MachineType, ServerConfig};
use crate::history::{EventType, HistoryEvent, LiveHistory, HISTORY_LIMIT};
use crate::{CompiledMachine, Engine, ExecOptions, ExecutionResult, ExecutionStatus, TaskRegistry};

pub(crate) struct Service {
    pub engine: Engine,
    pub config: ServerConfig,
    state: Mutex<State>,
    /// Set with `ServerConfig::state_dir`.
    journal: Option<Journal>,
    /// Set with `ServerConfig::fault_injection`.
    pub faults: Option<Faults>,
    /// Bumped whenever an execution closes (a `.sync` parent waits on it for its child).
    pub closed: tokio::sync::watch::Sender<u64>,
}

#[derive(Default)]
pub(crate) struct State {
    /// By ARN.
    pub machines: BTreeMap<String, Machine>,
    /// By ARN.
    pub activities: BTreeMap<String, Activity>,
    /// By ARN.
    pub executions: HashMap<String, Execution>,
    /// Execution ARNs in start order.
    pub order: Vec<String>,
    /// The journal sequence number of the next execution.
    pub next_seq: u64,
}

pub(crate) struct Machine {
    pub arn: String,
    pub name: String,
    /// Shared with every execution that runs this revision (a definition may be up to 1 MB).
    pub definition: Arc<str>,
    pub compiled: Arc<CompiledMachine>,
    pub role_arn: String,
    pub machine_type: MachineType,
    pub created: DateTime<Utc>,
    pub revision_id: String,
    pub logging: Option<Value>,
    pub tracing: Option<Value>,
    /// `encryptionConfiguration` as given (AWS's default `{"type": "AWS_OWNED_KEY"}` when absent).
    pub encryption: Option<Value>,
    pub description: Option<String>,
    /// Tags (TagResource, `tags` of CreateStateMachine), by key.
    pub tags: BTreeMap<String, String>,
    /// Published versions, by number.
    pub versions: BTreeMap<u64, Version>,
    /// The number the next published version gets (numbers are never reused).
    pub next_version: u64,
    /// Aliases, by name.
    pub aliases: BTreeMap<String, Alias>,
}

/// An activity: a name workers poll for tasks (GetActivityTask).
pub(crate) struct Activity {
    pub arn: String,
    pub name: String,
    pub created: DateTime<Utc>,
    pub encryption: Option<Value>,
    pub tags: BTreeMap<String, String>,
}

/// A published version: an immutable snapshot of one revision of a state machine.
/// <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-state-machine-version.html>
pub(crate) struct Version {
    pub number: u64,
    pub definition: Arc<str>,
    pub compiled: Arc<CompiledMachine>,
    pub role_arn: String,
    pub revision_id: String,
    pub description: Option<String>,
    pub created: DateTime<Utc>,
}

/// An alias: a name routing executions to one or two versions by weight.
/// <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-state-machine-alias.html>
pub(crate) struct Alias {
    pub name: String,
    pub description: Option<String>,
    /// (version number, weight in percent); the weights add up to 100.
    pub routing: Vec<(u64, u32)>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

/// What StartExecution asks for.
pub(crate) struct NewExecution {
    pub name: String,
    pub arn: String,
    /// The input as sent (JSON text) and parsed.
    pub input_text: String,
    pub input: Value,
    pub trace_header: Option<String>,
    /// The version to run (`None`: the latest revision).
    pub version: Option<u64>,
    /// The alias the execution was started through.
    pub alias_arn: Option<String>,
}

pub(crate) struct Execution {
    pub arn: String,
    pub machine_arn: String,
    pub name: String,
    /// The input as sent (JSON text).
    pub input: String,
    pub status: &'static str,
    pub start: DateTime<Utc>,
    pub stop: Option<DateTime<Utc>>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub history: Vec<HistoryEvent>,
    /// The history of an execution loaded from the journal (GetExecutionHistory's members).
    loaded_history: Vec<Value>,
    pub role_arn: String,
    pub trace_header: Option<String>,
    /// The machine's definition and revision when the execution started
    /// (DescribeStateMachineForExecution); `None` for one loaded from the journal.
    pub ran: Option<(Arc<str>, String)>,
    /// The version it runs, when started on a version or an alias.
    pub version_arn: Option<String>,
    /// The alias it was started through.
    pub alias_arn: Option<String>,
    /// How many times RedriveExecution ran it again, and when last.
    pub redrive_count: u32,
    pub redrive_date: Option<DateTime<Utc>>,
    machine_name: String,
    /// Journal sequence number (start order).
    seq: u64,
    /// The definition it runs, kept while RUNNING when journaling (to resume on it).
    definition: Option<Arc<str>>,
    resumed: u32,
    /// How many events of `loaded_history` the run under way continues (a redrive's or a resumed
    /// run's earlier events; 0 for a first run): its own events are numbered after them.
    base: usize,
    cancel: Arc<AtomicBool>,
    task: Option<tokio::task::AbortHandle>,
    /// The events of the run under way, as they happen (GetExecutionHistory while RUNNING).
    live: Option<LiveHistory>,
}

/// A RUNNING execution read from the journal, to be resumed.
pub(crate) struct Resume {
    arn: String,
    compiled: Arc<CompiledMachine>,
    input: Value,
}

/// How a run starts.
enum Launch {
    /// From StartAt (StartExecution).
    Start,
    /// From the state that failed (RedriveExecution).
    Redrive(crate::Redrive),
    /// Where an interrupted run was (a restart).
    Resume(crate::resume::Resume),
}

impl Service {
    /// A service without journal (state in memory only).
    pub fn new(registry: TaskRegistry, config: ServerConfig) -> Arc<Self> {
        Self::build(registry, config, None)
    }

    /// The service; its `states:startExecution` Tasks start executions on itself
    /// ([`super::child`]).
    fn build(
        mut registry: TaskRegistry,
        config: ServerConfig,
        journal: Option<Journal>,
    ) -> Arc<Self> {
        let faults = config.fault_injection.then(|| {
            let faults = Faults::default();
            faults.wrap(&mut registry);
            faults
        });
        Arc::new_cyclic(|me| {
            let children = super::child::ServerChildren {
                service: me.clone(),
            };
            if journal.is_some() {
                // A Map Run that ends is journaled with its execution at once: a restart after a
                // kill keeps the Map Runs a resumed execution had finished.
                let me = me.clone();
                registry.map_runs().set_on_end(move |execution_arn| {
                    if let Some(service) = me.upgrade() {
                        let state = service.state();
                        if let Some(exec) = state.executions.get(execution_arn) {
                            service.journal_execution(exec);
                        }
                    }
                });
            }
            crate::children::StartExecutionTask::new(Arc::new(children)).register(&mut registry);
            Service {
                engine: Engine::new(registry),
                config,
                state: Mutex::new(State::default()),
                journal,
                faults,
                closed: tokio::sync::watch::channel(0).0,
            }
        })
    }

    /// Tells the `.sync` parents waiting on executions that one closed.
    pub fn notify_closed(&self) {
        self.closed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A service on the journal in `config.state_dir` (when set): the journaled machines and
    /// executions are loaded; the RUNNING executions are returned to be [`Service::resume`]d.
    pub fn open(
        registry: TaskRegistry,
        config: ServerConfig,
    ) -> std::io::Result<(Arc<Self>, Vec<Resume>)> {
        let Some(dir) = config.state_dir.clone() else {
            return Ok((Service::new(registry, config), Vec::new()));
        };
        let journal = Journal::open(&dir)?;
        let loaded = journal.load()?;
        let service = Service::build(registry, config, Some(journal));
        let mut resumes = Vec::new();
        {
            let mut state = service.state();
            for m in loaded.machines {
                let arn = m.arn.clone();
                match Machine::from_record(m) {
                    Ok(m) => {
                        state.machines.insert(arn, m);
                    }
                    Err(e) => tracing::warn!("not loading the state machine {arn}: {e}"),
                }
            }
            for a in loaded.activities {
                state.activities.insert(
                    a.arn.clone(),
                    Activity {
                        arn: a.arn,
                        name: a.name,
                        created: parse_time(&a.created).unwrap_or_else(Utc::now),
                        encryption: a.encryption,
                        tags: a.tags,
                    },
                );
            }
            for mut r in loaded.executions {
                let arn = r.arn.clone();
                state.next_seq = state.next_seq.max(r.seq + 1);
                let map_runs = std::mem::take(&mut r.map_runs);
                let stopped = r.stop.as_deref().and_then(parse_time);
                match Execution::from_record(r) {
                    Ok((exec, resume)) => {
                        super::map_runs::load(
                            service.engine.registry().map_runs(),
                            &arn,
                            stopped,
                            map_runs,
                        );
                        if let Some(resume) = resume {
                            resumes.push(resume);
                        }
                        if state.executions.insert(arn.clone(), exec).is_none() {
                            state.order.push(arn);
                        }
                    }
                    Err(e) => tracing::warn!("not loading the execution {arn}: {e}"),
                }
            }
        }
        Ok((service, resumes))
    }

    /// Runs on the executions [`Service::open`] found RUNNING, each from where its event log says
    /// it was ([`crate::resume::progress`]): the state it was in runs again with the input it had
    /// received, the states it had left do not, its history continues under the same ARN, name and
    /// start date. One whose log shows it ended is closed as it ended. Needs a tokio runtime.
    /// Returns how many run on.
    pub fn resume(self: &Arc<Self>, resumes: Vec<Resume>) -> usize {
        use crate::resume::Progress;
        let mut state = self.state();
        let mut n = 0;
        for Resume {
            arn,
            compiled,
            input,
        } in resumes
        {
            let Some(exec) = state.executions.get_mut(&arn) else {
                continue;
            };
            match crate::resume::progress(&compiled, &exec.loaded_history) {
                Progress::NotStarted => {
                    exec.loaded_history.clear();
                    exec.base = 0;
                    exec.resumed += 1;
                    self.launch(exec, compiled, input);
                    self.journal_execution(exec);
                    n += 1;
                    tracing::info!(execution = %arn, "resumed a RUNNING execution from its start");
                }
                // Redriven (RedriveExecution had answered and journaled it RUNNING), but killed
                // before the redriven run recorded ExecutionRedriven: its log still ends with the
                // earlier run's end. The redrive runs now, as RedriveExecution had started it.
                Progress::Ended(_) if redrive_not_started(exec) => {
                    let mut redrive = redrive_point(&compiled, &exec.loaded_history, &exec.input);
                    redrive.redrive_count = exec.redrive_count;
                    exec.base = exec.loaded_history.len();
                    exec.resumed += 1;
                    let input = redrive.input.clone();
                    self.launch_with(exec, compiled, input, Launch::Redrive(redrive));
                    self.journal_execution(exec);
                    n += 1;
                    tracing::info!(execution = %arn, "started a redrive that a restart had interrupted before it ran");
                }
                Progress::Ended(end) => {
                    exec.close_from(&end);
                    self.journal_execution(exec);
                    tracing::info!(execution = %arn, status = exec.status, "closed an execution whose log shows its end");
                }
                Progress::Interrupted(resume) => {
                    exec.base = exec.loaded_history.len();
                    exec.resumed += 1;
                    let at = match &resume.from {
                        crate::resume::ResumeFrom::State { state, .. } => state.clone(),
                        crate::resume::ResumeFrom::End { .. } => "(its end)".to_string(),
                    };
                    self.launch_with(exec, compiled, input, Launch::Resume(resume));
                    self.journal_execution(exec);
                    n += 1;
                    tracing::info!(execution = %arn, state = %at, events = exec.base, "resumed a RUNNING execution where it was");
                }
            }
        }
        n
    }

    /// Writes the machines to the journal (when journaling).
    pub fn journal_machines(&self, state: &State) {
        if let Some(j) = &self.journal {
            let records = state.machines.values().map(Machine::record).collect();
            let activities = state
                .activities
                .values()
                .map(|a| journal::ActivityRecord {
                    arn: a.arn.clone(),
                    name: a.name.clone(),
                    created: journal::format_time(&a.created),
                    encryption: a.encryption.clone(),
                    tags: a.tags.clone(),
                })
                .collect();
            if let Err(e) = j.write_machines(records, activities) {
                tracing::error!("cannot journal the state machines: {e}");
            }
        }
    }

    /// Writes an execution to the journal (when journaling).
    pub fn journal_execution(&self, exec: &Execution) {
        if let Err(e) = self.try_journal_execution(exec) {
            tracing::error!("cannot journal the execution {}: {e}", exec.arn);
        }
    }

    fn try_journal_execution(&self, exec: &Execution) -> std::io::Result<()> {
        let Some(j) = &self.journal else {
            return Ok(());
        };
        let mut record = exec.record();
        record.map_runs = super::map_runs::journaled(self.engine.registry().map_runs(), &exec.arn);
        j.write_execution(&record)?;
        if exec.status != "RUNNING" {
            // Closed: the record has the history now.
            j.remove_events(exec.seq);
        }
        Ok(())
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `arn:<partition>:states:<region>:<account>` for the region a request was signed for.
    pub fn arn_prefix(&self, region: &str) -> String {
        format!(
            "arn:{}:states:{region}:{}",
            crate::partition_of(region),
            self.config.account_id
        )
    }

    pub fn exec_options(
        &self,
        machine: &Machine,
        name: &str,
        start: DateTime<Utc>,
        history: bool,
    ) -> ExecOptions {
        let mut options = self.options_for(
            &machine.arn,
            &machine.name,
            &machine.role_arn,
            name,
            start,
            history,
        );
        if machine.machine_type == MachineType::Express {
            // Express workflows have no history quota
            // (<https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>).
            options.history_limit = None;
            options.max_execution_seconds = Some(EXPRESS_MAX_SECONDS);
        }
        options
    }

    #[allow(clippy::too_many_arguments)]
    fn options_for(
        &self,
        machine_arn: &str,
        machine_name: &str,
        role_arn: &str,
        name: &str,
        start: DateTime<Utc>,
        history: bool,
    ) -> ExecOptions {
        ExecOptions {
            virtual_time: self.config.virtual_time,
            mock: None,
            execution_name: Some(name.to_string()),
            state_machine_name: Some(machine_name.to_string()),
            history,
            role_arn: Some(role_arn.to_string()),
            // An execution runs in its machine's region.
            region: region_of_arn(machine_arn)
                .unwrap_or(&self.config.region)
                .to_string(),
            account_id: self.config.account_id.clone(),
            cancel: None,
            start_time: Some(start),
            redrive: None,
            probe: None,
            history_limit: Some(HISTORY_LIMIT),
            live_history: None,
            max_execution_seconds: None,
            events_before: 0,
            resume: None,
            execution_arn: None,
        }
    }

    /// Records a new RUNNING execution of `state.machines[machine_arn]`, journals it (when
    /// journaling: the execution is on disk before StartExecution answers) and runs it in a
    /// background task. Returns its start date.
    pub fn spawn_execution(
        self: &Arc<Self>,
        state: &mut State,
        machine_arn: &str,
        new: NewExecution,
    ) -> Result<DateTime<Utc>, ApiError> {
        let NewExecution {
            name,
            arn,
            input_text,
            input,
            trace_header,
            version,
            alias_arn,
        } = new;
        let machine = state.machines.get(machine_arn).ok_or_else(|| {
            ApiError::new(
                "StateMachineDoesNotExist",
                format!("State Machine Does Not Exist: '{machine_arn}'"),
            )
        })?;
        // What runs: the latest revision, or a published version.
        let (definition, compiled, role_arn, revision_id, version_arn) = match version {
            None => (
                &machine.definition,
                machine.compiled.clone(),
                &machine.role_arn,
                &machine.revision_id,
                None,
            ),
            Some(number) => {
                let v = machine.versions.get(&number).ok_or_else(|| {
                    ApiError::new(
                        "StateMachineDoesNotExist",
                        format!("State Machine Does Not Exist: '{machine_arn}:{number}'"),
                    )
                })?;
                (
                    &v.definition,
                    v.compiled.clone(),
                    &v.role_arn,
                    &v.revision_id,
                    Some(format!("{machine_arn}:{number}")),
                )
            }
        };
        let start = Utc::now();
        let mut exec = Execution {
            arn: arn.clone(),
            machine_arn: machine.arn.clone(),
            name,
            input: input_text,
            status: "RUNNING",
            start,
            stop: None,
            output: None,
            error: None,
            cause: None,
            history: Vec::new(),
            loaded_history: Vec::new(),
            role_arn: role_arn.clone(),
            trace_header,
            ran: Some((definition.clone(), revision_id.clone())),
            version_arn,
            alias_arn,
            redrive_count: 0,
            redrive_date: None,
            machine_name: machine.name.clone(),
            seq: state.next_seq,
            definition: self.journal.as_ref().map(|_| definition.clone()),
            resumed: 0,
            base: 0,
            cancel: Arc::new(AtomicBool::new(false)),
            task: None,
            live: None,
        };
        self.try_journal_execution(&exec).map_err(|e| ApiError {
            code: "InternalFailure",
            message: format!("The execution could not be journaled: {e}"),
            status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            reason: None,
        })?;
        state.next_seq += 1;
        self.launch(&mut exec, compiled, input);
        state.executions.insert(arn.clone(), exec);
        state.order.push(arn);
        Ok(start)
    }

    /// Runs `exec` on `compiled` in a background task that records the result when it ends.
    fn launch(
        self: &Arc<Self>,
        exec: &mut Execution,
        compiled: Arc<CompiledMachine>,
        input: Value,
    ) {
        self.launch_with(exec, compiled, input, Launch::Start)
    }

    fn launch_with(
        self: &Arc<Self>,
        exec: &mut Execution,
        compiled: Arc<CompiledMachine>,
        input: Value,
        how: Launch,
    ) {
        exec.cancel = Arc::new(AtomicBool::new(false));
        let mut options = self.options_for(
            &exec.machine_arn,
            &exec.machine_name,
            &exec.role_arn,
            &exec.name,
            exec.start,
            true,
        );
        options.cancel = Some(exec.cancel.clone());
        // `$$.Execution.Id` is the execution's ARN as the endpoint answers it (`...:express:...`
        // for an Express machine's).
        options.execution_arn = Some(exec.arn.clone());
        // The run's events are numbered after the earlier ones it continues (the history limit
        // counts them all).
        options.events_before = exec.base as u64;
        match how {
            Launch::Start => {}
            Launch::Redrive(mut redrive) => {
                // The redriven run's own TimeoutSeconds starts now; the context's StartTime stays
                // the execution's.
                redrive.started = Some(exec.start);
                options.start_time = Some(exec.redrive_date.unwrap_or_else(Utc::now));
                options.redrive = Some(redrive);
            }
            Launch::Resume(resume) => {
                // A resumed redriven run is still that redrive (its context object's
                // RedriveCount and RedriveTime; its TimeoutSeconds counts from the redrive date);
                // where it starts is the resume's. Otherwise the start date stays the
                // execution's: TimeoutSeconds counts from it.
                if let Some(date) = exec.redrive_date {
                    options.start_time = Some(date);
                    options.redrive = Some(crate::Redrive {
                        redrive_count: exec.redrive_count,
                        started: Some(exec.start),
                        ..Default::default()
                    });
                }
                options.resume = Some(resume);
            }
        }
        if exec.arn.split(':').nth(5) == Some("express") {
            options.history_limit = None;
            options.max_execution_seconds = Some(EXPRESS_MAX_SECONDS);
        }
        let log = self.journal.as_ref().and_then(|j| {
            j.start_events(exec.seq, &exec.loaded_history[..exec.base])
                .map_err(|e| {
                    tracing::error!(
                        "cannot start the event log of {}: {e}; a restart runs it from its start",
                        exec.arn
                    )
                })
                .ok()
        });
        let live = match log {
            Some(log) => LiveHistory::with_sink(Arc::new(log)),
            None => LiveHistory::new(),
        };
        options.live_history = Some(live.clone());
        exec.live = Some(live);
        let service = self.clone();
        let exec_arn = exec.arn.clone();
        let run = exec.cancel.clone();
        let handle = tokio::spawn(async move {
            let result = service
                .engine
                .execute_compiled(&compiled, input, options)
                .await;
            service.finish(&exec_arn, &run, result);
        });
        exec.task = Some(handle.abort_handle());
    }

    /// Closes the run whose cancel flag is `run` with its `result`.
    fn finish(&self, arn: &str, run: &Arc<AtomicBool>, result: ExecutionResult) {
        let mut state = self.state();
        let Some(exec) = state.executions.get_mut(arn) else {
            return;
        };
        if exec.status != "RUNNING" || !Arc::ptr_eq(&exec.cancel, run) {
            // Stopped meanwhile (StopExecution already closed it), and perhaps redriven since:
            // the execution's current run is another one.
            return;
        }
        // The run's events are in the live history the execution was started with.
        let history = match exec.live.take() {
            // Moved (not cloned) into a vector of their number; the run's chunks are freed.
            Some(live) => live.take(),
            None => result.history,
        };
        exec.status = result.status.name();
        match result.status {
            ExecutionStatus::Succeeded { output } => exec.output = Some(output.to_string()),
            ExecutionStatus::Failed { error, cause }
            | ExecutionStatus::TimedOut { error, cause } => {
                exec.error = error;
                exec.cause = cause;
            }
            ExecutionStatus::Aborted => {}
        }
        exec.stop = Some(
            history
                .last()
                .map(|e| e.timestamp.to_datetime())
                .unwrap_or_else(Utc::now),
        );
        if exec.base > 0 {
            // A redriven or resumed run continues the history: its events follow the earlier ones.
            exec.loaded_history.truncate(exec.base);
            for event in history {
                if let Ok(value) = serde_json::to_value(event) {
                    exec.loaded_history.push(value);
                }
            }
            exec.base = 0;
        } else {
            exec.history = history;
        }
        exec.task = None;
        exec.definition = None;
        let exec = &state.executions[arn];
        self.journal_execution(exec);
        drop(state);
        self.notify_closed();
    }
}

impl Machine {
    fn record(&self) -> MachineRecord {
        MachineRecord {
            arn: self.arn.clone(),
            name: self.name.clone(),
            definition: self.definition.to_string(),
            role_arn: self.role_arn.clone(),
            machine_type: self.machine_type.as_str().to_string(),
            created: journal::format_time(&self.created),
            revision_id: self.revision_id.clone(),
            logging: self.logging.clone(),
            tracing: self.tracing.clone(),
            encryption: self.encryption.clone(),
            description: self.description.clone(),
            tags: self.tags.clone(),
            versions: self
                .versions
                .values()
                .map(|v| journal::VersionRecord {
                    number: v.number,
                    definition: v.definition.to_string(),
                    role_arn: v.role_arn.clone(),
                    revision_id: v.revision_id.clone(),
                    description: v.description.clone(),
                    created: journal::format_time(&v.created),
                })
                .collect(),
            next_version: self.next_version,
            aliases: self
                .aliases
                .values()
                .map(|a| journal::AliasRecord {
                    name: a.name.clone(),
                    description: a.description.clone(),
                    routing: a.routing.clone(),
                    created: journal::format_time(&a.created),
                    updated: journal::format_time(&a.updated),
                })
                .collect(),
        }
    }

    fn from_record(r: MachineRecord) -> Result<Self, String> {
        let machine_type = match r.machine_type.as_str() {
            "EXPRESS" => MachineType::Express,
            _ => MachineType::Standard,
        };
        let express = machine_type == MachineType::Express;
        let compiled = compile(&r.definition, express)?;
        let mut versions = BTreeMap::new();
        for v in r.versions {
            versions.insert(
                v.number,
                Version {
                    number: v.number,
                    compiled: compile(&v.definition, express)?,
                    definition: v.definition.into(),
                    role_arn: v.role_arn,
                    revision_id: v.revision_id,
                    description: v.description,
                    created: parse_time(&v.created).unwrap_or_else(Utc::now),
                },
            );
        }
        let aliases = r
            .aliases
            .into_iter()
            .map(|a| {
                let alias = Alias {
                    name: a.name.clone(),
                    description: a.description,
                    routing: a.routing,
                    created: parse_time(&a.created).unwrap_or_else(Utc::now),
                    updated: parse_time(&a.updated).unwrap_or_else(Utc::now),
                };
                (a.name, alias)
            })
            .collect();
        let next_version = r
            .next_version
            .max(versions.keys().last().map_or(1, |n| n + 1));
        Ok(Machine {
            arn: r.arn,
            name: r.name,
            definition: r.definition.into(),
            compiled,
            role_arn: r.role_arn,
            machine_type,
            created: parse_time(&r.created).unwrap_or_else(Utc::now),
            revision_id: r.revision_id,
            logging: r.logging,
            tracing: r.tracing,
            encryption: r.encryption,
            description: r.description,
            tags: r.tags,
            versions,
            next_version,
            aliases,
        })
    }
}

fn compile(definition: &str, express: bool) -> Result<Arc<CompiledMachine>, String> {
    super::definition::analyse(definition, express).map_err(|diags| {
        diags
            .iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("; ")
    })
}

impl Service {
    /// Runs a closed execution again from `redrive.state` (RedriveExecution): RUNNING again
    /// under its ARN, its earlier events kept. Returns the redrive date.
    pub fn redrive(
        self: &Arc<Self>,
        state: &mut State,
        arn: &str,
        definition: &Arc<str>,
        compiled: Arc<CompiledMachine>,
        mut redrive: crate::Redrive,
    ) -> Result<DateTime<Utc>, ApiError> {
        let exec = state.executions.get_mut(arn).ok_or_else(|| {
            ApiError::new(
                "ExecutionDoesNotExist",
                format!("Execution Does Not Exist: '{arn}'"),
            )
        })?;
        if exec.loaded_history.is_empty() {
            exec.loaded_history = exec
                .history
                .iter()
                .filter_map(|e| serde_json::to_value(e).ok())
                .collect();
        }
        exec.history.clear();
        exec.base = exec.loaded_history.len();
        let now = Utc::now();
        exec.redrive_count += 1;
        exec.redrive_date = Some(now);
        exec.status = "RUNNING";
        exec.stop = None;
        exec.output = None;
        exec.error = None;
        exec.cause = None;
        // Journaled with its definition, as a started execution is (a restart resumes it).
        exec.definition = self.journal.as_ref().map(|_| definition.clone());
        redrive.redrive_count = exec.redrive_count;
        let input = redrive.input.clone();
        self.launch_with(exec, compiled, input, Launch::Redrive(redrive));
        self.journal_execution(exec);
        Ok(now)
    }
}

/// Whether `exec` (journaled RUNNING) was redriven more times than its log shows
/// `ExecutionRedriven` events: its last redrive had not started running.
fn redrive_not_started(exec: &Execution) -> bool {
    let recorded = exec
        .loaded_history
        .iter()
        .filter(|e| e["type"] == "ExecutionRedriven")
        .count();
    exec.redrive_count as usize > recorded
}

/// Where a redrive of the execution whose history is `events` starts: the state its run stopped
/// in, read from the history as a restarted endpoint resumes a run, or (no state entered, or a
/// torn history whose last state had ended the workflow) its start with its `input`.
pub(super) fn redrive_point(
    compiled: &CompiledMachine,
    events: &[Value],
    input: &str,
) -> crate::Redrive {
    crate::resume::redrive_point(
        &compiled.graph,
        events,
        serde_json::from_str(input).unwrap_or(Value::Null),
    )
}

/// An Express workflow's longest run: 5 minutes, then `States.Timeout`
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>).
const EXPRESS_MAX_SECONDS: u64 = 300;

/// The region field of an ARN (`arn:<partition>:<service>:<region>:...`).
pub(crate) fn region_of_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// `SUCCEEDED` etc. as the static names the store keeps.
fn status_name(s: &str) -> Option<&'static str> {
    ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
        .into_iter()
        .find(|n| *n == s)
}

impl Execution {
    fn record(&self) -> ExecRecord {
        let history = if self.history.is_empty() {
            self.loaded_history.clone()
        } else {
            self.history
                .iter()
                .filter_map(|e| serde_json::to_value(e).ok())
                .collect()
        };
        ExecRecord {
            seq: self.seq,
            arn: self.arn.clone(),
            machine_arn: self.machine_arn.clone(),
            machine_name: self.machine_name.clone(),
            name: self.name.clone(),
            input: self.input.clone(),
            status: self.status.to_string(),
            start: journal::format_time(&self.start),
            stop: self.stop.as_ref().map(journal::format_time),
            output: self.output.clone(),
            error: self.error.clone(),
            cause: self.cause.clone(),
            role_arn: self.role_arn.clone(),
            trace_header: self.trace_header.clone(),
            definition: self.definition.as_deref().map(str::to_string),
            history,
            resumed: self.resumed,
            version_arn: self.version_arn.clone(),
            alias_arn: self.alias_arn.clone(),
            redrive_count: self.redrive_count,
            redrive_date: self.redrive_date.as_ref().map(journal::format_time),
            events: Vec::new(),
            map_runs: Vec::new(),
        }
    }

    /// An execution from its journal record, and what is needed to resume it when it was RUNNING.
    fn from_record(r: ExecRecord) -> Result<(Self, Option<Resume>), String> {
        let status =
            status_name(&r.status).ok_or_else(|| format!("unknown status {}", r.status))?;
        let start = parse_time(&r.start).ok_or_else(|| format!("bad start date {}", r.start))?;
        let mut r = r;
        let mut status = status;
        let resume = if status == "RUNNING" {
            match Self::resumable(&r) {
                Ok(resume) => Some(resume),
                Err(e) => {
                    // Kept (its name stays taken), closed as FAILED rather than dropped.
                    status = "FAILED";
                    r.stop = Some(journal::format_time(&Utc::now()));
                    r.error = Some(crate::error::names::RUNTIME.into());
                    r.cause = Some(format!(
                        "The execution could not be resumed after a restart: {e}"
                    ));
                    r.definition = None;
                    None
                }
            }
        } else {
            None
        };
        let exec = Execution {
            arn: r.arn,
            machine_arn: r.machine_arn,
            name: r.name,
            input: r.input,
            status,
            start,
            stop: r.stop.as_deref().and_then(parse_time),
            output: r.output,
            error: r.error,
            cause: r.cause,
            history: Vec::new(),
            // A RUNNING execution's history is in its event log (the earlier runs' included).
            loaded_history: if status == "RUNNING" && !r.events.is_empty() {
                r.events
            } else {
                r.history
            },
            role_arn: r.role_arn,
            trace_header: r.trace_header,
            ran: None,
            version_arn: r.version_arn,
            alias_arn: r.alias_arn,
            redrive_count: r.redrive_count,
            redrive_date: r.redrive_date.as_deref().and_then(parse_time),
            machine_name: r.machine_name,
            seq: r.seq,
            definition: r.definition.map(Arc::from),
            resumed: r.resumed,
            base: 0,
            cancel: Arc::new(AtomicBool::new(false)),
            task: None,
            live: None,
        };
        Ok((exec, resume))
    }

    /// What resuming a RUNNING journaled execution needs: its definition compiled, its input.
    fn resumable(r: &ExecRecord) -> Result<Resume, String> {
        let definition = r
            .definition
            .as_deref()
            .ok_or("a RUNNING execution without its definition")?;
        let express = r.arn.split(':').nth(5) == Some("express");
        let input = serde_json::from_str(&r.input).map_err(|e| e.to_string())?;
        Ok(Resume {
            arn: r.arn.clone(),
            compiled: compile(definition, express)?,
            input,
        })
    }

    /// Closes a RUNNING execution as its last event `end` says it ended (a restart found the end
    /// in its event log, its record not yet rewritten).
    fn close_from(&mut self, end: &Value) {
        let kind = end["type"].as_str().unwrap_or_default();
        self.status = match kind {
            "ExecutionSucceeded" => "SUCCEEDED",
            "ExecutionTimedOut" => "TIMED_OUT",
            "ExecutionAborted" => "ABORTED",
            _ => "FAILED",
        };
        let details = end
            .as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.ends_with("EventDetails")))
            .map(|(_, d)| d.clone())
            .unwrap_or(Value::Null);
        let text = |k: &str| details[k].as_str().map(str::to_string);
        self.output = text("output");
        self.error = text("error");
        self.cause = text("cause");
        self.stop = Some(
            end["timestamp"]
                .as_str()
                .and_then(parse_time)
                .unwrap_or_else(Utc::now),
        );
        self.definition = None;
        self.base = 0;
    }

    /// StopExecution: the execution ends ABORTED now. The background task is cancelled; the
    /// history keeps the events the run recorded, then `ExecutionAborted` (a redrive goes on from
    /// them) (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html>).
    pub fn stop(&mut self, error: Option<String>, cause: Option<String>) -> DateTime<Utc> {
        let now = Utc::now();
        self.cancel
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.status = "ABORTED";
        self.stop = Some(now);
        self.error = error.clone();
        self.cause = cause.clone();
        let mut details = serde_json::Map::new();
        if let Some(e) = error {
            details.insert("error".into(), Value::String(e));
        }
        if let Some(c) = cause {
            details.insert("cause".into(), Value::String(c));
        }
        let details = Value::Object(details);
        // The events the run recorded before it was stopped are kept, the abort after them.
        let ran = self.live.take().map(|l| l.take()).unwrap_or_default();
        if self.base > 0 {
            // A redriven or resumed run keeps the events before it: its own and the abort follow.
            self.loaded_history.truncate(self.base);
            self.base = 0;
            for event in ran {
                if let Ok(value) = serde_json::to_value(event) {
                    self.loaded_history.push(value);
                }
            }
            let last = self.loaded_history.len() as u64;
            let aborted = HistoryEvent::new(
                last + 1,
                last,
                now.into(),
                EventType::ExecutionAborted,
                Some(("executionAbortedEventDetails", details)),
            );
            if let Ok(value) = serde_json::to_value(&aborted) {
                self.loaded_history.push(value);
            }
            self.history.clear();
        } else {
            let mut events = if ran.is_empty() {
                vec![self.started_event()]
            } else {
                ran
            };
            let last = events.last().map_or(0, |e| e.id);
            events.push(HistoryEvent::new(
                last + 1,
                last,
                now.into(),
                EventType::ExecutionAborted,
                Some(("executionAbortedEventDetails", details)),
            ));
            self.history = events;
            self.loaded_history.clear();
        }
        self.definition = None;
        now
    }

    /// The ExecutionStarted event, for a running execution whose history is not in yet.
    pub fn started_event(&self) -> HistoryEvent {
        let details = serde_json::json!({
            "input": self.input,
            "inputDetails": {"truncated": false},
            "roleArn": self.role_arn,
        });
        HistoryEvent::new(
            1,
            0,
            self.start.into(),
            EventType::ExecutionStarted,
            Some(("executionStartedEventDetails", details)),
        )
    }

    /// How many events a closed execution's history has (every run's, for a redriven one).
    pub fn closed_event_count(&self) -> usize {
        self.history.len().max(self.loaded_history.len())
    }

    /// A page of the events so far as GetExecutionHistory's members (timestamps as text): the
    /// full history once closed; while RUNNING, the events recorded so far (after the earlier
    /// runs' events for a redrive), or the start event before the run recorded any. Returns
    /// (total, page).
    pub fn events_page(&self, reverse: bool, offset: usize, max: usize) -> (usize, Vec<Value>) {
        let to_json = |e: &HistoryEvent| serde_json::to_value(e).unwrap_or_default();
        if !self.history.is_empty() {
            return page(self.history.len(), reverse, offset, max, |i| {
                to_json(&self.history[i])
            });
        }
        let live = self.live.as_ref().filter(|l| !l.is_empty());
        match live {
            Some(live) if self.status == "RUNNING" => live.with_events(|events| {
                // A redriven or resumed run's events follow the earlier ones (`loaded_history`).
                let base = self.base.min(self.loaded_history.len());
                let earlier = &self.loaded_history[..base];
                page(base + events.len(), reverse, offset, max, |i| {
                    if i < base {
                        earlier[i].clone()
                    } else {
                        events.get(i - base).map(to_json).unwrap_or_default()
                    }
                })
            }),
            _ if !self.loaded_history.is_empty() => {
                page(self.loaded_history.len(), reverse, offset, max, |i| {
                    self.loaded_history[i].clone()
                })
            }
            _ => {
                let started = self.started_event();
                page(1, reverse, offset, max, |_| to_json(&started))
            }
        }
    }
}

/// Items `offset..offset + max` of `total` (counted from the end when `reverse`), each made by
/// `item(index)`. Returns (total, page).
pub(super) fn page(
    total: usize,
    reverse: bool,
    offset: usize,
    max: usize,
    item: impl Fn(usize) -> Value,
) -> (usize, Vec<Value>) {
    let end = offset.saturating_add(max).min(total);
    let items = (offset.min(end)..end)
        .map(|k| if reverse { total - 1 - k } else { k })
        .map(item)
        .collect();
    (total, items)
}

pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
