//! Response encoding: a [`Response`]'s head, and its body when it is bytes, appended to an
//! output buffer; chunked framing for streamed bodies. Pure code over [`BytesMut`], no socket.
//!
//! [`send_response`] writes, in this order: the status line, `Server` (the configured one,
//! unless the response has its own), `Date`, the response's fields in order, the framing field,
//! `Connection`, the empty line, and the body when it is bytes. The response's version is
//! always `HTTP/1.1`: a server sends its own version, whatever the request's (RFC 9110 §2.5).
//! The framing and connection fields are the encoder's alone ([`super::HeaderList`] refuses
//! them), decided by this table:
//!
//! | response | HTTP/1.1 | HTTP/1.0 | HEAD request |
//! |---|---|---|---|
//! | 1xx, 204, 304 | no content, no framing field | same | same |
//! | 205 | `Content-Length: 0`, body dropped | same | same, nothing after the head |
//! | `Empty`/`Bytes`/`Static` body | `Content-Length: n`, body | same | same field, no body |
//! | `Stream` body | `Transfer-Encoding: chunked` | no framing field, close after the body | framing field as for GET, nothing after the head |
//! | `SizedStream` body | `Content-Length: n`, the stream's pieces | same | same field, nothing after the head |
//!
//! and for `Connection` (RFC 9112 §9.3, §9.6):
//!
//! | case | `Connection` |
//! |---|---|
//! | 1xx | none (`upgrade` if the response has `Upgrade`): the final response decides |
//! | the connection closes after this response | `close` |
//! | HTTP/1.0 and the connection stays open | `keep-alive` (1.0 closes by default) |
//! | HTTP/1.1 and the connection stays open | none (1.1 persists by default) |
//! | the response has an `Upgrade` field | the above plus `upgrade` (RFC 9110 §7.8) |
//!
//! A response with a body that its status forbids (204 with bytes, 304 with a stream) is sent
//! without it: RFC 9110 §6.4.1 makes the status win. The caller drops an unused stream. Not
//! sending a 1xx to an HTTP/1.0 client (RFC 9110 §15.2) is the caller's check, as is treating
//! a 1xx as interim: its [`Framing::keep_alive_after`] only echoes the context.
//!
//! The per-response path allocates nothing beyond growing `out`, once: the head's exact length
//! is computed first (a debug assertion checks it), then reserved, then written with
//! `put_slice`. Numbers go through stack buffers.

use bytes::{BufMut, BytesMut};

use super::date::DATE_VALUE_LENGTH;
use super::parse::Version;
use super::response::{Body, HeaderList, Response};
use super::status::StatusCode;

/// What [`send_response`] needs to know about the request and the connection.
///
/// # Examples
///
/// ```
/// use nanoapi::http::{ResponseContext, Version, http_date};
///
/// let date = http_date();
/// let ctx = ResponseContext {
///     version: Version::Http11,
///     keep_alive: true,
///     head_request: false,
///     date: &date,
///     server: Some(&b"nanoapi"[..]),
/// };
/// # let _ = ctx;
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ResponseContext<'a> {
    /// The request's version; decides the framing of streams and the `Connection` line.
    pub version: Version,
    /// Whether the server means to keep the connection open after this response (the
    /// request's wish, the server's limits, shutdown). The encoder may still close: see
    /// [`Framing::keep_alive_after`].
    pub keep_alive: bool,
    /// Whether the request was `HEAD`: the same head as for `GET`, no content.
    pub head_request: bool,
    /// The `Date` value, from [`super::http_date`].
    pub date: &'a [u8; DATE_VALUE_LENGTH],
    /// The `Server` value, or `None` to send no `Server` line. Written as given: it must be a
    /// valid field value (no control characters, no surrounding whitespace), checked once
    /// where it is configured.
    pub server: Option<&'a [u8]>,
}

