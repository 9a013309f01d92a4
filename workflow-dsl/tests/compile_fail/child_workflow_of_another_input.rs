// A child workflow only follows a flow carrying its input type.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use workflow_dsl::builder::{child, workflow};
use workflow_dsl::typed::TypedWorkflow;

#[derive(Serialize, Deserialize, JsonSchema)]
struct Order {
    id: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Invoice {
    number: String,
}

struct Billing;
impl TypedWorkflow for Billing {
    const NAME: &'static str = "billing";
    type Input = Invoice;
    type Output = Invoice;
}

fn main() {
    let _ = workflow::<Order>("parent").then_child(child::<Billing>("Bill"));
}
