//! Two branches of a Choice continue with different data types: the message says how to unify.

use workflow_dsl::builder::{workflow, Cond};

fn main() {
    let _ = workflow::<serde_json::Value>("two shapes").choice("Big?", |c| {
        c.when(Cond::numeric_greater_than("$.n", 10), |f| f.assume::<String>())
            .otherwise(|f| f.assume::<u32>())
    });
}
