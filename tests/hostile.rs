//! Slow, hostile and failing clients against a running server, on both backends: slowloris
//! heads and bodies, clients that never read, half-open and resetting clients, dispatch panics
//! under load, a saturated blocking pool, and a graceful shutdown with requests in flight.
//! Bounded variants of `benches/hostile.sh`; every test also checks that the server released
//! every connection (the metrics hook counts them) and still serves.

mod common;

use common::{Counters, read_some, reset};

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use nanoapi::executor::Backend;
use nanoapi::executor::time::sleep;
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::{
    BlockingWriter, Options, OwnedRequest, Request, ResponseWriter, ServerHandle, Timeouts,
    serve_blocking,
};

/// 64 KiB: a response large enough to fill socket buffers when nobody reads.
const BIG: usize = 64 * 1024;

async fn dispatch(
    counters: &Arc<Counters>,
    req: &mut Request,
    w: &mut ResponseWriter,
) -> nanoapi::Result<()> {
    counters.dispatched.fetch_add(1, Ordering::SeqCst);
    match req.path() {
        b"/big" => {
            w.send(Response::text(StatusCode::OK, vec![b'b'; BIG]))
                .await
        }
        b"/stream" => {
            // 4 MiB in 16 KiB chunks: long enough for a client to reset in the middle.
            let mut body = w.start_chunked(Response::new(StatusCode::OK)).await?;
            for _ in 0..256 {
                body.send(bytes::Bytes::from(vec![b's'; 16 * 1024])).await?;
            }
            body.finish().await
        }
        b"/panic" => panic!("dispatch panicked on purpose"),
        b"/slow" => {
            // The request's own work: it is in flight for a while.
            sleep(Duration::from_millis(500)).await;
            w.send(Response::text(StatusCode::OK, "slow")).await
        }
        _ => {
            let body = req.read_to_end().await?;
            w.send(Response::text(
                StatusCode::OK,
                format!("len={}", body.len()),
            ))
            .await
        }
    }
}

fn start(backend: Backend, timeouts: Timeouts) -> (ServerHandle, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let mut options = Options::default()
        .port(0)
        .workers(1)
        .backend(backend)
        .metrics(counters.clone());
    options.timeouts = timeouts;
    let server = nanoapi::serve(options, counters.clone(), dispatch).unwrap();
    (server, counters)
}

/// Reads one whole response off `stream`: its status and body. Fails on anything malformed or
/// cut short, so a response cut after its head is an error here.
fn read_response(stream: &mut TcpStream) -> io::Result<(u16, Vec<u8>)> {
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let (status, head_len, framing) = loop {
        let mut fields = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut fields);
        match response.parse(&got) {
            Ok(httparse::Status::Complete(len)) => {
                let field = |name: &str| {
                    response
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| String::from_utf8_lossy(h.value).into_owned())
                };
                let framing = match field("content-length") {
                    Some(n) => Some(n.parse::<usize>().unwrap()),
                    None => {
                        assert_eq!(field("transfer-encoding").as_deref(), Some("chunked"));
                        None
                    }
                };
                break (response.code.unwrap(), len, framing);
            }
            Ok(httparse::Status::Partial) => {}
            Err(err) => return Err(io::Error::other(format!("bad response: {err}"))),
        }
        let n = read_some(stream, &mut buf)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        got.extend_from_slice(&buf[..n]);
    };
    let mut body = got.split_off(head_len);
    let complete = |body: &[u8]| match framing {
        Some(n) => body.len() >= n,
        None => body.ends_with(b"0\r\n\r\n"),
    };
    while !complete(&body) {
        let n = read_some(stream, &mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("response {status} cut after its head"),
            ));
        }
        body.extend_from_slice(&buf[..n]);
    }
    Ok((status, body))
}

/// One request on a new connection, read whole.
fn request(addr: SocketAddr, raw: &[u8]) -> io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(common::slowdown(Duration::from_secs(10))))?;
    stream.write_all(raw)?;
    read_response(&mut stream)
}

/// Everything up to end of stream (or a reset, or 10 s without a byte).
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    stream
        .set_read_timeout(Some(common::slowdown(Duration::from_secs(10))))
        .unwrap();
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got);
    got
}

fn short_timeouts() -> Timeouts {
    let mut timeouts = Timeouts::default();
    timeouts.header = Duration::from_secs(2);
    timeouts.body_idle = Duration::from_secs(2);
    timeouts.write_stall = Duration::from_secs(2);
    timeouts
}

const SLOW: usize = 100;