/// How a response was framed: what, if anything, the caller still has to write, and whether
/// the connection may carry another request afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Framing {
    /// What follows the head on the wire.
    pub kind: FramingKind,
    /// Whether the connection stays open after this response: the context's `keep_alive`,
    /// unless the framing needs the close to end the body.
    pub keep_alive_after: bool,
}

/// What follows a response head on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramingKind {
    /// Nothing: a 1xx, 204 or 304, or the answer to a HEAD request. A stream body, if any, is
    /// not polled.
    None,
    /// `n` bytes of content, already appended to the buffer after the head.
    Length(u64),
    /// A chunked body (HTTP/1.1 stream): the caller writes each piece with [`encode_chunk`],
    /// then [`encode_last_chunk`].
    Chunked,
    /// A close-delimited body (HTTP/1.0 stream): the caller writes the pieces as they are,
    /// then closes the connection.
    CloseDelimited,
    /// `n` bytes of a [`Body::SizedStream`], declared by `Content-Length`: the caller writes
    /// the pieces as they are and must write exactly `n` bytes (or close the connection).
    SizedStream(u64),
}

impl Framing {
    /// Whether the caller has a stream to poll and write ([`FramingKind::Chunked`],
    /// [`FramingKind::CloseDelimited`] or [`FramingKind::SizedStream`]).
    pub fn streams_body(&self) -> bool {
        matches!(
            self.kind,
            FramingKind::Chunked | FramingKind::CloseDelimited | FramingKind::SizedStream(_)
        )
    }
}

/// Appends the response's head, and its body unless it is a stream, to `out`; returns how the
/// response is framed.
///
/// See the module documentation for the order of the lines and the framing rules.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nanoapi::http::{
///     Framing, FramingKind, Response, ResponseContext, StatusCode, Version, send_response,
/// };
///
/// let date = *b"Sun, 06 Nov 1994 08:49:37 GMT";
/// let ctx = ResponseContext {
///     version: Version::Http11,
///     keep_alive: true,
///     head_request: false,
///     date: &date,
///     server: None,
/// };
/// let mut out = BytesMut::new();
/// let framing = send_response(&Response::text(StatusCode::OK, "hi"), &ctx, &mut out);
/// assert_eq!(
///     &out[..],
///     b"HTTP/1.1 200 OK\r\n\
///       Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
///       Content-Type: text/plain; charset=utf-8\r\n\
///       Content-Length: 2\r\n\
///       \r\n\
///       hi"
/// );
/// assert_eq!(framing, Framing { kind: FramingKind::Length(2), keep_alive_after: true });
/// ```
pub fn send_response(resp: &Response, ctx: &ResponseContext<'_>, out: &mut BytesMut) -> Framing {
    let status = resp.status();
    let headers = resp.headers();
    let plan = Plan::new(status, resp.body(), headers, ctx);
    let reason = status.reason().unwrap_or("").as_bytes();
    let server = if headers.has_server() {
        None
    } else {
        ctx.server
    };
    let mut length_digits = [0; MAX_DECIMAL_LEN];
    let length_digits = match plan.declared {
        Declared::Length(n) => decimal(&mut length_digits, n),
        Declared::Nothing | Declared::Chunked => &[][..],
    };

    // Count, reserve once, then copy: `out` grows at most once per response.
    let head_len = STATUS_LINE_PREFIX.len()
        + reason.len()
        + 2
        + server.map_or(0, |s| SERVER.len() + s.len() + 2)
        + DATE.len()
        + DATE_VALUE_LENGTH
        + 2
        + headers
            .iter()
            .map(|(name, value)| name.len() + 2 + value.len() + 2)
            .sum::<usize>()
        + plan.declared.field_len(length_digits)
        + plan.connection.len()
        + 2;
    let start = out.len();
    out.reserve(head_len + plan.body.len());

    if status == StatusCode::OK {
        out.put_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        let mut line = *STATUS_LINE_PREFIX;
        line[9..12].copy_from_slice(&status.digits());
        out.put_slice(&line);
        out.put_slice(reason);
        out.put_slice(b"\r\n");
    }
    if let Some(server) = server {
        out.put_slice(SERVER);
        out.put_slice(server);
        out.put_slice(b"\r\n");
    }
    out.put_slice(DATE);
    out.put_slice(ctx.date);
    out.put_slice(b"\r\n");
    for (name, value) in headers {
        out.put_slice(name);
        out.put_slice(b": ");
        out.put_slice(value);
        out.put_slice(b"\r\n");
    }
    match plan.declared {
        Declared::Nothing => {}
        Declared::Length(_) => {
            out.put_slice(CONTENT_LENGTH);
            out.put_slice(length_digits);
            out.put_slice(b"\r\n");
        }
        Declared::Chunked => out.put_slice(TRANSFER_ENCODING_CHUNKED),
    }
    out.put_slice(plan.connection);
    out.put_slice(b"\r\n");
    debug_assert_eq!(out.len() - start, head_len, "head length miscounted");
    out.put_slice(plan.body);

    Framing {
        kind: plan.kind,
        keep_alive_after: plan.keep_alive_after,
    }
}

