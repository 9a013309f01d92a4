//! The `workflow` command line: emits the project's workflows as ASL.
fn main() {}
