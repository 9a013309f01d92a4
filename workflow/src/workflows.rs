//! Workflow definitions of the project.

use serde_json::json;
use workflow_dsl::model::{PassState, State, States, SucceedState};
use workflow_dsl::StateMachine;

/// Placeholder workflow: a Pass state greeting, then success. Built from the model directly.
pub fn hello() -> StateMachine {
    let mut states = States::new();
    states.insert(
        "Hello".to_owned(),
        State::Pass(PassState {
            result: Some(json!({ "message": "Hello from the workflow crate" })),
            result_path: Some(Some("$.greeting".to_owned())),
            next: Some("Done".to_owned()),
            ..PassState::default()
        }),
    );
    states.insert("Done".to_owned(), State::Succeed(SucceedState::default()));
    StateMachine {
        comment: Some("Placeholder workflow: greets and succeeds".to_owned()),
        query_language: None,
        start_at: "Hello".to_owned(),
        states,
        timeout_seconds: None,
        version: None,
        extra: Default::default(),
    }
}
