//! The client side of HTTP/1.1: an incremental, strict response parser (RFC 9112 §4, §6.3).
//!
//! [`ResponseParser`] is fed the bytes a client receives, in pieces of any size, and hands back
//! [`ResponseEvent`]s: a [`ResponseHead`] (status line and header fields, owned, in order,
//! duplicates kept), then the body as it arrives (`Data`), then `End`. Every response, interim
//! `1xx` ones included, is a `Head` followed, after its body if it has one, by `End`. It serves
//! the in-memory exchange (`nanoapi::server::testing::Exchange`) and any HTTP/1.1 client built on the
//! executor's sockets, such as the Lambda Runtime API client.
//!
//! Body framing, RFC 9112 §6.3:
//!
//! | response | body |
//! |---|---|
//! | to a `HEAD` request ([`ResponseParser::set_head_request`]), `1xx`, `204`, `304` | none |
//! | `Transfer-Encoding: chunked` | chunked, decoded by [`ChunkedDecoder`] |
//! | `Content-Length: n` | `n` bytes |
//! | neither | until the connection closes ([`ResponseParser::end_of_stream`]) |
//!
//! Policy, as strict as the request parser's: lines end in CRLF (a bare CR or LF is an error),
//! no obs-fold, no whitespace before a colon, field names are tokens and values field-vchars;
//! `Content-Length` and `Transfer-Encoding` follow the request parser's grammar (one code path),
//! and both together, a transfer coding other than a single `chunked`, or differing lengths are
//! errors rather than guesses. The status line must be `HTTP/1.x SP 3DIGIT SP reason-phrase`
//! (the reason may be empty, its space may not be missing). After a `101 Switching Protocols`
//! the bytes are no longer HTTP: the parser stops there.

use std::fmt;

use bytes::{Buf, Bytes, BytesMut};

use super::chars::{self, TOKEN};
use super::chunked::{Chunk, ChunkedDecoder, ChunkedError, ChunkedLimits};
use super::parse::{self, FramingFields, ParseError, Stop, Version};
use super::status::StatusCode;

/// Bounds on what a response may contain.
///
/// Non-exhaustive, so that a new field is not a breaking change: start from `default()` and set
/// the fields you need.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nanoapi::http::response_parse::{ResponseError, ResponseLimits, ResponseParser};
///
/// let mut limits = ResponseLimits::default();
/// limits.max_headers = 1;
/// let mut buf = BytesMut::from(&b"HTTP/1.1 204 No Content\r\nA: 1\r\nB: 2\r\n\r\n"[..]);
/// assert_eq!(ResponseParser::new(limits).parse(&mut buf), Err(ResponseError::TooManyHeaders));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseLimits {
    /// Longest head in octets, status line through the final CRLF CRLF (default 64 KiB).
    pub max_head: usize,
    /// Most header fields (default 100).
    pub max_headers: usize,
    /// Bounds on a chunked body.
    pub chunked: ChunkedLimits,
}

impl Default for ResponseLimits {
    fn default() -> ResponseLimits {
        ResponseLimits {
            max_head: 64 * 1024,
            max_headers: 100,
            chunked: ChunkedLimits::default(),
        }
    }
}

/// The status line and header section of a response, owned.
///
/// Names and values are slices of one buffer holding the head, in the order received, with
/// duplicates kept; lookups ignore ASCII case.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nanoapi::http::response_parse::{ResponseEvent, ResponseParser};
///
/// let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 0\r\n\r\n"[..]);
/// let mut parser = ResponseParser::default();
/// let Some(ResponseEvent::Head(head)) = parser.parse(&mut buf).unwrap() else { panic!() };
/// assert_eq!(head.status().as_u16(), 200);
/// assert_eq!(head.header("content-length"), Some(&b"0"[..]));
/// assert_eq!(head.header_all("Set-Cookie").collect::<Vec<_>>(), [&b"a=1"[..], b"b=2"]);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseHead {
    version: Version,
    status: StatusCode,
    reason: Bytes,
    headers: Vec<(Bytes, Bytes)>,
    closes: bool,
}

