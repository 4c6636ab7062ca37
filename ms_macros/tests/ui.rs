//! UI tests of `#[ms_service]`: what compiles (`ui/pass`), and for every
//! rule a file that breaks it with the compiler's answer beside it
//! (`ui/fail/*.stderr`). Regenerate a snapshot with `TRYBUILD=overwrite`
//! and read it before keeping it.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
