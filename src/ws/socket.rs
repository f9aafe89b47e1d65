//! A WebSocket over any [`Transport`] (an [`Upgraded`](crate::server::Upgraded) connection, the
//! in-memory duplex): messages received with pings answered and the close handshake kept,
//! messages sent as single frames, a protocol error answered with its close code, a quiet
//! peer pinged and a stopped one timed out.

use std::cell::Cell;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::close::{CloseCode, CloseFrame};
#[cfg(feature = "ws-deflate")]
use super::deflate::{DeflateParams, Deflater};
use super::frame::{Decoder, OpCode, ProtocolError, encode};
use super::keepalive::{Due, Keepalive, wait};
use super::message::{Assembler, Message};
use crate::executor::sync::Mutex;
use crate::server::{Transport, Watch};

/// Limits of a [`WebSocket`]: sizes of what it receives, and how long it waits.
///
/// The timers run while a task waits in [`WsReader::recv`] (they are judged by the worker's
/// clock, so to its resolution): a peer that stays quiet is pinged, one that stopped is
/// closed. None is set by default.
///
/// # Examples
///
/// Ping after 20 s without a byte from the peer, and close after 40 s (so a peer has 20 s to
/// answer the ping), as Python's `websockets` does by default:
///
/// ```
/// use std::time::Duration;
/// use nanoapi::ws::Limits;
///
/// let mut limits = Limits::default();
/// limits.ping_interval = Some(Duration::from_secs(20));
/// limits.idle_timeout = Some(Duration::from_secs(40));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The longest frame payload received (default 16 MiB; longer: close 1009).
    pub max_frame: usize,
    /// The longest message received, its fragments together (default 64 MiB; longer: 1009).
    pub max_message: usize,
    /// Sends a ping when nothing arrived for this long (and again after each further quiet
    /// spell as long); the pong comes back as a [`Message::Pong`]. Default: never.
    pub ping_interval: Option<Duration>,
    /// Closes the socket (close 1001 "idle timeout", then `TimedOut` from
    /// [`recv`](WsReader::recv)) when nothing arrived for this long, pongs included.
    /// Default: wait for ever.
    pub idle_timeout: Option<Duration>,
    /// Closes the socket (close 1008 "frame read timeout", then `TimedOut`) when a frame
    /// began to arrive and is not whole after this long: a peer that trickles a frame.
    /// Default: wait for ever.
    pub read_timeout: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_frame: 16 << 20,
            max_message: 64 << 20,
            ping_interval: None,
            idle_timeout: None,
            read_timeout: None,
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
///     // The socket gets a task of its own: the exchange ends, and its memory (the request,
///     // this future) is not held for as long as the socket is open.
///     nanoapi::executor::spawn_local(async move {
///         while let Ok(Some(message)) = socket.recv().await {
///             if let Message::Text(_) | Message::Binary(_) = message {
///                 let _ = socket.send(message).await;
///             }
///         }
///     })
///     .detach();
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
pub(super) struct Link<T> {
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
    /// The timers [`Limits`] asked for, if any.
    keepalive: Option<Keepalive>,
    /// The server's drain, when the socket belongs to a server: it says goodbye (1001).
    drain: Option<Watch>,
}

/// The sending half of a [`WebSocket`] ([`WebSocket::split`]), for another task of the same
/// worker; also a [`Sink`](futures_sink::Sink) of messages.
pub struct WsWriter<T> {
    pub(super) link: Rc<Link<T>>,
    /// The send the `Sink` face started and has not finished.
    pub(super) pending: Option<super::stream::PendingSend>,
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
        let drain = io.shutdown_signal().cloned().map(Watch::new);
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
                keepalive: Keepalive::new(&limits),
                drain,
            },
            writer: WsWriter {
                link,
                pending: None,
            },
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

    /// The sending half, for the socket's `Sink` face.
    pub(super) fn writer_mut(&mut self) -> &mut WsWriter<T> {
        &mut self.writer
    }
}

impl<T: Transport> WsReader<T> {
    /// The next message: text, binary, a ping (already answered with a pong), a pong, or the
    /// peer's close (already answered, when it started the handshake); `None` once the
    /// connection is closed.
    ///
    /// While it waits, the [`Limits`]' timers run: a quiet peer is pinged, and a timed-out
    /// one closed; when the server drains, the socket sends close 1001 and goes on to the
    /// peer's close.
    ///
    /// Not cancel-safe: dropping the future while it waits can lose bytes already received
    /// (the receive in flight owns the buffer). To wait for messages and something else, race
    /// the reader's [`Stream`](futures_core::Stream) face instead
    /// ([`into_stream`](WsReader::into_stream): its next message survives a dropped `next()`),
    /// give the reader a task of its own ([`WebSocket::split`]), or use the timers above.
    ///
    /// # Errors
    ///
    /// The transport's errors; a frame or message that breaks the protocol (`InvalidData`,
    /// carrying the [`ProtocolError`]); a timeout of [`Limits`] (`TimedOut`). The close frame
    /// with its code was sent and the connection shut before either of the last two is
    /// returned.
    pub async fn recv(&mut self) -> io::Result<Option<Message>> {
        loop {
            if self.link.closing.get() == Closing::Done {
                return Ok(None);
            }
            match self.decoder.decode(&mut self.received) {
                Ok(Some(frame)) => match self.assembler.push(frame) {
                    Ok(Some(message)) => return self.answer(message).await.map(Some),
                    Ok(None) => continue,
                    Err(err) => return Err(Box::pin(self.fail(err)).await),
                },
                Ok(None) => {}
                Err(err) => return Err(Box::pin(self.fail(err)).await),
            }
            if self.receive().await? == 0 {
                // The peer went away without a close handshake.
                self.link.closing.set(Closing::Done);
                return Ok(None);
            }
        }
    }

