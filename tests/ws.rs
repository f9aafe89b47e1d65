//! WebSocket over real sockets, on both backends: the handshake, echoed messages, fragments with
//! a ping between them, and the close codes of broken frames, against a hand-written client
//! (what it sends is exactly what RFC 6455 says a client sends).
#![cfg(feature = "ws")]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use nanoapi::executor::{Backend, spawn_local};
use nanoapi::server::{ConnOptions, Request, ResponseWriter};
use nanoapi::ws::{Handshake, Limits, Message, WebSocket};

#[path = "../examples/ws_echo/echo.rs"]
mod echo;

/// Runs the `ws_echo` example's dispatch (messages up to 1,000 bytes) on `backend` and
/// `client(addr)` on a blocking thread.
fn with_server<R: Send + 'static>(
    backend: Backend,
    client: impl FnOnce(SocketAddr) -> R + Send + 'static,
) -> R {
    let mut limits = Limits::default();
    limits.max_message = 1000;
    common::with_dispatch(backend, limits, ConnOptions::default(), echo::echo, client)
}

const HANDSHAKE: &[u8] =
    b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Protocol: chat\r\n\r\n";

/// Connects and completes the handshake; the 101's head.
fn open(addr: SocketAddr) -> (TcpStream, String) {
    let (stream, head) = common::ws_open(addr, HANDSHAKE);
    (
        stream,
        head.expect("the server closed during the handshake"),
    )
}

use common::{ws_closed as closed, ws_frame as frame, ws_read_frame as read_frame};

#[test]
fn the_handshake_is_answered_and_messages_echo() {
    for backend in common::backends() {
        with_server(backend, move |addr| {
            let (mut stream, head) = open(addr);
            assert!(
                head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
                "{head}"
            );
            let head = head.to_ascii_lowercase();
            assert!(
                head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
                "{head}"
            );
            assert!(
                head.contains("upgrade: websocket\r\n") && head.contains("connection: upgrade\r\n"),
                "{head}"
            );
            assert!(head.contains("sec-websocket-protocol: chat\r\n"), "{head}");

            stream.write_all(&frame(0x81, b"Hello")).unwrap();
            assert_eq!(read_frame(&mut stream), (0x81, b"Hello".to_vec()));
            let large = vec![7u8; 300];
            stream.write_all(&frame(0x82, &large)).unwrap();
            assert_eq!(read_frame(&mut stream), (0x82, large));

            // Fragments with a ping between them: the pong first, then the whole message.
            stream.write_all(&frame(0x01, "κό".as_bytes())).unwrap();
            stream.write_all(&frame(0x89, b"are you there")).unwrap();
            stream.write_all(&frame(0x80, "σμε".as_bytes())).unwrap();
            assert_eq!(read_frame(&mut stream), (0x8A, b"are you there".to_vec()));
            assert_eq!(read_frame(&mut stream), (0x81, "κόσμε".as_bytes().to_vec()));

            // The close handshake: the code echoed, then the connection ends.
            stream.write_all(&frame(0x88, b"\x03\xe8done")).unwrap();
            assert_eq!(read_frame(&mut stream), (0x88, b"\x03\xe8".to_vec()));
            assert!(closed(&mut stream), "{backend:?}");
        });
    }
}

#[test]
fn broken_frames_close_with_their_code() {
    let cases: [(&str, Vec<u8>, u16); 6] = [
        ("unmasked", vec![0x81, 0x01, b'x'], 1002),
        ("reserved bit", frame(0xC1, b"x"), 1002),
        ("reserved opcode", frame(0x83, b"x"), 1002),
        ("invalid UTF-8", frame(0x81, b"\xce\xba\xed\xa0\x80"), 1007),
        ("message over the limit", frame(0x82, &[0; 1001]), 1009),
        ("continuation out of place", frame(0x80, b"x"), 1002),
    ];
    for backend in common::backends() {
        for (name, wire, code) in &cases {
            let wire = wire.clone();
            let (first, payload) = with_server(backend, move |addr| {
                let (mut stream, _) = open(addr);
                stream.write_all(&wire).unwrap();
                let answer = read_frame(&mut stream);
                assert!(
                    closed(&mut stream),
                    "the connection ends after the close frame"
                );
                answer
            });
            assert_eq!(first, 0x88, "{name} on {backend:?}");
            assert_eq!(
                u16::from_be_bytes([payload[0], payload[1]]),
                *code,
                "{name} on {backend:?}"
            );
        }
    }
}

#[test]
fn a_request_that_is_not_a_handshake_gets_an_http_answer() {
    for backend in common::backends() {
        let answer = with_server(backend, |addr| {
            let mut stream = common::connect(addr);
            let old = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\nConnection: close\r\n\r\n";
            stream.write_all(old).unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).unwrap();
            String::from_utf8_lossy(&answer).into_owned()
        });
        assert!(
            answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
            "{answer}"
        );
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("sec-websocket-version: 13\r\n"),
            "{answer}"
        );
    }
}

