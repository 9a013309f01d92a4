//! The endpoint's journal (`ServerConfig::state_dir`): state machines and executions written to a
//! directory so that a restarted endpoint answers for them and resumes the running ones.
//!
//! Layout of the directory:
//! - `machines.json`: every state machine (`{"machines": [...]}`), rewritten on each change;
//! - `executions/exec-<seq>.json`: one file per execution (`seq` = start order), written when it
//!   starts (with its definition, input and start date) and rewritten when it closes (with its
//!   status, output or error, and history), and whenever one of the Map Runs its distributed Map
//!   states started ends (the record keeps them, with their children and the children's
//!   histories);
//! - `executions/exec-<seq>.events.jsonl`: while an execution runs, its history events, one JSON
//!   object a line, appended as they are recorded ([`EventLog`]); a restarted endpoint reads them
//!   to resume the execution where it was ([`crate::resume`]), and removes the file once the
//!   execution is closed;
//! - `.lock`: held with an exclusive `flock(2)` for as long as the endpoint runs ([`Journal::open`]),
//!   so that a second endpoint on the same directory is refused; the OS releases it when the
//!   process ends, however it ends (`kill -9` included).
//!
//! Every write of a whole file goes to `<file>.tmp` and is renamed over the file, so a reader sees
//! the old or the new content, never a torn file; a `.tmp` left by a killed process is ignored and
//! removed on load. An event log is appended to with one `write` per line (a `*StateExited` line
//! is written together with the line after it, so that the state the transition went to is on
//! disk with it); a torn last line is ignored on load. Writes are not fsynced: the journal
//! survives the process being killed (SIGKILL), not a power loss. Files that do not parse are
//! skipped with a warning.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::history::{EventSink, HistoryEvent};

const MACHINES: &str = "machines.json";
const EXECUTIONS: &str = "executions";
const LOCK: &str = ".lock";

/// A state machine as journaled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MachineRecord {
    pub arn: String,
    pub name: String,
    pub definition: String,
    pub role_arn: String,
    /// STANDARD or EXPRESS.
    #[serde(rename = "type")]
    pub machine_type: String,
    pub created: String,
    pub revision_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tags: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<VersionRecord>,
    #[serde(default)]
    pub next_version: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<AliasRecord>,
}

/// A published version as journaled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VersionRecord {
    pub number: u64,
    pub definition: String,
    pub role_arn: String,
    pub revision_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created: String,
}

/// An alias as journaled: its routing as (version number, weight) pairs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AliasRecord {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub routing: Vec<(u64, u32)>,
    pub created: String,
    pub updated: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct MachinesFile {
    machines: Vec<MachineRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    activities: Vec<ActivityRecord>,
}

/// An activity as journaled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActivityRecord {
    pub arn: String,
    pub name: String,
    pub created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Value>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tags: std::collections::BTreeMap<String, String>,
}

/// An execution as journaled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExecRecord {
    pub seq: u64,
    pub arn: String,
    pub machine_arn: String,
    pub machine_name: String,
    pub name: String,
    /// The input as sent (JSON text).
    pub input: String,
    pub status: String,
    pub start: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    pub role_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_header: Option<String>,
    /// The definition the execution runs (kept while it is RUNNING, to resume it on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// The history events once closed (GetExecutionHistory's members, timestamps as text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Value>,
    /// How many times the execution was resumed after a restart.
    #[serde(default)]
    pub resumed: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_arn: Option<String>,
    #[serde(default)]
    pub redrive_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redrive_date: Option<String>,
    /// A RUNNING execution's events as its event log has them (not in the record's file).
    #[serde(skip)]
    pub events: Vec<Value>,
    /// The Map Runs its distributed Map states started (as they were when the record was written).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub map_runs: Vec<MapRunJournal>,
}

/// A Map Run as journaled with its execution (what DescribeMapRun, ListMapRuns and the
/// Map Run's children answer after a restart).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MapRunJournal {
    pub map_run_arn: String,
    pub state_machine_arn: String,
    pub execution_type: String,
    pub status: String,
    pub start: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<String>,
    pub max_concurrency: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_percentage: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_count: Option<u64>,
    pub total_items: u64,
    pub results_written: u64,
    pub total_executions: u64,
    pub children: Vec<ChildJournal>,
    /// How many times it was redriven (0: never), and when last.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redrive_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redrive_date: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A Map Run's child execution as journaled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChildJournal {
    pub arn: String,
    pub name: String,
    pub input: Value,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    pub start: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<String>,
    pub item_count: u64,
    /// Its history events (GetExecutionHistory's members).
    pub history: Vec<Value>,
    /// How many times it was redriven (0: never), and when last.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redrive_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redrive_date: Option<String>,
}

