//! The response a handler hands back: a status, header fields in order, and a body.
//!
//! [`Response`] is plain data: it names no connection and writes nothing; [`super::encode`]
//! puts it on the wire. Header fields are validated when they are added, never when they are
//! written, so the encoder copies their bytes without looking at them. The policy of
//! [`HeaderList`]:
//!
//! | field | result |
//! |---|---|
//! | name not a `token` (RFC 9110 §5.1), or empty | [`HeaderError`] |
//! | value with CR, LF, NUL, another CTL except HTAB, or DEL (RFC 9110 §5.5) | [`HeaderError`] |
//! | value with leading or trailing SP/HTAB | trimmed, then stored |
//! | value with obs-text (0x80–0xFF) | stored as given |
//! | `Content-Length`, `Transfer-Encoding`, `Trailer` (any case) | [`HeaderError`]: framing is the encoder's |
//! | `Connection`, `Keep-Alive` (any case) | [`HeaderError`]: connection management is the server's |
//! | `Date` (any case) | [`HeaderError`]: the encoder writes the cached date on every response |
//! | `Server` | stored; replaces the server's configured `Server` line for this response |
//! | `Upgrade` | stored; the encoder adds the `upgrade` option to `Connection` (RFC 9110 §7.8) |
//!
//! Why refuse rather than override: a `Content-Length` that disagrees with the body, or a
//! `Transfer-Encoding` the encoder did not apply, desynchronises the peer (the response-side
//! twin of request smuggling), and a silently dropped field hides the bug. The error says
//! which field, at the line that added it.
//!
//! Why trim: RFC 9110 §5.5 says a field value does not include leading or trailing whitespace,
//! and every recipient (our own parser included) strips it, so the stored value is the value a
//! peer reads. Trimming slices the [`Bytes`]: it copies nothing.

use std::fmt;
use std::io;
use std::pin::Pin;

use bytes::{Buf, Bytes};
use futures_core::Stream;

use super::chars::{self, TOKEN};
use super::status::StatusCode;

/// An HTTP response: status, header fields and body.
///
/// The header fields are the application's; the framing and connection-management fields
/// (`Content-Length`, `Transfer-Encoding`, `Connection`, `Date`, …) are written by the encoder
/// from the body, the status and the connection, and cannot be added (see [`HeaderList`]).
///
/// # Examples
///
/// ```
/// use nanoapi::http::{Response, StatusCode};
///
/// let resp = Response::text(StatusCode::OK, "hello")
///     .header("Cache-Control", "no-store")?
///     .header("Set-Cookie", "a=1")?
///     .header("Set-Cookie", "b=2")?;
/// assert_eq!(resp.status(), StatusCode::OK);
/// assert_eq!(resp.headers().get("content-type"), Some(&b"text/plain; charset=utf-8"[..]));
/// assert_eq!(resp.headers().get_all("set-cookie").count(), 2);
/// assert_eq!(resp.body().len(), Some(5));
/// # Ok::<(), nanoapi::http::HeaderError>(())
/// ```
#[derive(Debug)]
pub struct Response {
    status: StatusCode,
    headers: HeaderList,
    body: Body,
}

