//! WebSockets accepted by a blocking handler (`BlockingWriter::accept_websocket`) over real
//! sockets, on both backends: messages echoed from another thread after the handler returned,
//! the peer's close seen by the host, the host's drop closing with 1000, a refused handshake
//! answered 400 and reported to the handler.
#![cfg(feature = "ws")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use nanoapi::executor::Backend;
use nanoapi::server::{BlockingWriter, Options, OwnedRequest, ServerHandle, serve_blocking};
use nanoapi::ws::{BlockingWebSocket, Message};

use common::{ws_frame as frame, ws_read_frame as read_frame};

const HANDSHAKE: &[u8] =
    b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Protocol: chat\r\n\r\n";

/// What the handler reports to the test: the accept's outcome, and what the host's thread saw.
type Reports = Arc<Mutex<mpsc::Sender<String>>>;

/// Accepts with protocol `chat` and hands the socket to a thread of its own, then returns:
/// that thread echoes text and binary until the socket ends, reporting what it saw; a message
/// `bye` makes it drop the socket instead.
fn handler(reports: &Reports, _: &OwnedRequest, w: &mut BlockingWriter) -> nanoapi::Result<()> {
    let report = reports.lock().unwrap().clone();
    let socket = match w.accept_websocket(Some("chat")) {
        Ok(socket) => socket,
        Err(err) => {
            report.send(format!("refused: {:?}", err.kind())).unwrap();
            return Ok(());
        }
    };
    std::thread::spawn(move || echo(socket, &report));
    Ok(())
}

fn echo(socket: BlockingWebSocket, report: &mpsc::Sender<String>) {
    loop {
        match socket.recv() {
            Ok(Some(Message::Text(text))) if text.as_str() == "bye" => {
                report.send("dropped".to_owned()).unwrap();
                return;
            }
            Ok(Some(message @ (Message::Text(_) | Message::Binary(_)))) => {
                socket.send(message).unwrap();
            }
            Ok(Some(Message::Close(frame))) => {
                let code = frame.map(|f| f.code.as_u16());
                report.send(format!("close {code:?}")).unwrap();
            }
            Ok(Some(other)) => report.send(format!("unexpected {other:?}")).unwrap(),
            Ok(None) => {
                report.send("ended".to_owned()).unwrap();
                return;
            }
            Err(err) => {
                report.send(format!("failed: {err}")).unwrap();
                return;
            }
        }
    }
}

fn start(backend: Backend) -> (ServerHandle, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    let options = Options::default().port(0).workers(1).backend(backend);
    let reports: Reports = Arc::new(Mutex::new(tx));
    (serve_blocking(options, reports, handler, 2, 8).unwrap(), rx)
}

fn open(server: &ServerHandle) -> TcpStream {
    let (stream, head) = common::ws_open(server.local_addr(), HANDSHAKE);
    let head = head
        .expect("the server closed during the handshake")
        .to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101 "), "{head}");
    assert!(head.contains("sec-websocket-protocol: chat\r\n"), "{head}");
    stream
}

fn recv_report(reports: &mpsc::Receiver<String>) -> String {
    reports
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("a report from the host's thread")
}

#[test]
fn a_blocking_host_echoes_from_its_own_thread_and_sees_the_close() {
    for backend in common::backends() {
        let (server, reports) = start(backend);
        let mut stream = open(&server);
        stream.write_all(&frame(0x81, b"hello")).unwrap();
        assert_eq!(read_frame(&mut stream), (0x81, b"hello".to_vec()));
        let large = vec![9u8; 70_000];
        stream.write_all(&frame(0x82, &large)).unwrap();
        assert_eq!(read_frame(&mut stream), (0x82, large), "{backend:?}");
        // A ping is answered on the worker and never reaches the host.
        stream.write_all(&frame(0x89, b"p")).unwrap();
        assert_eq!(read_frame(&mut stream), (0x8A, b"p".to_vec()));
        // The client closes: the host sees the close, then the end.
        stream.write_all(&frame(0x88, b"\x03\xe8")).unwrap();
        assert_eq!(read_frame(&mut stream), (0x88, b"\x03\xe8".to_vec()));
        assert_eq!(recv_report(&reports), "close Some(1000)", "{backend:?}");
        assert_eq!(recv_report(&reports), "ended", "{backend:?}");
        server.shutdown_blocking();
    }
}

#[test]
fn a_host_that_drops_its_socket_closes_it_with_1000() {
    for backend in common::backends() {
        let (server, reports) = start(backend);
        let mut stream = open(&server);
        stream.write_all(&frame(0x81, b"bye")).unwrap();
        assert_eq!(recv_report(&reports), "dropped");
        assert_eq!(
            read_frame(&mut stream),
            (0x88, b"\x03\xe8".to_vec()),
            "{backend:?}"
        );
        // The close handshake completes: the client answers, the server ends the connection.
        stream.write_all(&frame(0x88, b"\x03\xe8")).unwrap();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "{rest:?}");
        server.shutdown_blocking();
    }
}

#[test]
fn a_request_that_is_not_a_handshake_is_refused_and_the_handler_told() {
    for backend in common::backends() {
        let (server, reports) = start(backend);
        let mut stream = common::connect(server.local_addr());
        stream
            .write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
        assert_eq!(
            recv_report(&reports),
            "refused: InvalidInput",
            "{backend:?}"
        );
        // Closed on our side too, so that the server's lingering close ends at once.
        drop(stream);
        server.shutdown_blocking();
    }
}
