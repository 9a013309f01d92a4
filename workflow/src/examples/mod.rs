//! Example workflows of the library, emitted under `generated/examples/` and checked like the
//! project's own (snapshot, `workflow check`, `workflow validate`, asl-validator), but not
//! deployed: they show what the DSL writes, without escape hatches.

pub mod approval;
pub mod image_batch;
pub mod refund;

use workflow_dsl::typed::TypedWorkflow;

/// Every example workflow, with its name (written in kebab-case under `generated/examples/`).
pub fn example_workflows() -> Vec<(&'static str, workflow_dsl::StateMachine)> {
    vec![
        (refund::NAME, crate::emit_checked(refund::refund_workflow())),
        (
            approval::NAME,
            crate::emit_checked(approval::approval_workflow()),
        ),
        (
            image_batch::NAME,
            crate::emit_checked(image_batch::image_batch_workflow()),
        ),
        (
            image_batch::ResizeBatch::NAME,
            crate::emit_checked(image_batch::resize_batch_workflow()),
        ),
    ]
}
