//! Serves the site: prints `PORT <n>` and serves until SIGINT or SIGTERM, then drains.
//! `NANOAPI_PORT` (default 0: any free port), `NANOAPI_BACKEND` and `NANOAPI_WORKERS` apply.
//!
//! `cargo run -p ssr-example`

use nanoapi::server::{Options, serve};
use ssr_example::{Site, dispatch};

fn main() -> std::io::Result<()> {
    let mut options = Options::from_env()?;
    if std::env::var_os("NANOAPI_PORT").is_none() {
        options.port = 0;
    }
    let server = serve(options, Site::new(), dispatch)?;
    println!("PORT {}", server.local_addr().port());
    server.wait_for_signal()
}