/// A response body.
///
/// Bytes bodies (`Empty`, `Bytes`, `Static`) go out with a `Content-Length`, in the same
/// buffer as the head; a `Stream` goes out chunked (HTTP/1.1) or close-delimited (HTTP/1.0),
/// written by the caller of [`super::send_response`] as the stream yields; a `SizedStream`
/// (a file, say) goes out with its `Content-Length` and its pieces as they are.
///
/// # Examples
///
/// ```
/// use nanoapi::http::Body;
///
/// assert_eq!(Body::from("hi").len(), Some(2));
/// assert_eq!(Body::from(String::from("hi")).len(), Some(2));
/// assert_eq!(Body::Empty.len(), Some(0));
/// ```
#[derive(Default)]
pub enum Body {
    /// No content (`Content-Length: 0`).
    #[default]
    Empty,
    /// Content in a reference-counted buffer.
    Bytes(Bytes),
    /// Content in static memory.
    Static(&'static [u8]),
    /// Content produced over time; its length is not known in advance.
    Stream(BodyStream),
    /// Content produced over time whose length is known in advance: sent with a
    /// `Content-Length`. A stream that yields more or fewer bytes than `len` aborts the
    /// connection (its framing cannot be mended once the head is out).
    SizedStream {
        /// The exact number of bytes the stream yields.
        len: u64,
        /// The content.
        stream: BodyStream,
    },
}

/// A streamed body: chunks of bytes, or an I/O error that ends the response (the connection is
/// then closed, as the peer cannot be told in-band).
///
/// Not `Send`: a response lives and dies on the worker thread that serves its connection.
pub type BodyStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>>>>;

/// Header fields in insertion order, several with the same name allowed (each `Set-Cookie`
/// stays its own line), looked up without regard to ASCII case.
///
/// Names and values are kept as given, as [`Bytes`]: a `&'static str` becomes a static
/// `Bytes` without allocating, a `String` or `Vec<u8>` is taken over without copying. Values
/// are trimmed of leading and trailing SP/HTAB. The module documentation has the full
/// validation policy.
///
/// # Examples
///
/// ```
/// use nanoapi::http::HeaderList;
///
/// let mut headers = HeaderList::new();
/// headers.append("Set-Cookie", "a=1")?;
/// headers.append("set-cookie", "b=2")?;
/// headers.append("Vary", " Accept ")?;
/// assert_eq!(headers.get("SET-COOKIE"), Some(&b"a=1"[..]));
/// assert_eq!(headers.get("vary"), Some(&b"Accept"[..]));
///
/// headers.insert("Set-Cookie", "c=3")?;
/// let fields: Vec<_> = headers.iter().collect();
/// assert_eq!(fields, [(&b"Set-Cookie"[..], &b"c=3"[..]), (b"Vary", b"Accept")]);
///
/// assert!(headers.append("Content-Length", "5").is_err());
/// assert!(headers.append("X-Evil", "a\r\nb").is_err());
/// # Ok::<(), nanoapi::http::HeaderError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HeaderList {
    fields: Fields,
    /// [`HAS_SERVER`] and [`HAS_UPGRADE`]: whether a field of that name is in `fields`, so the
    /// encoder decides its `Server` and `Connection` lines without scanning names.
    flags: u8,
}

/// Why a header field was refused. Says which field; the Display text is for people, not for
/// matching.
///
/// # Examples
///
/// ```
/// use nanoapi::http::HeaderList;
///
/// let err = HeaderList::new().append("content-length", "5").unwrap_err();
/// assert!(err.is_reserved());
/// assert_eq!(err.name(), b"content-length");
/// assert!(err.to_string().contains("content-length"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct HeaderError {
    kind: HeaderErrorKind,
    name: Bytes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HeaderErrorKind {
    InvalidName,
    InvalidValue,
    Reserved,
}

#[derive(Clone, PartialEq, Eq)]
struct Field {
    name: Bytes,
    value: Bytes,
}

/// The fields of a [`HeaderList`]: the first one inline, so that the usual response (a
/// `Content-Type` and nothing else) allocates nothing; a `Vec` from the second on.
#[derive(Clone, PartialEq, Eq)]
enum Fields {
    One(Option<Field>),
    Many(Vec<Field>),
}

impl Default for Fields {
    fn default() -> Fields {
        Fields::One(None)
    }
}

impl Fields {
    fn with_capacity(capacity: usize) -> Fields {
        if capacity <= 1 {
            Fields::default()
        } else {
            Fields::Many(Vec::with_capacity(capacity))
        }
    }

