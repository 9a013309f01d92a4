//! The Amazon States Language as Rust types: parses any valid ASL document and re-emits it unchanged.
//!
//! Field names, types and nesting follow the specification at <https://states-language.net/spec.html>
//! as revised in November 2024 (JSONata, variables) and the AWS Step Functions developer guide
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html>).
//! Every struct keeps keys it does not know in `extra`, so a document round-trips to an equal JSON
//! value and the validator can name the unknown field instead of serde dropping it silently.

mod choice;
pub(crate) mod serde_util;
mod states;

pub use choice::{ChoiceCondition, ChoiceRule, ComparisonOperator};
pub use states::*;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Unknown keys of an ASL object, kept verbatim.
pub type Extra = Map<String, Value>;

/// The states of a workflow (or of a branch), in document order.
pub type States = IndexMap<String, State>;

/// `QueryLanguage` of the state machine or of one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QueryLanguage {
    /// `JSONPath`: states select and shape data with paths and payload templates (`InputPath`,
    /// `Parameters`, `ResultSelector`, `ResultPath`, `OutputPath`); the default.
    JSONPath,
    /// `JSONata`: states transform data with `{% ... %}` JSONata expressions (`Arguments`,
    /// `Output`).
    JSONata,
}

/// A complete state machine definition (the top-level ASL document).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StateMachine {
    /// `Comment`: a human-readable description of the state machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `QueryLanguage`: the query language of every state that does not set its own (default
    /// `JSONPath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// `StartAt`: the name of the state the execution starts in.
    pub start_at: String,
    /// `States`: the states of the machine, by name.
    pub states: States,
    /// `TimeoutSeconds`: the longest an execution may run before it fails with `States.Timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// `Version`: the version of the Amazon States Language the document uses (only `"1.0"`
    /// exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Keys the model does not recognise here, kept verbatim so the document round-trips and the
    /// validator can name them.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A nested workflow: a `Parallel` branch, or a `Map` state's `ItemProcessor` (legacy `Iterator`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubWorkflow {
    /// `Comment`: a human-readable description of the nested workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Only in a Map's `ItemProcessor`: `{"Mode": "INLINE"|"DISTRIBUTED", "ExecutionType": "STANDARD"|"EXPRESS"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processor_config: Option<ProcessorConfig>,
    /// `StartAt`: the name of the state the nested workflow starts in.
    pub start_at: String,
    /// `States`: the states of the nested workflow, by name.
    pub states: States,
    /// Keys the model does not recognise here, kept verbatim so the document round-trips and the
    /// validator can name them.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ItemProcessor.ProcessorConfig` of a Map state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessorConfig {
    /// `Mode`: `INLINE` (iterations run within the execution) or `DISTRIBUTED` (each runs as a
    /// child workflow execution).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// `ExecutionType` (Distributed mode): whether the child workflow executions are `STANDARD` or
    /// `EXPRESS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_type: Option<String>,
    /// Keys the model does not recognise here, kept verbatim so the document round-trips and the
    /// validator can name them.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Errors of parsing an ASL document.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The text is not JSON, or the JSON does not have the shape of an ASL document.
    #[error("not valid JSON or not an ASL document: {0}")]
    Json(#[from] serde_json::Error),
}

impl StateMachine {
    /// Parses an ASL document from JSON text.
    pub fn from_json(text: &str) -> Result<Self, ParseError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Parses an ASL document from a JSON value.
    pub fn from_value(value: Value) -> Result<Self, ParseError> {
        Ok(serde_json::from_value(value)?)
    }

    /// The document as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("an ASL model always serializes")
    }

    /// The canonical review form: two-space indented JSON with a trailing newline. State order is
    /// document order; the keys of each state follow the specification's field order; keys inside
    /// payload templates (Parameters, Result, ...) are sorted.
    pub fn to_pretty_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("an ASL model always serializes");
        text.push('\n');
        text
    }

    /// The top level viewed as a graph of states.
    pub fn graph(&self) -> GraphRef<'_> {
        GraphRef {
            start_at: &self.start_at,
            states: &self.states,
        }
    }
}

impl SubWorkflow {
    /// The branch viewed as a graph of states.
    pub fn graph(&self) -> GraphRef<'_> {
        GraphRef {
            start_at: &self.start_at,
            states: &self.states,
        }
    }
}

/// A borrowed `StartAt` + `States` pair: the top level or one nested workflow.
#[derive(Debug, Clone, Copy)]
pub struct GraphRef<'a> {
    /// `StartAt`: the name of the first state.
    pub start_at: &'a str,
    /// `States`: the states, by name, in document order.
    pub states: &'a States,
}
