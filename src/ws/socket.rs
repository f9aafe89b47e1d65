//! A WebSocket over any [`Transport`] (an [`Upgraded`](crate::server::Upgraded) connection, the
//! in-memory duplex): messages received with pings answered and the close handshake kept,
//! messages sent as single frames, a protocol error answered with its close code.

use std::cell::Cell;
use std::io;
use std::rc::Rc;

use bytes::{Bytes, BytesMut};

use super::close::CloseFrame;
#[cfg(feature = "ws-deflate")]
use super::deflate::{DeflateParams, Deflater};
use super::frame::{Decoder, OpCode, ProtocolError, encode};
use super::message::{Assembler, Message};
use crate::executor::sync::Mutex;
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
    reader: WsReader<T>,
    writer: WsWriter<T>,
}

/// What both halves of a socket share: the connection, the sending side (locked for a whole
/// frame, so that the frames of two tasks never interleave) and where the close handshake is.
#[derive(Debug)]
struct Link<T> {
    io: T,
    out: Mutex<Outbox>,
    closing: Cell<Closing>,
}

/// The sending side's state: the buffer frames are encoded into, and permessage-deflate's
/// compressor when it was agreed (its context follows the order messages are sent in).
#[derive(Debug, Default)]
struct Outbox {
    buf: BytesMut,
    #[cfg(feature = "ws-deflate")]
    deflater: Option<Deflater>,
}

/// The receiving half of a [`WebSocket`] ([`WebSocket::split`]): pings are answered and the
/// close handshake kept through the shared connection.
#[derive(Debug)]
pub struct WsReader<T> {
    link: Rc<Link<T>>,
    received: BytesMut,
    decoder: Decoder,
    assembler: Assembler,
}

/// The sending half of a [`WebSocket`] ([`WebSocket::split`]), for another task of the same
/// worker.
#[derive(Debug)]
pub struct WsWriter<T> {
    link: Rc<Link<T>>,
}

impl<T: Transport> WebSocket<T> {
    /// A WebSocket over `io`, whose handshake is done.
    pub fn new(io: T, limits: Limits) -> WebSocket<T> {
        WebSocket::with_outbox(io, limits, Outbox::default())
    }

    /// A WebSocket over `io` whose handshake agreed permessage-deflate with `params` (none:
    /// as [`WebSocket::new`]): text and binary messages are sent compressed, and received
    /// ones with RSV1 decompressed, the message limit holding for their decompressed size.
    #[cfg(feature = "ws-deflate")]
    pub fn with_deflate(io: T, limits: Limits, params: Option<DeflateParams>) -> WebSocket<T> {
        let outbox = Outbox {
            buf: BytesMut::new(),
            deflater: params.map(Deflater::new),
        };
        let mut socket = WebSocket::with_outbox(io, limits, outbox);
        if let Some(params) = &params {
            let reader = &mut socket.reader;
            reader.decoder = Decoder::new(limits.max_frame).allow_rsv1(true);
            reader.assembler = Assembler::new(limits.max_message).inflating(params);
        }
        socket
    }

    fn with_outbox(io: T, limits: Limits, outbox: Outbox) -> WebSocket<T> {
        let link = Rc::new(Link {
            io,
            out: Mutex::new(outbox),
            closing: Cell::new(Closing::Open),
        });
        WebSocket {
            reader: WsReader {
                link: link.clone(),
                received: BytesMut::new(),
                decoder: Decoder::new(limits.max_frame),
                assembler: Assembler::new(limits.max_message),
            },
            writer: WsWriter { link },
        }
    }

    /// The next message; see [`WsReader::recv`].
    ///
    /// # Errors
    ///
    /// As [`WsReader::recv`].
    pub async fn recv(&mut self) -> io::Result<Option<Message>> {
        self.reader.recv().await
    }

    /// Sends `message`; see [`WsWriter::send`].
    ///
    /// # Errors
    ///
    /// As [`WsWriter::send`].
    pub async fn send(&mut self, message: Message) -> io::Result<()> {
        self.writer.send(message).await
    }

    /// The socket as a reader and a writer, for two tasks of this worker (one that receives,
    /// one that sends as events come).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use nanoapi::executor::spawn_local;
    /// use nanoapi::server::Upgraded;
    /// use nanoapi::ws::{Message, WebSocket};
    ///
    /// async fn ticker(socket: WebSocket<Upgraded>) {
    ///     let (mut reader, mut writer) = socket.split();
    ///     let ticks = spawn_local(async move {
    ///         for n in 0.. {
    ///             let tick = Message::Text(format!("tick {n}").into());
    ///             if writer.send(tick).await.is_err() {
    ///                 break;
    ///             }
    ///         }
    ///     });
    ///     while let Ok(Some(_)) = reader.recv().await {}
    ///     drop(ticks);
    /// }
    /// ```
    pub fn split(self) -> (WsReader<T>, WsWriter<T>) {
        (self.reader, self.writer)
    }
}

