//! CloudWatch Embedded Metric Format (EMF) lines of the shop's business metrics, shared by the
//! API and the order steps: one JSON object per line on stdout, which CloudWatch Logs turns into
//! metrics of the `Shop` namespace with a `Service` dimension naming the function.
//!
//! Format: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
//! (root `_aws` with `Timestamp` in epoch milliseconds and `CloudWatchMetrics` directives;
//! every dimension and metric named there is a root member).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

/// The CloudWatch namespace of every business metric.
pub const NAMESPACE: &str = "Shop";
/// The dimension that names the emitting function.
pub const SERVICE_DIMENSION: &str = "Service";

/// A CloudWatch metric unit (the subset used here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    /// No unit (cents are not a CloudWatch unit).
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::None => "None",
        }
    }
}

/// One metric value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    pub value: f64,
}

/// One EMF document (a single log line, no newline) with the `Service` dimension.
pub fn emf_line(service: &str, timestamp_ms: u64, metrics: &[Metric]) -> String {
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|m| json!({"Name": m.name, "Unit": m.unit.as_str()}))
        .collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[SERVICE_DIMENSION]],
                "Metrics": definitions,
            }],
        }),
    );
    root.insert(SERVICE_DIMENSION.into(), json!(service));
    for metric in metrics {
        // Whole numbers print as integers (`1`, not `1.0`).
        let value = if metric.value.fract() == 0.0 && metric.value.abs() < 9.0e15 {
            json!(metric.value as i64)
        } else {
            json!(metric.value)
        };
        root.insert(metric.name.into(), value);
    }
    Value::Object(root).to_string()
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
