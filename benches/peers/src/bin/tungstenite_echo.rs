//! Reference WebSocket echo server: tokio-tungstenite on a tokio current-thread runtime.
//!
//! Usage: `tungstenite_echo [addr]` (default `127.0.0.1:8080`). Every connection is accepted
//! as a WebSocket whatever its path (no permessage-deflate), and every text and binary
//! message is sent back; pings are answered by tungstenite. TCP_NODELAY on. Prints
//! `listening <addr>` once bound.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;

async fn serve(stream: TcpStream) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    stream.set_nodelay(true)?;
    let mut socket = tokio_tungstenite::accept_async(stream).await?;
    while let Some(message) = socket.next().await {
        let message = message?;
        if message.is_text() || message.is_binary() {
            socket.send(message).await?;
        }
    }
    Ok(())
}

fn main() {
    let addr = nanoapi_bench_peers::addr_arg();
    let rt = nanoapi_bench_peers::current_thread_runtime();
    rt.block_on(async move {
        let listener = nanoapi_bench_peers::bind_tokio("tungstenite_echo", &addr).await;
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(async move {
                        // Resets when a load run ends are expected: nothing to report.
                        let _ = serve(stream).await;
                    });
                }
                Err(e) => nanoapi_bench_peers::fail("tungstenite_echo", "accept", e),
            }
        }
    });
}
