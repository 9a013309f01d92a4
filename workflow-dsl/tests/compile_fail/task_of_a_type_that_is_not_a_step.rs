// Only a step (TaskStep) becomes a typed Task.
use workflow_dsl::builder::{task, workflow};

struct Charge;

fn main() {
    let _ = workflow::<String>("flow").then(task::<Charge>("Charge"));
}
