//! Client of the engine's fault-injection routes (`workflow serve --fault-injection`):
//! `POST /_local/faults` adds a rule, `GET /_local/faults` lists the rules with how often each
//! was injected, `DELETE /_local/faults` clears them.

use anyhow::{bail, Context, Result};

use asl_engine::server::faults::RuleList;
pub use asl_engine::server::faults::{FaultRule as Rule, ListedRule as Listed, When};

/// The engine's fault routes at `endpoint` (`http://127.0.0.1:PORT`).
#[derive(Clone)]
pub struct Faults {
    http: reqwest::Client,
    url: String,
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
            .json(rule)
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
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            bail!("GET {} answered {status}: {text}", self.url);
        }
        let list: RuleList = response
            .json()
            .await
            .with_context(|| format!("GET {}: not a rule listing", self.url))?;
        Ok(list.rules)
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