/// How HTTP/2 frames `resp`: the `content-length` to declare, if any, and what follows the
/// head (the same decisions as [`send_response`] for an HTTP/1.1 keep-alive exchange; a body of
/// unknown length is `Chunked`, which HTTP/2 sends as plain DATA frames).
#[cfg(feature = "http2")]
pub(crate) fn http2_framing(resp: &Response, head_request: bool) -> (Option<u64>, FramingKind) {
    let ctx = ResponseContext {
        version: Version::Http11,
        keep_alive: true,
        head_request,
        date: &[0; DATE_VALUE_LENGTH],
        server: None,
    };
    let plan = Plan::new(resp.status(), resp.body(), resp.headers(), &ctx);
    let length = match plan.declared {
        Declared::Length(n) => Some(n),
        Declared::Nothing | Declared::Chunked => None,
    };
    (length, plan.kind)
}

/// Whether a `200 application/json` response to this request can go through
/// [`send_fast_json_bytes`]: HTTP/1.1, keep-alive, not `HEAD`. The response must also have no
/// header field besides its `Content-Type`, which the caller knows from where the response
/// comes from (a handler that returned JSON), not from this function.
///
/// # Examples
///
/// ```
/// use nanoapi::http::{ResponseContext, StatusCode, Version, can_use_fast_json_bytes};
///
/// let date = *b"Sun, 06 Nov 1994 08:49:37 GMT";
/// let mut ctx = ResponseContext {
///     version: Version::Http11,
///     keep_alive: true,
///     head_request: false,
///     date: &date,
///     server: None,
/// };
/// assert!(can_use_fast_json_bytes(StatusCode::OK, &ctx));
/// assert!(!can_use_fast_json_bytes(StatusCode::CREATED, &ctx));
/// ctx.head_request = true;
/// assert!(!can_use_fast_json_bytes(StatusCode::OK, &ctx));
/// ```
pub fn can_use_fast_json_bytes(status: StatusCode, ctx: &ResponseContext<'_>) -> bool {
    status == StatusCode::OK
        && ctx.version == Version::Http11
        && ctx.keep_alive
        && !ctx.head_request
}

