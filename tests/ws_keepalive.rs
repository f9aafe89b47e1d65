//! The timers of a WebSocket over real sockets, on both backends: a quiet peer pinged, an idle
//! one closed with 1001, one that trickles a frame closed with 1008, and traffic (messages or
//! pongs) keeping a socket open past its idle timeout.
#![cfg(feature = "ws")]

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use nanoapi::server::ConnOptions;
use nanoapi::ws::Limits;

#[path = "../examples/ws_echo/echo.rs"]
mod echo;

use common::{ws_closed as closed, ws_frame as frame, ws_read_frame as read_frame};

const HANDSHAKE: &[u8] =
    b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// Runs the `ws_echo` example's dispatch with `limits` on `backend`; `client` gets a socket it
/// opened and the instant it began to (before the server could start a timer).
fn with_socket<R: Send + 'static>(
    backend: nanoapi::executor::Backend,
    limits: Limits,
    client: impl FnOnce(TcpStream, Instant) -> R + Send + 'static,
) -> R {
    common::with_dispatch(
        backend,
        limits,
        ConnOptions::default(),
        echo::echo,
        move |addr: SocketAddr| {
            let start = Instant::now();
            let (stream, head) = common::ws_open(addr, HANDSHAKE);
            let head = head.expect("the server closed during the handshake");
            assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
            client(stream, start)
        },
    )
}

/// The next frame that is not a ping.
fn read_past_pings(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    loop {
        let frame = read_frame(stream);
        if frame.0 != 0x89 {
            return frame;
        }
    }
}

fn millis(ms: u64) -> Option<Duration> {
    Some(Duration::from_millis(ms))
}

/// The code of a close frame's payload.
fn close_code(payload: &[u8]) -> u16 {
    u16::from_be_bytes([payload[0], payload[1]])
}

#[test]
fn a_quiet_peer_is_pinged_and_its_pong_is_no_message_to_echo() {
    for backend in common::backends() {
        let mut limits = Limits::default();
        limits.ping_interval = millis(50);
        with_socket(backend, limits, move |mut stream, start| {
            assert_eq!(read_frame(&mut stream), (0x89, Vec::new()), "{backend:?}");
            assert!(start.elapsed() >= Duration::from_millis(50), "{backend:?}");
            // Answered, the socket goes on: the next ping comes a quiet spell later, and a
            // message still echoes.
            stream.write_all(&frame(0x8A, b"")).unwrap();
            assert_eq!(read_frame(&mut stream), (0x89, Vec::new()), "{backend:?}");
            stream.write_all(&frame(0x81, b"still here")).unwrap();
            let echo = read_past_pings(&mut stream);
            assert_eq!(echo, (0x81, b"still here".to_vec()), "{backend:?}");
        });
    }
}

#[test]
fn an_idle_peer_is_closed_with_1001_after_the_idle_timeout() {
    for backend in common::backends() {
        let mut limits = Limits::default();
        limits.idle_timeout = millis(100);
        let (elapsed, (opcode, payload), ended) =
            with_socket(backend, limits, |mut stream, start| {
                let frame = read_frame(&mut stream);
                (start.elapsed(), frame, closed(&mut stream))
            });
        assert_eq!(opcode, 0x88, "{backend:?}");
        assert_eq!(close_code(&payload), 1001, "{backend:?}");
        assert_eq!(&payload[2..], b"idle timeout", "{backend:?}");
        assert!(ended, "the connection ends after the close ({backend:?})");
        assert!(
            elapsed >= Duration::from_millis(100),
            "closed after {elapsed:?} ({backend:?})"
        );
    }
}

#[test]
fn messages_and_pongs_keep_a_socket_open_past_its_idle_timeout() {
    for backend in common::backends() {
        let mut limits = Limits::default();
        limits.idle_timeout = millis(600);
        limits.ping_interval = millis(150);
        with_socket(backend, limits, move |mut stream, start| {
            // Three idle timeouts' worth of time, each ping answered: the socket stays open.
            let mut pings = 0;
            while start.elapsed() < Duration::from_millis(1800) {
                assert_eq!(read_frame(&mut stream), (0x89, Vec::new()), "{backend:?}");
                stream.write_all(&frame(0x8A, b"")).unwrap();
                pings += 1;
            }
            assert!(pings >= 3, "{pings} pings ({backend:?})");
            // The last bytes the client sends: pings left unanswered after them, the socket
            // is closed once the idle timeout passes.
            let silent = Instant::now();
            stream.write_all(&frame(0x82, b"ok")).unwrap();
            assert_eq!(
                read_past_pings(&mut stream),
                (0x82, b"ok".to_vec()),
                "{backend:?}"
            );
            let (opcode, payload) = read_past_pings(&mut stream);
            assert_eq!((opcode, close_code(&payload)), (0x88, 1001), "{backend:?}");
            assert!(
                silent.elapsed() >= Duration::from_millis(600),
                "{backend:?}"
            );
        });
    }
}

#[test]
fn a_trickled_frame_is_closed_with_1008_after_the_read_timeout() {
    for backend in common::backends() {
        let mut limits = Limits::default();
        limits.read_timeout = millis(100);
        let (elapsed, (opcode, payload)) = with_socket(backend, limits, |mut stream, _| {
            // A whole message first: no timeout runs between frames.
            stream.write_all(&frame(0x81, b"whole")).unwrap();
            assert_eq!(read_frame(&mut stream), (0x81, b"whole".to_vec()));
            // Then the first bytes of a frame, and no more.
            let wire = frame(0x81, b"never finished");
            let start = Instant::now();
            stream.write_all(&wire[..4]).unwrap();
            let frame = read_frame(&mut stream);
            (start.elapsed(), frame)
        });
        assert_eq!(opcode, 0x88, "{backend:?}");
        assert_eq!(close_code(&payload), 1008, "{backend:?}");
        assert_eq!(&payload[2..], b"frame read timeout", "{backend:?}");
        assert!(
            elapsed >= Duration::from_millis(100),
            "closed after {elapsed:?} ({backend:?})"
        );
    }
}
