//! A retrier of `Charge` may only name `Charge`'s errors (or predefined ones), not `Ship`'s.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use workflow_dsl::builder::{task, workflow};
use workflow_dsl::step_errors;
use workflow_dsl::typed::{Retry, TaskStep};

#[derive(Serialize, Deserialize, JsonSchema)]
struct Order {
    order_id: String,
}

step_errors! { enum ChargeError { Declined } }
step_errors! { enum ShipError { NoCourier } }

struct Charge;
impl TaskStep for Charge {
    const NAME: &'static str = "charge";
    type Input = Order;
    type Output = Order;
    type Error = ChargeError;
}

fn main() {
    let _ = workflow::<Order>("wrong error")
        .then(task::<Charge>("Charge").retry(Retry::on(ShipError::NoCourier)));
}
