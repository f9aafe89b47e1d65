//! The runtime without the overlay: a plain dispatcher answering `GET /` with `ok` and
//! everything else with 404. Build it alone: `cargo run --example raw_dispatch
//! --no-default-features`.

use nanoapi::http::{Method, Response, StatusCode};
use nanoapi::server::{Request, ResponseWriter};

/// Shared by every worker; a real host would keep its routes or interpreter handle here.
struct Ctx {
    greeting: &'static str,
}

async fn dispatch(ctx: &Ctx, req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    let response = match (req.method(), req.path()) {
        (Method::Get | Method::Head, b"/") => Response::text(StatusCode::OK, ctx.greeting),
        _ => Response::text(StatusCode::NOT_FOUND, "not found"),
    };
    w.send(response).await
}

fn main() -> std::io::Result<()> {
    nanoapi::run(Ctx { greeting: "ok" }, dispatch)
}
