//! Local execution glue: the order-processing steps registered as in-process Lambda functions of
//! the engine, and the ports they run on (AWS adapters from the environment, or a seeded
//! in-memory demo shop).
//!
//! A Task of the generated ASL names its function with a SAM placeholder
//! (`"FunctionName": "${ValidateOrderFunctionArn}"`); the engine matches that placeholder to the
//! function registered as `validate-order`, so the committed `generated/*.asl.json` runs unchanged.

use std::sync::Arc;

use engine::{TaskError, TaskRegistry};
use shop_model::env;
use steps::error::LambdaErrorObject;
use steps::ports::{CatalogProduct, InMemoryShop, RecordingNotifier};
use steps::{StepFailure, StepName, StepPorts};

/// The engine's view of a failed step: the ASL error name and the function's error message.
///
/// The engine itself wraps a Lambda task's error as Step Functions does, with
/// `Cause = {"errorMessage": <message>, "errorType": <error>}`, so the message is taken out of
/// the Lambda error object that [`steps::StepFailure::cause`] already is.
pub fn task_error(failure: StepFailure) -> TaskError {
    let message = match serde_json::from_str::<LambdaErrorObject>(&failure.cause) {
        Ok(object) => object.error_message,
        Err(_) => failure.cause,
    };
    TaskError::new(failure.error, message)
}

/// A registry with every step of [`StepName::ALL`] registered under its name
/// ([`StepName::as_str`], e.g. `validate-order`), each running `steps::invoke` on `ports`.
///
/// A failed step becomes a [`task_error`], which the engine reports as Step Functions reports a
/// failed Lambda: `Error` is the ASL error name (`PaymentDeclined`, `Throttled`, ...) and
/// `Cause` the Lambda error object JSON (`{"errorMessage": ..., "errorType": ...}`)
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>).
pub fn step_registry(ports: StepPorts) -> TaskRegistry {
    let mut registry = TaskRegistry::new();
    for step in StepName::ALL {
        let ports = ports.clone();
        registry.register_lambda(step.as_str(), move |input| {
            let ports = ports.clone();
            async move { steps::invoke(step, input, &ports).await.map_err(task_error) }
        });
    }
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

    #[test]
    fn every_step_is_registered_by_name_and_placeholder() {
        let (ports, _, _) = demo_ports();
        let registry = step_registry(ports);
        for step in StepName::ALL {
            assert!(registry.has_lambda(step.as_str()), "{step}");
            let placeholder = format!("${{{}FunctionArn}}", step.pascal());
            assert!(registry.has_lambda(&placeholder), "{placeholder}");
        }
    }

    #[test]
    fn the_demo_catalog_has_a_sold_out_product() {
        let catalog = demo_catalog();
        assert!(catalog.iter().any(|p| p.stock == 0));
        assert!(catalog.iter().all(|p| p.currency == shop_model::CURRENCY));
    }
}
