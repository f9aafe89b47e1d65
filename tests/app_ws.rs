//! WebSocket routes of the App (features `app` and `ws`) over real sockets, on both backends:
//! the upgrade with a path parameter, a query parameter and a chosen subprotocol on the same
//! route, messages both ways, a refused handshake answered before the handler, and a handler
//! that declines to upgrade.
#![cfg(all(feature = "app", feature = "ws"))]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use nanoapi::app::{App, HttpException, Path, Query, WebSocketUpgrade};
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::Options;
use nanoapi::ws::Message;
use serde::Deserialize;

#[derive(Deserialize)]
#[cfg_attr(feature = "validation", derive(schemars::JsonSchema))]
struct Nick {
    nick: String,
}

/// Prefixes every text message with the room and the nick; the `closed` room refuses.
async fn room(
    Path(room): Path<String>,
    Query(who): Query<Nick>,
    ws: WebSocketUpgrade,
) -> Result<Response, HttpException> {
    if room == "closed" {
        return Err(HttpException::new(StatusCode::FORBIDDEN, "closed room"));
    }
    Ok(ws
        .protocol("chat")
        .on_upgrade(move |mut socket| async move {
            while let Ok(Some(message)) = socket.recv().await {
                if let Message::Text(text) = message {
                    let reply = format!("{room}/{}: {}", who.nick, &*text);
                    if socket.send(Message::Text(reply.into())).await.is_err() {
                        return;
                    }
                }
            }
        }))
}

fn handshake(path: &str, version: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: {version}\r\n\
         Sec-WebSocket-Protocol: other, chat\r\n\r\n"
    )
    .into_bytes()
}

/// The response head, read byte by byte so that nothing after it is consumed.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            common::read_some(stream, &mut byte).unwrap(),
            1,
            "closed early"
        );
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap().to_ascii_lowercase()
}

