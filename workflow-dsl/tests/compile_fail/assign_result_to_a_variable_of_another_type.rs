// A step's result can only be assigned to a variable of the step's output type.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use workflow_dsl::builder::{task, workflow};
use workflow_dsl::typed::{NoErrors, TaskStep};
use workflow_dsl::vars::Var;

#[derive(Serialize, Deserialize, JsonSchema)]
struct Order {
    id: String,
}

struct LookUp;
impl TaskStep for LookUp {
    const NAME: &'static str = "look-up";
    type Input = Order;
    type Output = Order;
    type Error = NoErrors;
}

fn main() {
    let total: Var<i64> = Var::new("total");
    let _ = workflow::<Order>("assign")
        .jsonata()
        .then(task::<LookUp>("Look up").assign_result(&total));
}
