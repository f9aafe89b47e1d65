//! `nanoapi_websocket`: a WebSocket the host accepted in its dispatch callback, then used from
//! any of its threads with blocking calls until it frees it.

use std::ffi::c_int;
use std::io;

use bytes::Bytes;
use nanoapi::ws::{BlockingWebSocket, CloseCode, Message, Utf8Bytes};

use crate::error::{Failure, guard};
use crate::types::nanoapi_str;
use crate::writer::{nanoapi_writer, view};

/// A text message (valid UTF-8).
pub const NANOAPI_WS_TEXT: c_int = 1;
/// A binary message.
pub const NANOAPI_WS_BINARY: c_int = 2;
/// The peer's close: `close_code` and the reason in `data` (code 1005 when it gave none).
pub const NANOAPI_WS_CLOSE: c_int = 8;

/// An open WebSocket (from [`nanoapi_writer_accept_websocket`]). Any thread may use it, after
/// the callback returned too; [`nanoapi_websocket_recv`] from one thread at a time, while
/// another sends. Pings are answered by the library and never reach the host. Free it with
/// [`nanoapi_websocket_free`], which closes it (1000) unless it was closed.
#[derive(Debug)]
pub struct nanoapi_websocket {
    socket: BlockingWebSocket,
    /// The last message received: what the last [`nanoapi_ws_message`] points into.
    last: Bytes,
}

/// A received message: valid until the next [`nanoapi_websocket_recv`] on the same socket or
/// its [`nanoapi_websocket_free`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nanoapi_ws_message {
    /// `NANOAPI_WS_TEXT`, `NANOAPI_WS_BINARY` or `NANOAPI_WS_CLOSE`.
    pub kind: c_int,
    /// The payload (a close's reason).
    pub data: nanoapi_str,
    /// A close's status code (0 for other kinds).
    pub close_code: u16,
}

/// Accepts the request's WebSocket opening handshake instead of answering it, choosing
/// `protocol` (one the client offered in `Sec-WebSocket-Protocol`; empty for none), and blocks
/// until the `101` is sent. On success `*out` is the socket, the host's to free.
///
/// # Errors
///
/// `NANOAPI_ERR_INVALID` when the request is not a valid opening handshake (the client got the
/// 400 or 426 that says why; the writer is then done); `NANOAPI_ERR_STATE` if a response was
/// already started; `NANOAPI_ERR_CLOSED` if the connection is gone.
///
/// # Safety
///
/// `w` must be the writer passed to the running callback (or NULL); `protocol` must be valid
/// for reading; `out` must be valid for writing a pointer (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_writer_accept_websocket(
    w: *mut nanoapi_writer,
    protocol: nanoapi_str,
    out: *mut *mut nanoapi_websocket,
) -> c_int {
    guard("nanoapi_writer_accept_websocket", || {
        if out.is_null() {
            return Err(Failure::invalid("out is NULL"));
        }
        // SAFETY: forwarded from the caller.
        let protocol = unsafe { protocol.as_bytes() };
        let protocol = std::str::from_utf8(protocol)
            .map_err(|_| Failure::invalid("the protocol is not UTF-8"))?;
        let protocol = (!protocol.is_empty()).then_some(protocol);
        // SAFETY: forwarded from the caller.
        let w = unsafe { view(w) }?;
        let socket = w.accept_websocket(protocol)?;
        let boxed = Box::new(nanoapi_websocket {
            socket,
            last: Bytes::new(),
        });
        // SAFETY: `out` is non-null and valid for writing, as the caller promises.
        unsafe { out.write(Box::into_raw(boxed)) };
        Ok(())
    })
}

/// The socket behind `ws`.
///
/// # Safety
///
/// `ws` must be NULL or a socket from [`nanoapi_writer_accept_websocket`] not yet freed.
unsafe fn socket<'a>(ws: *mut nanoapi_websocket) -> Result<&'a mut nanoapi_websocket, Failure> {
    // SAFETY: a non-null `ws` is a live socket (the caller's promise), used for receiving by
    // one thread at a time (the ABI's rule).
    unsafe { ws.as_mut() }.ok_or_else(|| Failure::invalid("ws is NULL"))
}

