//! HTTP/2 (feature `http2`): a connection served with hyper's `h2` codec, every stream by the
//! same [`Dispatch`] as HTTP/1.1.
//!
//! A server with the feature speaks HTTP/2 over TLS when the client picks `h2` by ALPN (with
//! `tls`), and in cleartext when the client starts with HTTP/2's connection preface ("prior
//! knowledge", [`Http2Options::cleartext`]). [`serve_http2`] serves one connection over any
//! [`Transport`].
//!
//! Each stream's request reaches the dispatcher as the same [`Request`](super::Request) an
//! HTTP/1.1 request would be (`:authority` as `Host`, cookies joined into one field; the head
//! checked by the HTTP/1.1 parser's rules and limits), its DATA frames as the request body; the
//! same [`ResponseWriter`](super::ResponseWriter) sends the response as HEADERS and DATA frames
//! within the client's flow-control window (chunks of a streamed body as they come, trailers as
//! trailing HEADERS). Static routes are answered from the static cache without the dispatcher. The codec enforces RFC 9113's framing and stream-state rules
//! and the defences this module configures: at most [`Http2Options::max_concurrent_streams`]
//! streams, header lists of at most [`Limits::max_head`](super::Limits::max_head) bytes
//! (HPACK bombs and CONTINUATION floods stop there), a cap on streams the client resets before
//! they are accepted (rapid reset, CVE-2023-44487) and on streams reset for the client's
//! errors. A draining server sends GOAWAY and finishes the streams already open.

mod io;
mod prefixed;
mod respond;
mod stream;

pub(crate) use prefixed::Prefixed;
pub(crate) use respond::{StreamResponse, response_head, server_value};

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;

use bytes::Bytes;
use nanoapi_executor::time::{Deadline, coarse_now, timeout};

use self::io::TokioIo;
use super::conn::{ConnSettings, Opened};
use super::{ConnOptions, Dispatch, Transport};
use crate::error::{Error, Result};

/// The client connection preface that starts every HTTP/2 connection (RFC 9113 §3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// HTTP/2 settings of a server.
///
/// Non-exhaustive, so that a new field is not a breaking change: start from `default()` and set
/// the fields you need.
///
/// # Examples
///
/// ```
/// use nanoapi::server::http2::Http2Options;
///
/// let mut http2 = Http2Options::default();
/// http2.max_concurrent_streams = 32;
/// assert!(http2.cleartext);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Http2Options {
    /// Serve HTTP/2 in cleartext to clients that start with the connection preface (prior
    /// knowledge; default true). HTTP/1.1 clients on the same port are not affected.
    pub cleartext: bool,
    /// Streams a client may have open at once (default 100, RFC 9113's recommended floor).
    pub max_concurrent_streams: u32,
    /// Bytes of request body a client may send on one stream before the dispatcher reads it
    /// (the stream's initial flow-control window; default 256 KiB).
    pub stream_window: u32,
    /// The same for all streams of a connection together (default 1 MiB).
    pub connection_window: u32,
    /// Streams a client may reset before the server accepts them, at once (default 20): more
    /// is the rapid-reset attack, answered with GOAWAY.
    pub max_pending_resets: usize,
    /// Streams the server may reset for a client's protocol errors over a connection's life
    /// (default 1,024), past which it sends GOAWAY.
    pub max_error_resets: usize,
}

impl Default for Http2Options {
    fn default() -> Http2Options {
        Http2Options {
            cleartext: true,
            max_concurrent_streams: 100,
            stream_window: 256 * 1024,
            connection_window: 1024 * 1024,
            max_pending_resets: 20,
            max_error_resets: 1024,
        }
    }
}

/// Serves one HTTP/2 connection over `io` (the client's preface comes first) until the client
/// ends it, an error ends it, it stays idle for the keep-alive timeout, or the server drains
/// (`options.shutdown`: GOAWAY, then the open streams finish). Every stream is answered by
/// `dispatch`, as an HTTP/1.1 request would be.
///
/// # Errors
///
/// A connection error (the codec has sent GOAWAY with its reason), or a transport error.
pub async fn serve_http2<T, C, D>(
    io: T,
    ctx: &C,
    dispatch: &D,
    options: &ConnOptions,
    http2: &Http2Options,
) -> Result<()>
where
    T: Transport + 'static,
    T::Chunk: Unpin + 'static,
    D: Dispatch<C>,
{
    // The connection is one to the metrics hook; each stream is a request.
    let _opened = Opened::connection(options, &options.peer);
    serve_streams(io, ctx, dispatch, options, http2).await
}

