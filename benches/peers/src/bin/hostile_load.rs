//! Hostile load against an HTTP server (nanoapi's `reliability_target` example, for
//! `benches/hostile.sh`). One scenario per run; one line of JSON on stdout; exit 2 on failure.
//!
//! ```text
//! hostile_load slowloris --addr A [--slow 1000] [--secs 20]
//! hostile_load keepalive --addr A [--conns 10000] [--rounds 3]
//! hostile_load shutdown  --addr A --server-pid PID [--conns 10000]
//! ```
//!
//! - `slowloris`: `slow` connections, a third each sending a head one byte every 100 ms, a
//!   body one byte every 100 ms, or 64 pipelined `GET /big` never read; meanwhile a normal
//!   client sends `GET /plain` on a new connection after another for `secs`. Reports the
//!   normal requests that succeeded and failed, their latency (p50, p99, max), and how many
//!   slow connections the server had closed by the end.
//! - `keepalive`: opens `conns` connections (256 connects in flight at most), then `rounds`
//!   times sends `GET /plain` on every one and reads every answer. Any failure fails the run.
//! - `shutdown`: `conns` connections each send `GET /slow` (answered after 1 s); once all are
//!   sent, SIGTERM goes to the server. Each request must end in a complete response, or be
//!   refused cleanly (connection refused/reset before any byte, or a complete 503); a
//!   response cut after its head fails the run.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

fn arg(name: &str, default: Option<&str>) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| default.map(str::to_owned))
        .unwrap_or_else(|| {
            eprintln!("hostile_load: missing {name}");
            std::process::exit(1)
        })
}

fn num(name: &str, default: &str) -> usize {
    arg(name, Some(default)).parse().expect("a number")
}

