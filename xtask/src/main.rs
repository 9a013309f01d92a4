//! Development and test orchestration for this workspace.
fn main() {}
