//! The SSR site builds on the bare runtime: its tree holds no serde, schema or JSON crate (it
//! depends on `nanoapi` with `default-features = false`).

use std::process::Command;

#[test]
fn the_ssr_site_depends_on_no_serde_schema_or_json_crate() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "ssr-example",
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
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8_lossy(&output.stdout);
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"nanoapi"),
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
            "{forbidden} in the SSR site's tree:\n{tree}"
        );
    }
}
