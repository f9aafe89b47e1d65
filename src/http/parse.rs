//! The request-head parser: request line and header section of an HTTP/1.x request
//! (RFC 9112 §2–§6), zero-copy and strict.
//!
//! [`RequestHead`] stores offsets into the caller's buffer, not bytes: every accessor takes that
//! buffer back. Parsing is one pass over the bytes with the byte classes of `chars.rs`; it
//! allocates nothing per field ([`RequestHead::parse_into`] allocates nothing at all once its
//! header list has grown to the request's field count), validates no UTF-8 and uses no
//! `unsafe`. Field values are checked 8 and 16 bytes at a time, and the handful of field names
//! and values in nearly every request (`Host`, `Accept`, `Connection: keep-alive`, …) are
//! matched as words; `benches/parse/README.md` has the instruction counts against httparse.
//!
//! Besides syntax, the parser decides the message's framing (RFC 9112 §6.3) and connection
//! semantics while it reads, and rejects every head whose framing is ambiguous. The policy, with
//! the status each rejection maps to:
//!
//! | input | result |
//! |---|---|
//! | bytes so far are a valid prefix | `Ok(Partial)` (the limits below still apply) |
//! | request-target longer than [`Limits::max_target`] | 414 |
//! | head longer than [`Limits::max_head`], more than [`Limits::max_headers`] fields | 431 |
//! | `Content-Length` and `Transfer-Encoding` together | 400 |
//! | `Content-Length` not `1*DIGIT`, overflowing `u64`, or differing duplicates | 400 |
//! | `Transfer-Encoding` on HTTP/1.0, `chunked` not last, `chunked` twice, empty elements | 400 |
//! | a transfer coding other than `chunked` before a final `chunked` | 501 |
//! | whitespace before `:`, obs-fold, CTLs in values, non-token names or methods | 400 |
//! | no `Host` on HTTP/1.1, two `Host` lines, an invalid `Host` | 400 |
//! | `HTTP/` version with a major other than 1 (including `PRI * HTTP/2.0`) | 505 |
//! | `CONNECT` | 501 |
//! | `Expect` other than `100-continue` (HTTP/1.1) | 417 |
//! | a bare CR or a bare LF as a line ending | 400 |
//!
//! Decisions where RFC 9112 leaves a choice:
//!
//! - **Bare LF is rejected** (400). RFC 9112 §2.2 lets a recipient accept LF alone as a line
//!   terminator but does not require it. Every client we serve sends CRLF, and a server that
//!   splits lines differently from a proxy in front of it is exactly how requests get
//!   smuggled, so the strict reading wins. A bare CR is always rejected (§2.2 MUST).
//! - **Up to [`MAX_EMPTY_LINES`] empty lines (CRLF) before the request line are skipped**
//!   (§2.2 SHOULD ignore at least one); they count in the returned head length.
//! - **`PRI * HTTP/2.0` (the HTTP/2 preface) gets 505**: the version is read before the
//!   asterisk-form check, so an h2 prior-knowledge client hears "version not supported", which
//!   is the truth; RFC 9113 §3.3 expects an HTTP/1.1 server to refuse the preface.
//! - **`CONNECT` gets 501** (RFC 9110 §15.6.2: the server does not support the method for any
//!   resource). A server that does not proxy cannot honour it, and 405 would oblige an `Allow`
//!   listing for a method no resource supports.
//! - **HTTP/1.x with x > 1 is read as HTTP/1.1** (RFC 9110 §2.5: process as the highest minor
//!   version implemented).

use std::fmt;

use super::chars::{self, PATH, QUERY, TOKEN, eq_ignore_case};

/// How many empty lines (CRLF) before a request line are skipped; one more is a 400.
///
/// RFC 9112 §2.2 asks a server to ignore at least one: old clients sent an extra CRLF after a
/// POST body. Eight covers any honest client; more is noise a peer is sending on purpose.
pub const MAX_EMPTY_LINES: usize = 8;

/// Size limits applied while a head is parsed, also to incomplete heads.
///
/// Non-exhaustive, so that a new field is not a breaking change: start from `default()` and set
/// the fields you need.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest request-target in octets (default 8 KiB); longer is 414. RFC 9112 §3 asks for
    /// at least 8,000 octets.
    pub max_target: usize,
    /// Longest head in octets, from the first byte (leading empty lines included) through the
    /// final CRLF CRLF (default 16 KiB); longer is 431.
    pub max_head: usize,
    /// Most header fields (default 100); more is 431.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_target: 8 * 1024,
            max_head: 16 * 1024,
            max_headers: 100,
        }
    }
}

/// The outcome of a parse that did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status<T> {
    /// The bytes are a valid prefix of a head: read more and parse again from the start.
    Partial,
    /// A whole head was parsed.
    Complete(T),
}

/// A request method (RFC 9110 §9). Methods are case-sensitive: `get` is an extension method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`.
    Head,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
    /// `CONNECT`. The parser refuses it (501), so a parsed head never holds it.
    Connect,
    /// `OPTIONS`.
    Options,
    /// `TRACE`.
    Trace,
    /// `PATCH` (RFC 5789).
    Patch,
    /// Any other method token; the span locates it in the request buffer.
    Other(Span),
}

impl Method {
    /// The method's name, or `None` for an extension method (read it with
    /// [`RequestHead::method_bytes`]).
    pub fn as_str(self) -> Option<&'static str> {
        Some(match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Connect => "CONNECT",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Patch => "PATCH",
            Method::Other(_) => return None,
        })
    }

    fn from_token(token: &[u8], span: Span) -> Method {
        match token {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"CONNECT" => Method::Connect,
            b"OPTIONS" => Method::Options,
            b"TRACE" => Method::Trace,
            b"PATCH" => Method::Patch,
            _ => Method::Other(span),
        }
    }
}