fn masked_text(text: &str) -> Vec<u8> {
    let mask = [1, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | text.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(text.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

fn read_text(stream: &mut TcpStream) -> String {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(head[0], 0x81, "a final text frame");
    let mut payload = vec![0; usize::from(head[1])];
    stream.read_exact(&mut payload).unwrap();
    String::from_utf8(payload).unwrap()
}

fn with_app<R>(backend: nanoapi::executor::Backend, client: impl FnOnce(SocketAddr) -> R) -> R {
    let server = App::new()
        .get("/rooms/{room}", room)
        .serve(Options::default().port(0).workers(1).backend(backend))
        .unwrap();
    let result = client(server.handle().local_addr());
    server.shutdown_blocking();
    result
}

#[test]
fn a_websocket_route_upgrades_with_its_other_extractors() {
    for backend in common::backends() {
        with_app(backend, |addr| {
            let mut stream = common::connect(addr);
            stream
                .write_all(&handshake("/rooms/rust?nick=ann", "13"))
                .unwrap();
            let head = read_head(&mut stream);
            assert!(
                head.starts_with("http/1.1 101 switching protocols\r\n"),
                "{head}"
            );
            assert!(head.contains("sec-websocket-protocol: chat\r\n"), "{head}");
            assert!(
                head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
                "{head}"
            );
            for text in ["hello", "again"] {
                stream.write_all(&masked_text(text)).unwrap();
                assert_eq!(
                    read_text(&mut stream),
                    format!("rust/ann: {text}"),
                    "{backend:?}"
                );
            }
            // The close handshake: our code comes back, then the connection ends.
            stream
                .write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])
                .unwrap();
            let mut close = [0u8; 4];
            stream.read_exact(&mut close).unwrap();
            assert_eq!(close, [0x88, 0x02, 0x03, 0xe8]);
            let mut rest = [0u8; 8];
            assert_eq!(stream.read(&mut rest).unwrap(), 0);
        });
    }
}

#[test]
fn refused_handshakes_and_declined_upgrades_are_http_answers() {
    for backend in common::backends() {
        with_app(backend, |addr| {
            let answer = |request: Vec<u8>| {
                let mut stream = common::connect(addr);
                stream.write_all(&request).unwrap();
                read_head(&mut stream)
            };
            let old = answer(handshake("/rooms/rust?nick=ann", "8"));
            assert!(
                old.starts_with("http/1.1 426 upgrade required\r\n"),
                "{old}"
            );
            assert!(old.contains("sec-websocket-version: 13\r\n"), "{old}");
            let declined = answer(handshake("/rooms/closed?nick=ann", "13"));
            assert!(
                declined.starts_with("http/1.1 403 forbidden\r\n"),
                "{declined}"
            );
            let plain = answer(b"GET /rooms/rust?nick=ann HTTP/1.1\r\nHost: x\r\n\r\n".to_vec());
            assert!(plain.starts_with("http/1.1 400 bad request\r\n"), "{plain}");
            let invalid = answer(handshake("/rooms/rust", "13"));
            assert!(
                invalid.starts_with("http/1.1 422 "),
                "the query is still checked: {invalid}"
            );
        });
    }
}

/// Sends one long update, compressed when permessage-deflate was agreed.
#[cfg(feature = "ws-deflate")]
async fn feed(ws: WebSocketUpgrade) -> Response {
    ws.deflate(nanoapi::ws::Deflate::new())
        .on_upgrade(|mut socket| async move {
            let update = "{\"price\": 101.25, \"symbol\": \"NANO\"}\n".repeat(100);
            let _ = socket.send(Message::Text(update.into())).await;
            while let Ok(Some(_)) = socket.recv().await {}
        })
}

#[cfg(feature = "ws-deflate")]
#[test]
fn a_route_that_asks_for_deflate_compresses_and_others_decline_the_offer() {
    use flate2::{Decompress, FlushDecompress};

    for backend in common::backends() {
        let server = App::new()
            .get("/rooms/{room}", room)
            .get("/feed", feed)
            .serve(Options::default().port(0).workers(1).backend(backend))
            .unwrap();
        let addr = server.handle().local_addr();
        let offer = |path: &str| {
            let mut request = handshake(path, "13");
            let at = request.len() - 2;
            request.splice(
                at..at,
                b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                    .iter()
                    .copied(),
            );
            let mut stream = common::connect(addr);
            stream.write_all(&request).unwrap();
            let head = read_head(&mut stream);
            assert!(head.starts_with("http/1.1 101"), "{head}");
            (stream, head)
        };

        let (mut stream, head) = offer("/feed");
        assert!(
            head.contains("sec-websocket-extensions: permessage-deflate\r\n"),
            "{head}"
        );
        let (first, payload) = common::ws_read_frame(&mut stream);
        assert_eq!(first, 0xC1, "a final text frame with RSV1");
        let mut input = payload.clone();
        input.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut text = Vec::with_capacity(8192);
        Decompress::new(false)
            .decompress_vec(&input, &mut text, FlushDecompress::Sync)
            .unwrap();
        let update = "{\"price\": 101.25, \"symbol\": \"NANO\"}\n".repeat(100);
        assert_eq!(String::from_utf8(text).unwrap(), update);
        assert!(payload.len() * 10 < update.len(), "{} bytes", payload.len());
        drop(stream);

        let (mut stream, head) = offer("/rooms/rust?nick=ann");
        assert!(!head.contains("sec-websocket-extensions"), "{head}");
        stream.write_all(&masked_text("plain")).unwrap();
        assert_eq!(read_text(&mut stream), "rust/ann: plain");
        drop(stream);
        server.shutdown_blocking();
    }
}

/// The room app of the socket tests, plus a route whose socket pings after 20 ms of quiet.
fn room_app() -> App {
    App::new()
        .get("/rooms/{room}", room)
        .get("/pinging", |ws: WebSocketUpgrade| async move {
            let mut limits = nanoapi::ws::Limits::default();
            limits.ping_interval = Some(std::time::Duration::from_millis(20));
            ws.limits(limits).on_upgrade(|mut socket| async move {
                while let Ok(Some(message)) = socket.recv().await {
                    if let Message::Pong(_) = message {
                        let _ = socket.send(Message::Text("pong seen".into())).await;
                    }
                }
            })
        })
}

#[test]
fn the_test_client_opens_a_websocket_in_process() {
    let client = room_app().test_client();
    nanoapi::executor::block_on(async {
        let mut socket = client
            .get("/rooms/lobby?nick=ann")
            .header("sec-websocket-protocol", "chat")
            .websocket()
            .await
            .expect("a 101");
        assert_eq!(socket.handshake().status(), 101);
        assert_eq!(
            socket.handshake().header("sec-websocket-protocol"),
            Some("chat")
        );
        socket.send_text("hello").await.unwrap();
        assert_eq!(socket.recv_text().await, "lobby/ann: hello");
        socket
            .send_json(&serde_json::json!({"n": 1}))
            .await
            .unwrap();
        assert_eq!(socket.recv_text().await, r#"lobby/ann: {"n":1}"#);
        // The client closes: the app's handler ends and its close answers.
        let answer = socket.close(Some(nanoapi::ws::CloseCode::NORMAL)).await;
        let code = answer.expect("the app answers the close").map(|f| f.code);
        assert_eq!(code, Some(nanoapi::ws::CloseCode::NORMAL));
        assert!(socket.recv().await.is_none(), "the connection ends");
    });
}

#[test]
fn the_test_client_sees_refusals_and_answers_pings() {
    let client = room_app().test_client();
    nanoapi::executor::block_on(async {
        // The handler refuses before upgrading; a missing query parameter is a 422; a route
        // that is not there is a 404; an old version is the handshake's 426.
        let refused = client
            .websocket("/rooms/closed?nick=ann")
            .await
            .unwrap_err();
        assert_eq!(refused.status(), 403);
        let invalid = client.websocket("/rooms/lobby").await.unwrap_err();
        assert_eq!(invalid.status(), 422);
        assert_eq!(
            client.websocket("/nowhere").await.unwrap_err().status(),
            404
        );
        let old = client
            .get("/rooms/lobby?nick=ann")
            .header("sec-websocket-version", "8")
            .websocket()
            .await
            .unwrap_err();
        assert_eq!(old.status(), 426);
        assert_eq!(old.header("sec-websocket-version"), Some("13"));

        // The app pings a quiet client, which answers: the app sees the pong.
        let mut socket = client.websocket("/pinging").await.expect("a 101");
        assert!(matches!(socket.recv().await, Some(Message::Ping(_))));
        assert_eq!(socket.recv_text().await, "pong seen");
    });
}

#[test]
fn the_reader_is_a_stream_and_the_writer_a_sink() {
    use futures_util::{SinkExt, StreamExt, TryStreamExt};

    let client = App::new()
        .get("/forward", |ws: WebSocketUpgrade| async move {
            ws.on_upgrade(|socket| async move {
                let (reader, writer) = socket.split();
                let data = |m: &Message| matches!(m, Message::Text(_) | Message::Binary(_));
                // Echoed through `forward`, which closes the sink (1000) when the stream ends.
                let _ = reader
                    .into_stream()
                    .try_filter(move |m| std::future::ready(data(m)))
                    .forward(writer)
                    .await;
            })
        })
        .get("/sink", |ws: WebSocketUpgrade| async move {
            ws.on_upgrade(|mut socket| async move {
                // The whole socket as a sink: two messages fed, one flush, then a close.
                let _ = socket.feed(Message::Text("one".into())).await;
                let _ = socket.feed(Message::Binary(vec![2u8].into())).await;
                let _ = socket.flush().await;
                let _ = socket.close().await;
                while let Ok(Some(_)) = socket.recv().await {}
            })
        })
        .test_client();
    nanoapi::executor::block_on(async {
        let mut socket = client.websocket("/forward").await.expect("a 101");
        socket.send_text("a").await.unwrap();
        assert_eq!(socket.recv_text().await, "a");
        socket
            .send(Message::Binary(vec![1, 2].into()))
            .await
            .unwrap();
        assert_eq!(
            socket.recv().await,
            Some(Message::Binary(vec![1, 2].into()))
        );
        let answer = socket.close(Some(nanoapi::ws::CloseCode::NORMAL)).await;
        assert!(answer.is_some(), "the close handshake completes");

        let mut socket = client.websocket("/sink").await.expect("a 101");
        assert_eq!(socket.recv_text().await, "one");
        assert_eq!(socket.recv().await, Some(Message::Binary(vec![2u8].into())));
        match socket.recv().await {
            Some(Message::Close(Some(frame))) => {
                assert_eq!(frame.code, nanoapi::ws::CloseCode::NORMAL)
            }
            other => panic!("expected the sink's close, got {other:?}"),
        }
    });
}

#[test]
fn a_draining_server_closes_its_sockets_with_1001_and_stops_without_waiting_out_its_deadline() {
    for backend in common::backends() {
        let mut options = Options::default().port(0).workers(1).backend(backend);
        options.shutdown_timeout = std::time::Duration::from_secs(20);
        let server = App::new()
            .get("/rooms/{room}", room)
            .serve(options)
            .unwrap();
        let mut stream = common::connect(server.handle().local_addr());
        stream
            .write_all(&handshake("/rooms/lobby?nick=ann", "13"))
            .unwrap();
        assert!(read_head(&mut stream).starts_with("http/1.1 101 "));
        stream.write_all(&masked_text("hi")).unwrap();
        assert_eq!(read_text(&mut stream), "lobby/ann: hi");

        let started = std::time::Instant::now();
        let stopping = std::thread::spawn(move || server.shutdown_blocking());
        // The socket's close: 1001, with the reason.
        let mut head = [0u8; 2];
        stream.read_exact(&mut head).unwrap();
        assert_eq!(head[0], 0x88, "{backend:?}");
        let mut payload = vec![0u8; usize::from(head[1])];
        stream.read_exact(&mut payload).unwrap();
        assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1001);
        assert_eq!(&payload[2..], b"server shutting down");
        // The client answers; the connection ends and the server stops long before its
        // 20 s deadline.
        let mut answer = vec![0x88, 0x82, 1, 2, 3, 4];
        answer.extend([0x03 ^ 1, 0xe9 ^ 2]);
        stream.write_all(&answer).unwrap();
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        stopping.join().unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "stopped after {:?} ({backend:?})",
            started.elapsed()
        );
    }
}
