//! The endpoint's journal (`ServerConfig::state_dir`): state machines and executions written to a
//! directory so that a restarted endpoint answers for them and resumes the running ones.
//!
//! Layout of the directory:
//! - `machines.json`: every state machine (`{"machines": [...]}`), rewritten on each change;
//! - `executions/exec-<seq>.json`: one file per execution (`seq` = start order), written when it
//!   starts (with its definition, input and start date) and rewritten when it closes (with its
//!   status, output or error, and history).
//!
//! Every write goes to `<file>.tmp` and is renamed over the file, so a reader sees the old or the
//! new content, never a torn file; a `.tmp` left by a killed process is ignored and removed on load.
//! Writes are not fsynced: the journal survives the process being killed (SIGKILL), not a power
//! loss. Files that do not parse are skipped with a warning.

use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const MACHINES: &str = "machines.json";
const EXECUTIONS: &str = "executions";

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
}

/// Everything a journal directory holds.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub machines: Vec<MachineRecord>,
    pub activities: Vec<ActivityRecord>,
    /// In start order.
    pub executions: Vec<ExecRecord>,
}

/// The journal directory.
#[derive(Debug)]
pub(crate) struct Journal {
    dir: PathBuf,
}

pub(crate) fn format_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl Journal {
    /// Opens (creating it if needed) the journal in `dir`.
    pub fn open(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir.join(EXECUTIONS))?;
        Ok(Journal {
            dir: dir.to_path_buf(),
        })
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
                Ok(r) => loaded.executions.push(r),
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