/// Appends a complete `200 OK` `application/json` response with `body` as its content: the
/// bytes [`send_response`] writes for `Response::json_bytes(StatusCode::OK, body)`, in one
/// reservation and seven copies, without building a [`Response`].
///
/// Call it only where [`can_use_fast_json_bytes`] holds; the framing is then always
/// `Length(body.len())` with the connection kept open.
///
/// # Examples
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use nanoapi::http::{
///     Response, ResponseContext, StatusCode, Version, send_fast_json_bytes, send_response,
/// };
///
/// let date = *b"Sun, 06 Nov 1994 08:49:37 GMT";
/// let ctx = ResponseContext {
///     version: Version::Http11,
///     keep_alive: true,
///     head_request: false,
///     date: &date,
///     server: Some(&b"nanoapi"[..]),
/// };
/// let (mut fast, mut slow) = (BytesMut::new(), BytesMut::new());
/// send_fast_json_bytes(br#"{"ok":true}"#, &ctx, &mut fast);
/// let resp = Response::json_bytes(StatusCode::OK, Bytes::from_static(br#"{"ok":true}"#));
/// send_response(&resp, &ctx, &mut slow);
/// assert_eq!(fast, slow);
/// ```
pub fn send_fast_json_bytes(body: &[u8], ctx: &ResponseContext<'_>, out: &mut BytesMut) {
    debug_assert!(
        can_use_fast_json_bytes(StatusCode::OK, ctx),
        "fast JSON path outside its conditions"
    );
    let mut length_digits = [0; MAX_DECIMAL_LEN];
    let length_digits = decimal(&mut length_digits, body.len() as u64);
    let server_len = ctx.server.map_or(0, |s| SERVER.len() + s.len() + 2);
    let len = JSON_OK_DATE.len()
        + server_len
        + DATE_VALUE_LENGTH
        + JSON_AFTER_DATE.len()
        + length_digits.len()
        + 4
        + body.len();
    out.reserve(len);
    match ctx.server {
        None => out.put_slice(JSON_OK_DATE),
        Some(server) => {
            out.put_slice(JSON_OK_SERVER);
            out.put_slice(server);
            out.put_slice(JSON_SERVER_DATE);
        }
    }
    out.put_slice(ctx.date);
    out.put_slice(JSON_AFTER_DATE);
    out.put_slice(length_digits);
    out.put_slice(b"\r\n\r\n");
    out.put_slice(body);
}

/// Appends one chunk of a chunked body: the size in hex, CRLF, the data, CRLF
/// (RFC 9112 §7.1). Appends nothing for empty data, which would read as the last chunk.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nanoapi::http::{encode_chunk, encode_last_chunk};
///
/// let mut out = BytesMut::new();
/// encode_chunk(&mut out, b"hello, world");
/// encode_chunk(&mut out, b"");
/// encode_last_chunk(&mut out);
/// assert_eq!(&out[..], b"c\r\nhello, world\r\n0\r\n\r\n");
/// ```
pub fn encode_chunk(out: &mut BytesMut, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let header = ChunkHeader::new(data.len() as u64);
    out.reserve(header.as_bytes().len() + data.len() + 2);
    out.put_slice(header.as_bytes());
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

/// Appends the last chunk and the empty trailer section, `0\r\n\r\n`, which end a chunked
/// body.
pub fn encode_last_chunk(out: &mut BytesMut) {
    out.put_slice(b"0\r\n\r\n");
}

/// Appends the last chunk and a trailer section with `trailers` (checked as header fields
/// when they were added to the list).
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nanoapi::http::{HeaderList, encode_last_chunk_with_trailers};
///
/// let mut trailers = HeaderList::new();
/// trailers.append("grpc-status", "0").unwrap();
/// let mut out = BytesMut::new();
/// encode_last_chunk_with_trailers(&mut out, &trailers);
/// assert_eq!(&out[..], b"0\r\ngrpc-status: 0\r\n\r\n");
/// ```
pub fn encode_last_chunk_with_trailers(out: &mut BytesMut, trailers: &HeaderList) {
    out.put_slice(b"0\r\n");
    for (name, value) in trailers {
        out.reserve(name.len() + value.len() + 4);
        out.put_slice(name);
        out.put_slice(b": ");
        out.put_slice(value);
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"\r\n");
}

/// The line that opens a chunk of `len` bytes, `<hex>\r\n`, on the stack: for a caller that
/// sends large chunks with vectored writes (size line, data, CRLF) instead of copying the
/// data with [`encode_chunk`].
///
/// # Examples
///
/// ```
/// use nanoapi::http::ChunkHeader;
///
/// assert_eq!(ChunkHeader::new(4096).as_bytes(), b"1000\r\n");
/// assert_eq!(ChunkHeader::new(u64::MAX).as_bytes(), b"ffffffffffffffff\r\n");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ChunkHeader {
    /// Up to 16 hex digits (a `u64`) and CRLF, right-aligned.
    buf: [u8; 18],
    /// Where the digits start in `buf`.
    start: u8,
}

impl ChunkHeader {
    /// The size line of a chunk of `len` bytes; `len` should not be 0 (that is the last chunk).
    pub fn new(len: u64) -> ChunkHeader {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0; 18];
        buf[16..].copy_from_slice(b"\r\n");
        let mut at = 16;
        let mut n = len;
        loop {
            at -= 1;
            buf[at] = HEX[(n & 0xf) as usize];
            n >>= 4;
            if n == 0 {
                break;
            }
        }
        ChunkHeader {
            buf,
            start: at as u8,
        }
    }

    /// The size line, CRLF included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[usize::from(self.start)..]
    }
}

