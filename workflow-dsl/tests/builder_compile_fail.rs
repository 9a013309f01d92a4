//! Mistakes the compiler refuses (trybuild; the expected messages are the `.stderr` files, part
//! of the DSL's API): a step handler returning another type than its `Output` or another step's
//! error, a `Retry`/`Catch` naming an error the step does not declare, and chaining a step whose
//! input is not what the previous state produces.

#[test]
fn typed_step_and_chaining_mistakes_do_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile_fail/*.rs");
}