/// What [`ResponseParser::parse`] found.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nanoapi::http::response_parse::{ResponseEvent, ResponseParser};
///
/// let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"[..]);
/// let mut parser = ResponseParser::default();
/// assert!(matches!(parser.parse(&mut buf), Ok(Some(ResponseEvent::Head(_)))));
/// assert_eq!(parser.parse(&mut buf), Ok(Some(ResponseEvent::Data("ok".into()))));
/// assert_eq!(parser.parse(&mut buf), Ok(Some(ResponseEvent::End)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseEvent {
    /// A response's head.
    Head(ResponseHead),
    /// Body bytes, in order, never empty.
    Data(Bytes),
    /// The trailer fields of a chunked body (name, value), before its `End`; only when there
    /// are some.
    Trailers(Vec<(Bytes, Bytes)>),
    /// The response is complete.
    End,
}

/// Why a response was rejected. After any error the connection must be closed.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nanoapi::http::response_parse::{ResponseError, ResponseParser};
///
/// let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nX : y\r\n\r\n"[..]);
/// let err = ResponseParser::default().parse(&mut buf).unwrap_err();
/// assert_eq!(err, ResponseError::WhitespaceBeforeColon);
/// assert_eq!(err.to_string(), "whitespace between header field name and colon");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseError {
    /// The status line is not `HTTP/1.x SP 3DIGIT SP reason-phrase CRLF`.
    StatusLine,
    /// A line ended in a bare CR or LF.
    NewLine,
    /// A header line begins with whitespace (obs-fold).
    ObsFold,
    /// A field name that is empty or not a token.
    HeaderName,
    /// Whitespace between a field name and its colon.
    WhitespaceBeforeColon,
    /// A byte that may not appear in a field value.
    HeaderValue,
    /// The head is longer than [`ResponseLimits::max_head`].
    HeadTooLarge,
    /// More fields than [`ResponseLimits::max_headers`].
    TooManyHeaders,
    /// `Content-Length` or `Transfer-Encoding` broke their grammar, disagreed with each other
    /// or named a coding other than `chunked`.
    Framing(ParseError),
    /// The chunked body broke its grammar or a limit.
    Chunked(ChunkedError),
    /// The stream ended inside a response.
    Truncated,
}

/// An incremental parser of the responses on one connection.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use nanoapi::http::response_parse::{ResponseEvent, ResponseParser};
///
/// let mut parser = ResponseParser::default();
/// let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"[..]);
/// assert!(matches!(parser.parse(&mut buf), Ok(Some(ResponseEvent::Head(_)))));
/// assert_eq!(parser.parse(&mut buf), Ok(Some(ResponseEvent::Data("hel".into()))));
/// assert_eq!(parser.parse(&mut buf), Ok(None)); // more bytes needed
/// buf.extend_from_slice(b"lo\r\n0\r\n\r\n");
/// assert_eq!(parser.parse(&mut buf), Ok(Some(ResponseEvent::Data("lo".into()))));
/// assert_eq!(parser.parse(&mut buf), Ok(Some(ResponseEvent::End)));
/// assert_eq!(parser.end_of_stream(&buf), Ok(None)); // a clean end between responses
/// ```
#[derive(Debug, Default)]
pub struct ResponseParser {
    limits: ResponseLimits,
    state: State,
    /// The request the next final response answers was a HEAD.
    head_request: bool,
}

#[derive(Debug, Default)]
enum State {
    /// Waiting for a status line.
    #[default]
    Head,
    /// `n` more body bytes.
    Length(u64),
    Chunked(Box<ChunkedDecoder>),
    /// Body until the connection closes.
    UntilClose,
    /// The head had no body; `End` is next. `upgraded` after a 101.
    EndNext {
        upgraded: bool,
    },
    /// After a 101: what follows is not HTTP.
    Upgraded,
}

impl ResponseParser {
    /// A parser with these limits.
    pub fn new(limits: ResponseLimits) -> ResponseParser {
        ResponseParser {
            limits,
            state: State::Head,
            head_request: false,
        }
    }

