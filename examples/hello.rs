//! Executor demo until the HTTP runtime lands: one listener per worker on 127.0.0.1:8080
//! (`NANOAPI_HOST`/`NANOAPI_PORT` override), answering every request head with a fixed
//! `Hello, World!` response. It does not parse HTTP (no bodies, no validation); it shows the
//! thread-per-core shape: SO_REUSEPORT listeners, pooled receive buffers, batched writes.
//!
//! `cargo run --release --example hello`, then `curl http://127.0.0.1:8080/`.

use nanoapi::executor::net::{TcpListener, TcpStream};
use nanoapi::executor::{Runtime, spawn_local};

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

fn main() -> std::io::Result<()> {
    let host = std::env::var("NANOAPI_HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let port = std::env::var("NANOAPI_PORT").unwrap_or_else(|_| "8080".to_owned());
    let addr: std::net::SocketAddr = format!("{host}:{port}")
        .parse()
        .map_err(std::io::Error::other)?;
    let rt = Runtime::new()?;
    eprintln!(
        "hello: {} workers ({:?}) on http://{addr}/",
        rt.handle().workers(),
        rt.backend()
    );
    for res in rt.block_on_each(move |_| serve(addr)) {
        res?;
    }
    Ok(())
}

async fn serve(addr: std::net::SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::builder(addr).reuse_port(true).bind()?;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        spawn_local(connection(stream)).detach();
    }
}

/// Answers each complete request head (up to the blank line) in the order received, one write
/// per batch of pipelined requests.
async fn connection(stream: TcpStream) {
    let mut pending = Vec::new();
    loop {
        match stream.read_pooled().await {
            Ok(chunk) if !chunk.is_empty() => pending.extend_from_slice(&chunk),
            _ => return,
        }
        let mut out = Vec::new();
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            pending.drain(..end + 4);
            out.extend_from_slice(RESPONSE);
        }
        if pending.len() > 16 * 1024 {
            return;
        }
        if !out.is_empty() && stream.write_all(out).await.0.is_err() {
            return;
        }
    }
}