/// Splits the socket: a task of its own sends three ticks while this one reads (answering
/// pings and the close through the same connection).
async fn ticks(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    let handshake = match Handshake::check(req) {
        Ok(handshake) => handshake,
        Err(refusal) => return w.send(refusal.into_response()).await,
    };
    let io = w.upgrade(handshake.accept(None)?).await?;
    let (mut reader, mut writer) = WebSocket::new(io, Limits::default()).split();
    let ticker = spawn_local(async move {
        for n in 0..3 {
            writer
                .send(Message::Text(format!("tick {n}").into()))
                .await?;
        }
        Ok::<_, std::io::Error>(())
    });
    while reader.recv().await?.is_some() {}
    ticker.await.expect("the ticker ran")?;
    Ok(())
}

#[test]
fn a_split_socket_sends_from_one_task_and_answers_from_another() {
    for backend in common::backends() {
        common::with_dispatch(backend, (), ConnOptions::default(), ticks, move |addr| {
            let (mut stream, head) = open(addr);
            assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
            for n in 0..3 {
                assert_eq!(
                    read_frame(&mut stream),
                    (0x81, format!("tick {n}").into_bytes())
                );
            }
            stream.write_all(&frame(0x89, b"still there?")).unwrap();
            assert_eq!(read_frame(&mut stream), (0x8A, b"still there?".to_vec()));
            stream.write_all(&frame(0x88, b"\x03\xe8")).unwrap();
            assert_eq!(read_frame(&mut stream), (0x88, b"\x03\xe8".to_vec()));
            assert!(closed(&mut stream), "{backend:?}");
        });
    }
}

/// Sends a binary frame longer than a pooled receive and than one direct receive's room, in
/// writes cut where the header, then the middle of the payload, end; its payload.
fn send_long_frame_in_pieces(stream: &mut TcpStream) -> Vec<u8> {
    let payload: Vec<u8> = (0..150_003u32).map(|i| (i * 7 % 251) as u8).collect();
    let wire = frame(0x82, &payload);
    for piece in [
        &wire[..3],
        &wire[3..5000],
        &wire[5000..70_000],
        &wire[70_000..],
    ] {
        stream.write_all(piece).unwrap();
    }
    payload
}

#[test]
fn a_long_frame_arriving_in_pieces_echoes_whole() {
    for backend in common::backends() {
        common::with_dispatch(
            backend,
            Limits::default(),
            ConnOptions::default(),
            echo::echo,
            move |addr| {
                let (mut stream, _) = open(addr);
                stream.set_nodelay(true).unwrap();
                let payload = send_long_frame_in_pieces(&mut stream);
                assert_eq!(read_frame(&mut stream), (0x82, payload), "{backend:?}");
                // And the socket goes on.
                stream.write_all(&frame(0x81, b"after")).unwrap();
                assert_eq!(read_frame(&mut stream), (0x81, b"after".to_vec()));
            },
        );
    }
}

/// Echoes text and binary messages read through the reader's `Stream` face, racing every
/// `next()` against a yield that wins whenever no message is ready: each such turn drops a
/// `next()` future that was waiting, in the middle of a frame when part of it has come. Says
/// "ready" once the first waiting `next()` has been dropped (so at least one always is, however
/// the threads are scheduled), and before each echo the number of `next()`s dropped so far.
async fn racing_echo(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    use futures_util::StreamExt;
    use futures_util::future::{Either, select};

    let handshake = match Handshake::check(req) {
        Ok(handshake) => handshake,
        Err(refusal) => return w.send(refusal.into_response()).await,
    };
    let io = w.upgrade(handshake.accept(None)?).await?;
    let (reader, mut writer) = WebSocket::new(io, Limits::default()).split();
    let mut messages = reader.into_stream();
    let mut dropped = 0u64;
    loop {
        let next = messages.next();
        let turn = std::pin::pin!(nanoapi::executor::yield_now());
        let message = match select(next, turn).await {
            Either::Left((message, _)) => message,
            Either::Right(((), _)) => {
                dropped += 1;
                if dropped == 1 {
                    writer.send(Message::Text("ready".into())).await?;
                }
                continue;
            }
        };
        match message {
            Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                writer
                    .send(Message::Text(dropped.to_string().into()))
                    .await?;
                writer.send(message).await?;
            }
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(err.into()),
            None => return Ok(()),
        }
    }
}

#[test]
fn a_message_survives_dropped_next_futures_of_the_stream_face() {
    for backend in common::backends() {
        common::with_dispatch(
            backend,
            (),
            ConnOptions::default(),
            racing_echo,
            move |addr| {
                let (mut stream, head) = open(addr);
                assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
                stream.set_nodelay(true).unwrap();
                assert_eq!(read_frame(&mut stream), (0x81, b"ready".to_vec()));
                let payload = send_long_frame_in_pieces(&mut stream);
                let (opcode, dropped) = read_frame(&mut stream);
                assert_eq!(opcode, 0x81);
                let dropped: u64 = String::from_utf8(dropped).unwrap().parse().unwrap();
                assert!(
                    dropped > 0,
                    "no next() was dropped while waiting ({backend:?})"
                );
                assert_eq!(read_frame(&mut stream), (0x82, payload), "{backend:?}");
                // The socket goes on in step.
                stream.write_all(&frame(0x81, b"after")).unwrap();
                assert_eq!(read_frame(&mut stream).0, 0x81);
                assert_eq!(read_frame(&mut stream), (0x81, b"after".to_vec()));
            },
        );
    }
}
