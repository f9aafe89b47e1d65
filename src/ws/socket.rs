//! A WebSocket over any [`Transport`] (an [`Upgraded`](crate::server::Upgraded) connection, the
//! in-memory duplex): messages received with pings answered and the close handshake kept,
//! messages sent as single frames, a protocol error answered with its close code.

use std::io;

use bytes::{Bytes, BytesMut};

use super::close::CloseFrame;
use super::frame::{Decoder, OpCode, ProtocolError, encode};
use super::message::{Assembler, Message};
use crate::server::Transport;

/// Size limits of a [`WebSocket`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The longest frame payload received (default 16 MiB; longer: close 1009).
    pub max_frame: usize,
    /// The longest message received, its fragments together (default 64 MiB; longer: 1009).
    pub max_message: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_frame: 16 << 20,
            max_message: 64 << 20,
        }
    }
}

/// Where the close handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closing {
    Open,
    /// We sent a close frame and wait for the peer's.
    Sent,
    /// Both sides closed (or the connection failed): nothing more is read or sent.
    Done,
}

/// A server's WebSocket over `T`.
///
/// # Examples
///
/// An echo server's dispatch, for the bare runtime:
///
/// ```no_run
/// use nanoapi::server::{Request, ResponseWriter};
/// use nanoapi::ws::{Handshake, Limits, Message, WebSocket};
///
/// async fn dispatch(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
///     let handshake = match Handshake::check(req) {
///         Ok(handshake) => handshake,
///         Err(refusal) => return w.send(refusal.into_response()).await,
///     };
///     let io = w.upgrade(handshake.accept(None)?).await?;
///     let mut socket = WebSocket::new(io, Limits::default());
///     while let Some(message) = socket.recv().await? {
///         if let Message::Text(_) | Message::Binary(_) = message {
///             socket.send(message).await?;
///         }
///     }
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct WebSocket<T> {
    io: T,
    received: BytesMut,
    decoder: Decoder,
    assembler: Assembler,
    /// The send buffer, kept between sends.
    out: BytesMut,
    closing: Closing,
}

impl<T: Transport> WebSocket<T> {
    /// A WebSocket over `io`, whose handshake is done.
    pub fn new(io: T, limits: Limits) -> WebSocket<T> {
        WebSocket {
            io,
            received: BytesMut::new(),
            decoder: Decoder::new(limits.max_frame),
            assembler: Assembler::new(limits.max_message),
            out: BytesMut::new(),
            closing: Closing::Open,
        }
    }

    /// The next message: text, binary, a ping (already answered with a pong), a pong, or the
    /// peer's close (already answered, when it started the handshake); `None` once the
    /// connection is closed.
    ///
    /// # Errors
    ///
    /// The transport's errors, and a frame or message that breaks the protocol
    /// (`InvalidData`, carrying the [`ProtocolError`]): the close frame with its code was sent
    /// and the connection shut before it is returned.
    pub async fn recv(&mut self) -> io::Result<Option<Message>> {
        loop {
            if self.closing == Closing::Done {
                return Ok(None);
            }
            match self.decoder.decode(&mut self.received) {
                Ok(Some(frame)) => match self.assembler.push(frame) {
                    Ok(Some(message)) => return self.answer(message).await.map(Some),
                    Ok(None) => continue,
                    Err(err) => return Err(self.fail(err).await),
                },
                Ok(None) => {}
                Err(err) => return Err(self.fail(err).await),
            }
            let chunk = self.io.recv().await?;
            if chunk.is_empty() {
                // The peer went away without a close handshake.
                self.closing = Closing::Done;
                return Ok(None);
            }
            self.received.extend_from_slice(&chunk);
        }
    }

    /// Sends `message` as one frame (a close starts the close handshake: [`recv`] then
    /// returns the peer's close, and `None` after it).
    ///
    /// # Errors
    ///
    /// The transport's errors; `NotConnected` after the close handshake started.
    ///
    /// [`recv`]: WebSocket::recv
    pub async fn send(&mut self, message: Message) -> io::Result<()> {
        if self.closing != Closing::Open {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the WebSocket is closing",
            ));
        }
        match message {
            Message::Text(text) => self.send_frame(OpCode::Text, &text.into_bytes()).await,
            Message::Binary(data) => self.send_frame(OpCode::Binary, &data).await,
            Message::Ping(data) => self.send_frame(OpCode::Ping, &control(data)).await,
            Message::Pong(data) => self.send_frame(OpCode::Pong, &control(data)).await,
            Message::Close(frame) => {
                let payload = frame.map(|f| f.payload()).unwrap_or_default();
                self.closing = Closing::Sent;
                self.send_frame(OpCode::Close, &payload).await
            }
        }
    }

    /// Answers what a received message asks for: a pong for a ping, the close that ends the
    /// handshake for a close.
    async fn answer(&mut self, message: Message) -> io::Result<Message> {
        match &message {
            Message::Ping(data) if self.closing == Closing::Open => {
                self.send_frame(OpCode::Pong, &data.clone()).await?;
            }
            Message::Close(frame) => {
                if self.closing == Closing::Open {
                    // Echo the peer's code, as RFC 6455 §5.5.1 suggests.
                    let echo = frame.as_ref().map(|f| {
                        CloseFrame {
                            code: f.code,
                            reason: String::new(),
                        }
                        .payload()
                    });
                    self.send_frame(OpCode::Close, &echo.unwrap_or_default())
                        .await?;
                }
                self.finish();
            }
            _ => {}
        }
        Ok(message)
    }

    /// Answers a protocol error with its close frame and shuts the connection.
    async fn fail(&mut self, err: ProtocolError) -> io::Error {
        log::debug!("websocket closed: {err}");
        if self.closing == Closing::Open {
            let frame = CloseFrame {
                code: err.code,
                reason: err.reason.to_owned(),
            };
            // The peer broke the protocol: a failure to tell it so changes nothing.
            let _ = self.send_frame(OpCode::Close, &frame.payload()).await;
        }
        self.finish();
        io::Error::new(io::ErrorKind::InvalidData, err)
    }

    fn finish(&mut self) {
        self.closing = Closing::Done;
        // The peer may have gone already.
        let _ = self.io.shutdown_write();
    }

    async fn send_frame(&mut self, opcode: OpCode, payload: &[u8]) -> io::Result<()> {
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        encode(&mut out, opcode, true, false, payload);
        let (result, out) = self.io.send_all(out).await;
        self.out = out;
        result
    }
}

/// A control frame's payload, cut to the 125 bytes it may carry.
fn control(data: Bytes) -> Bytes {
    data.slice(..data.len().min(125))
}
