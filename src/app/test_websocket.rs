//! The test client's WebSocket: the opening handshake sent through the app in process, then
//! messages both ways over the same in-memory connection, as a browser would send them.

use std::fmt;
use std::io;

use bytes::BytesMut;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::test_client::{TestRequest, TestResponse};
use crate::executor::{JoinHandle, spawn_local, worker_index};
use crate::http::{ResponseEvent, ResponseLimits, ResponseParser, StatusCode};
use crate::server::Transport;
use crate::server::testing::{ClientResponse, Duplex, duplex};
use crate::ws::{Assembler, CloseCode, CloseFrame, Decoder, Message, OpCode, encode_masked};

/// How many bytes each direction of the in-memory connection buffers.
const BUFFER: usize = 64 * 1024;

/// The key every test handshake sends (RFC 6455's example).
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The masking key of the frames the test client sends.
const MASK: [u8; 4] = [0x9a, 0x3b, 0x5c, 0x7d];

/// A WebSocket a [`TestClient`](super::TestClient) opened in process, with
/// [`TestRequest::websocket`]: the client's side, sending masked frames and reading the app's.
///
/// Pings from the app are answered with pongs (and returned by [`recv`](Self::recv)); the
/// app's close is answered. No extension is offered: with permessage-deflate configured, the
/// route answers uncompressed.
///
/// # Examples
///
/// ```
/// use nanoapi::app::{App, WebSocketUpgrade};
/// use nanoapi::http::Response;
/// use nanoapi::ws::Message;
///
/// async fn echo(ws: WebSocketUpgrade) -> Response {
///     ws.on_upgrade(|mut socket| async move {
///         while let Ok(Some(Message::Text(text))) = socket.recv().await {
///             let _ = socket.send(Message::Text(format!("you said {}", &*text).into())).await;
///         }
///     })
/// }
///
/// let client = App::new().get("/ws", echo).test_client();
/// nanoapi::executor::block_on(async {
///     let mut socket = client.websocket("/ws").await.expect("a 101");
///     socket.send_text("hi").await.unwrap();
///     assert_eq!(socket.recv_text().await, "you said hi");
///     socket.close(None).await;
/// });
/// ```
pub struct TestWebSocket {
    io: Duplex,
    handshake: TestResponse,
    received: BytesMut,
    decoder: Decoder,
    assembler: Assembler,
    /// The client sent its close frame.
    close_sent: bool,
    /// The server's side of the connection: dropped (cancelled) with the socket.
    _server: JoinHandle<()>,
}

impl<'c> TestRequest<'c> {
    /// Sends this request as a WebSocket opening handshake (its `Upgrade`, `Connection`,
    /// `Sec-WebSocket-Key` and `Sec-WebSocket-Version` fields added unless set) and, when the
    /// app answers `101`, returns the client's side of the socket.
    ///
    /// Runs on the nanoapi worker it is awaited on: await it inside
    /// [`block_on`](crate::executor::block_on) in a plain `#[test]`.
    ///
    /// # Errors
    ///
    /// The app's answer when it is not a `101` (a 404, the handshake's 400 or 426, a 401 of a
    /// security scheme, ...).
    ///
    /// # Panics
    ///
    /// Off a nanoapi worker, or if the app's answer does not parse.
    pub async fn websocket(mut self) -> Result<TestWebSocket, TestResponse> {
        assert!(
            worker_index().is_some(),
            "TestRequest::websocket runs on a nanoapi worker: await it inside \
             nanoapi::executor::block_on"
        );
        for (name, value) in [
            ("upgrade", "websocket"),
            ("connection", "upgrade"),
            ("sec-websocket-key", KEY),
            ("sec-websocket-version", "13"),
        ] {
            if !self.has_header(name) {
                self = self.header(name, value);
            }
        }
        let (service, options) = self.client_parts();
        let wire = self.wire();
        let (client, server) = duplex(BUFFER);
        let server = spawn_local(async move {
            // The connection's end is the test's business: what it sent is what is checked.
            let _ = crate::server::serve_connection(server, &(), &*service, &options).await;
        });
        client.push(wire);
        let mut received = BytesMut::new();
        let (handshake, switched) = read_response(&client, &mut received).await;
        if !switched {
            return Err(handshake);
        }
        assert!(
            handshake.header("sec-websocket-extensions").is_none(),
            "the test client offers no WebSocket extension, yet the app agreed one"
        );
        Ok(TestWebSocket {
            io: client,
            handshake,
            received,
            decoder: Decoder::for_client(usize::MAX),
            assembler: Assembler::new(usize::MAX),
            close_sent: false,
            _server: server,
        })
    }
}

/// Reads the app's answer to the handshake: the response, and whether it is the `101` (then
/// `received` keeps what followed it, the first frames).
async fn read_response(io: &Duplex, received: &mut BytesMut) -> (TestResponse, bool) {
    let mut parser = ResponseParser::new(ResponseLimits::default());
    let mut head = None;
    let mut body = BytesMut::new();
    loop {
        match parser.parse(received) {
            Ok(Some(ResponseEvent::Head(h))) => head = Some(h),
            Ok(Some(ResponseEvent::Data(data))) => body.extend_from_slice(&data),
            // A handshake's refusal has no trailers worth reporting.
            Ok(Some(ResponseEvent::Trailers(_))) => {}
            Ok(Some(ResponseEvent::End)) => {
                let head = head.take().expect("a response's head comes before its end");
                let switched = head.status() == StatusCode::SWITCHING_PROTOCOLS;
                let closed = head.closes();
                let response = ClientResponse {
                    head,
                    body: body.freeze(),
                    trailers: Vec::new(),
                    closed,
                };
                return (TestResponse(response), switched);
            }
            Ok(None) => {
                let chunk = io.recv().await.expect("an in-memory read does not fail");
                assert!(
                    !chunk.is_empty(),
                    "the app closed without answering the handshake"
                );
                received.extend_from_slice(&chunk);
            }
            Err(err) => panic!("the app's answer to the handshake does not parse: {err}"),
        }
    }
}

