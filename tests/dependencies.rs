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

/// The App is OpenAPI's input, not its host: no code under `src/app/` names the `openapi`
/// module or its feature (doc comments may point to it). The document and its pages reach an
/// app as an `AppExtension` that `lib.rs` installs.
#[test]
fn the_app_does_not_know_openapi() {
    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src/app is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    rust_files(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/app"),
        &mut files,
    );
    assert!(files.len() > 10, "found the App's sources: {files:?}");
    let mut offending = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a source file is readable");
        for (number, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if code.contains("crate::openapi") || code.contains("feature = \"openapi\"") {
                offending.push(format!("{}:{}: {code}", file.display(), number + 1));
            }
        }
    }
    assert!(
        offending.is_empty(),
        "the App names OpenAPI: {offending:#?}"
    );
}
