//! Reference compression server: axum 0.8 on a tokio current-thread runtime with
//! tower-http's `CompressionLayer`, serving `benches/data/report.json` (10 KiB of JSON) at
//! `GET /report` and `GET /static-report` (both compressed per request). The layer
//! negotiates gzip, br and zstd; its level is `COMPRESSION_LEVEL` (tower-http's
//! `CompressionLevel::Precise`, applied to whichever coding is chosen; the benchmark sets
//! 6 for gzip, 4 for br, 3 for zstd), or the library's default when unset.
//!
//! Usage: `axum_compress [addr]` (default `127.0.0.1:8080`). Prints `listening <addr>` on
//! stdout once bound.

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use tower_http::compression::{CompressionLayer, CompressionLevel};

static REPORT: &[u8] = include_bytes!("../../../data/report.json");

async fn report() -> ([(axum::http::HeaderName, &'static str); 1], &'static [u8]) {
    ([(CONTENT_TYPE, "application/json")], REPORT)
}

fn main() {
    let addr = nanoapi_bench_peers::addr_arg();
    let level = match std::env::var("COMPRESSION_LEVEL") {
        Ok(level) => {
            CompressionLevel::Precise(level.parse().expect("COMPRESSION_LEVEL: an integer"))
        }
        Err(_) => CompressionLevel::Default,
    };
    let rt = nanoapi_bench_peers::current_thread_runtime();
    rt.block_on(async move {
        let app = Router::new()
            .route("/report", get(report))
            .route("/static-report", get(report))
            .layer(CompressionLayer::new().quality(level));
        let listener = nanoapi_bench_peers::bind_tokio("axum_compress", &addr).await;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        if let Err(e) = axum::serve(listener, app).await {
            nanoapi_bench_peers::fail("axum_compress", "serve", e);
        }
    });
}
