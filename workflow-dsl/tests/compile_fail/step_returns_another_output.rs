//! The handler of `Charge` returns a `Receipt`, but the step declares `Output = Order`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use workflow_dsl::step::{Step, StepError};
use workflow_dsl::step_errors;
use workflow_dsl::typed::StepErrors;

#[derive(Serialize, Deserialize, JsonSchema)]
struct Order {
    order_id: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Receipt {
    receipt_id: String,
}

step_errors! { enum ChargeError { Declined } }

struct Charge;
impl Step for Charge {
    const NAME: &'static str = "charge";
    type Input = Order;
    type Output = Order;
    type Error = ChargeError;
    type Ports = ();

    async fn run(order: Order, _: &()) -> Result<Receipt, StepError<ChargeError>> {
        Ok(Receipt {
            receipt_id: order.order_id,
        })
    }

    fn malformed_input(reason: String) -> StepError<ChargeError> {
        ChargeError::Declined.because(reason)
    }
}

fn main() {}
