//! `Request`: a parsed head (zero-copy), its peer, and its body, read on demand.

use std::fmt;
use std::future::{Future, ready};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use nanoapi_executor::BufResult;

use super::body::{self, RequestBody};
use super::conn::{Conn, DynConn};
use super::{Extensions, ShutdownSignal, Transport};
#[cfg(coding)]
use crate::error::Error;
use crate::error::Result;
#[cfg(coding)]
use crate::http::StatusCode;
use crate::http::{BodyFraming, Limits as HeadLimits, Method, RequestHead, Status, Version};

/// An HTTP request: the head, parsed without copying, and the body, read on demand.
///
/// Heads are kept as one [`Bytes`] (a slice of the connection's receive buffer) plus offsets:
/// no allocation per header field. The body is read with [`read_chunk`](Request::read_chunk) or
/// [`read_to_end`](Request::read_to_end); whatever the dispatcher leaves unread is drained (up
/// to a bound) or the connection is closed, so the next request is never misread.
///
/// # Examples
///
/// ```
/// use nanoapi::server::Request;
///
/// nanoapi::executor::block_on(async {
///     let mut req = Request::from_parts("POST", "/items?limit=5", &[("Content-Type", "text/plain")], "hello").unwrap();
///     assert_eq!(req.path(), b"/items");
///     assert_eq!(req.query(), Some(&b"limit=5"[..]));
///     assert_eq!(req.header("content-type"), Some(&b"text/plain"[..]));
///     assert_eq!(req.read_to_end().await.unwrap(), "hello");
/// });
/// ```
pub struct Request {
    head: RequestHead,
    head_bytes: Bytes,
    /// The connection, which holds the body's bytes, the exchange's state and the addresses.
    conn: Rc<DynConn>,
    /// Which exchange of the connection this request is.
    seq: u32,
    extensions: Extensions,
    /// The body's content coding, removed as it is read ([`Request::decode_body`]).
    #[cfg(coding)]
    decoding: Option<body::BodyDecoding>,
}

impl Request {
    /// The request of the exchange under way on `conn`.
    pub(crate) fn new(head: RequestHead, head_bytes: Bytes, conn: Rc<DynConn>) -> Request {
        let seq = conn.exchange.borrow().seq;
        // A request that asks for another protocol may live as long as that protocol's
        // session (a WebSocket's dispatch holds it): its head gets memory of its own size
        // rather than keep the connection's whole receive buffer alive.
        let head_bytes = if head.is_upgrade() {
            Bytes::copy_from_slice(&head_bytes)
        } else {
            head_bytes
        };
        Request {
            head,
            head_bytes,
            conn,
            seq,
            extensions: Extensions::new(),
            #[cfg(coding)]
            decoding: None,
        }
    }