/// Blocks until the next message (text, binary, or the peer's close) and describes it in
/// `*out`.
///
/// # Errors
///
/// `NANOAPI_ERR_CLOSED` once the socket ended (after the peer's close was returned, or when
/// the connection failed: the message says how).
///
/// # Safety
///
/// `ws` as for [`nanoapi_websocket_free`], and not received from by another thread at the same
/// time; `out` must be valid for writing (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_websocket_recv(
    ws: *mut nanoapi_websocket,
    out: *mut nanoapi_ws_message,
) -> c_int {
    guard("nanoapi_websocket_recv", || {
        // SAFETY: forwarded from the caller.
        let ws = unsafe { socket(ws) }?;
        if out.is_null() {
            return Err(Failure::invalid("out is NULL"));
        }
        let message = match ws.socket.recv() {
            Ok(Some(message)) => message,
            Ok(None) => {
                let ended = io::Error::new(io::ErrorKind::NotConnected, "the WebSocket closed");
                return Err(Failure::closed(&ended));
            }
            Err(err) => return Err(Failure::closed(&err)),
        };
        let (kind, data, close_code) = match message {
            Message::Text(text) => (NANOAPI_WS_TEXT, text.into_bytes(), 0),
            Message::Binary(data) => (NANOAPI_WS_BINARY, data, 0),
            Message::Close(Some(frame)) => {
                let reason = Bytes::from(frame.reason.into_bytes());
                (NANOAPI_WS_CLOSE, reason, frame.code.as_u16())
            }
            Message::Close(None) => (NANOAPI_WS_CLOSE, Bytes::new(), 1005),
            // The socket keeps pings and pongs from the host.
            Message::Ping(_) | Message::Pong(_) => return Err(Failure::state("a control frame")),
        };
        ws.last = data;
        let message = nanoapi_ws_message {
            kind,
            data: nanoapi_str::from_slice(&ws.last),
            close_code,
        };
        // SAFETY: `out` is non-null and valid for writing, as the caller promises.
        unsafe { out.write(message) };
        Ok(())
    })
}

/// Sends a message of `kind` (`NANOAPI_WS_TEXT`, which must be UTF-8, or `NANOAPI_WS_BINARY`)
/// with a copy of `data`: it is queued, blocking while 16 messages wait, and an error of a
/// queued message is reported by the next send.
///
/// # Errors
///
/// `NANOAPI_ERR_INVALID` for another kind or text that is not UTF-8; `NANOAPI_ERR_CLOSED` once
/// sending failed (the socket closed, the connection is gone).
///
/// # Safety
///
/// `ws` as for [`nanoapi_websocket_free`]; `data` must be valid for reading.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_websocket_send(
    ws: *mut nanoapi_websocket,
    kind: c_int,
    data: nanoapi_str,
) -> c_int {
    guard("nanoapi_websocket_send", || {
        // SAFETY: forwarded from the caller.
        let ws = unsafe { socket(ws) }?;
        // SAFETY: forwarded from the caller.
        let data = Bytes::copy_from_slice(unsafe { data.as_bytes() });
        let message = match kind {
            NANOAPI_WS_TEXT => Message::Text(
                Utf8Bytes::try_from(data).map_err(|_| Failure::invalid("the text is not UTF-8"))?,
            ),
            NANOAPI_WS_BINARY => Message::Binary(data),
            _ => return Err(Failure::invalid(format!("message kind {kind}"))),
        };
        ws.socket.send(message).map_err(|err| Failure::closed(&err))
    })
}

/// Starts the close handshake with `code` (1000 for a normal close) and `reason` (UTF-8, at
/// most 123 bytes); [`nanoapi_websocket_recv`] then returns the peer's close, and
/// `NANOAPI_ERR_CLOSED` after it.
///
/// # Errors
///
/// `NANOAPI_ERR_INVALID` for a code a server may not send or a reason too long or not UTF-8;
/// `NANOAPI_ERR_CLOSED` as for [`nanoapi_websocket_send`].
///
/// # Safety
///
/// `ws` as for [`nanoapi_websocket_free`]; `reason` must be valid for reading.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_websocket_close(
    ws: *mut nanoapi_websocket,
    code: u16,
    reason: nanoapi_str,
) -> c_int {
    guard("nanoapi_websocket_close", || {
        // SAFETY: forwarded from the caller.
        let ws = unsafe { socket(ws) }?;
        let code = CloseCode::new(code);
        if !code.is_allowed() {
            return Err(Failure::invalid(format!("close code {}", code.as_u16())));
        }
        // SAFETY: forwarded from the caller.
        let reason = std::str::from_utf8(unsafe { reason.as_bytes() })
            .map_err(|_| Failure::invalid("the reason is not UTF-8"))?;
        if reason.len() > 123 {
            return Err(Failure::invalid("the reason is longer than 123 bytes"));
        }
        ws.socket
            .close(code, reason)
            .map_err(|err| Failure::closed(&err))
    })
}

/// Frees `ws` (NULL is allowed), closing the socket (1000) unless it was closed. No other
/// thread may be using it.
///
/// # Safety
///
/// `ws` must be NULL or a socket from [`nanoapi_writer_accept_websocket`] not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_websocket_free(ws: *mut nanoapi_websocket) {
    if ws.is_null() {
        return;
    }
    // SAFETY: `ws` came from `Box::into_raw` in `nanoapi_writer_accept_websocket` and is freed
    // once, by this call (the caller's promise).
    drop(unsafe { Box::from_raw(ws) });
}
