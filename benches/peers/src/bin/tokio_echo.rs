//! Reference echo server: tokio current-thread runtime.
//!
//! Usage: `tokio_echo [addr]` (default `127.0.0.1:9001`).
//!
//! Per connection: read into a 4 KiB buffer, `write_all` what was read,
//! until EOF. TCP_NODELAY on. Prints `listening <addr>` on stdout once
//! bound (flushed), and nothing else except errors on stderr.

use std::io::Write;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn serve(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_string());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("build runtime");
    rt.block_on(async move {
        let listener = match TcpListener::bind(&addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("tokio_echo: bind {addr}: {e}");
                std::process::exit(1);
            }
        };
        let local = listener.local_addr().expect("local_addr");
        {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "listening {local}");
            let _ = out.flush();
        }
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(async move {
                        if let Err(e) = serve(stream).await {
                            // Resets / broken pipes when a load run ends are expected noise.
                            if !matches!(
                                e.kind(),
                                std::io::ErrorKind::ConnectionReset
                                    | std::io::ErrorKind::BrokenPipe
                            ) {
                                eprintln!("tokio_echo: connection: {e}");
                            }
                        }
                    });
                }
                Err(e) => {
                    eprintln!("tokio_echo: accept: {e}");
                    // Avoid a hot loop on e.g. EMFILE.
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            }
        }
    });
}
