//! Reference compression server: actix-web 4 (one worker) with its `Compress` middleware,
//! serving `benches/data/report.json` (10 KiB of JSON) at `GET /report` and
//! `GET /static-report` (actix has no pre-rendered responses: both compress per request).
//! `Compress` negotiates gzip, br and zstd itself, at levels actix-http fixes (see
//! `benches/compression.sh`).
//!
//! Usage: `actix_compress [addr]` (default `127.0.0.1:8080`). Prints `listening <addr>` on
//! stdout once bound.

use actix_web::middleware::Compress;
use actix_web::{web, App, HttpResponse, HttpServer};

static REPORT: &[u8] = include_bytes!("../../../data/report.json");

async fn report() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(REPORT)
}

#[actix_web::main]
async fn main() {
    let addr = nanoapi_bench_peers::addr_arg();
    let server = HttpServer::new(|| {
        App::new()
            .wrap(Compress::default())
            .route("/report", web::get().to(report))
            .route("/static-report", web::get().to(report))
    })
    .workers(1)
    .tcp_nodelay(true);
    let server = server.bind(&addr).unwrap_or_else(|e| {
        nanoapi_bench_peers::fail("actix_compress", &format!("bind {addr}"), e)
    });
    nanoapi_bench_peers::announce(server.addrs().first().map_or(addr, |a| a.to_string()));
    if let Err(e) = server.disable_signals().run().await {
        nanoapi_bench_peers::fail("actix_compress", "run", e);
    }
}