/// The protocol version of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// `HTTP/1.0`.
    Http10,
    /// `HTTP/1.1` (and `HTTP/1.2`–`HTTP/1.9`, read as 1.1 per RFC 9110 §2.5).
    Http11,
}

/// How the request's body is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BodyFraming {
    /// Neither `Content-Length` nor `Transfer-Encoding`: the request has no body (§6.3 rule 7).
    None,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`; decode with [`super::chunked::ChunkedDecoder`].
    Chunked,
}

/// The form of the request-target (RFC 9112 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TargetForm {
    /// `/path?query`.
    Origin,
    /// `http://authority/path?query` (scheme `http` or `https`, any case).
    Absolute,
    /// `*`, only with `OPTIONS`.
    Asterisk,
}

/// A range of a request buffer: where a method, target or field sits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    start: u32,
    len: u32,
}

impl Span {
    /// The offset of the first byte.
    pub fn start(self) -> usize {
        self.start as usize
    }

    /// The length in bytes.
    pub fn len(self) -> usize {
        self.len as usize
    }

    /// Whether the span is empty.
    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    /// The bytes of `buf` the span covers, or an empty slice if `buf` is too short (a span is
    /// only meaningful for the buffer it was parsed from).
    pub fn get(self, buf: &[u8]) -> &[u8] {
        let start = self.start as usize;
        buf.get(start..start + self.len as usize)
            .unwrap_or_default()
    }

    /// Spans are built from offsets below the head limit, which `parse_into` clamps to
    /// `u32::MAX`, so the casts cannot truncate.
    fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            len: (end - start) as u32,
        }
    }
}

/// One header field line: the name and the value with surrounding whitespace removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Field {
    name: Span,
    value: Span,
}

/// A parsed request head: offsets into the buffer it was parsed from.
///
/// Every accessor that returns bytes takes that buffer; given another buffer it returns
/// meaningless bytes (never a panic). After `Partial` or an error, the contents are
/// unspecified.
///
/// # Examples
///
/// ```
/// use nanoapi::http::parse::{BodyFraming, Limits, Method, RequestHead, Status};
///
/// let buf = b"POST /items?page=2 HTTP/1.1\r\nHost: example.com\r\n\
///             Content-Length: 5\r\n\r\nhello";
/// let mut head = RequestHead::new();
/// let Ok(Status::Complete(len)) = head.parse_into(buf, &Limits::default()) else { panic!() };
/// assert_eq!(head.method(), Method::Post);
/// assert_eq!(head.path(buf), b"/items");
/// assert_eq!(head.query(buf), Some(&b"page=2"[..]));
/// assert_eq!(head.header(buf, b"host"), Some(&b"example.com"[..]));
/// assert_eq!(head.framing(), BodyFraming::Length(5));
/// assert_eq!(&buf[len..], b"hello");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    method: Method,
    target: Span,
    path: Span,
    query: Option<Span>,
    authority: Option<Span>,
    form: TargetForm,
    version: Version,
    fields: Vec<Field>,
    framing: BodyFraming,
    keep_alive: bool,
    expect_continue: bool,
    upgrade: bool,
    len: u32,
}

impl Default for RequestHead {
    fn default() -> RequestHead {
        RequestHead::new()
    }
}

/// Parses a request head at the start of `buf`.
///
/// Allocates the head's field list; on a hot path, keep one [`RequestHead`] per connection and
/// call [`RequestHead::parse_into`], which reuses it. The head's length (where the body or the
/// next pipelined request starts) is [`RequestHead::len`].
///
/// # Errors
///
/// A [`ParseError`] when the bytes cannot start a valid head or break a [`Limits`] bound, even
/// if the head is incomplete; [`ParseError::status`] gives the response status.
///
/// # Examples
///
/// ```
/// use nanoapi::http::parse::{parse_request_head, Limits, ParseError, Status};
///
/// let limits = Limits::default();
/// assert_eq!(parse_request_head(b"GET / HTTP/1.1\r\nHost: a\r\n", &limits), Ok(Status::Partial));
/// let Ok(Status::Complete(head)) =
///     parse_request_head(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &limits) else { panic!() };
/// assert_eq!(head.len(), 27);
/// let err = parse_request_head(b"GET / HTTP/2.0\r\n", &limits).unwrap_err();
/// assert_eq!((err, err.status()), (ParseError::VersionNotSupported, 505));
/// ```
pub fn parse_request_head(buf: &[u8], limits: &Limits) -> Result<Status<RequestHead>, ParseError> {
    let mut head = RequestHead::with_capacity(16);
    Ok(match head.parse_into(buf, limits)? {
        Status::Partial => Status::Partial,
        Status::Complete(_) => Status::Complete(head),
    })
}

impl RequestHead {
    /// An empty head to parse into.
    pub const fn new() -> RequestHead {
        RequestHead {
            method: Method::Get,
            target: Span { start: 0, len: 0 },
            path: Span { start: 0, len: 0 },
            query: None,
            authority: None,
            form: TargetForm::Origin,
            version: Version::Http11,
            fields: Vec::new(),
            framing: BodyFraming::None,
            keep_alive: false,
            expect_continue: false,
            upgrade: false,
            len: 0,
        }
    }

    /// An empty head with room for `fields` header fields before its list grows.
    pub fn with_capacity(fields: usize) -> RequestHead {
        RequestHead {
            fields: Vec::with_capacity(fields),
            ..RequestHead::new()
        }
    }

