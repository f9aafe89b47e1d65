//! `#[debug_handler]`'s diagnostics, as the compiler prints them (`tests/ui/*.stderr`; after a
//! deliberate change, `TRYBUILD=overwrite cargo test -p nanoapi-macros --test ui` rewrites
//! them).

#[test]
fn diagnostics_name_the_argument_and_the_missing_trait() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass_*.rs");
    cases.compile_fail("tests/ui/fail_*.rs");
}
