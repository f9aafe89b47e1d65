//! A TLS session over a transport, itself a transport.

use std::cell::{Cell, RefCell};
use std::io::{self, BufRead, Write};
use std::rc::Rc;

use bytes::{Buf, BufMut, BytesMut};
use nanoapi_executor::{BufResult, spawn_local};
use rustls::ServerConnection;

use super::TlsConfig;
use crate::server::conn::spare_buffers;
use crate::server::{ShutdownSignal, Transport};

/// A server-side TLS session over the transport `T` (a TCP stream, or the in-memory duplex in
/// tests): receives decrypt, sends encrypt. Made by [`accept`], once the handshake is done.
///
/// Receives and sends may overlap (a WebSocket reads while it writes): the session is borrowed
/// only between awaits, and records the receive side produces (a TLS 1.3 key update's answer)
/// leave with the next send.
pub struct TlsStream<T> {
    io: Rc<T>,
    session: RefCell<ServerConnection>,
    /// Ciphertext received but not yet handed to the session (a spare buffer of the worker's
    /// while it holds any: an idle connection holds none).
    incoming: RefCell<BytesMut>,
    /// The transport reached end of stream.
    eof: Cell<bool>,
}

/// Decrypted bytes of one receive, in a buffer that goes back to the worker's spare buffers
/// when dropped.
#[derive(Debug)]
pub struct TlsChunk(BytesMut);

impl std::ops::Deref for TlsChunk {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for TlsChunk {
    fn drop(&mut self) {
        spare_buffers::give_back(std::mem::take(&mut self.0));
    }
}

/// Runs the server side of a TLS handshake over `io` and returns the session, ready for
/// HTTP: the client's first request bytes may already be decrypted in it. A failed
/// handshake sends its alert before the error returns. It has no deadline of its own: the
/// server started with [`Options::tls`](crate::server::Options::tls) puts it inside the
/// header timeout.
///
/// # Errors
///
/// The transport's errors; `InvalidData` for a TLS error (a bad or unsupported ClientHello, a
/// failed verification), `UnexpectedEof` when the client leaves during the handshake.
pub async fn accept<T: Transport + 'static>(io: T, config: &TlsConfig) -> io::Result<TlsStream<T>> {
    let session = ServerConnection::new(config.server_config().clone())
        .map_err(|err| io::Error::other(err.to_string()))?;
    let stream = TlsStream {
        io: Rc::new(io),
        session: RefCell::new(session),
        incoming: RefCell::new(BytesMut::new()),
        eof: Cell::new(false),
    };
    loop {
        stream.send_records().await?;
        if !stream.session.borrow().is_handshaking() {
            return Ok(stream);
        }
        if stream.receive_ciphertext().await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the client closed the connection during the TLS handshake",
            ));
        }
        if let Err(err) = stream.decrypt() {
            let _ = stream.send_records().await;
            return Err(err);
        }
    }
}