    fn push(&mut self, field: Field) {
        match self {
            Fields::One(slot @ None) => *slot = Some(field),
            Fields::One(Some(_)) => {
                let Fields::One(Some(first)) = std::mem::take(self) else {
                    unreachable!("matched above")
                };
                *self = Fields::Many(vec![first, field]);
            }
            Fields::Many(fields) => fields.push(field),
        }
    }

    fn retain(&mut self, mut keep: impl FnMut(&Field) -> bool) {
        match self {
            Fields::One(slot) => {
                if slot.as_ref().is_some_and(|field| !keep(field)) {
                    *slot = None;
                }
            }
            Fields::Many(fields) => fields.retain(keep),
        }
    }

    fn clear(&mut self) {
        match self {
            Fields::One(slot) => *slot = None,
            Fields::Many(fields) => fields.clear(),
        }
    }
}

impl std::ops::Deref for Fields {
    type Target = [Field];

    fn deref(&self) -> &[Field] {
        match self {
            Fields::One(slot) => slot.as_slice(),
            Fields::Many(fields) => fields,
        }
    }
}

impl std::ops::DerefMut for Fields {
    fn deref_mut(&mut self) -> &mut [Field] {
        match self {
            Fields::One(slot) => slot.as_mut_slice(),
            Fields::Many(fields) => fields,
        }
    }
}

const HAS_SERVER: u8 = 1 << 0;
const HAS_UPGRADE: u8 = 1 << 1;

/// The `Content-Type` of [`Response::text`].
const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
/// The `Content-Type` of [`Response::html`].
const TEXT_HTML: &str = "text/html; charset=utf-8";
/// The `Content-Type` of [`Response::json_bytes`]; `encode.rs`'s fast JSON path writes the
/// same bytes.
pub(crate) const APPLICATION_JSON: &str = "application/json";

impl Response {
    /// A response with `status`, no header fields and an empty body.
    pub fn new(status: StatusCode) -> Response {
        Response {
            status,
            headers: HeaderList::new(),
            body: Body::Empty,
        }
    }

    /// The same as [`Response::new`]: a response with no content, spelled for the reader
    /// (`Response::empty(StatusCode::NO_CONTENT)`).
    pub fn empty(status: StatusCode) -> Response {
        Response::new(status)
    }

    /// A `text/plain; charset=utf-8` response.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::http::{Response, StatusCode};
    ///
    /// let resp = Response::text(StatusCode::NOT_FOUND, format!("no user {}", 7));
    /// assert_eq!(resp.body().len(), Some(9));
    /// ```
    pub fn text(status: StatusCode, body: impl Into<Bytes>) -> Response {
        Response::with_content_type(status, TEXT_PLAIN, Body::Bytes(body.into()))
    }

    /// A `text/html; charset=utf-8` response.
    pub fn html(status: StatusCode, body: impl Into<Bytes>) -> Response {
        Response::with_content_type(status, TEXT_HTML, Body::Bytes(body.into()))
    }

    /// An `application/json` response whose body is already serialized.
    ///
    /// The bytes are not checked: this layer depends on no JSON crate.
    pub fn json_bytes(status: StatusCode, body: Bytes) -> Response {
        Response::with_content_type(status, APPLICATION_JSON, Body::Bytes(body))
    }

    /// A response with the given `Content-Type`.
    ///
    /// # Panics
    ///
    /// If `content_type` is not a valid field value (it holds a control character such as CR
    /// or LF): a static string that is wrong is a bug to find at the first request, like
    /// `http::HeaderValue::from_static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// use nanoapi::http::{Response, StatusCode};
    ///
    /// let resp = Response::bytes(StatusCode::OK, "image/png", Bytes::from_static(b"\x89PNG"));
    /// assert_eq!(resp.headers().get("Content-Type"), Some(&b"image/png"[..]));
    /// ```
    pub fn bytes(status: StatusCode, content_type: &'static str, body: Bytes) -> Response {
        let content_type = content_type.trim_matches([' ', '\t']);
        assert!(
            valid_field_value(content_type.as_bytes()),
            "invalid Content-Type {:?}",
            content_type
        );
        Response::with_content_type(status, content_type, Body::Bytes(body))
    }

