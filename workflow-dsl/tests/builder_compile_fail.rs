//! Type errors the builder turns into compile errors (trybuild): chaining a step whose input type
//! is not the data the previous state produces, and retrying on another step's errors.

#[test]
fn typed_chaining_mistakes_do_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile_fail/*.rs");
}
