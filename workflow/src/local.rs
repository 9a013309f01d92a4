//! Local execution glue: the order-processing steps registered as in-process Lambda functions of
//! the engine, and the ports they run on (AWS adapters from the environment, or a seeded
//! in-memory demo shop).
//!
//! A Task of the generated ASL names its function with a SAM placeholder
//! (`"FunctionName": "${ValidateOrderFunctionArn}"`); the engine matches that placeholder to the
//! function registered as `validate-order`, so the committed `generated/*.asl.json` runs unchanged.

use std::sync::Arc;

use asl_engine::TaskRegistry;
use shop_model::env;
use steps::ports::{
    CatalogProduct, InMemoryShop, OrderNotifier, OrderStore, PaymentGateway, ProductCatalog,
    RecordingNotifier,
};
use steps::{NotifyOrder, PersistOrder, ProcessPayment, RecordFailure, ValidateOrder};

/// The ports the order workflow's steps run on.
#[derive(Clone)]
pub struct StepPorts {
    pub catalog: Arc<dyn ProductCatalog>,
    pub payments: Arc<dyn PaymentGateway>,
    pub orders: Arc<dyn OrderStore>,
    pub notifier: Arc<dyn OrderNotifier>,
}

impl StepPorts {
    /// In-memory ports around one shop (catalog + orders), the simulated payment provider and a
    /// recording notifier.
    pub fn in_memory(shop: Arc<InMemoryShop>, notifier: Arc<RecordingNotifier>) -> Self {
        StepPorts {
            catalog: shop.clone(),
            payments: Arc::new(steps::ports::SimulatedGateway),
            orders: shop,
            notifier,
        }
    }
}

/// A registry with the order workflow's steps, each registered as the Lambda function of its
/// name (`validate-order`, ...) and run with its own typed handler on `ports`
/// ([`TaskRegistry::register_step`]). A failed step is reported as Step Functions reports a
/// failed Lambda: `Error` is the step's error name (`PaymentDeclined`, `Throttled`, ...) and
/// `Cause` the Lambda error object (`{"errorMessage": ..., "errorType": ...}`)
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>).
pub fn step_registry(ports: StepPorts) -> TaskRegistry {
    let mut registry = TaskRegistry::new();
    registry
        .register_step::<ValidateOrder>(ports.catalog)
        .register_step::<ProcessPayment>(ports.payments)
        .register_step::<PersistOrder>(ports.orders.clone())
        .register_step::<RecordFailure>(ports.orders)
        .register_step::<NotifyOrder>(ports.notifier);
    registry
}

/// True when the environment names AWS resources for the steps: `AWS_ENDPOINT_URL` (an emulator
/// or a local stack) or one of `PRODUCTS_TABLE` / `ORDERS_TABLE`.
pub fn aws_configured() -> bool {
    ["AWS_ENDPOINT_URL", env::PRODUCTS_TABLE, env::ORDERS_TABLE]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.is_empty()))
}

/// Ports on the AWS adapters, configured from the environment: `PRODUCTS_TABLE`,
/// `ORDERS_TABLE`, `ORDER_TOPIC_ARN`, and the usual SDK settings (`AWS_ENDPOINT_URL`,
/// `AWS_REGION`, credentials). Payments use the simulated provider (as the deployed
/// process-payment function does).
///
/// Never fails: a missing table or topic is reported by the step that needs it, as an
/// `InternalError` saying which resource is not configured.
pub async fn aws_step_ports() -> StepPorts {
    let config = steps::lambda::aws_config().await;
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let shop = Arc::new(steps::aws::DynamoShop::new(
        aws_sdk_dynamodb::Client::new(&config),
        var(env::PRODUCTS_TABLE),
        var(env::ORDERS_TABLE),
    ));
    StepPorts {
        catalog: shop.clone(),
        payments: Arc::new(steps::ports::SimulatedGateway),
        orders: shop,
        notifier: Arc::new(steps::aws::SnsNotifier::new(
            aws_sdk_sns::Client::new(&config),
            var(env::ORDER_TOPIC_ARN),
        )),
    }
}

/// The in-memory demo catalog of `workflow run --in-memory` (prices in USD cents):
///
/// | id         | price | stock |
/// |------------|-------|-------|
/// | `mug`      | 1250  | 10    |
/// | `tee`      | 1999  | 3     |
/// | `poster`   | 800   | 25    |
/// | `sticker`  | 150   | 100   |
/// | `pin`      | 300   | 0 (sold out) |
pub fn demo_catalog() -> Vec<CatalogProduct> {
    [
        ("mug", "Coffee mug", 1250, 10),
        ("tee", "T-shirt", 1999, 3),
        ("poster", "Poster", 800, 25),
        ("sticker", "Sticker", 150, 100),
        ("pin", "Enamel pin", 300, 0),
    ]
    .into_iter()
    .map(|(id, name, price_cents, stock)| CatalogProduct {
        id: id.to_owned(),
        name: name.to_owned(),
        price_cents,
        currency: shop_model::CURRENCY.to_owned(),
        stock,
    })
    .collect()
}

/// In-memory ports around a shop seeded with [`demo_catalog`], with the shop and the recording
/// notifier returned too so callers can inspect orders, stock and notifications.
pub fn demo_ports() -> (StepPorts, Arc<InMemoryShop>, Arc<RecordingNotifier>) {
    let shop = Arc::new(InMemoryShop::new(demo_catalog()));
    let notifier = Arc::new(RecordingNotifier::default());
    (
        StepPorts::in_memory(shop.clone(), notifier.clone()),
        shop,
        notifier,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every Lambda function a project workflow names is registered: read from the emitted ASL,
    /// so a step added to a workflow but not to the registry fails here.
    #[test]
    fn every_function_the_workflows_call_is_registered() {
        let (ports, _, _) = demo_ports();
        let registry = step_registry(ports);
        for (name, machine) in crate::project_workflows() {
            let json = serde_json::to_value(&machine).unwrap();
            let mut functions = Vec::new();
            collect_function_names(&json, &mut functions);
            assert!(!functions.is_empty(), "{name}");
            for function in functions {
                assert!(registry.has_lambda(&function), "{name}: {function}");
            }
        }
    }

    fn collect_function_names(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(f) = map.get("FunctionName").and_then(|f| f.as_str()) {
                    out.push(f.to_owned());
                }
                map.values().for_each(|v| collect_function_names(v, out));
            }
            serde_json::Value::Array(items) => {
                items.iter().for_each(|v| collect_function_names(v, out))
            }
            _ => {}
        }
    }

    #[test]
    fn the_demo_catalog_has_a_sold_out_product() {
        let catalog = demo_catalog();
        assert!(catalog.iter().any(|p| p.stock == 0));
        assert!(catalog.iter().all(|p| p.currency == shop_model::CURRENCY));
    }
}