    /// The response with one more header field (see [`HeaderList::append`]), for chaining.
    ///
    /// # Errors
    ///
    /// As [`HeaderList::append`]: an invalid name or value, or a field the encoder owns.
    pub fn header(
        mut self,
        name: impl Into<Bytes>,
        value: impl Into<Bytes>,
    ) -> Result<Response, HeaderError> {
        self.headers.append(name, value)?;
        Ok(self)
    }

    /// A response from its parts, the inverse of [`Response::into_parts`].
    pub fn from_parts(status: StatusCode, headers: HeaderList, body: Body) -> Response {
        Response {
            status,
            headers,
            body,
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Replaces the status code.
    pub fn set_status(&mut self, status: StatusCode) {
        self.status = status;
    }

    /// The header fields.
    pub fn headers(&self) -> &HeaderList {
        &self.headers
    }

    /// The header fields, to add or remove some.
    pub fn headers_mut(&mut self) -> &mut HeaderList {
        &mut self.headers
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// The body, to take a stream out of it (`std::mem::take(resp.body_mut())`) once the head
    /// is written.
    pub fn body_mut(&mut self) -> &mut Body {
        &mut self.body
    }

    /// Replaces the body. The header fields are left alone: a `Content-Type` set for the old
    /// body stays.
    pub fn set_body(&mut self, body: impl Into<Body>) {
        self.body = body.into();
    }

    /// The status, header fields and body.
    pub fn into_parts(self) -> (StatusCode, HeaderList, Body) {
        (self.status, self.headers, self.body)
    }

    /// A response with one trusted `Content-Type` field: the constants above and the checked
    /// argument of [`Response::bytes`].
    fn with_content_type(status: StatusCode, content_type: &'static str, body: Body) -> Response {
        let mut headers = HeaderList::new();
        headers.fields.push(Field {
            name: Bytes::from_static(b"Content-Type"),
            value: Bytes::from_static(content_type.as_bytes()),
        });
        Response {
            status,
            headers,
            body,
        }
    }
}

impl Body {
    /// A streamed body.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// use nanoapi::http::Body;
    ///
    /// # struct Once(Option<Bytes>);
    /// # impl futures_core::Stream for Once {
    /// #     type Item = std::io::Result<Bytes>;
    /// #     fn poll_next(
    /// #         mut self: std::pin::Pin<&mut Self>,
    /// #         _: &mut std::task::Context<'_>,
    /// #     ) -> std::task::Poll<Option<Self::Item>> {
    /// #         std::task::Poll::Ready(self.0.take().map(Ok))
    /// #     }
    /// # }
    /// let body = Body::stream(Once(Some(Bytes::from_static(b"tick"))));
    /// assert_eq!(body.len(), None);
    /// ```
    pub fn stream(stream: impl Stream<Item = io::Result<Bytes>> + 'static) -> Body {
        Body::Stream(Box::pin(stream))
    }

    /// A streamed body of exactly `len` bytes, sent with a `Content-Length`.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// use nanoapi::http::Body;
    ///
    /// # struct Once(Option<Bytes>);
    /// # impl futures_core::Stream for Once {
    /// #     type Item = std::io::Result<Bytes>;
    /// #     fn poll_next(
    /// #         mut self: std::pin::Pin<&mut Self>,
    /// #         _: &mut std::task::Context<'_>,
    /// #     ) -> std::task::Poll<Option<Self::Item>> {
    /// #         std::task::Poll::Ready(self.0.take().map(Ok))
    /// #     }
    /// # }
    /// let body = Body::sized_stream(4, Once(Some(Bytes::from_static(b"tick"))));
    /// assert_eq!(body.len(), Some(4));
    /// assert_eq!(body.as_slice(), None);
    /// ```
    pub fn sized_stream(len: u64, stream: impl Stream<Item = io::Result<Bytes>> + 'static) -> Body {
        Body::SizedStream {
            len,
            stream: Box::pin(stream),
        }
    }

    /// The content length in bytes, or `None` for a stream of unknown length.
    pub fn len(&self) -> Option<u64> {
        match self {
            Body::SizedStream { len, .. } => Some(*len),
            _ => self.as_slice().map(|bytes| bytes.len() as u64),
        }
    }

    /// Whether the body is known to be empty: `Some(true)` for an empty bytes body, `None` for
    /// a stream of unknown length.
    pub fn is_empty(&self) -> Option<bool> {
        self.len().map(|len| len == 0)
    }

    /// The content as one buffer (no copy), unless the body is a stream (then it is handed
    /// back).
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::http::Body;
    ///
    /// assert_eq!(Body::from("hi").into_bytes().unwrap(), "hi");
    /// assert_eq!(Body::Empty.into_bytes().unwrap(), "");
    /// ```
    pub fn into_bytes(self) -> Result<Bytes, Body> {
        match self {
            Body::Empty => Ok(Bytes::new()),
            Body::Bytes(bytes) => Ok(bytes),
            Body::Static(bytes) => Ok(Bytes::from_static(bytes)),
            stream @ (Body::Stream(_) | Body::SizedStream { .. }) => Err(stream),
        }
    }

    /// The content, unless the body is a stream.
    pub fn as_slice(&self) -> Option<&[u8]> {
        match self {
            Body::Empty => Some(&[]),
            Body::Bytes(bytes) => Some(bytes),
            Body::Static(bytes) => Some(bytes),
            Body::Stream(_) | Body::SizedStream { .. } => None,
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Bytes(bytes) => f.debug_tuple("Bytes").field(bytes).finish(),
            Body::Static(bytes) => f.debug_tuple("Static").field(&Escaped(bytes)).finish(),
            Body::Stream(_) => f.write_str("Stream(..)"),
            Body::SizedStream { len, .. } => write!(f, "SizedStream({len} bytes, ..)"),
        }
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Body {
        Body::Bytes(bytes)
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Body {
        Body::Static(bytes)
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Body {
        Body::Static(text.as_bytes())
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::Bytes(Bytes::from(text))
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::Bytes(Bytes::from(bytes))
    }
}

impl From<BodyStream> for Body {
    fn from(stream: BodyStream) -> Body {
        Body::Stream(stream)
    }
}

impl HeaderList {
    /// An empty list; allocates nothing until the first field.
    pub fn new() -> HeaderList {
        HeaderList::default()
    }

    /// An empty list with room for `capacity` fields.
    pub fn with_capacity(capacity: usize) -> HeaderList {
        HeaderList {
            fields: Fields::with_capacity(capacity),
            flags: 0,
        }
    }

    /// Adds a field after the others, keeping any fields of the same name.
    ///
    /// # Errors
    ///
    /// The name is not a token; the value holds CR, LF, NUL, another control character
    /// except HTAB, or DEL; or the field is one the encoder writes itself (`Content-Length`,
    /// `Transfer-Encoding`, `Trailer`, `Connection`, `Keep-Alive`, `Date`). The list is then
    /// unchanged.
    pub fn append(
        &mut self,
        name: impl Into<Bytes>,
        value: impl Into<Bytes>,
    ) -> Result<(), HeaderError> {
        self.append_field(name.into(), value.into())
    }

    /// Replaces every field named `name` with one field: it takes the place of the first
    /// of them, or goes last if there was none.
    ///
    /// # Errors
    ///
    /// As [`HeaderList::append`]; the list is then unchanged.
    pub fn insert(
        &mut self,
        name: impl Into<Bytes>,
        value: impl Into<Bytes>,
    ) -> Result<(), HeaderError> {
        self.insert_field(name.into(), value.into())
    }

    /// Removes every field named `name` (any case) and returns how many there were.
    pub fn remove(&mut self, name: impl AsRef<[u8]>) -> usize {
        let name = name.as_ref();
        let before = self.fields.len();
        self.fields.retain(|field| !field.is_named(name));
        let removed = before - self.fields.len();
        if removed > 0 {
            self.flags &= !name_flag(name);
        }
        removed
    }

    /// Removes every field.
    pub fn clear(&mut self) {
        self.fields.clear();
        self.flags = 0;
    }

    /// The value of the first field named `name` (any case).
    pub fn get(&self, name: impl AsRef<[u8]>) -> Option<&[u8]> {
        self.get_all(name).next()
    }

    /// The values of every field named `name` (any case), in order.
    pub fn get_all(&self, name: impl AsRef<[u8]>) -> impl Iterator<Item = &[u8]> {
        self.fields
            .iter()
            .filter(move |field| field.is_named(name.as_ref()))
            .map(|field| &field.value[..])
    }

    /// Whether a field named `name` (any case) is present.
    pub fn contains(&self, name: impl AsRef<[u8]>) -> bool {
        let name = name.as_ref();
        self.fields.iter().any(|field| field.is_named(name))
    }

    /// The number of fields (each `Set-Cookie` counts).
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The fields in order, as `(name, value)`.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            fields: self.fields.iter(),
        }
    }

    /// The fields in order, as the buffers that hold them (for a consumer that can share
    /// them rather than copy: HTTP/2's header values).
    #[cfg(feature = "http2")]
    pub(crate) fn iter_shared(&self) -> impl ExactSizeIterator<Item = (&Bytes, &Bytes)> {
        self.fields.iter().map(|field| (&field.name, &field.value))
    }

    /// Whether a `Server` field is present.
    pub(crate) fn has_server(&self) -> bool {
        self.flags & HAS_SERVER != 0
    }

    /// Whether an `Upgrade` field is present.
    pub(crate) fn has_upgrade(&self) -> bool {
        self.flags & HAS_UPGRADE != 0
    }

    fn append_field(&mut self, name: Bytes, value: Bytes) -> Result<(), HeaderError> {
        let (field, flag) = Field::new(name, value)?;
        self.fields.push(field);
        self.flags |= flag;
        Ok(())
    }

    fn insert_field(&mut self, name: Bytes, value: Bytes) -> Result<(), HeaderError> {
        let (field, flag) = Field::new(name, value)?;
        let Some(first) = self.fields.iter().position(|f| f.is_named(&field.name)) else {
            self.fields.push(field);
            self.flags |= flag;
            return Ok(());
        };
        // Drop the later namesakes; `first` keeps its index as nothing before it moves.
        let mut idx = 0;
        self.fields.retain(|f| {
            let keep = idx <= first || !f.is_named(&field.name);
            idx += 1;
            keep
        });
        self.fields[first] = field;
        Ok(())
    }
}

impl fmt::Debug for HeaderList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(name, value)| (Escaped(name), Escaped(value))),
            )
            .finish()
    }
}