/// Everything a journal directory holds.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub machines: Vec<MachineRecord>,
    pub activities: Vec<ActivityRecord>,
    /// In start order.
    pub executions: Vec<ExecRecord>,
}

/// The journal directory, locked for this process.
#[derive(Debug)]
pub(crate) struct Journal {
    dir: PathBuf,
    /// `.lock`, held (flock) while this is alive.
    _lock: std::fs::File,
}

pub(crate) fn format_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl Journal {
    /// Opens (creating it if needed) the journal in `dir` and locks it: fails with
    /// [`io::ErrorKind::WouldBlock`] when another process holds the lock.
    pub fn open(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir.join(EXECUTIONS))?;
        let lock = lock(&dir.join(LOCK)).map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock => io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "the state directory {} is in use by another endpoint (lock file {} held)",
                    dir.display(),
                    dir.join(LOCK).display()
                ),
            ),
            _ => e,
        })?;
        Ok(Journal {
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }

    fn events_path(&self, seq: u64) -> PathBuf {
        self.dir
            .join(EXECUTIONS)
            .join(format!("exec-{seq:012}.events.jsonl"))
    }

    /// Starts the event log of execution `seq` with the events of its history so far (`before`:
    /// none for a new execution; the earlier runs' for a redrive; what the log had for a resumed
    /// one, rewritten without a torn last line) and returns it, open for appending.
    pub fn start_events(&self, seq: u64, before: &[Value]) -> io::Result<EventLog> {
        let path = self.events_path(seq);
        let mut text = Vec::new();
        for event in before {
            serde_json::to_writer(&mut text, event)?;
            text.push(b'\n');
        }
        write_atomic(&path, &text)?;
        let file = std::fs::OpenOptions::new().append(true).open(&path)?;
        Ok(EventLog {
            path,
            inner: Mutex::new(LogFile {
                file,
                pending: Vec::new(),
                failed: false,
            }),
        })
    }

    /// Removes the event log of execution `seq` (closed: its record has the history).
    pub fn remove_events(&self, seq: u64) {
        match std::fs::remove_file(self.events_path(seq)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("cannot remove the event log of execution {seq}: {e}"),
        }
    }

    /// The events in the log of execution `seq` (none without one). A line that does not parse
    /// ends the log: a torn last line (the process was killed while writing it) is dropped.
    fn read_events(&self, seq: u64) -> io::Result<Vec<Value>> {
        let path = self.events_path(seq);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut events = Vec::new();
        let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
        for (i, line) in lines.iter().enumerate() {
            if line.is_empty() {
                continue;
            }
            match serde_json::from_slice::<Value>(line) {
                Ok(event) => events.push(event),
                Err(e) => {
                    if i + 1 < lines.len() && lines[i + 1..].iter().any(|l| !l.is_empty()) {
                        tracing::warn!(
                            "{}: line {} does not parse ({e}); the events from there are ignored",
                            path.display(),
                            i + 1
                        );
                    }
                    break;
                }
            }
        }
        Ok(events)
    }

    /// Reads every machine and execution; torn temp files are removed, unreadable files skipped.
    pub fn load(&self) -> io::Result<Loaded> {
        let mut loaded = Loaded::default();
        let machines = self.dir.join(MACHINES);
        if machines.exists() {
            match read_json::<MachinesFile>(&machines) {
                Ok(m) => {
                    loaded.machines = m.machines;
                    loaded.activities = m.activities;
                }
                Err(e) => tracing::warn!("ignoring {}: {e}", machines.display()),
            }
        }
        remove_temp_files(&self.dir)?;
        let exec_dir = self.dir.join(EXECUTIONS);
        remove_temp_files(&exec_dir)?;
        for entry in std::fs::read_dir(&exec_dir)? {
            let path = entry?.path();
            let is_record = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("exec-") && n.ends_with(".json"));
            if !is_record {
                continue;
            }
            match read_json::<ExecRecord>(&path) {
                Ok(mut r) => {
                    if r.status == "RUNNING" {
                        r.events = self.read_events(r.seq)?;
                    }
                    loaded.executions.push(r)
                }
                Err(e) => tracing::warn!("ignoring {}: {e}", path.display()),
            }
        }
        loaded.executions.sort_by_key(|r| r.seq);
        Ok(loaded)
    }

    pub fn write_machines(
        &self,
        machines: Vec<MachineRecord>,
        activities: Vec<ActivityRecord>,
    ) -> io::Result<()> {
        write_atomic(
            &self.dir.join(MACHINES),
            &serde_json::to_vec(&MachinesFile {
                machines,
                activities,
            })?,
        )
    }

    pub fn write_execution(&self, record: &ExecRecord) -> io::Result<()> {
        let path = self
            .dir
            .join(EXECUTIONS)
            .join(format!("exec-{:012}.json", record.seq));
        write_atomic(&path, &serde_json::to_vec(record)?)
    }
}

