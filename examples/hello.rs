//! The README's main job: `cargo run --release --example hello`, then
//! `curl http://127.0.0.1:8080/`. Options come from the environment (`NANOAPI_HOST`,
//! `NANOAPI_PORT`/`PORT`, `NANOAPI_WORKERS`, `NANOAPI_BACKEND`); Ctrl-C drains and exits.

use nanoapi::http::{Response, StatusCode};
use nanoapi::server::{Request, ResponseWriter};

async fn hello(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    let response = match req.path() {
        b"/" => Response::text(StatusCode::OK, "Hello, World!"),
        _ => Response::text(StatusCode::NOT_FOUND, "Not Found"),
    };
    w.send(response).await
}

fn main() -> std::io::Result<()> {
    let options = nanoapi::server::Options::from_env()?;
    eprintln!(
        "hello: serving on http://{}/ (Ctrl-C to stop)",
        options.addr()
    );
    nanoapi::run((), hello)
}