    /// Builds a request from its parts, through the same parser as the wire (so it is held to
    /// the same rules): for tests and adapters (serverless events, foreign hosts). `Host:
    /// localhost` is added if absent, and a `Content-Length` for a non-empty body.
    ///
    /// # Errors
    ///
    /// What the parser refuses, with the status it maps to.
    pub fn from_parts(
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<Request> {
        let body = body.into();
        let mut text = BytesMut::with_capacity(64 + target.len());
        for part in [method, " ", target, " HTTP/1.1\r\n"] {
            text.extend_from_slice(part.as_bytes());
        }
        let mut has_host = false;
        let mut has_framing = false;
        for (name, value) in headers {
            has_host |= name.eq_ignore_ascii_case("host");
            has_framing |= name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case("transfer-encoding");
            for part in [name, ": ", value, "\r\n"] {
                text.extend_from_slice(part.as_bytes());
            }
        }
        if !has_host {
            text.extend_from_slice(b"Host: localhost\r\n");
        }
        if !has_framing && !body.is_empty() {
            text.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
        text.extend_from_slice(b"\r\n");
        let limits = HeadLimits {
            max_head: text.len().max(HeadLimits::default().max_head),
            ..HeadLimits::default()
        };
        let mut head = RequestHead::new();
        match head.parse_into(&text, &limits)? {
            Status::Complete(_) => {}
            Status::Partial => unreachable!("a head ending in CRLF CRLF is complete"),
        }
        let conn = Rc::new(Conn::new(NoPeer, Rc::default(), None));
        *conn.inbuf.borrow_mut() = BytesMut::from(&body[..]);
        conn.exchange
            .borrow_mut()
            .begin(head.framing(), false, false, u64::MAX, 0);
        // `split` makes the buffer shared, as the server's head bytes are: a clone of them
        // (an extractor keeping the head) is a reference count, not a copy.
        Ok(Request::new(head, text.split().freeze(), conn))
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.head.method()
    }

    /// The method as sent (for extension methods).
    pub fn method_bytes(&self) -> &[u8] {
        self.head.method_bytes(&self.head_bytes)
    }

    /// The request-target as sent.
    pub fn target(&self) -> &[u8] {
        self.head.target(&self.head_bytes)
    }

    /// The path (not percent-decoded; taken from an absolute-form target too).
    pub fn path(&self) -> &[u8] {
        self.head.path(&self.head_bytes)
    }

    /// The query after `?`, raw.
    pub fn query(&self) -> Option<&[u8]> {
        self.head.query(&self.head_bytes)
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.head.version()
    }

    /// The header fields in order, duplicates kept, bytes as sent.
    pub fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> + Clone {
        self.head.headers(&self.head_bytes)
    }

    /// The first field named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.head.header(&self.head_bytes, name.as_bytes())
    }

    /// Every field named `name` (case-insensitive), in order.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        self.head.header_all(&self.head_bytes, name.as_bytes())
    }

    /// The declared body length, for a `Content-Length` body.
    pub fn content_length(&self) -> Option<u64> {
        match self.head.framing() {
            BodyFraming::Length(n) => Some(n),
            _ => None,
        }
    }

    /// Whether the body is chunked.
    pub fn is_chunked(&self) -> bool {
        self.head.framing() == BodyFraming::Chunked
    }

    /// Whether this is a `HEAD` request (its response gets headers only, automatically).
    pub fn is_head(&self) -> bool {
        self.head.method() == Method::Head
    }

    /// Whether the client asked to keep the connection open.
    pub fn keep_alive(&self) -> bool {
        self.head.keep_alive()
    }