/// An execution's event log, open for appending: the endpoint's [`EventSink`] for it.
#[derive(Debug)]
pub(crate) struct EventLog {
    path: PathBuf,
    inner: Mutex<LogFile>,
}

#[derive(Debug)]
struct LogFile {
    file: std::fs::File,
    /// A `*StateExited` line waiting for the line after it.
    pending: Vec<u8>,
    /// A write failed (reported once; the log is incomplete from there).
    failed: bool,
}

impl EventSink for EventLog {
    fn record(&self, event: &HistoryEvent) {
        let mut log = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if log.failed {
            return;
        }
        let at = log.pending.len();
        if serde_json::to_writer(&mut log.pending, event).is_err() {
            log.pending.truncate(at);
            return;
        }
        log.pending.push(b'\n');
        // An exit and the event after it (the next state entered, or the execution's end) go in
        // one write: the transition is never on disk without its target.
        if event.event_type.as_str().ends_with("StateExited") {
            return;
        }
        let LogFile { file, pending, .. } = &mut *log;
        let written = file.write_all(pending);
        pending.clear();
        if let Err(e) = written {
            log.failed = true;
            tracing::error!(
                "cannot append to {}: {e}; a restart resumes this execution from an earlier state",
                self.path.display()
            );
        }
    }
}

/// Opens (creating it) `path` and takes an exclusive `flock` on it without waiting.
#[cfg(unix)]
fn lock(path: &Path) -> io::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        .map_err(io::Error::from)?;
    Ok(file)
}

/// Elsewhere than on Unix the directory is not locked.
#[cfg(not(unix))]
fn lock(path: &Path) -> io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> io::Result<T> {
    let bytes = std::fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn remove_temp_files(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "tmp") {
            let _ = std::fs::remove_file(&path);
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` through `<path>.tmp` and a rename (atomic on POSIX file systems).
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64, status: &str) -> ExecRecord {
        ExecRecord {
            seq,
            arn: format!("arn:aws:states:us-east-1:123456789012:execution:m:e{seq}"),
            machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
            machine_name: "m".into(),
            name: format!("e{seq}"),
            input: "{}".into(),
            status: status.into(),
            start: format_time(&Utc::now()),
            stop: None,
            output: None,
            error: None,
            cause: None,
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            trace_header: None,
            definition: Some("{}".into()),
            history: Vec::new(),
            resumed: 0,
            version_arn: None,
            alias_arn: None,
            redrive_count: 0,
            redrive_date: None,
            events: Vec::new(),
            map_runs: Vec::new(),
        }
    }

    #[test]
    fn records_round_trip_and_torn_files_are_ignored() {
        let dir = std::env::temp_dir().join(format!("engine-journal-{}", uuid::Uuid::new_v4()));
        let j = Journal::open(&dir).unwrap();
        j.write_execution(&record(2, "RUNNING")).unwrap();
        j.write_execution(&record(1, "RUNNING")).unwrap();
        j.write_execution(&record(1, "SUCCEEDED")).unwrap();
        // A write cut short by a kill, and a file that is not JSON.
        std::fs::write(
            dir.join(EXECUTIONS).join("exec-000000000003.json.tmp"),
            b"{\"seq\":",
        )
        .unwrap();
        std::fs::write(dir.join(EXECUTIONS).join("exec-000000000004.json"), b"{").unwrap();
        let loaded = j.load().unwrap();
        let got: Vec<(u64, &str)> = loaded
            .executions
            .iter()
            .map(|r| (r.seq, r.status.as_str()))
            .collect();
        assert_eq!(got, [(1, "SUCCEEDED"), (2, "RUNNING")]);
        assert!(!dir
            .join(EXECUTIONS)
            .join("exec-000000000003.json.tmp")
            .exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
