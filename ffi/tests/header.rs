//! `include/nanoapi.h` is what cbindgen generates from this crate's source: a changed
//! signature, type or constant without a regenerated header fails here.
//! `UPDATE_HEADER=1 cargo test -p nanoapi-ffi --test header` rewrites the header.

use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn the_header_matches_the_source() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen parses the crate");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let generated = String::from_utf8(generated).expect("UTF-8 header");
    let path = dir.join("include/nanoapi.h");
    if std::env::var_os("UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write the header");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "ffi/include/nanoapi.h is out of date: run UPDATE_HEADER=1 cargo test -p nanoapi-ffi \
         --test header"
    );
}

/// The functions the header declares are exactly the library's `extern "C"` functions (so none
/// was left out of the generation by a missing `pub` or `no_mangle`).
#[test]
fn the_header_declares_exactly_the_exported_functions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(dir.join("include/nanoapi.h")).expect("the header");
    let mut exported = BTreeSet::new();
    for entry in std::fs::read_dir(dir.join("src")).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let mut lines = source.lines().peekable();
        while let Some(line) = lines.next() {
            if line.trim() != "#[unsafe(no_mangle)]" {
                continue;
            }
            let signature = lines.next().unwrap_or_default();
            let name = signature
                .split("fn ")
                .nth(1)
                .and_then(|rest| rest.split('(').next());
            exported.insert(name.expect("a function follows no_mangle").to_owned());
        }
    }
    // A declaration starts a line with its return type and names a function: `int nanoapi_x(`.
    let declared: BTreeSet<String> = header
        .lines()
        .filter(|line| line.contains('(') && !line.starts_with([' ', '/', '#', 't']))
        .filter_map(|line| {
            line.split('(')
                .next()?
                .rsplit([' ', '*'])
                .next()
                .map(str::to_owned)
        })
        .filter(|name| name.starts_with("nanoapi_"))
        .collect();
    assert!(exported.len() >= 20, "found the exports: {exported:?}");
    assert_eq!(declared, exported);
}