/// Reads one response: `Ok(status)` if complete (Content-Length or chunked), `Err(got)` with
/// the bytes read if the stream ended first.
async fn read_response(stream: &mut TcpStream) -> Result<u16, Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            let body = &got[end + 4..];
            let complete = match head.split("content-length: ").nth(1) {
                Some(rest) => {
                    let n: usize = rest.split("\r\n").next().unwrap().trim().parse().unwrap();
                    body.len() >= n
                }
                None => body.ends_with(b"0\r\n\r\n"),
            };
            if complete {
                return Ok(status);
            }
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return Err(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

async fn slowloris(addr: String) -> bool {
    let slow = num("--slow", "1000");
    let secs = num("--secs", "20") as u64;
    let closed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..slow {
        let (addr, closed) = (addr.clone(), closed.clone());
        tasks.push(tokio::spawn(async move {
            let Ok(mut stream) = TcpStream::connect(&addr).await else {
                closed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return;
            };
            let trickle: Vec<u8> = match i % 3 {
                0 => b"GET /plain HTTP/1.1\r\nHost: x\r\nX-Slow: ".repeat(10),
                1 => {
                    let head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
                    if stream.write_all(head).await.is_err() {
                        return;
                    }
                    vec![b'x'; 100_000]
                }
                _ => {
                    let pipelined = b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n".repeat(64);
                    let _ = stream.write_all(&pipelined).await;
                    // Never read: hold the socket until the server gives up on it.
                    let mut probe = [0u8; 1];
                    tokio::time::sleep(Duration::from_secs(secs)).await;
                    if matches!(stream.try_read(&mut probe), Ok(0) | Err(_)) {
                        closed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    return;
                }
            };
            for byte in trickle {
                if stream.write_all(&[byte]).await.is_err() {
                    closed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    // Let the slow connections settle in, then measure a normal client.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (mut ok, mut failed, mut latencies) = (0u64, 0u64, Vec::new());
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        let start = Instant::now();
        let result = tokio::time::timeout(Duration::from_secs(5), async {
            let mut stream = TcpStream::connect(&addr).await.map_err(|_| Vec::new())?;
            stream
                .write_all(b"GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .map_err(|_| Vec::new())?;
            read_response(&mut stream).await
        })
        .await;
        match result {
            Ok(Ok(200)) => {
                ok += 1;
                latencies.push(start.elapsed());
            }
            _ => failed += 1,
        }
    }
    for task in &tasks {
        task.abort();
    }
    latencies.sort();
    let pct = |p: usize| {
        latencies
            .get(latencies.len().saturating_sub(1) * p / 100)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    println!(
        "{{\"scenario\":\"slowloris\",\"slow\":{slow},\"normal_ok\":{ok},\"normal_failed\":{failed},\
         \"p50_ms\":{:.2},\"p99_ms\":{:.2},\"max_ms\":{:.2},\"slow_closed_by_server\":{}}}",
        pct(50),
        pct(99),
        pct(100),
        closed.load(std::sync::atomic::Ordering::Relaxed)
    );
    failed == 0 && ok > 0
}

async fn keepalive(addr: String) -> bool {
    let conns = num("--conns", "10000");
    let rounds = num("--rounds", "3");
    let start = Instant::now();
    let limit = std::sync::Arc::new(Semaphore::new(256));
    let mut opening = Vec::new();
    for _ in 0..conns {
        let (addr, limit) = (addr.clone(), limit.clone());
        opening.push(tokio::spawn(async move {
            let _permit = limit.acquire().await.unwrap();
            TcpStream::connect(&addr).await
        }));
    }
    let mut streams = Vec::new();
    for task in opening {
        match task.await.unwrap() {
            Ok(stream) => streams.push(stream),
            Err(err) => {
                println!("{{\"scenario\":\"keepalive\",\"error\":\"connect: {err}\"}}");
                return false;
            }
        }
    }
    let opened = start.elapsed();
    let mut failures = 0;
    for _ in 0..rounds {
        let mut tasks = Vec::new();
        for mut stream in streams.drain(..) {
            tasks.push(tokio::spawn(async move {
                let sent = stream
                    .write_all(b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
                    .await;
                let ok = sent.is_ok() && read_response(&mut stream).await == Ok(200);
                (stream, ok)
            }));
        }
        for task in tasks {
            let (stream, ok) = task.await.unwrap();
            failures += usize::from(!ok);
            streams.push(stream);
        }
    }
    println!(
        "{{\"scenario\":\"keepalive\",\"conns\":{conns},\"rounds\":{rounds},\"requests\":{},\
         \"failures\":{failures},\"open_secs\":{:.2},\"total_secs\":{:.2}}}",
        conns * rounds,
        opened.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    failures == 0
}

async fn shutdown(addr: String) -> bool {
    let conns = num("--conns", "10000");
    let pid: i32 = arg("--server-pid", None).parse().unwrap();
    let limit = std::sync::Arc::new(Semaphore::new(256));
    let (sent_tx, mut sent_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (addr, limit, sent_tx) = (addr.clone(), limit.clone(), sent_tx.clone());
        tasks.push(tokio::spawn(async move {
            let stream = {
                let _permit = limit.acquire().await.unwrap();
                TcpStream::connect(&addr).await
            };
            let Ok(mut stream) = stream else {
                let _ = sent_tx.send(());
                return "refused";
            };
            let sent = stream
                .write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
                .await;
            let _ = sent_tx.send(());
            if sent.is_err() {
                return "refused";
            }
            match read_response(&mut stream).await {
                Ok(200) => "completed",
                Ok(503) => "refused",
                Ok(_) => "other",
                Err(got) if got.is_empty() => "refused",
                Err(_) => "cut",
            }
        }));
    }
    for _ in 0..conns {
        sent_rx.recv().await;
    }
    // SAFETY: kill(2) with a pid and a signal number; no memory is involved.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let (mut completed, mut refused, mut cut, mut other) = (0, 0, 0, 0);
    for task in tasks {
        match task.await.unwrap() {
            "completed" => completed += 1,
            "refused" => refused += 1,
            "cut" => cut += 1,
            _ => other += 1,
        }
    }
    println!(
        "{{\"scenario\":\"shutdown\",\"conns\":{conns},\"completed\":{completed},\
         \"refused_cleanly\":{refused},\"cut\":{cut},\"other\":{other}}}"
    );
    cut == 0 && other == 0
}

fn main() {
    let scenario = std::env::args().nth(1).unwrap_or_default();
    let addr = arg("--addr", None);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ok = runtime.block_on(async move {
        match scenario.as_str() {
            "slowloris" => slowloris(addr).await,
            "keepalive" => keepalive(addr).await,
            "shutdown" => shutdown(addr).await,
            other => {
                eprintln!("hostile_load: unknown scenario {other:?}");
                std::process::exit(1)
            }
        }
    });
    std::process::exit(if ok { 0 } else { 2 });
}