    /// Parses the head at the start of `buf` into `self`, reusing its field list (no allocation
    /// once the list has room for the request's fields).
    ///
    /// Returns the head's length including the final CRLF CRLF: the body, or the next
    /// pipelined request, starts at `buf[len..]`.
    ///
    /// # Errors
    ///
    /// As [`parse_request_head`].
    ///
    /// # Examples
    ///
    /// Two pipelined requests in one buffer:
    ///
    /// ```
    /// use nanoapi::http::parse::{Limits, RequestHead, Status};
    ///
    /// let buf = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    /// let (mut head, limits) = (RequestHead::new(), Limits::default());
    /// let Ok(Status::Complete(first)) = head.parse_into(buf, &limits) else { panic!() };
    /// assert_eq!(head.path(buf), b"/a");
    /// let rest = &buf[first..];
    /// let Ok(Status::Complete(second)) = head.parse_into(rest, &limits) else { panic!() };
    /// assert_eq!((head.path(rest), first + second), (&b"/b"[..], buf.len()));
    /// ```
    pub fn parse_into(&mut self, buf: &[u8], limits: &Limits) -> Result<Status<usize>, ParseError> {
        // Offsets are stored as u32, so no head may be longer than u32::MAX whatever the limit.
        let max_head = limits.max_head.min(u32::MAX as usize);
        // Parse only the first `max_head` bytes: a head that does not end inside them is too
        // large however many more bytes arrive, and pipelined requests past it are not ours.
        let window = buf.get(..max_head).unwrap_or(buf);
        self.fields.clear();
        match Parser::new(self, window, limits).parse() {
            Ok(len) => {
                self.len = len as u32;
                Ok(Status::Complete(len))
            }
            Err(Stop::Partial) if window.len() == max_head => Err(ParseError::HeadTooLarge),
            Err(Stop::Partial) => Ok(Status::Partial),
            Err(Stop::Invalid(err)) => Err(err),
        }
    }

    /// The head's length in bytes, including leading empty lines and the final CRLF CRLF.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the head is empty: true only for a head nothing was parsed into.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The method's bytes, for standard and extension methods alike.
    pub fn method_bytes<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        match self.method {
            Method::Other(span) => span.get(buf),
            known => known.as_str().unwrap_or_default().as_bytes(),
        }
    }

    /// The request-target as sent.
    pub fn target<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        self.target.get(buf)
    }

    /// The target's form.
    pub fn target_form(&self) -> TargetForm {
        self.form
    }

    /// The path, raw (not percent-decoded): `/` for an absolute-form target with an empty path,
    /// `*` for the asterisk form.
    pub fn path<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        if self.path.is_empty() {
            b"/"
        } else {
            self.path.get(buf)
        }
    }

    /// The query after `?`, raw; `None` without a `?`.
    pub fn query<'a>(&self, buf: &'a [u8]) -> Option<&'a [u8]> {
        self.query.map(|span| span.get(buf))
    }

    /// The authority of an absolute-form target (`host[:port]`); `None` for other forms.
    /// RFC 9112 §3.2.2: when present it, not the `Host` field, names the host.
    pub fn authority<'a>(&self, buf: &'a [u8]) -> Option<&'a [u8]> {
        self.authority.map(|span| span.get(buf))
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The header fields in order, duplicates kept, values without surrounding whitespace.
    pub fn headers<'a>(&'a self, buf: &'a [u8]) -> Headers<'a> {
        Headers {
            fields: self.fields.iter(),
            buf,
        }
    }

    /// The number of header fields.
    pub fn header_count(&self) -> usize {
        self.fields.len()
    }

    /// The value of the first field named `name` (ASCII case-insensitive).
    pub fn header<'a>(&self, buf: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
        find_field(&mut self.fields.iter(), buf, name)
    }

    /// The values of every field named `name` (ASCII case-insensitive), in order.
    pub fn header_all<'a, 'n>(&'a self, buf: &'a [u8], name: &'n [u8]) -> HeaderAll<'a, 'n> {
        HeaderAll {
            fields: self.fields.iter(),
            buf,
            name,
        }
    }

    /// How the body is delimited.
    pub fn framing(&self) -> BodyFraming {
        self.framing
    }

    /// Whether the connection may be reused after this request (RFC 9112 §9.3): HTTP/1.1 unless
    /// a `Connection` field holds `close`; HTTP/1.0 only with `keep-alive` and no `close`.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// Whether the client sent `Expect: 100-continue` on HTTP/1.1 (RFC 9110 §10.1.1: ignored on
    /// HTTP/1.0) and waits for a `100 Continue` before sending its body.
    pub fn expect_continue(&self) -> bool {
        self.expect_continue
    }

    /// Whether the client asks to switch protocols: HTTP/1.1 with an `Upgrade` field and the
    /// `upgrade` connection option (RFC 9110 §7.8; ignored on HTTP/1.0).
    pub fn is_upgrade(&self) -> bool {
        self.upgrade
    }
}

/// Iterator over a head's fields as `(name, value)`; see [`RequestHead::headers`].
#[derive(Clone, Debug)]
pub struct Headers<'a> {
    fields: std::slice::Iter<'a, Field>,
    buf: &'a [u8],
}

impl<'a> Iterator for Headers<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let field = self.fields.next()?;
        Some((field.name.get(self.buf), field.value.get(self.buf)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.fields.size_hint()
    }
}

impl DoubleEndedIterator for Headers<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let field = self.fields.next_back()?;
        Some((field.name.get(self.buf), field.value.get(self.buf)))
    }
}

impl ExactSizeIterator for Headers<'_> {}

/// Iterator over the values of the fields with one name; see [`RequestHead::header_all`].
#[derive(Clone, Debug)]
pub struct HeaderAll<'a, 'n> {
    fields: std::slice::Iter<'a, Field>,
    buf: &'a [u8],
    name: &'n [u8],
}

impl<'a> Iterator for HeaderAll<'a, '_> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        find_field(&mut self.fields, self.buf, self.name)
    }
}

