// Only a TypedWorkflow can be started as a child.
use workflow_dsl::builder::{child, workflow};

struct Billing;

fn main() {
    let _ = workflow::<String>("parent").then_child(child::<Billing>("Bill"));
}
