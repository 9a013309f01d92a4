//! `Charge` takes a `ValidatedOrder`, but the workflow input is an `OrderMessage`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use workflow_dsl::builder::{task, workflow};
use workflow_dsl::typed::{NoErrors, TaskStep};

#[derive(Serialize, Deserialize, JsonSchema)]
struct OrderMessage {
    order_id: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct ValidatedOrder {
    order_id: String,
    total_cents: i64,
}

struct Charge;
impl TaskStep for Charge {
    const NAME: &'static str = "charge";
    type Input = ValidatedOrder;
    type Output = ValidatedOrder;
    type Error = NoErrors;
}

fn main() {
    let _ = workflow::<OrderMessage>("wrong input").then(task::<Charge>("Charge"));
}