/// The value of the next field of `fields` named `name` (ASCII case-insensitive). Lengths are
/// compared first: most fields are told apart without reading a byte of the buffer.
#[inline]
fn find_field<'a>(
    fields: &mut std::slice::Iter<'_, Field>,
    buf: &'a [u8],
    name: &[u8],
) -> Option<&'a [u8]> {
    // A plain loop rather than `find` with a closure: the comparison stays inlined here
    // whatever the code around it (a closure call per field was seen not to be).
    for field in fields {
        if field.name.len() == name.len() && eq_ignore_case(field.name.get(buf), name) {
            return Some(field.value.get(buf));
        }
    }
    None
}

/// Why a head was rejected. Each variant maps to one response status ([`ParseError::status`]);
/// after any of them the connection must be closed, since where the next request starts is
/// unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseError {
    /// The method is not a token, or is not followed by exactly one SP.
    Method,
    /// The request-target holds a byte outside its grammar, is empty, is not followed by
    /// exactly one SP, or is not in origin, absolute (`http`/`https`) or asterisk form.
    Target,
    /// `*` as the target of a method other than `OPTIONS` (RFC 9112 §3.2.4).
    AsteriskNotOptions,
    /// The version is not `HTTP/` DIGIT `.` DIGIT followed by CRLF.
    Version,
    /// A CR not followed by LF, or an LF not preceded by CR.
    NewLine,
    /// More than [`MAX_EMPTY_LINES`] empty lines before the request line.
    EmptyLines,
    /// Whitespace at the start of the first field line (RFC 9112 §2.2).
    LeadingWhitespace,
    /// A field line starting with whitespace: obs-fold (RFC 9112 §5.2).
    ObsFold,
    /// A field name that is empty or not a token.
    HeaderName,
    /// Whitespace between a field name and its colon (RFC 9112 §5.1).
    WhitespaceBeforeColon,
    /// A NUL, DEL or other control character (except HTAB) in a field value.
    HeaderValue,
    /// No `Host` in an HTTP/1.1 request (RFC 9112 §3.2).
    MissingHost,
    /// More than one `Host` field line (RFC 9112 §3.2).
    DuplicateHost,
    /// A `Host` value that is not `uri-host [ ":" port ]`, or an absolute-form target with an
    /// empty or invalid authority (RFC 9112 §3.2, RFC 9110 §4.2.1).
    InvalidHost,
    /// A `Content-Length` value that is not `1*DIGIT` or overflows `u64` (RFC 9112 §6.3).
    InvalidContentLength,
    /// `Content-Length` values that differ (RFC 9110 §8.6).
    ConflictingContentLength,
    /// Both `Content-Length` and `Transfer-Encoding` (RFC 9112 §6.1).
    ContentLengthAndTransferEncoding,
    /// `Transfer-Encoding` in an HTTP/1.0 request (RFC 9112 §6.1).
    TransferEncodingHttp10,
    /// A `Transfer-Encoding` list with an empty or non-token element, `chunked` with
    /// parameters, or `chunked` twice.
    InvalidTransferEncoding,
    /// `Transfer-Encoding` whose last coding is not `chunked` (RFC 9112 §6.3 rule 4).
    ChunkedNotLast,
    /// A transfer coding other than `chunked` (RFC 9112 §6.1: 501).
    UnsupportedTransferCoding,
    /// `CONNECT`: this server does not tunnel.
    ConnectUnsupported,
    /// An `Expect` value other than `100-continue` (RFC 9110 §10.1.1).
    ExpectationFailed,
    /// The request-target is longer than [`Limits::max_target`].
    TargetTooLong,
    /// The head is longer than [`Limits::max_head`].
    HeadTooLarge,
    /// More than [`Limits::max_headers`] fields.
    TooManyHeaders,
    /// A version with a major number other than 1.
    VersionNotSupported,
}

impl ParseError {
    /// The response status for this error: 400, 414, 417, 431, 501 or 505.
    pub const fn status(self) -> u16 {
        use ParseError::*;
        match self {
            Method
            | Target
            | AsteriskNotOptions
            | Version
            | NewLine
            | EmptyLines
            | LeadingWhitespace
            | ObsFold
            | HeaderName
            | WhitespaceBeforeColon
            | HeaderValue
            | MissingHost
            | DuplicateHost
            | InvalidHost
            | InvalidContentLength
            | ConflictingContentLength
            | ContentLengthAndTransferEncoding
            | TransferEncodingHttp10
            | InvalidTransferEncoding
            | ChunkedNotLast => 400,
            TargetTooLong => 414,
            ExpectationFailed => 417,
            HeadTooLarge | TooManyHeaders => 431,
            UnsupportedTransferCoding | ConnectUnsupported => 501,
            VersionNotSupported => 505,
        }
    }