impl<T: Transport + 'static> TlsStream<T> {
    /// The protocol the client and server agreed on by ALPN (`http/1.1`), if the client
    /// offered any.
    pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
        self.session.borrow().alpn_protocol().map(<[u8]>::to_vec)
    }

    /// The server name the client asked for (SNI), if any.
    pub fn server_name(&self) -> Option<String> {
        self.session.borrow().server_name().map(str::to_owned)
    }

    /// Whether the client resumed an earlier session (a ticket or the session cache) rather
    /// than running a full handshake.
    pub fn is_resumed(&self) -> bool {
        matches!(
            self.session.borrow().handshake_kind(),
            Some(rustls::HandshakeKind::Resumed)
        )
    }

    /// Appends decrypted bytes to `buf`: at least one, or none at the end of the stream (the
    /// client's close_notify, or the transport's end without one: HTTP's own framing tells a
    /// cut message).
    async fn recv_into(&self, buf: &mut BytesMut) -> io::Result<usize> {
        loop {
            {
                let mut session = self.session.borrow_mut();
                let mut reader = session.reader();
                match reader.fill_buf() {
                    Ok(plain) => {
                        let n = plain.len();
                        if buf.capacity() == 0 && n > 0 {
                            *buf = spare_buffers::take();
                        }
                        buf.extend_from_slice(plain);
                        reader.consume(n);
                        return Ok(n);
                    }
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                    Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                    Err(err) => return Err(err),
                }
            }
            if self.incoming.borrow().is_empty() && !self.eof.get() {
                self.receive_ciphertext().await?;
            }
            if let Err(err) = self.decrypt() {
                self.send_alert();
                return Err(err);
            }
        }
    }

    /// Receives once from the transport into `incoming`; 0 at its end of stream.
    async fn receive_ciphertext(&self) -> io::Result<usize> {
        let chunk = self.io.recv().await?;
        if chunk.is_empty() {
            self.eof.set(true);
        } else {
            let mut incoming = self.incoming.borrow_mut();
            if incoming.capacity() == 0 {
                *incoming = spare_buffers::take();
            }
            incoming.extend_from_slice(&chunk);
        }
        Ok(chunk.len())
    }

    /// Hands the session what `incoming` holds (or the end of stream) and processes it, up to
    /// the first record that decrypts to application data: the rest waits in `incoming`, so
    /// the session's plaintext buffer never holds more than a record's worth.
    fn decrypt(&self) -> io::Result<()> {
        let mut session = self.session.borrow_mut();
        let mut incoming = self.incoming.borrow_mut();
        loop {
            let mut unread = &incoming[..];
            // At the end of stream, an empty read tells the session so.
            let n = session.read_tls(&mut unread)?;
            incoming.advance(n);
            let state = session
                .process_new_packets()
                .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))?;
            if state.plaintext_bytes_to_read() > 0 || incoming.is_empty() || n == 0 {
                break;
            }
        }
        if incoming.is_empty() && incoming.capacity() > 0 {
            spare_buffers::give_back(std::mem::take(&mut *incoming));
        }
        Ok(())
    }

    /// Takes the records the session has ready to send (none: an empty buffer), in a spare
    /// buffer.
    fn take_records(&self) -> BytesMut {
        let mut session = self.session.borrow_mut();
        if !session.wants_write() {
            return BytesMut::new();
        }
        let mut out = spare_buffers::take().writer();
        while session.wants_write() {
            if session.write_tls(&mut out).is_err() {
                break;
            }
        }
        out.into_inner()
    }

    /// Sends the records the session has ready, and waits until they are sent.
    async fn send_records(&self) -> io::Result<()> {
        let records = self.take_records();
        if records.is_empty() {
            return Ok(());
        }
        let (sent, records) = self.io.send_all(records).await;
        spare_buffers::give_back(records);
        sent
    }

    /// Sends what the session has ready (an alert, a close_notify) without waiting, then, with
    /// `shutdown`, half-closes the transport after it.
    fn send_detached(&self, shutdown: bool) {
        let records = self.take_records();
        let io = self.io.clone();
        spawn_local(async move {
            if !records.is_empty() {
                let (sent, records) = io.send_all(records).await;
                spare_buffers::give_back(records);
                if sent.is_err() {
                    return;
                }
            }
            if shutdown {
                let _ = io.shutdown_write();
            }
        })
        .detach();
    }

    /// After a TLS error: the session queued an alert for the client; it goes out on its own.
    fn send_alert(&self) {
        self.send_detached(false);
    }
}

impl<T> std::fmt::Debug for TlsStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let session = self.session.borrow();
        f.debug_struct("TlsStream")
            .field("protocol_version", &session.protocol_version())
            .field("server_name", &session.server_name())
            .finish_non_exhaustive()
    }
}

impl<T: Transport + 'static> Transport for TlsStream<T> {
    type Chunk = TlsChunk;

    async fn recv(&self) -> io::Result<TlsChunk> {
        let mut chunk = TlsChunk(BytesMut::new());
        self.recv_into(&mut chunk.0).await?;
        Ok(chunk)
    }

    async fn recv_owned(&self, mut buf: BytesMut) -> BufResult<usize, BytesMut> {
        let received = self.recv_into(&mut buf).await;
        (received, buf)
    }

    async fn send_all(&self, buf: BytesMut) -> BufResult<(), BytesMut> {
        let mut written = 0;
        while written < buf.len() {
            // The session encrypts into its own queue, which is bounded: take the records out
            // as they come.
            let accepted = self.session.borrow_mut().writer().write(&buf[written..]);
            match accepted {
                Ok(0) => {
                    let closed =
                        io::Error::new(io::ErrorKind::BrokenPipe, "the TLS session is closed");
                    return (Err(closed), buf);
                }
                Ok(n) => written += n,
                Err(err) => return (Err(err), buf),
            }
            if let Err(err) = self.send_records().await {
                return (Err(err), buf);
            }
        }
        (Ok(()), buf)
    }

    /// Sends the close_notify alert, then half-closes the transport after it (both without
    /// waiting: the connection drains the client's bytes meanwhile).
    fn shutdown_write(&self) -> io::Result<()> {
        self.session.borrow_mut().send_close_notify();
        self.send_detached(true);
        Ok(())
    }

    fn shutdown_signal(&self) -> Option<&ShutdownSignal> {
        self.io.shutdown_signal()
    }
}