    /// The client's address (absent for requests built with `from_parts`).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.conn.peer
    }

    /// The local address the request arrived on.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.conn.local_addr()
    }

    /// The drain signal of the server that received this request: raised when the server
    /// begins to shut down, so that long work (a stream, a long poll) can end early. `None`
    /// for a request not served by a server (`from_parts`, a connection served on its own).
    ///
    /// Event streams (`Content-Type: text/event-stream`) end at the drain on their own.
    pub fn shutdown_signal(&self) -> Option<&ShutdownSignal> {
        self.conn.shutdown_signal()
    }

    /// Values other layers attached to this request (see [`Extensions`]).
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Values attached to this request, mutably: middleware leaves values here for handlers.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }

    /// Sets this request's body limit (bytes); takes effect only before the first read.
    pub fn set_body_limit(&mut self, limit: u64) {
        let mut exchange = self.conn.exchange.borrow_mut();
        if exchange.seq == self.seq {
            exchange.set_limit(limit);
        }
    }

    /// The trailer fields (name, value) that followed a chunked body, once the body has been
    /// read to its end (empty before, and for other bodies). They were checked as header
    /// fields are; which of them to trust is the dispatcher's call (RFC 9110 §6.5).
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::http::{Response, StatusCode};
    /// use nanoapi::server::testing::exchange;
    /// use nanoapi::server::{ConnOptions, Request, ResponseWriter};
    ///
    /// async fn checksum(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    ///     let body = req.read_to_end().await?;
    ///     let trailers = req.trailers();
    ///     let sum = trailers.iter().find(|(name, _)| name.eq_ignore_ascii_case(b"x-sum"));
    ///     let answer = format!("{} bytes, sum {:?}", body.len(), sum.map(|(_, value)| value));
    ///     w.send(Response::text(StatusCode::OK, answer)).await
    /// }
    ///
    /// let wire = &b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
    ///               2\r\nhi\r\n0\r\nX-Sum: 42\r\n\r\n"[..];
    /// let responses =
    ///     nanoapi::executor::block_on(exchange(&(), &checksum, &ConnOptions::default(), wire))
    ///         .unwrap();
    /// assert_eq!(responses[0].body, "2 bytes, sum Some(b\"42\")");
    /// ```
    pub fn trailers(&self) -> Vec<(Bytes, Bytes)> {
        let exchange = self.conn.exchange.borrow();
        if exchange.seq == self.seq {
            exchange.trailers()
        } else {
            Vec::new()
        }
    }

    /// The next piece of the body, `None` at its end.
    ///
    /// # Errors
    ///
    /// 413 past the body limit (a declared length over it fails before anything is read),
    /// 400 for malformed chunked framing or a body cut short, 408 when the client stalls.
    pub async fn read_chunk(&mut self) -> Result<Option<Bytes>> {
        #[cfg(coding)]
        if let Some(decoding) = &mut self.decoding {
            return decoding.read_chunk(&self.conn, self.seq).await;
        }
        body::read_chunk(&self.conn, self.seq).await
    }

    /// Removes the body's content coding as it is read, when its `Content-Encoding` names one
    /// of `accepted` (`identity`, or no field, leaves the body as it is): reads then return
    /// the decoded bytes, and the body limit (the one in force at the first read) holds for
    /// the decoded size, so a small body that expands without bound is refused with 413 once
    /// it passes the limit, with no more than the limit held. Returns the coding removed.
    ///
    /// Call it before the first read.
    ///
    /// # Errors
    ///
    /// 415 for a coding not in `accepted` (or unknown), or more than one coding.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "compression-gzip")] {
    /// use nanoapi::http::coding::{Coding, Encoder, Levels};
    /// use nanoapi::server::Request;
    ///
    /// nanoapi::executor::block_on(async {
    ///     let gzip = Encoder::encode_all(Coding::Gzip, &Levels::default(), b"hello").unwrap();
    ///     let mut req =
    ///         Request::from_parts("POST", "/", &[("Content-Encoding", "gzip")], gzip).unwrap();
    ///     assert_eq!(req.decode_body(&[Coding::Gzip]).unwrap(), Some(Coding::Gzip));
    ///     assert_eq!(req.read_to_end().await.unwrap(), "hello");
    /// });
    /// # }
    /// ```
    #[cfg(coding)]
    pub fn decode_body(
        &mut self,
        accepted: &[crate::http::coding::Coding],
    ) -> Result<Option<crate::http::coding::Coding>> {
        use crate::http::coding::Coding;
        let chosen = {
            let mut codings = self
                .header_all("content-encoding")
                .flat_map(|value| value.split(|&b| b == b','))
                .map(<[u8]>::trim_ascii)
                .filter(|token| !token.is_empty());
            match (codings.next(), codings.next()) {
                (None, _) => Ok(None),
                (Some(_), Some(_)) => {
                    Err("a request body with more than one content coding".to_owned())
                }
                (Some(token), None) if token.eq_ignore_ascii_case(b"identity") => Ok(None),
                (Some(token), None) => Coding::from_token(token)
                    .filter(|coding| accepted.contains(coding))
                    .map(Some)
                    .ok_or_else(|| {
                        format!(
                            "content coding {:?} is not accepted for a request body",
                            String::from_utf8_lossy(token)
                        )
                    }),
            }
        };
        let coding =
            chosen.map_err(|why| Error::with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE, why))?;
        if let Some(coding) = coding {
            self.decoding = Some(body::BodyDecoding::Pending(coding));
        }
        Ok(coding)
    }

    /// Moves the body out of the request, for a reader that outlives the borrow of the
    /// request (a handler's body-stream argument). The connection still sees how far it was
    /// read, to drain the rest (or close) after the response.
    pub fn take_body(&mut self) -> RequestBody {
        RequestBody::new(
            self.conn.clone(),
            self.seq,
            #[cfg(coding)]
            self.decoding.take(),
        )
    }

    /// The whole body (up to the limit).
    ///
    /// # Errors
    ///
    /// As [`read_chunk`](Request::read_chunk).
    pub async fn read_to_end(&mut self) -> Result<Bytes> {
        let first = match self.read_chunk().await? {
            None => return Ok(Bytes::new()),
            Some(first) => first,
        };
        let Some(second) = self.read_chunk().await? else {
            return Ok(first);
        };
        let mut all = BytesMut::with_capacity(
            self.content_length()
                .map_or(2 * first.len() + second.len(), |n| n as usize),
        );
        all.extend_from_slice(&first);
        all.extend_from_slice(&second);
        while let Some(chunk) = self.read_chunk().await? {
            all.extend_from_slice(&chunk);
        }
        Ok(all.freeze())
    }

    /// The bytes of the head, which every accessor slices.
    pub(crate) fn head_bytes(&self) -> &Bytes {
        &self.head_bytes
    }

    /// Gives back the parsed head (its field list keeps its capacity for the next request).
    pub(crate) fn into_head(self) -> RequestHead {
        self.head
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &String::from_utf8_lossy(self.method_bytes()))
            .field("target", &String::from_utf8_lossy(self.target()))
            .field("version", &self.version())
            .field("peer", &self.peer_addr())
            .finish_non_exhaustive()
    }
}