    /// A short description, for logs. Not stable: do not match on it.
    pub const fn description(self) -> &'static str {
        use ParseError::*;
        match self {
            Method => "invalid method",
            Target => "invalid request-target",
            AsteriskNotOptions => "asterisk-form target without OPTIONS",
            Version => "invalid HTTP version",
            NewLine => "invalid line ending (bare CR or LF)",
            EmptyLines => "too many empty lines before the request line",
            LeadingWhitespace => "whitespace before the first header field",
            ObsFold => "obsolete line folding in a header field",
            HeaderName => "invalid header field name",
            WhitespaceBeforeColon => "whitespace between header field name and colon",
            HeaderValue => "invalid byte in header field value",
            MissingHost => "missing Host header field",
            DuplicateHost => "more than one Host header field",
            InvalidHost => "invalid host",
            InvalidContentLength => "invalid Content-Length",
            ConflictingContentLength => "conflicting Content-Length values",
            ContentLengthAndTransferEncoding => "both Content-Length and Transfer-Encoding",
            TransferEncodingHttp10 => "Transfer-Encoding in an HTTP/1.0 request",
            InvalidTransferEncoding => "invalid Transfer-Encoding",
            ChunkedNotLast => "Transfer-Encoding does not end with chunked",
            UnsupportedTransferCoding => "unsupported transfer coding",
            ConnectUnsupported => "CONNECT is not supported",
            ExpectationFailed => "unsupported expectation",
            TargetTooLong => "request-target too long",
            HeadTooLarge => "request head too large",
            TooManyHeaders => "too many header fields",
            VersionNotSupported => "HTTP version not supported",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for ParseError {}

/// Why the parser stopped early: more bytes needed, or an invalid head. Internal, so `?` works
/// on both.
pub(super) enum Stop {
    Partial,
    Invalid(ParseError),
}

impl From<ParseError> for Stop {
    #[inline(always)]
    fn from(err: ParseError) -> Stop {
        Stop::Invalid(err)
    }
}

pub(super) type Step<T> = Result<T, Stop>;

/// The fields the parser interprets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    Host,
    Expect,
    Upgrade,
    Connection,
    ContentLength,
    TransferEncoding,
    Other,
}

impl FieldKind {
    /// Recognizes the most common field names, with their colon, by comparing words instead
    /// of scanning bytes; returns the colon's index and the kind. `None` means "scan": the
    /// name is another one, or the bytes are not all here yet.
    #[inline(always)]
    fn common(buf: &[u8], start: usize) -> Option<(usize, FieldKind)> {
        let is = |literal: &[u8]| {
            buf.get(start..start + literal.len())
                .is_some_and(|b| chars::eq_lower(b, literal))
        };
        let (len, kind) = match buf.get(start)? | 0x20 {
            b'h' if is(b"host:") => (4, FieldKind::Host),
            b'a' if is(b"accept:") => (6, FieldKind::Other),
            b'c' if is(b"connection:") => (10, FieldKind::Connection),
            b'c' if is(b"content-length:") => (14, FieldKind::ContentLength),
            b'c' if is(b"content-type:") => (12, FieldKind::Other),
            b'u' if is(b"user-agent:") => (10, FieldKind::Other),
            b't' if is(b"transfer-encoding:") => (17, FieldKind::TransferEncoding),
            _ => return None,
        };
        Some((start + len, kind))
    }

    /// The length test first keeps the common fields (`Accept`, `User-Agent`, …) to one
    /// comparison.
    #[inline(always)]
    fn of(name: &[u8]) -> FieldKind {
        match name.len() {
            4 if chars::eq_lower(name, b"host") => FieldKind::Host,
            6 if chars::eq_lower(name, b"expect") => FieldKind::Expect,
            7 if chars::eq_lower(name, b"upgrade") => FieldKind::Upgrade,
            10 if chars::eq_lower(name, b"connection") => FieldKind::Connection,
            14 if chars::eq_lower(name, b"content-length") => FieldKind::ContentLength,
            17 if chars::eq_lower(name, b"transfer-encoding") => FieldKind::TransferEncoding,
            _ => FieldKind::Other,
        }
    }
}

/// Where a `Connection` value of exactly `keep-alive` or `close` (any case) ends, if a CR
/// follows it directly; `None` otherwise. [`connection`] then reads the value as usual.
#[inline(always)]
fn connection_end(buf: &[u8], from: usize) -> Option<usize> {
    let rest = buf.get(from..).unwrap_or_default();
    if rest.get(10) == Some(&b'\r') && chars::eq_lower(&rest[..10], b"keep-alive") {
        return Some(from + 10);
    }
    if rest.get(5) == Some(&b'\r') && chars::eq_lower(&rest[..5], b"close") {
        return Some(from + 5);
    }
    None
}

/// What the framing fields said, gathered while the fields are read and judged at the end.
///
/// Shared with the response parser (`response_parse.rs`), which applies the same
/// `Content-Length`, `Transfer-Encoding` and `Connection` grammar.
#[derive(Default)]
pub(super) struct FramingFields {
    pub(super) content_length: Option<u64>,
    pub(super) transfer_encoding: bool,
    chunked: bool,
    /// Whether the last coding seen so far is `chunked`.
    pub(super) chunked_last: bool,
    pub(super) unknown_coding: bool,
    host: bool,
    pub(super) close: bool,
    pub(super) keep_alive: bool,
    upgrade_option: bool,
    upgrade_field: bool,
    expect_continue: bool,
    expect_other: bool,
}

/// One parse of one buffer. Holds the head being filled in and the buffer, so the steps
/// below are methods rather than functions with six parameters.
struct Parser<'h, 'b, 'l> {
    head: &'h mut RequestHead,
    buf: &'b [u8],
    limits: &'l Limits,
}

impl<'h, 'b, 'l> Parser<'h, 'b, 'l> {
    fn new(head: &'h mut RequestHead, buf: &'b [u8], limits: &'l Limits) -> Self {
        Parser { head, buf, limits }
    }

    /// Parses the whole head and returns its length.
    #[inline(always)]
    fn parse(mut self) -> Step<usize> {
        let buf = self.buf;
        let mut i = self.skip_empty_lines()?;
        i = self.request_line(i)?;
        let mut framing = FramingFields::default();
        let fields_start = i;
        loop {
            // At the start of a line: a field line (the common case), or the end of the head.
            let Some(&b) = buf.get(i) else {
                return Err(Stop::Partial);
            };
            if chars::is(b, TOKEN) {
                if self.head.fields.len() >= self.limits.max_headers {
                    return Err(ParseError::TooManyHeaders.into());
                }
                i = self.field_line(i, &mut framing)?;
                continue;
            }
            return match b {
                b'\r' => match buf.get(i + 1) {
                    None => Err(Stop::Partial),
                    Some(b'\n') => {
                        self.finish(&framing)?;
                        Ok(i + 2)
                    }
                    Some(_) => Err(ParseError::NewLine.into()),
                },
                b'\n' => Err(ParseError::NewLine.into()),
                b' ' | b'\t' if i == fields_start => Err(ParseError::LeadingWhitespace.into()),
                b' ' | b'\t' => Err(ParseError::ObsFold.into()),
                _ => Err(ParseError::HeaderName.into()),
            };
        }
    }