/// Appends `n` in decimal, without allocating: two digits per division, from a table.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nanoapi::http::append_decimal;
///
/// let mut out = BytesMut::new();
/// append_decimal(&mut out, 0);
/// out.extend_from_slice(b" ");
/// append_decimal(&mut out, u64::MAX);
/// assert_eq!(&out[..], b"0 18446744073709551615");
/// ```
pub fn append_decimal(out: &mut BytesMut, n: u64) {
    let mut buf = [0; MAX_DECIMAL_LEN];
    out.put_slice(decimal(&mut buf, n));
}

/// `u64::MAX` is 18446744073709551615: 20 digits.
const MAX_DECIMAL_LEN: usize = 20;

/// `"00" "01" … "99"`: the two digits of every number below 100.
static DIGIT_PAIRS: [u8; 200] = digit_pairs();

const fn digit_pairs() -> [u8; 200] {
    let mut table = [0; 200];
    let mut i = 0;
    while i < 100 {
        table[2 * i] = b'0' + (i / 10) as u8;
        table[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    table
}

/// Writes `n` in decimal at the end of `buf` and returns the digits.
#[inline]
fn decimal(buf: &mut [u8; MAX_DECIMAL_LEN], mut n: u64) -> &[u8] {
    let mut at = MAX_DECIMAL_LEN;
    // At most nine rounds: 20 digits leave two for the tail.
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + n as u8;
    }
    &buf[at..]
}

/// `HTTP/1.1 ` and room for the three digits and the space before the reason.
const STATUS_LINE_PREFIX: &[u8; 13] = b"HTTP/1.1 000 ";
const SERVER: &[u8] = b"Server: ";
const DATE: &[u8] = b"Date: ";
const CONTENT_LENGTH: &[u8] = b"Content-Length: ";
const TRANSFER_ENCODING_CHUNKED: &[u8] = b"Transfer-Encoding: chunked\r\n";

/// The fast JSON head around the server and the date; the same lines `send_response` writes
/// for `Response::json_bytes` (the `Content-Type` value is `response::APPLICATION_JSON`,
/// which `encode/tests.rs` checks).
const JSON_OK_DATE: &[u8] = b"HTTP/1.1 200 OK\r\nDate: ";
const JSON_OK_SERVER: &[u8] = b"HTTP/1.1 200 OK\r\nServer: ";
const JSON_SERVER_DATE: &[u8] = b"\r\nDate: ";
const JSON_AFTER_DATE: &[u8] = b"\r\nContent-Type: application/json\r\nContent-Length: ";

/// Every framing decision of one response, made before a byte is written.
struct Plan<'r> {
    /// The framing field.
    declared: Declared,
    /// What follows the head.
    kind: FramingKind,
    /// The content written after the head: empty unless `kind` is `Length`.
    body: &'r [u8],
    /// The whole `Connection` line, or empty.
    connection: &'static [u8],
    keep_alive_after: bool,
}

