//! The handler of `Charge` returns an error of `Ship`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use workflow_dsl::step::{Step, StepError};
use workflow_dsl::step_errors;
use workflow_dsl::typed::StepErrors;

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

    async fn run(_order: Order, _: &()) -> Result<Order, StepError<ChargeError>> {
        Err(ShipError::NoCourier.because("no courier today"))
    }

    fn malformed_input(reason: String) -> StepError<ChargeError> {
        ChargeError::Declined.because(reason)
    }
}

fn main() {}
