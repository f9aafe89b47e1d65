//! Sets `cfg(coding)` when any content-coding feature is on (`compression-gzip`,
//! `compression-br`, `compression-zstd`): the code that compresses and decodes needs at least
//! one codec, and one cfg reads better than the three features spelled out each time.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(coding)");
    let any_coding = ["GZIP", "BR", "ZSTD"]
        .iter()
        .any(|name| std::env::var_os(format!("CARGO_FEATURE_COMPRESSION_{name}")).is_some());
    if any_coding {
        println!("cargo::rustc-cfg=coding");
    }
}
