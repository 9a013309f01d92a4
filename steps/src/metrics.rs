//! Business metrics of the order steps as CloudWatch Embedded Metric Format (EMF) log lines:
//! declined payments and out-of-stock orders, in the `Shop` namespace with a `Service`
//! dimension naming the step's function.
//!
//! Format: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
//! (root `_aws` with `Timestamp` in epoch milliseconds and `CloudWatchMetrics` directives;
//! every dimension and metric named there is a root member). Emitted at the Lambda edge
//! ([`crate::lambda::handle`]) only, so local engine runs keep their stdout clean.

use crate::error::{names, StepError};
use crate::registry::StepName;

pub use shop_model::emf::{now_ms, NAMESPACE, SERVICE_DIMENSION};
use shop_model::emf::{Metric, Unit};

/// Payments the gateway declined.
pub const PAYMENTS_DECLINED: &str = "PaymentsDeclined";
/// Orders that could not be served for lack of stock.
pub const OUT_OF_STOCK: &str = "OutOfStock";

/// One EMF document (a single log line) of `Count` metrics with the `Service` dimension.
pub fn emf_line(service: &str, timestamp_ms: u64, counts: &[(&'static str, u64)]) -> String {
    let metrics: Vec<Metric> = counts
        .iter()
        .map(|&(name, value)| Metric {
            name,
            unit: Unit::Count,
            value: value as f64,
        })
        .collect();
    shop_model::emf::emf_line(service, timestamp_ms, &metrics)
}

/// The metric a step's failure counts, if any: `PaymentDeclined` from the pay step, and
/// `OutOfStock` from validate (the check) or persist (the reservation, which can lose a race).
pub fn failure_metric(step: StepName, error: &StepError) -> Option<&'static str> {
    match (step, error.name()) {
        (StepName::ProcessPayment, names::PAYMENT_DECLINED) => Some(PAYMENTS_DECLINED),
        (StepName::ValidateOrder | StepName::PersistOrder, names::OUT_OF_STOCK) => {
            Some(OUT_OF_STOCK)
        }
        _ => None,
    }
}

/// Prints the EMF line a step result calls for, if any, to stdout.
pub fn emit_for<O>(step: StepName, result: &Result<O, StepError>) {
    if let Err(error) = result {
        if let Some(metric) = failure_metric(step, error) {
            println!("{}", emf_line(step.as_str(), now_ms(), &[(metric, 1)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn formats_the_documented_shape() {
        let line = emf_line("process-payment", 42, &[(PAYMENTS_DECLINED, 1)]);
        assert!(!line.contains('\n'));
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            json!({
                "_aws": {
                    "Timestamp": 42,
                    "CloudWatchMetrics": [{
                        "Namespace": "Shop",
                        "Dimensions": [["Service"]],
                        "Metrics": [{"Name": "PaymentsDeclined", "Unit": "Count"}]
                    }]
                },
                "Service": "process-payment",
                "PaymentsDeclined": 1
            })
        );
    }

    #[test]
    fn counts_declines_and_stock_outs_of_the_right_steps_only() {
        let declined = StepError::PaymentDeclined("payment declined: card".into());
        let out = StepError::OutOfStock("not enough stock for p-1".into());
        assert_eq!(
            failure_metric(StepName::ProcessPayment, &declined),
            Some(PAYMENTS_DECLINED)
        );
        assert_eq!(
            failure_metric(StepName::ValidateOrder, &out),
            Some(OUT_OF_STOCK)
        );
        assert_eq!(
            failure_metric(StepName::PersistOrder, &out),
            Some(OUT_OF_STOCK)
        );
        assert_eq!(failure_metric(StepName::ValidateOrder, &declined), None);
        assert_eq!(failure_metric(StepName::NotifyOrder, &out), None);
        let other = StepError::InvalidOrder("no lines".into());
        assert_eq!(failure_metric(StepName::ValidateOrder, &other), None);
    }

    #[test]
    fn the_step_name_is_the_service_dimension() {
        let value: Value = serde_json::from_str(&emf_line(
            StepName::PersistOrder.as_str(),
            1,
            &[(OUT_OF_STOCK, 1)],
        ))
        .unwrap();
        assert_eq!(value["Service"], "persist-order");
        assert_eq!(value["OutOfStock"], 1);
    }
}