impl<'a> IntoIterator for &'a HeaderList {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The fields of a [`HeaderList`] in order, as `(name, value)`.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    fields: std::slice::Iter<'a, Field>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        self.fields
            .next()
            .map(|field| (&field.name[..], &field.value[..]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.fields.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.fields
            .next_back()
            .map(|field| (&field.name[..], &field.value[..]))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl fmt::Debug for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {:?}", Escaped(&self.name), Escaped(&self.value))
    }
}

impl Field {
    /// A validated field, and the [`HeaderList`] flag its name sets.
    fn new(name: Bytes, mut value: Bytes) -> Result<(Field, u8), HeaderError> {
        if name.is_empty() || chars::scan(&name, 0, TOKEN) != name.len() {
            return Err(HeaderError::new(HeaderErrorKind::InvalidName, name));
        }
        if is_reserved(&name) {
            return Err(HeaderError::new(HeaderErrorKind::Reserved, name));
        }
        // Trim in place: no reference-count traffic, and nothing at all for the usual value.
        let end = value
            .iter()
            .rposition(|&b| !chars::is_ows(b))
            .map_or(0, |i| i + 1);
        value.truncate(end);
        let start = value
            .iter()
            .position(|&b| !chars::is_ows(b))
            .unwrap_or(value.len());
        value.advance(start);
        if chars::scan_value(&value, 0) != value.len() {
            return Err(HeaderError::new(HeaderErrorKind::InvalidValue, name));
        }
        let flag = name_flag(&name);
        Ok((Field { name, value }, flag))
    }

