//! `Fail::error` takes a typed error; a bare string is refused with the ways to name one.

use workflow_dsl::builder::Fail;

fn main() {
    let _ = Fail::new("Rejected").error("RefundRejected");
}
