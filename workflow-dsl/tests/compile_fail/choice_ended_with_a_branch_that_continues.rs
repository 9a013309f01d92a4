//! Every branch of `choice_ended` must end; one that carries its data on does not compile.

use workflow_dsl::builder::{workflow, Cond};

fn main() {
    let _ = workflow::<serde_json::Value>("gate").choice_ended("Allowed?", |c| {
        c.when(Cond::boolean_equals("$.allowed", true), |f| f.succeed("Done"))
            .otherwise(|f| f)
    });
}