    fn is_named(&self, name: &[u8]) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// Whether the encoder or the server owns the field `name`: framing (RFC 9112 §6) and
/// connection management (RFC 9112 §9), plus `Date`, which is written on every response.
fn is_reserved(name: &[u8]) -> bool {
    // The length picks the one or two candidates; `eq_lower` compares whole words.
    match name.len() {
        4 => chars::eq_lower(name, b"date"),
        7 => chars::eq_lower(name, b"trailer"),
        10 => chars::eq_lower(name, b"connection") || chars::eq_lower(name, b"keep-alive"),
        14 => chars::eq_lower(name, b"content-length"),
        17 => chars::eq_lower(name, b"transfer-encoding"),
        _ => false,
    }
}

/// The [`HeaderList`] flag of the field `name`, or 0.
fn name_flag(name: &[u8]) -> u8 {
    if chars::eq_lower(name, b"server") {
        HAS_SERVER
    } else if chars::eq_lower(name, b"upgrade") {
        HAS_UPGRADE
    } else {
        0
    }
}

/// Whether `value` may be sent as a field value as it is: only field-vchar, SP and HTAB
/// (RFC 9110 §5.5), no leading or trailing whitespace. For values configured once, such as the
/// server's `Server` header, which the encoder writes without looking.
pub(crate) fn valid_field_value(value: &[u8]) -> bool {
    chars::scan_value(value, 0) == value.len() && chars::trim_ows(value).len() == value.len()
}

impl HeaderError {
    fn new(kind: HeaderErrorKind, name: Bytes) -> HeaderError {
        HeaderError { kind, name }
    }