impl<T: Transport> WsReader<T> {
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
            if self.link.closing.get() == Closing::Done {
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
            let chunk = self.link.io.recv().await?;
            if chunk.is_empty() {
                // The peer went away without a close handshake.
                self.link.closing.set(Closing::Done);
                return Ok(None);
            }
            self.received.extend_from_slice(&chunk);
        }
    }

    /// Answers what a received message asks for: a pong for a ping, the close that ends the
    /// handshake for a close.
    async fn answer(&mut self, message: Message) -> io::Result<Message> {
        match &message {
            Message::Ping(data) if self.link.closing.get() == Closing::Open => {
                self.link.send_frame(OpCode::Pong, data).await?;
            }
            Message::Close(frame) => {
                if self.link.closing.get() == Closing::Open {
                    // Echo the peer's code, as RFC 6455 §5.5.1 suggests.
                    let echo = frame.as_ref().map(|f| {
                        CloseFrame {
                            code: f.code,
                            reason: String::new(),
                        }
                        .payload()
                    });
                    let echo = echo.unwrap_or_default();
                    self.link.send_frame(OpCode::Close, &echo).await?;
                }
                self.link.finish();
            }
            _ => {}
        }
        Ok(message)
    }

    /// Answers a protocol error with its close frame and shuts the connection.
    async fn fail(&mut self, err: ProtocolError) -> io::Error {
        log::debug!("websocket closed: {err}");
        if self.link.closing.get() == Closing::Open {
            let frame = CloseFrame {
                code: err.code,
                reason: err.reason.to_owned(),
            };
            // The peer broke the protocol: a failure to tell it so changes nothing.
            let _ = self.link.send_frame(OpCode::Close, &frame.payload()).await;
        }
        self.link.finish();
        io::Error::new(io::ErrorKind::InvalidData, err)
    }
}

impl<T: Transport> WsWriter<T> {
    /// Sends `message` as one frame, text and binary compressed when permessage-deflate was
    /// agreed (a close starts the close handshake: the reader then returns the peer's close,
    /// and `None` after it).
    ///
    /// # Errors
    ///
    /// The transport's errors; `NotConnected` after the close handshake started.
    pub async fn send(&mut self, message: Message) -> io::Result<()> {
        if self.link.closing.get() != Closing::Open {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the WebSocket is closing",
            ));
        }
        match message {
            Message::Text(text) => {
                let text = text.into_bytes();
                self.link.send_message(OpCode::Text, &text).await
            }
            Message::Binary(data) => self.link.send_message(OpCode::Binary, &data).await,
            Message::Ping(data) => self.link.send_frame(OpCode::Ping, &control(data)).await,
            Message::Pong(data) => self.link.send_frame(OpCode::Pong, &control(data)).await,
            Message::Close(frame) => {
                let payload = frame.map(|f| f.payload()).unwrap_or_default();
                self.link.closing.set(Closing::Sent);
                self.link.send_frame(OpCode::Close, &payload).await
            }
        }
    }
}

impl<T: Transport> Link<T> {
    fn finish(&self) {
        self.closing.set(Closing::Done);
        // The peer may have gone already.
        let _ = self.io.shutdown_write();
    }

    /// Sends one frame, whole, before any other task's.
    async fn send_frame(&self, opcode: OpCode, payload: &[u8]) -> io::Result<()> {
        self.send(opcode, payload, false).await
    }

    /// Sends a text or binary message as one frame, compressed (RSV1) when permessage-deflate
    /// was agreed and the compressor keeps it.
    async fn send_message(&self, opcode: OpCode, payload: &[u8]) -> io::Result<()> {
        self.send(opcode, payload, true).await
    }

    async fn send(&self, opcode: OpCode, payload: &[u8], compress: bool) -> io::Result<()> {
        let mut out = self.out.lock().await;
        let mut buf = std::mem::take(&mut out.buf);
        buf.clear();
        let compressed = if compress {
            out.compress(payload)?
        } else {
            None
        };
        match compressed {
            Some(data) => encode(&mut buf, opcode, true, true, data),
            None => encode(&mut buf, opcode, true, false, payload),
        }
        let (result, buf) = self.io.send_all(buf).await;
        out.buf = buf;
        result
    }
}

impl Outbox {
    /// `payload` compressed as permessage-deflate agreed, or `None` to send it as it is.
    #[cfg(feature = "ws-deflate")]
    fn compress(&mut self, payload: &[u8]) -> io::Result<Option<&[u8]>> {
        match &mut self.deflater {
            Some(deflater) => deflater.compress(payload),
            None => Ok(None),
        }
    }

    #[cfg(not(feature = "ws-deflate"))]
    fn compress(&mut self, _: &[u8]) -> io::Result<Option<&[u8]>> {
        Ok(None)
    }
}

/// A control frame's payload, cut to the 125 bytes it may carry.
fn control(data: Bytes) -> Bytes {
    data.slice(..data.len().min(125))
}
