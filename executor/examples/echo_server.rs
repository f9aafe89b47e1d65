//! A TCP echo server on one worker: the executor's side of `benches/echo.sh`.
//!
//! `cargo run --release -p nanoapi-executor --example echo_server -- 127.0.0.1:9001`
//! (`NANOAPI_BACKEND=uring|poll` picks the reactor).

use std::io::Write;

use nanoapi_executor::net::{TcpListener, TcpStream};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    nanoapi_executor::block_on(async move {
        let listener = TcpListener::bind(addr.as_str())?;
        println!("listening {}", listener.local_addr()?);
        std::io::stdout().flush()?;
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    eprintln!("accept: {err}");
                    nanoapi_executor::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            stream.set_nodelay(true)?;
            nanoapi_executor::spawn_local(echo(stream)).detach();
        }
    })
}

/// Sends back every chunk as it arrives, from a pooled buffer (the connection holds no buffer
/// while it waits).
async fn echo(stream: TcpStream) {
    loop {
        let chunk = match stream.read_pooled().await {
            Ok(chunk) if !chunk.is_empty() => chunk,
            _ => return,
        };
        // The pooled buffer is written out as it is and goes back to the pool afterwards.
        if stream.write_all(chunk).await.0.is_err() {
            return;
        }
    }
}
