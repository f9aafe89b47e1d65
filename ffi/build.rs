//! Gives the shared library a versioned soname, so programs linked against an installed
//! `libnanoapi.so` (see `Makefile`) load the ABI-compatible version they were built with.
//! Cargo builds it as `libnanoapi_ffi.so`; `make install` installs it under the soname.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Only Linux (ELF) is installed by the Makefile; elsewhere the library keeps its defaults.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{}", soname());
    }
}

/// `libnanoapi.so.MAJOR`, or `libnanoapi.so.0.MINOR` before 1.0, where a minor release may break
/// the ABI (Cargo's semver rule; cargo-c names 0.x libraries the same way). The Makefile
/// computes the same name.
fn soname() -> String {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("set by Cargo");
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").expect("set by Cargo");
    match major.as_str() {
        "0" => format!("libnanoapi.so.0.{minor}"),
        _ => format!("libnanoapi.so.{major}"),
    }
}