    /// Skips up to [`MAX_EMPTY_LINES`] CRLFs; returns where the request line starts.
    #[inline(always)]
    fn skip_empty_lines(&self) -> Step<usize> {
        let buf = self.buf;
        let mut i = 0;
        for _ in 0..=MAX_EMPTY_LINES {
            match buf.get(i) {
                Some(b'\r') => match buf.get(i + 1) {
                    Some(b'\n') => i += 2,
                    Some(_) => return Err(ParseError::NewLine.into()),
                    None => return Err(Stop::Partial),
                },
                Some(b'\n') => return Err(ParseError::NewLine.into()),
                Some(_) => return Ok(i),
                None => return Err(Stop::Partial),
            }
        }
        Err(ParseError::EmptyLines.into())
    }

    /// `request-line = method SP request-target SP HTTP-version CRLF` (RFC 9112 §3), exactly
    /// one SP between the parts. Returns where the first field line starts.
    #[inline(always)]
    fn request_line(&mut self, start: usize) -> Step<usize> {
        let buf = self.buf;
        // method = token
        let method_end = chars::scan(buf, start, TOKEN);
        match buf.get(method_end) {
            None => return Err(Stop::Partial),
            Some(b' ') if method_end > start => {}
            Some(_) => return Err(ParseError::Method.into()),
        }
        let method = Method::from_token(&buf[start..method_end], Span::new(start, method_end));
        if method == Method::Connect {
            return Err(ParseError::ConnectUnsupported.into());
        }
        self.head.method = method;

        let target_end = self.request_target(method_end + 1)?;

        // HTTP-version = "HTTP/" DIGIT "." DIGIT, then CRLF; HTTP/1.1 compared as one word.
        let v = target_end + 1;
        let line_end = match buf.get(v..v + 10) {
            Some(line)
                if chars::word8(line, 0) == u64::from_le_bytes(*b"HTTP/1.1")
                    && line[8..] == *b"\r\n" =>
            {
                self.head.version = Version::Http11;
                v + 10
            }
            _ => self.version(v)?,
        };
        // Checked after the version, so that the HTTP/2 preface `PRI * HTTP/2.0` gets 505.
        if self.head.form == TargetForm::Asterisk && self.head.method != Method::Options {
            return Err(ParseError::AsteriskNotOptions.into());
        }
        Ok(line_end)
    }

    /// `HTTP-version CRLF` at `v`, the general case; returns where the next line starts.
    #[cold]
    fn version(&mut self, v: usize) -> Step<usize> {
        let buf = self.buf;
        let version = match buf.get(v..v + 8) {
            Some(&[b'H', b'T', b'T', b'P', b'/', major, b'.', minor])
                if major.is_ascii_digit() && minor.is_ascii_digit() =>
            {
                if major != b'1' {
                    return Err(ParseError::VersionNotSupported.into());
                }
                if minor == b'0' {
                    Version::Http10
                } else {
                    Version::Http11
                }
            }
            Some(_) => return Err(ParseError::Version.into()),
            None => {
                return if prefix_of_version(&buf[v..]) {
                    Err(Stop::Partial)
                } else {
                    Err(ParseError::Version.into())
                };
            }
        };
        self.head.version = version;
        match buf.get(v + 8) {
            Some(b'\r') => match buf.get(v + 9) {
                Some(b'\n') => Ok(v + 10),
                Some(_) => Err(ParseError::NewLine.into()),
                None => Err(Stop::Partial),
            },
            Some(b'\n') => Err(ParseError::NewLine.into()),
            Some(_) => Err(ParseError::Version.into()),
            None => Err(Stop::Partial),
        }
    }

    /// Reads the request-target starting at `start` (RFC 9112 §3.2) up to the SP after it,
    /// and returns the SP's index.
    ///
    /// ```notrust
    /// request-target = origin-form / absolute-form / authority-form / asterisk-form
    /// origin-form    = absolute-path [ "?" query ]
    /// absolute-form  = absolute-URI                ; http and https only
    /// asterisk-form  = "*"                         ; OPTIONS only
    /// ```
    ///
    /// Authority-form is for `CONNECT`, which is refused before this runs.
    #[inline(always)]
    fn request_target(&mut self, start: usize) -> Step<usize> {
        let buf = self.buf;
        let max_target = self.limits.max_target;
        // Scan at most one byte past the limit: enough to know the target is too long.
        let scan_end = buf
            .len()
            .min(start.saturating_add(max_target).saturating_add(1));
        let window = &buf[..scan_end];
        let path_end = chars::scan(window, start, PATH);
        let (query, end) = match window.get(path_end) {
            Some(b'?') => {
                let query_end = chars::scan(window, path_end + 1, QUERY);
                (Some(Span::new(path_end + 1, query_end)), query_end)
            }
            _ => (None, path_end),
        };
        if end == scan_end {
            return Err(if end - start > max_target {
                ParseError::TargetTooLong.into()
            } else {
                Stop::Partial
            });
        }
        if buf[end] != b' ' || end == start {
            return Err(ParseError::Target.into());
        }
        self.head.target = Span::new(start, end);
        self.head.query = query;
        self.head.authority = None;
        match buf[start] {
            b'/' => {
                self.head.form = TargetForm::Origin;
                self.head.path = Span::new(start, path_end);
            }
            b'*' if end == start + 1 => {
                self.head.form = TargetForm::Asterisk;
                self.head.path = self.head.target;
            }
            _ => self.absolute_form(start, path_end)?,
        }
        Ok(end)
    }