#[test]
fn slowloris_clients_do_not_starve_a_normal_one_and_are_cut_off() {
    common::raise_fd_limit();
    for backend in common::backends() {
        let (server, counters) = start(backend, short_timeouts());
        let addr = server.local_addr();
        // Heads one byte at a time; bodies one byte at a time; responses never read.
        let mut heads: Vec<TcpStream> = (0..SLOW).map(|_| common::connect(addr)).collect();
        let mut bodies: Vec<TcpStream> = (0..SLOW).map(|_| common::connect(addr)).collect();
        let deaf: Vec<TcpStream> = (0..SLOW).map(|_| common::connect(addr)).collect();
        for stream in &mut bodies {
            stream
                .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
                .unwrap();
        }
        let pipelined: Vec<u8> = b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n".repeat(64);
        for mut stream in &deaf {
            // Blocks only if the server stops reading; it reads, answers, then stalls.
            stream.write_all(&pipelined).unwrap();
        }
        let (done, trickled) = mpsc::channel();
        let trickler = std::thread::spawn(move || {
            let head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
            for round in 0..20 {
                // A write fails once the server has given up on the client: that is the point.
                for stream in &mut heads {
                    let _ = stream.write_all(&head[round % head.len()..][..1]);
                }
                for stream in &mut bodies {
                    let _ = stream.write_all(b"x");
                }
                // The pace of a slow client, not synchronisation.
                std::thread::sleep(Duration::from_millis(50));
            }
            done.send(()).unwrap();
            (heads, bodies)
        });

        // Meanwhile a normal client is served, on new connections and on one kept alive.
        for i in 0..50 {
            let (status, body) = request(
                addr,
                format!(
                    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{:03}",
                    i
                )
                .as_bytes(),
            )
            .unwrap_or_else(|err| panic!("{backend:?}: normal request {i}: {err}"));
            assert_eq!((status, &body[..]), (200, &b"len=3"[..]), "{backend:?}");
        }
        let mut kept = common::connect(addr);
        for _ in 0..50 {
            kept.write_all(b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let (status, _) = read_response(&mut kept).unwrap();
            assert_eq!(status, 200, "{backend:?}");
        }
        drop(kept);
        trickled.recv().unwrap();
        let (heads, bodies) = trickler.join().unwrap();

        // Then each slow client hits its timeout: the absolute header deadline or the body's
        // idle time is a 408 and a close; a client that never reads is dropped once its
        // writes stall.
        for (kind, streams) in [("head", heads), ("body", bodies)] {
            for mut stream in streams {
                let got = read_until_closed(&mut stream);
                let text = String::from_utf8_lossy(&got);
                assert!(
                    text.starts_with("HTTP/1.1 408 ") && text.contains("Connection: close\r\n"),
                    "{backend:?}: slow {kind}: {text}"
                );
            }
        }
        assert_eq!(
            counters.wait_all_closed(Duration::from_secs(30)),
            0,
            "{backend:?}: connections left open"
        );
        drop(deaf);
        server.shutdown_blocking();
    }
}

#[test]
fn half_open_and_resetting_clients_leave_nothing_behind() {
    for backend in common::backends() {
        let (server, counters) = start(backend, Timeouts::default());
        let addr = server.local_addr();
        for _ in 0..20 {
            // Half-open after a request: the answer still comes, then the close.
            let mut stream = common::connect(addr);
            stream
                .write_all(b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            stream.shutdown(Shutdown::Write).unwrap();
            let got = read_until_closed(&mut stream);
            assert!(
                String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200 OK\r\n"),
                "{backend:?}"
            );

            // Half-open before a byte: closed without an answer.
            let mut stream = common::connect(addr);
            stream.shutdown(Shutdown::Write).unwrap();
            assert_eq!(read_until_closed(&mut stream), b"", "{backend:?}");

            // Reset in the middle of a request body the dispatcher is reading.
            let mut stream = common::connect(addr);
            stream
                .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
                .unwrap();
            stream.write_all(&[b'x'; 1000]).unwrap();
            reset(stream);

            // Reset in the middle of a 4 MiB chunked response.
            let mut stream = common::connect(addr);
            stream
                .write_all(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut buf = [0u8; 8192];
            let n = read_some(&mut stream, &mut buf).unwrap();
            assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK\r\n"), "{backend:?}");
            reset(stream);

            // Reset with pipelined requests and their responses unread.
            let mut stream = common::connect(addr);
            stream
                .write_all(&b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n".repeat(16))
                .unwrap();
            reset(stream);
        }
        assert_eq!(
            counters.wait_all_closed(Duration::from_secs(30)),
            0,
            "{backend:?}: connections left open"
        );
        let (status, _) = request(
            addr,
            b"GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        assert_eq!(status, 200, "{backend:?}: still serving");
        server.shutdown_blocking();
    }
}

#[test]
fn dispatch_panics_under_load_cost_only_their_own_request() {
    for backend in common::backends() {
        let (server, counters) = start(backend, Timeouts::default());
        let addr = server.local_addr();
        let clients: Vec<_> = (0..8)
            .map(|client| {
                std::thread::spawn(move || {
                    let mut stream = common::connect(addr);
                    let (mut ok, mut failed) = (0, 0);
                    for i in 0..100 {
                        let path = if (client + i) % 5 == 0 {
                            "/panic"
                        } else {
                            "/plain"
                        };
                        stream
                            .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                            .unwrap();
                        let (status, _) = read_response(&mut stream).unwrap();
                        match (path, status) {
                            ("/plain", 200) => ok += 1,
                            ("/panic", 500) => {
                                failed += 1;
                                // A panic closes its connection: the client reconnects.
                                assert_eq!(read_until_closed(&mut stream), b"");
                                stream = common::connect(addr);
                            }
                            other => panic!("{other:?}"),
                        }
                    }
                    (ok, failed)
                })
            })
            .collect();
        let (mut ok, mut failed) = (0, 0);
        for client in clients {
            let (o, f) = client.join().unwrap();
            ok += o;
            failed += f;
        }
        assert_eq!((ok, failed), (640, 160), "{backend:?}");
        assert_eq!(
            counters.wait_all_closed(Duration::from_secs(30)),
            0,
            "{backend:?}"
        );
        server.shutdown_blocking();
    }
}

/// How a blocking handler is held: it reports it entered, then waits for the release.
#[derive(Default)]
struct Gate {
    entered: Mutex<Option<mpsc::Sender<()>>>,
    release: Mutex<Option<mpsc::Receiver<()>>>,
}

fn held(gate: &Arc<Gate>, _: &OwnedRequest, w: &mut BlockingWriter) -> nanoapi::Result<()> {
    if let Some(entered) = gate.entered.lock().unwrap().as_ref() {
        let _ = entered.send(());
    }
    if let Some(release) = gate.release.lock().unwrap().as_ref() {
        let _ = release.recv_timeout(Duration::from_secs(30));
    }
    w.send(Response::text(StatusCode::OK, "done"))?;
    Ok(())
}

#[test]
fn a_saturated_blocking_pool_refuses_cleanly_under_load() {
    const CLIENTS: usize = 100;
    for backend in common::backends() {
        let gate = Arc::new(Gate::default());
        let (entered_tx, entered) = mpsc::channel();
        let (open, release) = mpsc::channel::<()>();
        *gate.entered.lock().unwrap() = Some(entered_tx);
        *gate.release.lock().unwrap() = Some(release);
        let options = Options::default().port(0).workers(1).backend(backend);
        // Two threads and a queue of two: four requests are taken, the rest refused.
        let server = serve_blocking(options, gate.clone(), held, 2, 2).unwrap();
        let addr = server.local_addr();
        let (results_tx, results) = mpsc::channel();
        for _ in 0..CLIENTS {
            let results_tx = results_tx.clone();
            std::thread::spawn(move || {
                let response = request(
                    addr,
                    b"GET /held HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                );
                results_tx.send(response.map(|(status, _)| status)).unwrap();
            });
        }
        // Both threads hold a request; two more wait in the queue; every other client is
        // answered 503 at once, completely.
        for _ in 0..2 {
            entered.recv_timeout(Duration::from_secs(30)).unwrap();
        }
        let mut statuses = Vec::new();
        for _ in 0..CLIENTS - 4 {
            statuses.push(
                results
                    .recv_timeout(Duration::from_secs(30))
                    .unwrap()
                    .unwrap(),
            );
        }
        assert!(
            statuses.iter().all(|&s| s == 503),
            "{backend:?}: {statuses:?}"
        );
        drop(open);
        for _ in 0..4 {
            let status = results
                .recv_timeout(Duration::from_secs(30))
                .unwrap()
                .unwrap();
            assert_eq!(status, 200, "{backend:?}: taken requests complete");
        }
        server.shutdown_blocking();
    }
}

#[test]
fn graceful_shutdown_completes_every_request_in_flight() {
    const IN_FLIGHT: usize = 500;
    common::raise_fd_limit();
    for backend in common::backends() {
        let (server, counters) = start(backend, Timeouts::default());
        let server = Arc::new(server);
        let addr = server.local_addr();
        let mut streams: Vec<TcpStream> = (0..IN_FLIGHT)
            .map(|_| {
                let mut stream = common::connect(addr);
                stream
                    .write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
                    .unwrap();
                stream
            })
            .collect();
        // Idle keep-alive connections too: they are closed, not answered.
        let mut idle: Vec<TcpStream> = (0..50).map(|_| common::connect(addr)).collect();
        let deadline = Instant::now() + Duration::from_secs(30);
        // Every connection accepted (an idle one still in the backlog at shutdown would be
        // answered 503, rightly) and every request dispatched.
        while counters.dispatched.load(Ordering::SeqCst) < IN_FLIGHT
            || counters.opened.load(Ordering::SeqCst) < IN_FLIGHT + idle.len()
        {
            assert!(
                Instant::now() < deadline,
                "{backend:?}: requests not dispatched"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let stopper = server.clone();
        let stopping = std::thread::spawn(move || stopper.shutdown_blocking());
        for stream in &mut streams {
            let (status, body) = read_response(stream)
                .unwrap_or_else(|err| panic!("{backend:?}: in-flight request: {err}"));
            assert_eq!((status, &body[..]), (200, &b"slow"[..]), "{backend:?}");
            assert_eq!(read_until_closed(stream), b"", "{backend:?}: then closed");
        }
        for stream in &mut idle {
            assert_eq!(read_until_closed(stream), b"", "{backend:?}: idle closed");
        }
        stopping.join().unwrap();
        assert_eq!(counters.open(), 0, "{backend:?}");
    }
}
