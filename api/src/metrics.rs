//! Business metrics as CloudWatch Embedded Metric Format (EMF) log lines: one JSON object
//! per line on stdout, which CloudWatch Logs turns into metrics of the `Shop` namespace.
//!
//! Format: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
//! (root `_aws` with `Timestamp` in epoch milliseconds and `CloudWatchMetrics` directives;
//! every dimension and metric named there is a root member). In Lambda, stdout is the
//! function's log stream, so printing the line is all it takes.

use crate::http::ApiResponse;
use crate::routes::Route;

pub use shop_model::emf::{emf_line, now_ms, Metric, Unit, NAMESPACE, SERVICE_DIMENSION};

/// `Service` of the order-entry Lambda.
pub const ORDER_ENTRY_SERVICE: &str = "order-entry";
/// Orders accepted (first requests only, not idempotent replays).
pub const ORDERS_PLACED: &str = "OrdersPlaced";
/// Value of the accepted orders, in cents.
pub const ORDER_VALUE_CENTS: &str = "OrderValueCents";

/// The metrics of one answered request: a first `202` to `POST /orders` counts one order
/// placed and its value (`totalCents` of the answer); replays and errors count nothing.
pub fn request_metrics(route: Option<&Route>, response: &ApiResponse) -> Vec<Metric> {
    if route != Some(&Route::CreateOrder)
        || response.status != 202
        || response
            .headers
            .contains_key(crate::handlers::orders::REPLAYED_HEADER)
    {
        return Vec::new();
    }
    let Some(total_cents) = response.json_body()["totalCents"].as_i64() else {
        return Vec::new();
    };
    vec![
        Metric {
            name: ORDERS_PLACED,
            unit: Unit::Count,
            value: 1.0,
        },
        Metric {
            name: ORDER_VALUE_CENTS,
            unit: Unit::None,
            value: total_cents as f64,
        },
    ]
}

/// Prints the EMF line of `metrics` to stdout (nothing when there are none).
pub fn emit(service: &str, metrics: &[Metric]) {
    if !metrics.is_empty() {
        println!("{}", emf_line(service, now_ms(), metrics));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn accepted(total: i64) -> ApiResponse {
        ApiResponse::json(202, &json!({"orderId": "o-1", "totalCents": total}))
    }

    #[test]
    fn formats_the_documented_shape() {
        let line = emf_line(
            "order-entry",
            1_700_000_000_123,
            &[Metric {
                name: ORDERS_PLACED,
                unit: Unit::Count,
                value: 1.0,
            }],
        );
        assert!(!line.contains('\n'));
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            json!({
                "_aws": {
                    "Timestamp": 1_700_000_000_123_u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "Shop",
                        "Dimensions": [["Service"]],
                        "Metrics": [{"Name": "OrdersPlaced", "Unit": "Count"}]
                    }]
                },
                "Service": "order-entry",
                "OrdersPlaced": 1
            })
        );
    }

    #[test]
    fn every_declared_metric_and_dimension_is_a_root_member() {
        let metrics = request_metrics(Some(&Route::CreateOrder), &accepted(2598));
        let value: Value = serde_json::from_str(&emf_line("order-entry", 1, &metrics)).unwrap();
        let directive = &value["_aws"]["CloudWatchMetrics"][0];
        for dimension in directive["Dimensions"][0].as_array().unwrap() {
            assert!(value.get(dimension.as_str().unwrap()).is_some());
        }
        for metric in directive["Metrics"].as_array().unwrap() {
            assert!(value[metric["Name"].as_str().unwrap()].is_number());
        }
        assert_eq!(value["OrdersPlaced"], 1);
        assert_eq!(value["OrderValueCents"], 2598);
        assert_eq!(directive["Metrics"][1]["Unit"], "None");
    }

    #[test]
    fn only_first_accepted_orders_count() {
        assert_eq!(
            request_metrics(Some(&Route::CreateOrder), &accepted(5)).len(),
            2
        );
        let mut replay = accepted(5);
        replay.headers.insert(
            crate::handlers::orders::REPLAYED_HEADER.into(),
            "true".into(),
        );
        assert!(request_metrics(Some(&Route::CreateOrder), &replay).is_empty());
        let rejected = ApiResponse::json(422, &json!({"error": {"code": "x", "message": "y"}}));
        assert!(request_metrics(Some(&Route::CreateOrder), &rejected).is_empty());
        assert!(request_metrics(Some(&Route::ListProducts), &accepted(5)).is_empty());
        assert!(request_metrics(None, &accepted(5)).is_empty());
    }

    #[test]
    fn fractional_values_stay_numbers() {
        let line = emf_line(
            "s",
            1,
            &[Metric {
                name: "Latency",
                unit: Unit::None,
                value: 1.5,
            }],
        );
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["Latency"], 1.5);
    }
}
