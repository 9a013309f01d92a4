//! Mocked task results in the format of AWS Step Functions Local's `MockConfigFile`
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html>):
//! `StateMachines -> <machine> -> TestCases -> <case> -> <state>: <response name>`, and
//! `MockedResponses -> <name> -> {"0": {"Return": ...}, "1-2": {"Throw": {"Error", "Cause"}}}`,
//! the keys counting the invocations (attempts) of the state, from 0.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use crate::error::EngineError;
use crate::tasks::TaskError;

/// A Step Functions Local `MockConfigFile`: the test cases of each state machine and the mocked
/// responses they use.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MockConfig {
    /// `StateMachines`: the test cases of each state machine, by state machine name.
    #[serde(default)]
    pub state_machines: HashMap<String, MockStateMachine>,
    /// `MockedResponses`: each mocked response by name, as invocation numbers or ranges (`"0"`,
    /// `"1-2"`) mapped to what those invocations return or throw.
    #[serde(default)]
    pub mocked_responses: HashMap<String, HashMap<String, MockResponse>>,
}

/// One state machine of `StateMachines`: its test cases.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MockStateMachine {
    /// `TestCases`: each test case by name, mapping state names to the names of mocked responses.
    #[serde(default)]
    pub test_cases: HashMap<String, HashMap<String, String>>,
}

/// One mocked invocation result.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub enum MockResponse {
    /// `Return`: the task succeeds with this result.
    Return(Value),
    /// `Throw`: the task fails with this error and cause.
    Throw(MockThrow),
}

/// The `Throw` of a mocked response: the error the task fails with.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MockThrow {
    /// `Error`: the error name.
    pub error: String,
    /// `Cause`: the cause (empty when absent).
    #[serde(default)]
    pub cause: String,
}

/// The mocked states of one test case: state name -> responses by invocation range.
#[derive(Debug, Clone, Default)]
pub struct MockCase {
    states: HashMap<String, Vec<(u32, u32, MockResponse)>>,
}

impl MockConfig {
    /// Parses a MockConfigFile from JSON text.
    pub fn from_json(text: &str) -> Result<MockConfig, EngineError> {
        serde_json::from_str(text).map_err(|e| EngineError::Mock(e.to_string()))
    }

    /// Reads a MockConfigFile.json.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<MockConfig, EngineError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| EngineError::Mock(format!("cannot read {}: {e}", path.display())))?;
        Self::from_json(&text)
    }

    /// The test case `case` of state machine `machine`.
    pub fn test_case(&self, machine: &str, case: &str) -> Result<MockCase, EngineError> {
        let sm = self
            .state_machines
            .get(machine)
            .ok_or_else(|| EngineError::Mock(format!("no state machine '{machine}'")))?;
        let tc = sm.test_cases.get(case).ok_or_else(|| {
            EngineError::Mock(format!(
                "state machine '{machine}' has no test case '{case}'"
            ))
        })?;
        let mut states = HashMap::new();
        for (state, response) in tc {
            let r = self.mocked_responses.get(response).ok_or_else(|| {
                EngineError::Mock(format!(
                    "test case '{case}' uses the mocked response '{response}', which is not defined"
                ))
            })?;
            let mut ranges = Vec::new();
            for (key, resp) in r {
                let (a, b) = match key.split_once('-') {
                    Some((a, b)) => (a.trim().parse(), b.trim().parse()),
                    None => (key.trim().parse(), key.trim().parse()),
                };
                let (Ok(a), Ok(b)) = (a, b) else {
                    return Err(EngineError::Mock(format!(
                        "mocked response '{response}': '{key}' is not an invocation number or range"
                    )));
                };
                ranges.push((a, b, resp.clone()));
            }
            ranges.sort_by_key(|r| r.0);
            states.insert(state.clone(), ranges);
        }
        Ok(MockCase { states })
    }
}

impl MockCase {
    /// True when the state is mocked.
    pub fn mocks(&self, state: &str) -> bool {
        self.states.contains_key(state)
    }

    /// The result of invocation number `attempt` (from 0) of `state`: past the last range, the last
    /// response repeats.
    pub fn response(&self, state: &str, attempt: u32) -> Option<Result<Value, TaskError>> {
        let ranges = self.states.get(state)?;
        let r = ranges
            .iter()
            .find(|(a, b, _)| (*a..=*b).contains(&attempt))
            .or_else(|| ranges.last())?;
        Some(match &r.2 {
            MockResponse::Return(v) => Ok(v.clone()),
            MockResponse::Throw(t) => Err(TaskError::new(t.error.clone(), t.cause.clone())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_aws_format() {
        let cfg = MockConfig::from_json(
            r#"{"StateMachines": {"Order": {"TestCases": {"Retry": {"Pay": "PayFlaky"}}}},
                "MockedResponses": {"PayFlaky": {
                    "0": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "busy"}},
                    "1-2": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "busy"}},
                    "3": {"Return": {"StatusCode": 200, "Payload": {"ok": true}}}}}}"#,
        )
        .unwrap();
        let case = cfg.test_case("Order", "Retry").unwrap();
        assert!(case.response("Pay", 2).unwrap().is_err());
        assert_eq!(
            case.response("Pay", 3).unwrap().unwrap()["Payload"]["ok"],
            serde_json::json!(true)
        );
        assert!(case.response("Other", 0).is_none());
    }
}
