//! Client of the engine's fault-injection routes (`workflow serve --fault-injection`):
//! `POST /_local/faults` adds a rule, `GET /_local/faults` lists the rules with how often each
//! was injected, `DELETE /_local/faults` clears them.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// When an injected failure happens relative to the step's own work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// The step does not run: the call fails.
    Before,
    /// The step runs (its side effects happen), then its answer is replaced by the failure,
    /// as when a response is lost.
    After,
}

impl When {
    fn as_str(self) -> &'static str {
        match self {
            When::Before => "before",
            When::After => "after",
        }
    }
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub function: String,
    pub error: String,
    pub cause: String,
    /// `None`: until cleared.
    pub count: Option<u32>,
    pub when: When,
}

impl Rule {
    fn body(&self) -> Value {
        json!({
            "function": self.function,
            "error": self.error,
            "cause": self.cause,
            "count": self.count,
            "when": self.when.as_str(),
        })
    }
}

/// The engine's fault routes at `endpoint` (`http://127.0.0.1:PORT`).
#[derive(Clone)]
pub struct Faults {
    http: reqwest::Client,
    url: String,
}

/// A rule as `GET /_local/faults` lists it, with its injection count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub function: String,
    pub error: String,
    pub when: String,
    pub injected: u64,
}

impl Faults {
    pub fn new(http: reqwest::Client, endpoint: &str) -> Self {
        Faults {
            http,
            url: format!("{}/_local/faults", endpoint.trim_end_matches('/')),
        }
    }

    /// Adds a rule.
    pub async fn add(&self, rule: &Rule) -> Result<()> {
        let response = self
            .http
            .post(&self.url)
            .json(&rule.body())
            .send()
            .await
            .with_context(|| format!("POST {}", self.url))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            bail!("POST {} answered {status}: {text}", self.url);
        }
        Ok(())
    }

    /// The rules with their injection counts.
    pub async fn list(&self) -> Result<Vec<Listed>> {
        let response = self
            .http
            .get(&self.url)
            .send()
            .await
            .with_context(|| format!("GET {}", self.url))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("GET {} answered {status}: {body}", self.url);
        }
        let mut rules = Vec::new();
        collect(&body, &mut rules);
        Ok(rules)
    }

    /// Clears every rule.
    pub async fn clear(&self) -> Result<()> {
        let response = self
            .http
            .delete(&self.url)
            .send()
            .await
            .with_context(|| format!("DELETE {}", self.url))?;
        if !response.status().is_success() {
            bail!("DELETE {} answered {}", self.url, response.status());
        }
        Ok(())
    }
}

/// Rules anywhere in the listing (a bare array or an object holding one).
fn collect(value: &Value, out: &mut Vec<Listed>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        Value::Object(map) if map.contains_key("function") => out.push(Listed {
            function: map["function"].as_str().unwrap_or_default().to_string(),
            error: map
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            when: map
                .get("when")
                .and_then(Value::as_str)
                .unwrap_or("before")
                .to_string(),
            injected: map.get("injected").and_then(Value::as_u64).unwrap_or(0),
        }),
        Value::Object(map) => map.values().for_each(|v| collect(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rules_from_either_listing_shape() {
        let rule = json!({"function": "process-payment", "error": "E", "when": "after", "count": 3, "injected": 2});
        for body in [json!([rule.clone()]), json!({"rules": [rule.clone()]})] {
            let mut out = Vec::new();
            collect(&body, &mut out);
            assert_eq!(
                out,
                vec![Listed {
                    function: "process-payment".into(),
                    error: "E".into(),
                    when: "after".into(),
                    injected: 2
                }]
            );
        }
    }
}
