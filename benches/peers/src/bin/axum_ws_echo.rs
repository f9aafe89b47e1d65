//! Reference WebSocket echo server: axum 0.8's `WebSocketUpgrade` (tokio-tungstenite under
//! it) on a tokio current-thread runtime.
//!
//! Usage: `axum_ws_echo [addr]` (default `127.0.0.1:8080`). `GET /ws` upgrades (no
//! permessage-deflate) and every text and binary message is sent back. TCP_NODELAY on.
//! Prints `listening <addr>` once bound.

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;

async fn upgrade(ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(echo)
}

async fn echo(mut socket: WebSocket) {
    while let Some(Ok(message)) = socket.recv().await {
        let echoed = matches!(
            message,
            axum::extract::ws::Message::Text(_) | axum::extract::ws::Message::Binary(_)
        );
        if echoed && socket.send(message).await.is_err() {
            return;
        }
    }
}

fn main() {
    let addr = nanoapi_bench_peers::addr_arg();
    let rt = nanoapi_bench_peers::current_thread_runtime();
    rt.block_on(async move {
        let app = Router::new().route("/ws", get(upgrade));
        let listener = nanoapi_bench_peers::bind_tokio("axum_ws_echo", &addr).await;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        if let Err(e) = axum::serve(listener, app).await {
            nanoapi_bench_peers::fail("axum_ws_echo", "serve", e);
        }
    });
}
