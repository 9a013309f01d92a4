//! Business metrics of the order steps as CloudWatch Embedded Metric Format (EMF) log lines:
//! declined payments and out-of-stock orders, in the `Shop` namespace with a `Service`
//! dimension naming the step's function.
//!
//! Format: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
//! (root `_aws` with `Timestamp` in epoch milliseconds and `CloudWatchMetrics` directives;
//! every dimension and metric named there is a root member). Emitted at the Lambda edge
//! ([`crate::lambda::service`]) only, so local engine runs keep their stdout clean.

use shop_model::emf::{Metric, Unit};
use workflow_dsl::step::{Step, StepError};

pub use shop_model::emf::{now_ms, NAMESPACE, SERVICE_DIMENSION};

use crate::{NotifyError, PaymentError, PersistError, RecordFailureError, ValidateError};

/// Payments the gateway declined.
pub const PAYMENTS_DECLINED: &str = "PaymentsDeclined";
/// Orders that could not be served for lack of stock.
pub const OUT_OF_STOCK: &str = "OutOfStock";

/// The business metric an error of a step counts, if any: declared with the step's error enum.
pub trait FailureMetric {
    /// The metric this error counts (one per failure), or `None`.
    fn failure_metric(&self) -> Option<&'static str>;
}

/// `OutOfStock` from validate (the check) counts a stock-out.
impl FailureMetric for ValidateError {
    fn failure_metric(&self) -> Option<&'static str> {
        matches!(self, ValidateError::OutOfStock).then_some(OUT_OF_STOCK)
    }
}

/// A declined payment counts.
impl FailureMetric for PaymentError {
    fn failure_metric(&self) -> Option<&'static str> {
        matches!(self, PaymentError::PaymentDeclined).then_some(PAYMENTS_DECLINED)
    }
}

/// `OutOfStock` from persist (the reservation, which can lose a race) counts a stock-out.
impl FailureMetric for PersistError {
    fn failure_metric(&self) -> Option<&'static str> {
        matches!(self, PersistError::OutOfStock).then_some(OUT_OF_STOCK)
    }
}

impl FailureMetric for RecordFailureError {
    fn failure_metric(&self) -> Option<&'static str> {
        None
    }
}

impl FailureMetric for NotifyError {
    fn failure_metric(&self) -> Option<&'static str> {
        None
    }
}

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

/// The EMF line a failure of step `S` calls for, if any (the step's name is the `Service`).
pub fn failure_line<S: Step>(error: &StepError<S::Error>, timestamp_ms: u64) -> Option<String>
where
    S::Error: FailureMetric,
{
    let metric = error.kind().failure_metric()?;
    Some(emf_line(S::NAME, timestamp_ms, &[(metric, 1)]))
}

/// Prints the EMF line a failure of step `S` calls for, if any, to stdout (the Lambda's log).
pub fn emit_failure<S: Step>(error: &StepError<S::Error>)
where
    S::Error: FailureMetric,
{
    if let Some(line) = failure_line::<S>(error, now_ms()) {
        println!("{line}");
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
        use crate::{NotifyOrder, PersistOrder, ProcessPayment, ValidateOrder};
        use workflow_dsl::typed::StepErrors;
        let line = |l: Option<String>| l.map(|l| serde_json::from_str::<Value>(&l).unwrap());
        let declined = line(failure_line::<ProcessPayment>(
            &PaymentError::PaymentDeclined.because("payment declined: card"),
            1,
        ))
        .unwrap();
        assert_eq!(declined["Service"], "process-payment");
        assert_eq!(declined[PAYMENTS_DECLINED], 1);
        for l in [
            failure_line::<ValidateOrder>(&ValidateError::OutOfStock.because("p-1"), 1),
            failure_line::<PersistOrder>(&PersistError::OutOfStock.because("p-1"), 1),
        ] {
            assert_eq!(line(l).unwrap()[OUT_OF_STOCK], 1);
        }
        assert_eq!(
            failure_line::<ValidateOrder>(&ValidateError::InvalidOrder.because("no lines"), 1),
            None
        );
        assert_eq!(
            failure_line::<NotifyOrder>(&NotifyError::Throttled.because("sns"), 1),
            None
        );
    }

    #[test]
    fn the_step_name_is_the_service_dimension() {
        let value: Value = serde_json::from_str(&emf_line(
            <crate::PersistOrder as Step>::NAME,
            1,
            &[(OUT_OF_STOCK, 1)],
        ))
        .unwrap();
        assert_eq!(value["Service"], "persist-order");
        assert_eq!(value["OutOfStock"], 1);
    }
}