    /// `absolute-URI` with scheme `http` or `https` (RFC 9112 §3.2.2): `scheme "://" authority
    /// path-abempty`. The authority is validated like a `Host` value; userinfo (`@`) is refused
    /// (RFC 9110 §4.2.4) and an empty host is invalid (RFC 9110 §4.2.1).
    #[cold]
    fn absolute_form(&mut self, start: usize, path_end: usize) -> Step<()> {
        let before_query = &self.buf[start..path_end];
        let scheme_len =
            if before_query.len() >= 7 && chars::eq_lower(&before_query[..7], b"http://") {
                7
            } else if before_query.len() >= 8 && chars::eq_lower(&before_query[..8], b"https://") {
                8
            } else {
                return Err(ParseError::Target.into());
            };
        let authority_start = start + scheme_len;
        let authority_end = self.buf[authority_start..path_end]
            .iter()
            .position(|&b| b == b'/')
            .map_or(path_end, |i| authority_start + i);
        let authority = &self.buf[authority_start..authority_end];
        let host_len = if authority.first() == Some(&b'[') {
            authority
                .iter()
                .position(|&b| b == b']')
                .map_or(0, |i| i + 1)
        } else {
            authority
                .iter()
                .position(|&b| b == b':')
                .unwrap_or(authority.len())
        };
        if host_len == 0 || !chars::valid_host(authority) {
            return Err(ParseError::InvalidHost.into());
        }
        self.head.form = TargetForm::Absolute;
        self.head.authority = Some(Span::new(authority_start, authority_end));
        self.head.path = Span::new(authority_end, path_end);
        Ok(())
    }

    /// `field-line = field-name ":" OWS field-value OWS CRLF` (RFC 9112 §5). Returns where the
    /// next line starts.
    #[inline(always)]
    fn field_line(&mut self, start: usize, framing: &mut FramingFields) -> Step<usize> {
        let buf = self.buf;
        let (name_end, kind) = match FieldKind::common(buf, start) {
            Some(known) => known,
            None => {
                let name_end = chars::scan(buf, start, TOKEN);
                match buf.get(name_end) {
                    Some(b':') => {}
                    None => return Err(Stop::Partial),
                    Some(b' ' | b'\t') => return Err(ParseError::WhitespaceBeforeColon.into()),
                    Some(_) => return Err(ParseError::HeaderName.into()),
                }
                (name_end, FieldKind::of(&buf[start..name_end]))
            }
        };
        let mut value_start = name_end + 1;
        while buf.get(value_start).is_some_and(|&b| chars::is_ows(b)) {
            value_start += 1;
        }
        // Host and Connection are in nearly every request: read the usual shapes of their
        // values by their own grammar, straight to the CR, which also proves them valid field
        // values without trailing OWS. Anything else takes the generic path.
        let fast_end = match kind {
            FieldKind::Host => chars::host_end(buf, value_start),
            FieldKind::Connection => connection_end(buf, value_start),
            _ => None,
        };
        let (value_end, line_end) = match fast_end {
            Some(end) => (end, end),
            None => {
                let line_end = chars::scan_value(buf, value_start);
                match buf.get(line_end) {
                    Some(b'\r') => {}
                    None => return Err(Stop::Partial),
                    Some(b'\n') => return Err(ParseError::NewLine.into()),
                    Some(_) => return Err(ParseError::HeaderValue.into()),
                }
                let mut value_end = line_end;
                while value_end > value_start && chars::is_ows(buf[value_end - 1]) {
                    value_end -= 1;
                }
                (value_end, line_end)
            }
        };
        match buf.get(line_end + 1) {
            Some(b'\n') => {}
            Some(_) => return Err(ParseError::NewLine.into()),
            None => return Err(Stop::Partial),
        }
        self.head.fields.push(Field {
            name: Span::new(start, name_end),
            value: Span::new(value_start, value_end),
        });
        if kind != FieldKind::Other {
            let value = &buf[value_start..value_end];
            self.framing_field(kind, value, fast_end.is_some(), framing)?;
        }
        Ok(line_end + 2)
    }

    /// Notes a field that bears on framing or connection handling. `checked` says the value
    /// was already read by its own grammar (see `field_line`).
    #[inline(always)]
    fn framing_field(
        &self,
        kind: FieldKind,
        value: &[u8],
        checked: bool,
        framing: &mut FramingFields,
    ) -> Step<()> {
        match kind {
            FieldKind::Host => {
                // RFC 9112 §3.2: more than one Host line, or an invalid value, is a 400.
                if framing.host {
                    return Err(ParseError::DuplicateHost.into());
                }
                if !checked && !chars::valid_host(value) {
                    return Err(ParseError::InvalidHost.into());
                }
                framing.host = true;
            }
            FieldKind::Expect => expect(value, framing),
            FieldKind::Upgrade => framing.upgrade_field = true,
            FieldKind::Connection => connection(value, framing),
            FieldKind::ContentLength => {
                if framing.transfer_encoding {
                    return Err(ParseError::ContentLengthAndTransferEncoding.into());
                }
                content_length(value, framing)?;
            }
            FieldKind::TransferEncoding => {
                if self.head.version == Version::Http10 {
                    return Err(ParseError::TransferEncodingHttp10.into());
                }
                if framing.content_length.is_some() {
                    return Err(ParseError::ContentLengthAndTransferEncoding.into());
                }
                transfer_encoding(value, framing)?;
            }
            FieldKind::Other => {}
        }
        Ok(())
    }