    /// The value of the field `name` holds a byte it may not: for layers that check a value's
    /// own grammar (a cookie's) before it becomes a field.
    #[cfg_attr(not(feature = "app"), allow(dead_code))]
    pub(crate) fn invalid_value(name: &'static [u8]) -> HeaderError {
        HeaderError::new(HeaderErrorKind::InvalidValue, Bytes::from_static(name))
    }

    /// The name of the refused field, as given.
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// Whether the name is not a token (RFC 9110 §5.1).
    pub fn is_invalid_name(&self) -> bool {
        self.kind == HeaderErrorKind::InvalidName
    }

    /// Whether the value holds a byte a field value may not (RFC 9110 §5.5).
    pub fn is_invalid_value(&self) -> bool {
        self.kind == HeaderErrorKind::InvalidValue
    }

    /// Whether the field is one the encoder writes itself (`Content-Length`, `Date`, …).
    pub fn is_reserved(&self) -> bool {
        self.kind == HeaderErrorKind::Reserved
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name.escape_ascii();
        match self.kind {
            HeaderErrorKind::InvalidName => {
                write!(f, "invalid header name \"{name}\": not a token")
            }
            HeaderErrorKind::InvalidValue => write!(
                f,
                "invalid value for header \"{name}\": contains CR, LF, NUL or another control \
                 character"
            ),
            HeaderErrorKind::Reserved => write!(
                f,
                "header \"{name}\" is written by the server from the body and the connection \
                 and cannot be set"
            ),
        }
    }
}

impl fmt::Debug for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeaderError")
            .field("kind", &self.kind)
            .field("name", &Escaped(&self.name))
            .finish()
    }
}

impl std::error::Error for HeaderError {}

/// Bytes shown as a string literal with non-printable bytes escaped.
struct Escaped<'a>(&'a [u8]);

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}

#[cfg(test)]
mod tests;
