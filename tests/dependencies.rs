//! The runtime layer stays lean: without default features, `nanoapi` pulls in no serde, schema
//! or JSON crate.

use std::process::Command;

#[test]
fn the_bare_runtime_depends_on_no_serde_schema_or_json_crate() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "nanoapi",
            "--no-default-features",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8_lossy(&output.stdout);
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"nanoapi-executor"),
        "the tree lists the runtime: {tree}"
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
            !crates.contains(&forbidden),
            "{forbidden} in the bare runtime's tree:\n{tree}"
        );
    }
}