    /// Receives the next bytes from the peer into the receive buffer (how many: 0 at end of
    /// stream), the timers running meanwhile: a ping sent when one is due (the receive stays
    /// in flight), the socket closed on a timeout.
    async fn receive(&mut self) -> io::Result<usize> {
        // What is left of the buffer after the last decode is the start of a frame.
        let partial = !self.received.is_empty();
        let missing = self.decoder.missing(&self.received);
        let recv = receive_into(&self.link.io, &mut self.received, missing);
        if self.keepalive.is_none() && self.drain.is_none() {
            return recv.await;
        }
        if let Some(keepalive) = &mut self.keepalive {
            keepalive.received(partial);
        }
        let (link, keepalive, drain) = (&self.link, &mut self.keepalive, &mut self.drain);
        let timed_out = {
            let mut recv = pin!(recv);
            loop {
                match wait(keepalive.as_mut(), drain.as_mut(), recv.as_mut()).await {
                    Ok(received) => return received,
                    Err(Due::Ping) => {
                        if link.closing.get() == Closing::Open {
                            Box::pin(link.send_frame(OpCode::Ping, &[])).await?;
                        }
                        // Closing: no more pings, the timeouts still run.
                        if let Some(keepalive) = keepalive.as_mut() {
                            keepalive.pinged();
                        }
                    }
                    // The server drains: the close handshake starts (1001), and the receive
                    // goes on for the peer's close.
                    Err(Due::Drain) => {
                        *drain = None;
                        if link.closing.get() == Closing::Open {
                            let bye = CloseFrame {
                                code: CloseCode::GOING_AWAY,
                                reason: "server shutting down".to_owned(),
                            };
                            Box::pin(link.deliver(Message::Close(Some(bye)))).await?;
                        }
                    }
                    Err(Due::Timeout(timeout)) => break timeout,
                }
            }
        };
        let (code, reason) = timed_out.close();
        log::debug!("websocket closed: {reason}");
        Box::pin(self.close_with(code, reason)).await;
        Err(io::Error::new(io::ErrorKind::TimedOut, reason))
    }

    /// Answers what a received message asks for: a pong for a ping, the close that ends the
    /// handshake for a close.
    async fn answer(&mut self, message: Message) -> io::Result<Message> {
        match &message {
            Message::Ping(data) if self.link.closing.get() == Closing::Open => {
                // Boxed, as every send on the receiving side: a socket waiting to receive (an
                // idle one) is as small as its receive, not as its largest send.
                Box::pin(self.link.send_frame(OpCode::Pong, data)).await?;
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
                    Box::pin(self.link.send_frame(OpCode::Close, &echo)).await?;
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
        self.close_with(err.code, err.reason).await;
        io::Error::new(io::ErrorKind::InvalidData, err)
    }

    /// Sends a close frame with `code` and `reason` (unless one was sent) and shuts the
    /// connection, without waiting for the peer's close.
    async fn close_with(&mut self, code: CloseCode, reason: &str) {
        if self.link.closing.get() == Closing::Open {
            let frame = CloseFrame {
                code,
                reason: reason.to_owned(),
            };
            // The peer broke the protocol or stopped: a failure to tell it so changes nothing.
            let _ = self.link.send_frame(OpCode::Close, &frame.payload()).await;
        }
        self.link.finish();
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
        self.link.deliver(message).await
    }
}

impl<T: Transport> Link<T> {
    /// Sends `message` as [`WsWriter::send`] says.
    pub(super) async fn deliver(&self, message: Message) -> io::Result<()> {
        if self.closing.get() != Closing::Open {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the WebSocket is closing",
            ));
        }
        match message {
            Message::Text(text) => {
                let text = text.into_bytes();
                self.send_message(OpCode::Text, &text).await
            }
            Message::Binary(data) => self.send_message(OpCode::Binary, &data).await,
            Message::Ping(data) => self.send_frame(OpCode::Ping, &control(data)).await,
            Message::Pong(data) => self.send_frame(OpCode::Pong, &control(data)).await,
            Message::Close(frame) => {
                let payload = frame.map(|f| f.payload()).unwrap_or_default();
                self.closing.set(Closing::Sent);
                self.send_frame(OpCode::Close, &payload).await
            }
        }
    }

    /// Whether the close handshake has not started.
    pub(super) fn is_open(&self) -> bool {
        self.closing.get() == Closing::Open
    }

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

/// The rest of a frame longer than this is received straight into the receive buffer, in
/// one receive where it has all arrived, rather than in the transport's (pool-sized) chunks
/// copied over: a pooled receive buffer's size.
const DIRECT_RECV: usize = 4096;

/// The most room reserved for one such receive: a frame's declared length is the peer's word,
/// so memory is committed as its bytes come, not for the length it announced.
const MAX_DIRECT_RECV: usize = 64 * 1024;

/// Receives the next bytes into `received` (how many: 0 at end of stream), copied once: with
/// `missing` bytes of a long frame to come, room for them is reserved and the transport reads
/// in place; otherwise it appends a pooled receive (or reads into room left from before).
async fn receive_into<T: Transport>(
    io: &T,
    received: &mut BytesMut,
    missing: Option<usize>,
) -> io::Result<usize> {
    if let Some(missing) = missing.filter(|&missing| missing > DIRECT_RECV) {
        received.reserve(missing.min(MAX_DIRECT_RECV));
    }
    let (result, buf) = io.recv_owned(std::mem::take(received)).await;
    *received = buf;
    result
}

/// A control frame's payload, cut to the 125 bytes it may carry.
fn control(data: Bytes) -> Bytes {
    data.slice(..data.len().min(125))
}
