//! Blocking dispatch: handlers on their own pool, frames back to the connection, 503 when
//! the pool and its queue are full, 500 on a panic.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use nanoapi::executor::Backend;
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::{
    BlockingPool, BlockingWriter, Options, OwnedRequest, serve_blocking, serve_blocking_with,
};

/// Sends `request`, reads to the end (the requests ask for close).
fn exchange(addr: std::net::SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// How a test holds a handler inside `/wait`: the handler reports that it entered, then waits
/// until the test drops the sender of `release`.
#[derive(Default)]
struct Gate {
    entered: Mutex<Option<mpsc::Sender<()>>>,
    release: Mutex<Option<mpsc::Receiver<()>>>,
}

fn handler(gate: &Arc<Gate>, req: &OwnedRequest, w: &mut BlockingWriter) -> nanoapi::Result<()> {
    match req.path() {
        b"/panic" => panic!("handler panicked on purpose"),
        b"/wait" => {
            if let Some(entered) = gate.entered.lock().unwrap().as_ref() {
                let _ = entered.send(());
            }
            if let Some(release) = gate.release.lock().unwrap().as_ref() {
                let _ = release.recv_timeout(Duration::from_secs(10));
            }
            w.send(Response::text(StatusCode::OK, "waited"))?;
        }
        b"/stream" => {
            let head = Response::new(StatusCode::OK)
                .header("Content-Type", "text/event-stream")?
                .header("Set-Cookie", "a=1")?
                .header("Set-Cookie", "b=2")?;
            w.start_chunked(head)?;
            for part in ["one ", "two ", "three"] {
                w.write_chunk(part)?;
            }
            w.end_chunked()?;
        }
        _ => {
            let text = format!(
                "{} {} {} body={}",
                String::from_utf8_lossy(req.method()),
                String::from_utf8_lossy(req.path()),
                String::from_utf8_lossy(req.header("x-test").unwrap_or(b"-")),
                String::from_utf8_lossy(req.body())
            );
            w.send(Response::text(StatusCode::OK, text))?;
        }
    }
    Ok(())
}

fn start(backend: Backend, threads: usize, queue: usize) -> (nanoapi::ServerHandle, Arc<Gate>) {
    let gate = Arc::new(Gate::default());
    let options = Options::default().port(0).workers(1).backend(backend);
    (
        serve_blocking(options, gate.clone(), handler, threads, queue).unwrap(),
        gate,
    )
}

#[test]
fn a_blocking_handler_sees_the_whole_request_and_answers() {
    for backend in common::backends() {
        let (server, _) = start(backend, 2, 8);
        let response = exchange(
            server.local_addr(),
            "POST /echo HTTP/1.1\r\nHost: x\r\nX-Test: yes\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        );
        assert!(
            response.starts_with("HTTP/1.1 200 OK"),
            "{backend:?}: {response}"
        );
        assert!(
            response.ends_with("POST /echo yes body=hello"),
            "{backend:?}: {response}"
        );
        server.shutdown_blocking();
    }
}

#[test]
fn a_blocking_handler_streams_chunks_with_its_headers() {
    for backend in common::backends() {
        let (server, _) = start(backend, 2, 8);
        let response = exchange(
            server.local_addr(),
            "GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(
            response.contains("Transfer-Encoding: chunked\r\n"),
            "{backend:?}: {response}"
        );
        assert!(
            response.contains("Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n"),
            "{backend:?}: {response}"
        );
        assert!(
            response.ends_with("4\r\none \r\n4\r\ntwo \r\n5\r\nthree\r\n0\r\n\r\n"),
            "{backend:?}: {response}"
        );
        server.shutdown_blocking();
    }
}

#[test]
fn a_panicking_blocking_handler_is_a_500() {
    for backend in common::backends() {
        let (server, _) = start(backend, 1, 4);
        let response = exchange(
            server.local_addr(),
            "GET /panic HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(
            response.starts_with("HTTP/1.1 500"),
            "{backend:?}: {response}"
        );
        // The pool thread survived.
        let response = exchange(
            server.local_addr(),
            "GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "{backend:?}: {response}"
        );
        server.shutdown_blocking();
    }
}

#[test]
fn a_saturated_pool_answers_503_while_the_worker_keeps_serving() {
    for backend in common::backends() {
        // One thread, no queue: while a handler blocks, the next request is refused at once.
        let (server, gate) = start(backend, 1, 0);
        let (entered_tx, entered) = mpsc::channel();
        let (open, release) = mpsc::channel::<()>();
        *gate.entered.lock().unwrap() = Some(entered_tx);
        *gate.release.lock().unwrap() = Some(release);
        let addr = server.local_addr();
        let running = std::thread::spawn(move || {
            exchange(
                addr,
                "GET /wait HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
        });
        entered
            .recv_timeout(Duration::from_secs(10))
            .expect("the handler started");
        // The same (only) worker answers while the handler is blocked.
        let refused = exchange(
            addr,
            "GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(
            refused.starts_with("HTTP/1.1 503"),
            "{backend:?}: {refused}"
        );
        drop(open);
        assert!(running.join().unwrap().ends_with("waited"), "{backend:?}");
        let after = exchange(
            addr,
            "GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(
            after.starts_with("HTTP/1.1 200"),
            "{backend:?}: the pool serves again: {after}"
        );
        server.shutdown_blocking();
    }
}

/// Reads a streamed body piece by piece, reporting the first piece on `first` before reading
/// on; answers with the total.
fn count_body(
    first: &Mutex<mpsc::Sender<Vec<u8>>>,
    req: &OwnedRequest,
    w: &mut BlockingWriter,
) -> nanoapi::Result<()> {
    let body = w.body();
    let mut total = 0;
    let mut pieces = 0;
    while let Some(piece) = body.read_chunk()? {
        if pieces == 0 {
            first.lock().unwrap().send(piece.to_vec()).unwrap();
        }
        total += piece.len();
        pieces += 1;
    }
    let text = format!("streamed={} {total} bytes", req.body_is_streamed());
    w.send(Response::text(StatusCode::OK, text))?;
    Ok(())
}

#[test]
fn a_large_body_reaches_the_handler_piece_by_piece_as_it_arrives() {
    for backend in common::backends() {
        let (first_tx, first) = mpsc::channel();
        let mut options = Options::default().port(0).workers(1).backend(backend);
        options.limits.max_body = 64;
        let pool = BlockingPool::new(1, 4).stream_bodies_over(16);
        let server = serve_blocking_with(options, Mutex::new(first_tx), count_body, pool).unwrap();
        let addr = server.local_addr();

        // Over 16 bytes: the handler runs at once and has the first piece before the client
        // sends the rest.
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nConnection: close\r\n\r\n0123456789")
            .unwrap();
        let piece = first.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(
            !piece.is_empty() && b"0123456789".starts_with(&piece),
            "{backend:?}"
        );
        stream.write_all(&[b'x'; 30]).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(
            response.ends_with("streamed=true 40 bytes"),
            "{backend:?}: {response}"
        );
        drop(stream);

        // A short body is read whole before the handler runs.
        let short = exchange(
            addr,
            "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        );
        assert!(
            short.ends_with("streamed=false 0 bytes"),
            "{backend:?}: {short}"
        );
        let _ = first.try_recv();

        // A chunked body over the limit: the handler's read fails and the client gets 413.
        let over = format!(
            "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n50\r\n{}\r\n0\r\n\r\n",
            "y".repeat(80)
        );
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(over.as_bytes()).unwrap();
        // Done sending: the server's lingering close need not wait for more.
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut refused = String::new();
        stream.read_to_string(&mut refused).unwrap();
        assert!(
            refused.starts_with("HTTP/1.1 413"),
            "{backend:?}: {refused}"
        );
        drop(stream);
        server.shutdown_blocking();
    }
}

#[test]
fn a_handler_reading_a_body_the_client_abandons_gets_an_error_not_a_hang() {
    for backend in common::backends() {
        let (outcome_tx, outcome) = mpsc::channel::<String>();
        let options = Options::default().port(0).workers(1).backend(backend);
        let pool = BlockingPool::new(1, 4).stream_bodies_over(0);
        let handler = move |tx: &Mutex<mpsc::Sender<String>>,
                            _: &OwnedRequest,
                            w: &mut BlockingWriter|
              -> nanoapi::Result<()> {
            let body = w.body();
            let result = loop {
                match body.read_chunk() {
                    Ok(Some(_)) => continue,
                    Ok(None) => break "end".to_string(),
                    Err(err) => break format!("error: {err}"),
                }
            };
            tx.lock().unwrap().send(result).unwrap();
            Ok(())
        };
        let server = serve_blocking_with(options, Mutex::new(outcome_tx), handler, pool).unwrap();
        let mut stream = TcpStream::connect(server.local_addr()).unwrap();
        stream
            .write_all(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npart")
            .unwrap();
        drop(stream);
        let result = outcome.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(result.starts_with("error: "), "{backend:?}: {result}");
        server.shutdown_blocking();
    }
}
