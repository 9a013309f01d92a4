//! `Validate` now outputs a `Quote`, but `Charge`, chained after it, still takes an `Order`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use workflow_dsl::builder::{task, workflow};
use workflow_dsl::step::{Step, StepError};
use workflow_dsl::step_errors;
use workflow_dsl::typed::StepErrors;

#[derive(Serialize, Deserialize, JsonSchema)]
struct Order {
    order_id: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Quote {
    order_id: String,
    total_cents: i64,
}

step_errors! { enum StepFailed { Invalid } }

struct Validate;
impl Step for Validate {
    const NAME: &'static str = "validate";
    type Input = Order;
    type Output = Quote;
    type Error = StepFailed;
    type Ports = ();

    async fn run(order: Order, _: &()) -> Result<Quote, StepError<StepFailed>> {
        Ok(Quote {
            order_id: order.order_id,
            total_cents: 0,
        })
    }

    fn malformed_input(reason: String) -> StepError<StepFailed> {
        StepFailed::Invalid.because(reason)
    }
}

struct Charge;
impl Step for Charge {
    const NAME: &'static str = "charge";
    type Input = Order;
    type Output = Order;
    type Error = StepFailed;
    type Ports = ();

    async fn run(order: Order, _: &()) -> Result<Order, StepError<StepFailed>> {
        Ok(order)
    }

    fn malformed_input(reason: String) -> StepError<StepFailed> {
        StepFailed::Invalid.because(reason)
    }
}

fn main() {
    let _ = workflow::<Order>("changed output")
        .then(task::<Validate>("Validate"))
        .then(task::<Charge>("Charge"));
}
