//! The runtime layer stays lean: the bare runtime (`nanoapi` without default features) and a
//! consumer built on it alone (the SSR example) pull in no serde, schema or JSON crate, and the
//! App without `validation` no schema crate.

use std::process::Command;

/// The crates `cargo tree` lists for `args` (normal dependencies only).
fn tree(args: &[&str]) -> (Vec<String>, String) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .arg("tree")
        .args(args)
        .args(["-e", "normal", "--prefix", "none", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let crates = text
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    (crates, text)
}

#[test]
fn the_bare_runtime_and_its_consumers_depend_on_no_serde_schema_or_json_crate() {
    for args in [
        &["-p", "nanoapi", "--no-default-features"][..],
        &["-p", "ssr-example"][..],
    ] {
        let (crates, text) = tree(args);
        assert!(
            crates.iter().any(|c| c == "nanoapi-executor"),
            "{args:?}: the tree lists the runtime: {text}"
        );
        for forbidden in [
            "serde",
            "serde_json",
            "schemars",
            "simd-json",
            "sonic-rs",
            "tracing",
        ] {
            assert!(
                !crates.iter().any(|c| c == forbidden),
                "{args:?}: {forbidden} in the tree:\n{text}"
            );
        }
    }
}

#[test]
fn the_app_without_validation_builds_without_schemars() {
    let (crates, text) = tree(&[
        "-p",
        "nanoapi",
        "--no-default-features",
        "--features",
        "app",
    ]);
    assert!(
        crates.iter().any(|c| c == "serde_json"),
        "the App reads JSON: {text}"
    );
    assert!(
        !crates.iter().any(|c| c == "schemars"),
        "schemars in the App's tree without `validation`:\n{text}"
    );
    let (crates, _) = tree(&["-p", "nanoapi", "--features", "validation"]);
    assert!(
        crates.iter().any(|c| c == "schemars"),
        "`validation` is schemars"
    );
}