    /// Judges what the fields said, once the whole head is in.
    #[inline(always)]
    fn finish(self, framing: &FramingFields) -> Step<()> {
        let head = self.head;
        let http11 = head.version == Version::Http11;
        if http11 && !framing.host {
            return Err(ParseError::MissingHost.into());
        }
        head.framing = if framing.transfer_encoding {
            // RFC 9112 §6.3 rule 4: a request whose final coding is not chunked has no
            // reliable length: 400. RFC 9112 §6.1: a coding we do not implement: 501.
            if !framing.chunked_last {
                return Err(ParseError::ChunkedNotLast.into());
            }
            if framing.unknown_coding {
                return Err(ParseError::UnsupportedTransferCoding.into());
            }
            BodyFraming::Chunked
        } else if let Some(len) = framing.content_length {
            BodyFraming::Length(len)
        } else {
            BodyFraming::None
        };
        // Judged last, so that a malformed request gets its 400 rather than a 417. Expect
        // came with HTTP/1.1; on HTTP/1.0 it is ignored (RFC 9110 §10.1.1).
        if http11 && framing.expect_other {
            return Err(ParseError::ExpectationFailed.into());
        }
        head.expect_continue = http11 && framing.expect_continue;
        head.keep_alive = !framing.close && (http11 || framing.keep_alive);
        head.upgrade = http11 && framing.upgrade_field && framing.upgrade_option;
        Ok(())
    }
}

/// Whether `seen` could still grow into `HTTP/` DIGIT `.` DIGIT.
#[cold]
fn prefix_of_version(seen: &[u8]) -> bool {
    seen.iter().enumerate().all(|(i, &b)| match i {
        0..=4 => b == b"HTTP/"[i],
        6 => b == b'.',
        _ => b.is_ascii_digit(),
    })
}

/// `Content-Length = 1*DIGIT` (RFC 9110 §8.6).
///
/// RFC 9110 §8.6 lets a recipient accept a list of one value repeated (`5, 5`) and identical
/// duplicate lines, or reject them. We accept both, as hyper does: they are unambiguous, and a
/// proxy that keeps either copy frames the message the same way. Differing values, empty list
/// elements, signs, inner whitespace, hex and overflow are 400s (RFC 9112 §6.3 rule 5).
#[inline(always)]
pub(super) fn content_length(value: &[u8], framing: &mut FramingFields) -> Step<()> {
    for element in value.split(|&b| b == b',') {
        let digits = chars::trim_ows(element);
        if digits.is_empty() {
            return Err(ParseError::InvalidContentLength.into());
        }
        let mut len: u64 = 0;
        for &b in digits {
            if !b.is_ascii_digit() {
                return Err(ParseError::InvalidContentLength.into());
            }
            len = len
                .checked_mul(10)
                .and_then(|len| len.checked_add(u64::from(b - b'0')))
                .ok_or(ParseError::InvalidContentLength)?;
        }
        match framing.content_length {
            Some(seen) if seen != len => return Err(ParseError::ConflictingContentLength.into()),
            _ => framing.content_length = Some(len),
        }
    }
    Ok(())
}

/// `Transfer-Encoding = #transfer-coding` (RFC 9112 §6.1), one line of possibly several;
/// `transfer-coding = token *( OWS ";" OWS transfer-parameter )`.
///
/// The only coding implemented is `chunked`, so the only accepted value, across all lines, is
/// one `chunked`; the rest sorts the rejection into 400 and 501. Empty elements (`, chunked`)
/// are refused although RFC 9110 §5.6.1.2 says to ignore them: servers disagreeing on them is a
/// known smuggling vector, and no client sends them. Parameters are not parsed; the element is
/// a coding we do not implement whatever they say, and `chunked` has none.
pub(super) fn transfer_encoding(value: &[u8], framing: &mut FramingFields) -> Step<()> {
    framing.transfer_encoding = true;
    for element in value.split(|&b| b == b',') {
        let (coding, has_params) = match element.iter().position(|&b| b == b';') {
            Some(semi) => (chars::trim_ows(&element[..semi]), true),
            None => (chars::trim_ows(element), false),
        };
        if coding.is_empty() || !coding.iter().all(|&b| chars::is(b, TOKEN)) {
            return Err(ParseError::InvalidTransferEncoding.into());
        }
        if chars::eq_lower(coding, b"chunked") {
            if framing.chunked || has_params {
                return Err(ParseError::InvalidTransferEncoding.into());
            }
            framing.chunked = true;
            framing.chunked_last = true;
        } else {
            framing.unknown_coding = true;
            framing.chunked_last = false;
        }
    }
    Ok(())
}

/// `Connection = #connection-option` (RFC 9110 §7.6.1): notes `close`, `keep-alive` and
/// `upgrade` (case-insensitive); other options are ignored.
#[inline(always)]
pub(super) fn connection(value: &[u8], framing: &mut FramingFields) {
    // Most requests send one option; skip the list split for them.
    match value.len() {
        10 if chars::eq_lower(value, b"keep-alive") => return framing.keep_alive = true,
        5 if chars::eq_lower(value, b"close") => return framing.close = true,
        _ => {}
    }
    for element in value.split(|&b| b == b',') {
        let option = chars::trim_ows(element);
        match option.len() {
            5 if chars::eq_lower(option, b"close") => framing.close = true,
            7 if chars::eq_lower(option, b"upgrade") => framing.upgrade_option = true,
            10 if chars::eq_lower(option, b"keep-alive") => framing.keep_alive = true,
            _ => {}
        }
    }
}

/// `Expect = #expectation` (RFC 9110 §10.1.1): `100-continue` (case-insensitive) is the only
/// expectation defined; anything else is noted for a 417. Empty elements are ignored.
fn expect(value: &[u8], framing: &mut FramingFields) {
    for element in value.split(|&b| b == b',') {
        let expectation = chars::trim_ows(element);
        if expectation.is_empty() {
            continue;
        }
        if chars::eq_lower(expectation, b"100-continue") {
            framing.expect_continue = true;
        } else {
            framing.expect_other = true;
        }
    }
}

#[cfg(test)]
mod tests;
