//! Reference compression server: actix-web 4 (one worker) with its `Compress` middleware,
//! serving `benches/data/report.json` (10 KiB of JSON) at `GET /report` and
//! `GET /static-report` (actix has no pre-rendered responses: both compress per request).
//! `Compress` negotiates gzip, br and zstd itself, at levels actix-http fixes (see
//! `benches/compression.sh`).
//!
//! Usage: `actix_compress [addr]` (default `127.0.0.1:8080`). Prints `listening <addr>` on
//! stdout once bound.

use std::io::Write;

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
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let server = HttpServer::new(|| {
        App::new()
            .wrap(Compress::default())
            .route("/report", web::get().to(report))
            .route("/static-report", web::get().to(report))
    })
    .workers(1)
    .tcp_nodelay(true);
    let server = match server.bind(&addr) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("actix_compress: bind {addr}: {e}");
            std::process::exit(1);
        }
    };
    {
        let mut out = std::io::stdout().lock();
        let bound = server.addrs().first().map(|a| a.to_string()).unwrap_or(addr);
        let _ = writeln!(out, "listening {bound}");
        let _ = out.flush();
    }
    if let Err(e) = server.disable_signals().run().await {
        eprintln!("actix_compress: run: {e}");
        std::process::exit(1);
    }
}
