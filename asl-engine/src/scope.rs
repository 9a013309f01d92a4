//! Workflow variables (`Assign`): one scope per workflow level; Map iterations and Parallel branches
//! read the enclosing scope and assign into their own
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

#[derive(Debug, Default)]
pub(crate) struct Scope {
    vars: HashMap<String, Value>,
    parent: Option<Arc<Scope>>,
}

impl Scope {
    pub fn child(parent: Arc<Scope>) -> Scope {
        Scope {
            vars: HashMap::new(),
            parent: Some(parent),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        let mut cur = self;
        loop {
            if let Some(v) = cur.vars.get(name) {
                return Some(v);
            }
            cur = cur.parent.as_deref()?;
        }
    }

    pub fn set(&mut self, name: String, value: Value) {
        self.vars.insert(name, value);
    }
}