/// The transport of a request built from parts: its body is all in the receive buffer
/// already, so a receive is the end of the stream, and nothing is ever written.
struct NoPeer;

impl Transport for NoPeer {
    type Chunk = Bytes;

    fn recv(&self) -> impl Future<Output = io::Result<Bytes>> {
        ready(Ok(Bytes::new()))
    }

    fn send_all(&self, mut buf: BytesMut) -> impl Future<Output = BufResult<(), BytesMut>> {
        buf.clear();
        ready((Ok(()), buf))
    }

    fn shutdown_write(&self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::block_on;
    use crate::http::StatusCode;

    #[test]
    fn from_parts_reads_a_length_body() {
        block_on(async {
            let mut req = Request::from_parts("PUT", "/a", &[], "0123456789").unwrap();
            assert_eq!(req.content_length(), Some(10));
            assert_eq!(req.read_to_end().await.unwrap(), "0123456789");
            assert!(req.read_chunk().await.unwrap().is_none());
        });
    }

    #[test]
    fn from_parts_decodes_a_chunked_body() {
        block_on(async {
            let mut req = Request::from_parts(
                "POST",
                "/c",
                &[("Transfer-Encoding", "chunked")],
                "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
            )
            .unwrap();
            assert!(req.is_chunked());
            assert_eq!(req.read_chunk().await.unwrap().unwrap(), "hello");
            assert_eq!(req.read_chunk().await.unwrap().unwrap(), " world");
            assert!(req.read_chunk().await.unwrap().is_none());
        });
    }

    #[test]
    fn a_declared_length_over_the_limit_is_413_before_reading() {
        block_on(async {
            let mut req = Request::from_parts("POST", "/", &[], vec![b'x'; 100]).unwrap();
            req.set_body_limit(10);
            let err = req.read_chunk().await.unwrap_err();
            assert_eq!(err.status(), Some(StatusCode::CONTENT_TOO_LARGE));
        });
    }

    #[test]
    fn a_chunked_body_over_the_limit_is_413() {
        block_on(async {
            let mut req = Request::from_parts(
                "POST",
                "/",
                &[("Transfer-Encoding", "chunked")],
                "a\r\n0123456789\r\n0\r\n\r\n",
            )
            .unwrap();
            req.set_body_limit(5);
            let err = req.read_to_end().await.unwrap_err();
            assert_eq!(err.status(), Some(StatusCode::CONTENT_TOO_LARGE));
        });
    }

    #[test]
    fn a_body_cut_short_is_400() {
        block_on(async {
            let mut req =
                Request::from_parts("POST", "/", &[("Content-Length", "10")], "short").unwrap();
            let err = req.read_to_end().await.unwrap_err();
            assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
        });
    }

    #[test]
    fn from_parts_applies_the_parser_rules() {
        let err = Request::from_parts("GET", "/", &[("Bad Name", "x")], "").unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
    }
}