    /// Declares whether the request the next final (non-`1xx`) response answers was a `HEAD`:
    /// its response has no body whatever its headers say. Reset once that response's head is
    /// parsed.
    pub fn set_head_request(&mut self, head: bool) {
        self.head_request = head;
    }

    /// Parses from the front of `buf`, removing what it consumed; `Ok(None)` when more bytes
    /// are needed (or after a `101`).
    ///
    /// # Errors
    ///
    /// A [`ResponseError`] when the bytes are not a valid response.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<ResponseEvent>, ResponseError> {
        match &mut self.state {
            State::Head => self.parse_head(buf),
            State::Length(remaining) => {
                if buf.is_empty() {
                    return Ok(None);
                }
                let n = buf
                    .len()
                    .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                *remaining -= n as u64;
                if *remaining == 0 {
                    self.state = State::EndNext { upgraded: false };
                }
                Ok(Some(ResponseEvent::Data(buf.split_to(n).freeze())))
            }
            State::Chunked(decoder) => {
                let (consumed, chunk) = decoder.decode(buf).map_err(ResponseError::Chunked)?;
                match chunk {
                    Chunk::Data(data) => {
                        let len = data.len();
                        buf.advance(consumed - len);
                        Ok(Some(ResponseEvent::Data(buf.split_to(len).freeze())))
                    }
                    Chunk::NeedMore => {
                        buf.advance(consumed);
                        Ok(None)
                    }
                    Chunk::Done => {
                        buf.advance(consumed);
                        let trailers = decoder.take_trailers();
                        if trailers.is_empty() {
                            self.state = State::Head;
                            return Ok(Some(ResponseEvent::End));
                        }
                        self.state = State::EndNext { upgraded: false };
                        Ok(Some(ResponseEvent::Trailers(trailers)))
                    }
                }
            }
            State::UntilClose if buf.is_empty() => Ok(None),
            State::UntilClose => Ok(Some(ResponseEvent::Data(buf.split().freeze()))),
            State::EndNext { upgraded } => {
                self.state = if *upgraded {
                    State::Upgraded
                } else {
                    State::Head
                };
                Ok(Some(ResponseEvent::End))
            }
            State::Upgraded => Ok(None),
        }
    }

    /// The connection ended, after `buf` (what [`parse`](Self::parse) left, once it returned
    /// `Ok(None)`): `End` of a body delimited by the close, or `None` at a clean end between
    /// responses.
    ///
    /// # Errors
    ///
    /// [`ResponseError::Truncated`] when the stream ended inside a response.
    pub fn end_of_stream(&mut self, buf: &[u8]) -> Result<Option<ResponseEvent>, ResponseError> {
        match self.state {
            State::Head if buf.is_empty() => Ok(None),
            State::Upgraded => Ok(None),
            State::UntilClose => {
                self.state = State::Head;
                Ok(Some(ResponseEvent::End))
            }
            _ => Err(ResponseError::Truncated),
        }
    }

    /// Whether the parser is between responses (or past a `101`).
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Head | State::Upgraded)
    }

    fn parse_head(&mut self, buf: &mut BytesMut) -> Result<Option<ResponseEvent>, ResponseError> {
        let Some(len) = head_end(buf, self.limits.max_head)? else {
            return Ok(None);
        };
        let bytes = buf.split_to(len).freeze();
        let (mut head, framing) = parse_head(&bytes, self.limits.max_headers)?;
        let status = head.status.as_u16();
        let interim = (100..200).contains(&status);
        let no_body = interim || status == 204 || status == 304 || self.head_request;
        self.state = if no_body {
            State::EndNext {
                upgraded: status == 101,
            }
        } else if framing.transfer_encoding {
            // `Transfer-Encoding: chunked` is the one coding implemented; `chunked_last` with
            // no other coding means exactly one `chunked` (the shared grammar refuses two).
            if !framing.chunked_last || framing.unknown_coding {
                return Err(ResponseError::Framing(
                    ParseError::UnsupportedTransferCoding,
                ));
            }
            {
                let mut decoder = ChunkedDecoder::new(self.limits.chunked.clone());
                decoder.keep_trailers();
                State::Chunked(Box::new(decoder))
            }
        } else {
            match framing.content_length {
                Some(0) => State::EndNext { upgraded: false },
                Some(n) => State::Length(n),
                None => {
                    head.closes = true;
                    State::UntilClose
                }
            }
        };
        if !interim || status == 101 {
            self.head_request = false;
        }
        Ok(Some(ResponseEvent::Head(head)))
    }
}

