//! Mistakes the compiler refuses (trybuild; the expected messages are the `.stderr` files, part
//! of the DSL's API): a step handler returning another type than its `Output` or another step's
//! error, a `Retry`/`Catch` naming an error the step does not declare, chaining a step whose
//! input is not what the previous state produces, a `Fail` with a string error, Choice branches
//! of different types, assigning a step's result to a variable of another type, a child
//! workflow of another input, and a step or child that is not one.

#[test]
fn typed_step_and_chaining_mistakes_do_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile_fail/*.rs");
}
