//! Lambda entry point of the pay step (thin: builds the clients once, logic is in the library).

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use steps::lambda;
use steps::StepName;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::init_tracing();
    // The simulated provider; a real one implements `steps::ports::PaymentGateway` too.
    let gateway = &steps::ports::SimulatedGateway;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        lambda::handle(StepName::ProcessPayment, event, |input| {
            steps::pay::pay(input, gateway)
        })
        .await
    }))
    .await
}