/// The framing field of a head.
#[derive(Clone, Copy)]
enum Declared {
    Nothing,
    Length(u64),
    Chunked,
}

impl Declared {
    /// The length of the field's line, given the digits of a `Length`.
    fn field_len(self, length_digits: &[u8]) -> usize {
        match self {
            Declared::Nothing => 0,
            Declared::Length(_) => CONTENT_LENGTH.len() + length_digits.len() + 2,
            Declared::Chunked => TRANSFER_ENCODING_CHUNKED.len(),
        }
    }
}

impl<'r> Plan<'r> {
    fn new(
        status: StatusCode,
        body: &'r Body,
        headers: &HeaderList,
        ctx: &ResponseContext<'_>,
    ) -> Plan<'r> {
        let head = ctx.head_request;
        let (declared, kind, content): (_, _, &[u8]) = if !status.allows_body() {
            // RFC 9110 §8.6 and RFC 9112 §6.3: 1xx, 204 and 304 never have content, and a
            // server sends no Content-Length with 1xx or 204 (with 304 it may, but need not).
            (Declared::Nothing, FramingKind::None, &[])
        } else if status == StatusCode::RESET_CONTENT {
            // RFC 9110 §15.3.6: a 205 carries no content, said with `Content-Length: 0`.
            let kind = if head {
                FramingKind::None
            } else {
                FramingKind::Length(0)
            };
            (Declared::Length(0), kind, &[])
        } else {
            let sized = match body {
                Body::SizedStream { len, .. } => Some(*len),
                _ => None,
            };
            match (body.as_slice(), sized) {
                (Some(content), _) => {
                    let n = content.len() as u64;
                    if head {
                        (Declared::Length(n), FramingKind::None, &[])
                    } else {
                        (Declared::Length(n), FramingKind::Length(n), content)
                    }
                }
                // A stream of known length needs no chunking, on either version.
                (None, Some(len)) => {
                    let kind = if head {
                        FramingKind::None
                    } else {
                        FramingKind::SizedStream(len)
                    };
                    (Declared::Length(len), kind, &[])
                }
                (None, None) if ctx.version == Version::Http11 => {
                    // RFC 9112 §6.1: a HEAD response may carry the Transfer-Encoding a GET
                    // would have had.
                    let kind = if head {
                        FramingKind::None
                    } else {
                        FramingKind::Chunked
                    };
                    (Declared::Chunked, kind, &[])
                }
                // HTTP/1.0 has no chunked coding (RFC 9112 §6.1: "A server MUST NOT send a
                // response containing Transfer-Encoding unless the corresponding request
                // indicates HTTP/1.1"): the close ends the body (§6.3 rule 8).
                (None, None) if head => (Declared::Nothing, FramingKind::None, &[]),
                (None, None) => (Declared::Nothing, FramingKind::CloseDelimited, &[]),
            }
        };
        let keep_alive_after = ctx.keep_alive && kind != FramingKind::CloseDelimited;
        let upgrade = headers.has_upgrade();
        let connection: &'static [u8] = if status.is_informational() {
            // An interim response leaves persistence to the final one; a 101 names the
            // upgrade it switches to.
            if upgrade {
                b"Connection: upgrade\r\n"
            } else {
                b""
            }
        } else {
            match (keep_alive_after, ctx.version, upgrade) {
                (false, _, false) => b"Connection: close\r\n",
                (false, _, true) => b"Connection: close, upgrade\r\n",
                (true, Version::Http10, false) => b"Connection: keep-alive\r\n",
                (true, Version::Http10, true) => b"Connection: keep-alive, upgrade\r\n",
                (true, Version::Http11, false) => b"",
                (true, Version::Http11, true) => b"Connection: upgrade\r\n",
            }
        };
        Plan {
            declared,
            kind,
            body: content,
            connection,
            keep_alive_after,
        }
    }
}

#[cfg(test)]
mod tests;