impl TestWebSocket {
    /// The app's `101` answer (its `Sec-WebSocket-Protocol`, cookies, ...).
    pub fn handshake(&self) -> &TestResponse {
        &self.handshake
    }

    /// Sends `message` as one masked frame.
    ///
    /// # Errors
    ///
    /// `BrokenPipe` once the app's side is gone.
    pub async fn send(&mut self, message: Message) -> io::Result<()> {
        let (opcode, payload) = match message {
            Message::Text(text) => (OpCode::Text, text.into_bytes()),
            Message::Binary(data) => (OpCode::Binary, data),
            Message::Ping(data) => (OpCode::Ping, data),
            Message::Pong(data) => (OpCode::Pong, data),
            Message::Close(frame) => {
                self.close_sent = true;
                (
                    OpCode::Close,
                    frame.map(|f| f.payload()).unwrap_or_default(),
                )
            }
        };
        self.send_frame(opcode, &payload).await
    }

    /// Sends a text message.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn send_text(&mut self, text: &str) -> io::Result<()> {
        self.send_frame(OpCode::Text, text.as_bytes()).await
    }

    /// Sends `value` as a JSON text message.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    ///
    /// # Panics
    ///
    /// If `value` does not serialize.
    pub async fn send_json<T: Serialize>(&mut self, value: &T) -> io::Result<()> {
        let json = serde_json::to_vec(value).expect("a test message serializes");
        self.send_frame(OpCode::Text, &json).await
    }

    async fn send_frame(&mut self, opcode: OpCode, payload: &[u8]) -> io::Result<()> {
        let mut frame = BytesMut::new();
        encode_masked(&mut frame, opcode, true, payload, MASK);
        self.io.send_all(frame).await.0
    }

    /// The app's next message (pings already answered); `None` once the connection ended.
    /// The app's close is answered (unless the client closed first) and returned once.
    ///
    /// # Panics
    ///
    /// If the app breaks the protocol (an invalid frame or message).
    pub async fn recv(&mut self) -> Option<Message> {
        loop {
            let frame = self
                .decoder
                .decode(&mut self.received)
                .unwrap_or_else(|err| panic!("the app sent an invalid frame: {err}"));
            if let Some(frame) = frame {
                let message = self
                    .assembler
                    .push(frame)
                    .unwrap_or_else(|err| panic!("the app sent an invalid message: {err}"));
                match message {
                    Some(message) => return Some(self.answer(message).await),
                    None => continue,
                }
            }
            let chunk = self.io.recv().await.ok()?;
            if chunk.is_empty() {
                return None;
            }
            self.received.extend_from_slice(&chunk);
        }
    }

    /// Answers a ping with its pong and the app's close with the client's (the app may be
    /// gone already: nothing to answer then).
    async fn answer(&mut self, message: Message) -> Message {
        match &message {
            Message::Ping(data) => {
                let _ = self.send_frame(OpCode::Pong, &data.clone()).await;
            }
            Message::Close(frame) if !self.close_sent => {
                self.close_sent = true;
                let echo = frame
                    .as_ref()
                    .map(|f| {
                        let echo = CloseFrame {
                            code: f.code,
                            reason: String::new(),
                        };
                        echo.payload()
                    })
                    .unwrap_or_default();
                let _ = self.send_frame(OpCode::Close, &echo).await;
            }
            _ => {}
        }
        message
    }

    /// The app's next message, which must be text.
    ///
    /// # Panics
    ///
    /// If the next message is not text, or the connection ended.
    pub async fn recv_text(&mut self) -> String {
        match self.recv_data().await {
            Message::Text(text) => text.as_str().to_owned(),
            other => panic!("expected a text message, got {other:?}"),
        }
    }

    /// The app's next text or binary message, parsed as JSON.
    ///
    /// # Panics
    ///
    /// If it is not JSON for `T`, or the connection ended.
    pub async fn recv_json<T: DeserializeOwned>(&mut self) -> T {
        let data = match self.recv_data().await {
            Message::Text(text) => text.into_bytes(),
            Message::Binary(data) => data,
            other => panic!("expected a JSON message, got {other:?}"),
        };
        serde_json::from_slice(&data).unwrap_or_else(|err| {
            panic!(
                "the message is not the JSON expected: {err}: {}",
                String::from_utf8_lossy(&data)
            )
        })
    }

    /// The next message that is not a ping or a pong.
    async fn recv_data(&mut self) -> Message {
        loop {
            match self.recv().await {
                Some(Message::Ping(_) | Message::Pong(_)) => continue,
                Some(message) => return message,
                None => panic!("the connection ended before a message"),
            }
        }
    }

    /// Runs the close handshake from the client's side: sends a close with `code` (none: an
    /// empty close), and returns the app's close frame once it answers (`None` if the
    /// connection ended without one). Messages the app sent meanwhile are dropped.
    pub async fn close(&mut self, code: Option<CloseCode>) -> Option<Option<CloseFrame>> {
        let frame = code.map(|code| CloseFrame {
            code,
            reason: String::new(),
        });
        let _ = self.send(Message::Close(frame)).await;
        loop {
            match self.recv().await? {
                Message::Close(frame) => return Some(frame),
                _ => continue,
            }
        }
    }
}

impl fmt::Debug for TestWebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestWebSocket")
            .field("handshake", &self.handshake.status())
            .field("close_sent", &self.close_sent)
            .finish_non_exhaustive()
    }
}
