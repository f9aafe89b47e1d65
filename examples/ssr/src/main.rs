//! Serves the site: prints `PORT <n>` and serves until standard input closes.
//! `NANOAPI_PORT` (default 0: any free port), `NANOAPI_BACKEND` and `NANOAPI_WORKERS` apply.
//!
//! `cargo run -p ssr-example`

use std::io::Read;

use nanoapi::server::{Options, serve};
use ssr_example::{Site, dispatch};

fn main() -> std::io::Result<()> {
    let mut options = Options::from_env()?;
    if std::env::var_os("NANOAPI_PORT").is_none() {
        options.port = 0;
    }
    let server = serve(options, Site::new(), dispatch)?;
    println!("PORT {}", server.local_addr().port());
    std::io::stdin().read_to_end(&mut Vec::new())?;
    server.shutdown_blocking();
    Ok(())
}