/// [`serve_http2`] for a connection the metrics hook already counts (the accept loop opens it
/// at accept, before the TLS handshake or the preface sniff).
pub(crate) async fn serve_streams<T, C, D>(
    io: T,
    ctx: &C,
    dispatch: &D,
    options: &ConnOptions,
    http2: &Http2Options,
) -> Result<()>
where
    T: Transport + 'static,
    T::Chunk: Unpin + 'static,
    D: Dispatch<C>,
{
    let max_header_list = u32::try_from(options.limits.max_head).unwrap_or(u32::MAX);
    let handshake = h2::server::Builder::new()
        .max_concurrent_streams(http2.max_concurrent_streams)
        .initial_window_size(http2.stream_window)
        .initial_connection_window_size(http2.connection_window)
        .max_header_list_size(max_header_list)
        .max_pending_accept_reset_streams(http2.max_pending_resets)
        .max_local_error_reset_streams(Some(http2.max_error_resets))
        .handshake::<_, Bytes>(TokioIo::new(Rc::new(io)));
    let mut connection = match timeout(options.timeouts.header, handshake).await {
        Ok(handshake) => handshake.map_err(Error::new)?,
        Err(_) => return Ok(()),
    };
    let (keep_alive, linger) = (options.timeouts.keep_alive, options.timeouts.linger);
    // Moves by storing an instant (a timer is re-armed only when it fires early): no timer
    // registration per request.
    let mut idle = Deadline::new(coarse_now() + keep_alive);
    let mut going_away = false;
    let mut drain = options
        .shutdown
        .as_ref()
        .map(|signal| Box::pin(signal.raised()));
    let shared = stream::StreamContext {
        ctx,
        dispatch,
        options,
        settings: Rc::new(ConnSettings::new(options)),
        server: server_value(options.server_header.as_deref().map(str::as_bytes)),
    };
    let mut streams: Vec<Pin<Box<dyn Future<Output = ()> + '_>>> = Vec::new();
    poll_fn(|cx| {
        if let Some(raised) = &mut drain
            && raised.as_mut().poll(cx).is_ready()
        {
            drain = None;
            going_away = true;
            idle.set(coarse_now() + linger);
            connection.graceful_shutdown();
        }
        loop {
            match connection.poll_accept(cx) {
                Poll::Ready(Some(Ok((request, respond)))) => {
                    let served = stream::serve_stream(&shared, request, respond);
                    streams.push(Box::pin(served));
                }
                Poll::Ready(Some(Err(err))) => return Poll::Ready(Err(Error::new(err))),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => break,
            }
        }
        let active = !streams.is_empty();
        streams.retain_mut(|served| served.as_mut().poll(cx).is_pending());
        if active {
            // Streams were open in this pass (even if all ended in it): the idle time counts
            // from now.
            idle.set(coarse_now() + if going_away { linger } else { keep_alive });
        }
        if !streams.is_empty() || idle.poll_elapsed(cx).is_pending() {
            return Poll::Pending;
        }
        if going_away {
            // The client did not end the connection after GOAWAY within the linger time.
            return Poll::Ready(Ok(()));
        }
        // Idle past the keep-alive timeout: GOAWAY, then the codec ends the connection once
        // the client has seen it (or the linger time has passed).
        going_away = true;
        idle.set(coarse_now() + linger);
        connection.graceful_shutdown();
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

/// Whether `received` (a connection's first bytes) is, or may still turn out to be, HTTP/2's
/// preface.
pub(crate) fn may_be_preface(received: &[u8]) -> bool {
    let n = received.len().min(PREFACE.len());
    received[..n] == PREFACE[..n]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preface_is_told_from_http1() {
        assert!(may_be_preface(PREFACE));
        assert!(may_be_preface(b"PRI * HT"));
        assert!(!may_be_preface(b"GET / HTTP/1.1\r\n"));
        assert!(!may_be_preface(b"PRIVATE / HTTP/1.1\r\n"));
    }
}