impl ResponseHead {
    /// The protocol version of the status line.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The reason phrase, as sent (possibly empty).
    pub fn reason(&self) -> &[u8] {
        &self.reason
    }

    /// Every header field, in order, duplicates kept.
    pub fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.headers
            .iter()
            .map(|(name, value)| (&name[..], &value[..]))
    }

    /// The fields as owned name/value pairs.
    pub fn fields(&self) -> &[(Bytes, Bytes)] {
        &self.headers
    }

    /// The first value of the field `name` (any case).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, value)| &value[..])
    }

    /// Every value of the field `name` (any case), in order.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, value)| &value[..])
    }

    /// Whether the response says the connection closes after it: `Connection: close`, HTTP/1.0
    /// without `keep-alive`, or a body delimited by the close.
    pub fn closes(&self) -> bool {
        self.closes
    }
}

impl fmt::Debug for ResponseHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<_> = self
            .headers()
            .map(|(name, value)| {
                (
                    String::from_utf8_lossy(name),
                    String::from_utf8_lossy(value),
                )
            })
            .collect();
        f.debug_struct("ResponseHead")
            .field("version", &self.version)
            .field("status", &self.status)
            .field("reason", &String::from_utf8_lossy(&self.reason))
            .field("headers", &headers)
            .finish()
    }
}

impl ResponseError {
    /// A short description, for logs. Not stable: do not match on it.
    pub fn description(self) -> &'static str {
        match self {
            ResponseError::StatusLine => "invalid status line",
            ResponseError::NewLine => "invalid line ending (bare CR or LF)",
            ResponseError::ObsFold => "obsolete line folding in a header field",
            ResponseError::HeaderName => "invalid header field name",
            ResponseError::WhitespaceBeforeColon => {
                "whitespace between header field name and colon"
            }
            ResponseError::HeaderValue => "invalid byte in header field value",
            ResponseError::HeadTooLarge => "response head too large",
            ResponseError::TooManyHeaders => "too many header fields",
            ResponseError::Framing(err) => err.description(),
            ResponseError::Chunked(err) => err.description(),
            ResponseError::Truncated => "connection closed inside a response",
        }
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for ResponseError {}

/// The length of the head at the front of `buf` (through CRLF CRLF), if it is all there.
fn head_end(buf: &[u8], max_head: usize) -> Result<Option<usize>, ResponseError> {
    let window = &buf[..buf.len().min(max_head)];
    match window.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) => Ok(Some(at + 4)),
        None if buf.len() >= max_head => Err(ResponseError::HeadTooLarge),
        None => Ok(None),
    }
}

/// Parses a complete head (`bytes` ends in CRLF CRLF).
fn parse_head(
    bytes: &Bytes,
    max_headers: usize,
) -> Result<(ResponseHead, FramingFields), ResponseError> {
    let (version, status, reason, mut at) = status_line(bytes)?;
    let mut headers = Vec::new();
    let mut framing = FramingFields::default();
    // The head ends in CRLF CRLF, so every line below ends in CRLF or breaks the grammar first.
    while &bytes[at..at + 2] != b"\r\n" {
        if headers.len() == max_headers {
            return Err(ResponseError::TooManyHeaders);
        }
        let (name, value, next) = field_line(bytes, at)?;
        apply_framing_field(&bytes[name.clone()], &bytes[value.clone()], &mut framing)?;
        headers.push((bytes.slice(name), bytes.slice(value)));
        at = next;
    }
    let closes = framing.close || (version == Version::Http10 && !framing.keep_alive);
    let head = ResponseHead {
        version,
        status,
        reason,
        headers,
        closes,
    };
    Ok((head, framing))
}

