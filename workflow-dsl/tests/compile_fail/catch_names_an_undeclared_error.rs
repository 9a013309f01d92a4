//! A `Catch` of `Charge` names `NoCourier`, which `Charge`'s error enum does not declare.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use workflow_dsl::builder::{task, workflow};
use workflow_dsl::step::{Step, StepError};
use workflow_dsl::step_errors;
use workflow_dsl::typed::{Catch, StepErrors};

#[derive(Serialize, Deserialize, JsonSchema)]
struct Order {
    order_id: String,
}

step_errors! { enum ChargeError { Declined } }
step_errors! { enum ShipError { NoCourier } }

struct Charge;
impl Step for Charge {
    const NAME: &'static str = "charge";
    type Input = Order;
    type Output = Order;
    type Error = ChargeError;
    type Ports = ();

    async fn run(order: Order, _: &()) -> Result<Order, StepError<ChargeError>> {
        Ok(order)
    }

    fn malformed_input(reason: String) -> StepError<ChargeError> {
        ChargeError::Declined.because(reason)
    }
}

fn main() {
    let _ = workflow::<Order>("wrong catch")
        .then(task::<Charge>("Charge").catch(Catch::on(ShipError::NoCourier), "Failed"));
}
