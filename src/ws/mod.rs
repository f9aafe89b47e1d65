//! WebSocket (RFC 6455) for the runtime (feature `ws`): the protocol's layers, usable with the
//! bare runtime and no App code.
//!
//! - [`Decoder`] reads a client's frames off a receive buffer (masked, unmasked in place, split
//!   off without a copy) and refuses what breaks the protocol with the close code to answer
//!   ([`ProtocolError`]); [`encode`] writes a server's frames.
//! - [`Assembler`] joins frames into [`Message`]s: fragments in order, control frames let
//!   through between them, text checked as UTF-8 fragment by fragment, a size limit.
//! - [`CloseFrame`] and [`CloseCode`]: the close handshake's payload and which codes a peer may
//!   send.
//! - [`Handshake`] checks an opening handshake and builds the `101` that accepts it;
//!   [`WebSocket`] runs the protocol over the upgraded connection (any
//!   [`Transport`](crate::server::Transport)): pings answered, the close handshake kept, a
//!   protocol error answered with its close code.
//!
//! With the App (feature `app` too), `app::WebSocketUpgrade` is the extractor of a WebSocket
//! route. [`WebSocket::split`] gives a reader and a writer for two tasks of one worker; the
//! reader is a `Stream` of messages ([`WsReader::into_stream`]), the writer (and the socket) a
//! `Sink` of messages.
//!
//! With feature `ws-deflate`, permessage-deflate (RFC 7692): [`Deflate`] says what the server
//! accepts, [`Handshake::deflate`] agrees [`DeflateParams`] with the client's offers,
//! [`Handshake::accept_with`] answers them and [`WebSocket::with_deflate`] compresses and
//! decompresses messages.
//!
//! [`Limits`] sets the sizes a socket receives and its timers: pings after a quiet spell, idle
//! and frame-read timeouts. A blocking handler
//! ([`serve_blocking`](crate::server::serve_blocking), the C ABI) accepts a socket with
//! `BlockingWriter::accept_websocket` and uses it from any thread as a [`BlockingWebSocket`].

mod blocking;
mod close;
#[cfg(feature = "ws-deflate")]
mod deflate;
mod frame;
mod handshake;
mod keepalive;
mod message;
mod socket;
mod stream;

pub use blocking::BlockingWebSocket;
pub(crate) use blocking::{Accept, Bridge};
pub use close::{CloseCode, CloseFrame};
#[cfg(feature = "ws-deflate")]
pub use deflate::{Deflate, DeflateParams};
pub use frame::{Decoder, Frame, OpCode, ProtocolError, encode, encode_masked};
pub use handshake::{Handshake, HandshakeError};
pub use message::{Assembler, Message, Utf8Bytes};
pub use socket::{Limits, WebSocket, WsReader, WsWriter};
pub use stream::Messages;