/// `status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF` (RFC 9112 §4).
fn status_line(bytes: &Bytes) -> Result<(Version, StatusCode, Bytes, usize), ResponseError> {
    let line = bytes
        .get(..13)
        .filter(|b| b.starts_with(b"HTTP/1.") && b[8] == b' ' && b[12] == b' ')
        .ok_or(ResponseError::StatusLine)?;
    let version = match line[7] {
        b'0' => Version::Http10,
        b'1'..=b'9' => Version::Http11,
        _ => return Err(ResponseError::StatusLine),
    };
    let digits = &line[9..12];
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(ResponseError::StatusLine);
    }
    let code = digits
        .iter()
        .fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    let status = StatusCode::from_u16(code).map_err(|_| ResponseError::StatusLine)?;
    // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ): the field-value bytes.
    let reason_end = chars::scan_value(bytes, 13);
    line_end(bytes, reason_end)?;
    Ok((version, status, bytes.slice(13..reason_end), reason_end + 2))
}

/// `field-line = field-name ":" OWS field-value OWS CRLF`; the name's and the value's ranges
/// and where the next line starts.
fn field_line(
    bytes: &[u8],
    start: usize,
) -> Result<(std::ops::Range<usize>, std::ops::Range<usize>, usize), ResponseError> {
    if chars::is_ows(bytes[start]) {
        return Err(ResponseError::ObsFold);
    }
    let name_end = chars::scan(bytes, start, TOKEN);
    match bytes[name_end] {
        b':' if name_end > start => {}
        b' ' | b'\t' if name_end > start => return Err(ResponseError::WhitespaceBeforeColon),
        _ => return Err(ResponseError::HeaderName),
    }
    let mut value_start = name_end + 1;
    while chars::is_ows(bytes[value_start]) {
        value_start += 1;
    }
    let end = chars::scan_value(bytes, value_start);
    if bytes[end] != b'\r' && bytes[end] != b'\n' {
        return Err(ResponseError::HeaderValue);
    }
    line_end(bytes, end)?;
    let mut value_end = end;
    while value_end > value_start && chars::is_ows(bytes[value_end - 1]) {
        value_end -= 1;
    }
    Ok((start..name_end, value_start..value_end, end + 2))
}

/// Checks that a CRLF is at `at`.
fn line_end(bytes: &[u8], at: usize) -> Result<(), ResponseError> {
    match bytes.get(at..at + 2) {
        Some(b"\r\n") => Ok(()),
        Some([b'\r' | b'\n', _]) => Err(ResponseError::NewLine),
        _ => Err(ResponseError::StatusLine),
    }
}

/// Notes `Content-Length`, `Transfer-Encoding` and `Connection`, with the request parser's
/// grammar for each.
fn apply_framing_field(
    name: &[u8],
    value: &[u8],
    framing: &mut FramingFields,
) -> Result<(), ResponseError> {
    let res = if name.eq_ignore_ascii_case(b"content-length") {
        if framing.transfer_encoding {
            return Err(ResponseError::Framing(
                ParseError::ContentLengthAndTransferEncoding,
            ));
        }
        parse::content_length(value, framing)
    } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
        if framing.content_length.is_some() {
            return Err(ResponseError::Framing(
                ParseError::ContentLengthAndTransferEncoding,
            ));
        }
        parse::transfer_encoding(value, framing)
    } else {
        if name.eq_ignore_ascii_case(b"connection") {
            parse::connection(value, framing);
        }
        Ok(())
    };
    res.map_err(|stop| match stop {
        Stop::Invalid(err) => ResponseError::Framing(err),
        // The framing grammars judge whole values; they never ask for more bytes.
        Stop::Partial => ResponseError::Truncated,
    })
}

#[cfg(test)]
mod tests;
