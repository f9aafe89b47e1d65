//! `Multipart`: a `multipart/form-data` body (RFC 7578, framing from RFC 2046 §5.1) parsed
//! as it streams in, one field at a time, within limits.
//!
//! The parser keeps at most one read of the body plus a delimiter's length in memory while a
//! field's content streams through [`Field::chunk`]; only a part's header block (at most
//! 8 KiB) is gathered whole. Every malformed input is an error with a
//! status, never a panic: 400 for broken framing, 413 past a limit, 415 for a body that is
//! not `multipart/form-data`.

use crate::app::logging::event;
use std::fmt;

use bytes::{Buf, Bytes, BytesMut};

use super::{FromRequest, HeaderMap, Rejection, RequestContext};
use crate::app::doc::{BodyDoc, OperationDoc};
use crate::app::response::{HttpException, IntoResponse};
use crate::http::{Response, StatusCode};
use crate::server::{Request, RequestBody};

/// The largest header block of one part: its `Content-Disposition`, `Content-Type` and any
/// other fields together (larger is 413).
const MAX_PART_HEADERS: usize = 8 * 1024;

/// Limits on a multipart body. Set them with
/// [`App::multipart_limits`](crate::app::App::multipart_limits) to change them for every
/// [`Multipart`] extractor; without that, the defaults apply.
///
/// Non-exhaustive, so that a new field is not a breaking change: start from `default()` and set
/// the fields you need.
///
/// # Examples
///
/// ```
/// use nanoapi::app::{App, MultipartLimits};
///
/// let mut limits = MultipartLimits::default();
/// limits.max_file_size = 50 * 1024 * 1024;
/// limits.max_total = Some(64 * 1024 * 1024);
/// let app = App::new().multipart_limits(limits);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MultipartLimits {
    /// Most parts (default 1,000; one more is 413).
    pub max_fields: usize,
    /// Largest value of a part without a file name (default 1 MiB; larger is 413).
    pub max_field_size: u64,
    /// Largest content of a part with a file name (default: no limit of its own; the body
    /// limit bounds it).
    pub max_file_size: u64,
    /// The body limit for multipart requests, replacing the server's
    /// ([`Limits::max_body`](crate::server::Limits::max_body), 2 MiB by default) when set.
    pub max_total: Option<u64>,
}

impl Default for MultipartLimits {
    fn default() -> MultipartLimits {
        MultipartLimits {
            max_fields: 1000,
            max_field_size: 1024 * 1024,
            max_file_size: u64::MAX,
            max_total: None,
        }
    }
}

/// Why a multipart body was refused: a status (400, 408, 413, 415) and a `detail`; as a
/// response, `{"detail": ...}` with that status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartError {
    status: StatusCode,
    detail: String,
}

impl MultipartError {
    fn new(status: StatusCode, detail: impl Into<String>) -> MultipartError {
        MultipartError {
            status,
            detail: detail.into(),
        }
    }

    fn malformed(why: &str) -> MultipartError {
        MultipartError::new(
            StatusCode::BAD_REQUEST,
            format!("Malformed multipart body: {why}"),
        )
    }

    fn too_large(what: &str) -> MultipartError {
        MultipartError::new(StatusCode::CONTENT_TOO_LARGE, what)
    }

    /// The status it answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `detail` it answers with.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status.as_u16(), self.detail)
    }
}

impl std::error::Error for MultipartError {}

impl IntoResponse for MultipartError {
    fn into_response(self) -> Response {
        HttpException::new(self.status, self.detail).into_response()
    }
}

impl From<MultipartError> for Rejection {
    fn from(err: MultipartError) -> Rejection {
        Rejection::Response(err.into_response())
    }
}

/// A `multipart/form-data` body, read field by field as it arrives.
///
/// As an extractor it checks the `Content-Type` (415 unless `multipart/form-data`, 400
/// without a valid boundary) and takes the body; the handler then calls
/// [`next_field`](Multipart::next_field) until it returns `None`. A field not read to its end
/// is skipped by the next call. Errors ([`MultipartError`]) convert into responses, so a
/// handler can return `Result<_, MultipartError>` and use `?`. Limits come from
/// [`MultipartLimits`].
///
/// # Examples
///
/// ```
/// use nanoapi::app::{App, Multipart, MultipartError};
///
/// async fn upload(mut form: Multipart) -> Result<String, MultipartError> {
///     let mut report = Vec::new();
///     while let Some(mut field) = form.next_field().await? {
///         let name = field.name().to_owned();
///         match field.file_name().map(str::to_owned) {
///             Some(file) => {
///                 let mut size = 0;
///                 while let Some(chunk) = field.chunk().await? {
///                     size += chunk.len();
///                 }
///                 report.push(format!("{name}: {file} ({size} bytes)"));
///             }
///             None => report.push(format!("{name} = {}", field.text().await?)),
///         }
///     }
///     Ok(report.join("\n"))
/// }
///
/// let client = App::new().post("/upload", upload).test_client();
/// let body = "--XyZ\r\n\
///     Content-Disposition: form-data; name=\"title\"\r\n\r\n\
///     Holiday\r\n\
///     --XyZ\r\n\
///     Content-Disposition: form-data; name=\"photo\"; filename=\"beach.jpg\"\r\n\
///     Content-Type: image/jpeg\r\n\r\n\
///     \u{ff}\u{d8}jpeg bytes\r\n\
///     --XyZ--\r\n";
/// let resp = client
///     .post("/upload")
///     .header("Content-Type", "multipart/form-data; boundary=XyZ")
///     .body(body)
///     .send();
/// assert_eq!(resp.text(), "title = Holiday\nphoto: beach.jpg (14 bytes)");
///
/// let resp = client.post("/upload").header("Content-Type", "text/plain").body("x").send();
/// assert_eq!(resp.status(), 415);
/// ```
pub struct Multipart {
    body: RequestBody,
    /// `CRLF -- boundary`: what ends a part's content.
    delimiter: Bytes,
    buf: BytesMut,
    state: State,
    limits: MultipartLimits,
    n_fields: usize,
    /// The content size of the current field so far.
    field_size: u64,
    /// Whether the current field is a file (it has a file name), which decides its limit.
    field_is_file: bool,
}

/// Where the parser is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter.
    Preamble,
    /// Just after a delimiter: `--` ends the body, CRLF starts a part.
    AfterDelimiter,
    /// At a part's header block.
    Headers,
    /// Inside a part's content.
    Content,
    /// After the close delimiter; the epilogue is ignored.
    Done,
}

impl Multipart {
    /// A parser of `body`, whose request had this `Content-Type`: the core of the extractor,
    /// usable without one.
    ///
    /// # Errors
    ///
    /// 415 when `content_type` is not `multipart/form-data`, 400 when its boundary is missing
    /// or invalid.
    pub fn new(
        body: RequestBody,
        content_type: &str,
        limits: MultipartLimits,
    ) -> Result<Multipart, MultipartError> {
        let boundary = parse_boundary(content_type)?;
        let mut delimiter = BytesMut::with_capacity(4 + boundary.len());
        delimiter.extend_from_slice(b"\r\n--");
        delimiter.extend_from_slice(boundary.as_bytes());
        // The body starts as if after a line break, so the first delimiter (which may open the
        // body with no CRLF before it) is found like every other.
        let mut buf = BytesMut::with_capacity(8 * 1024);
        buf.extend_from_slice(b"\r\n");
        Ok(Multipart {
            body,
            delimiter: delimiter.freeze(),
            buf,
            state: State::Preamble,
            limits,
            n_fields: 0,
            field_size: 0,
            field_is_file: false,
        })
    }

    /// The next field, `None` after the last one.
    ///
    /// # Errors
    ///
    /// 400 for broken framing or part headers (no boundary line, a body that ends inside a
    /// part, a part without `Content-Disposition: form-data; name=...`), 413 past a limit,
    /// and the body's own read errors (413, 400, 408).
    pub async fn next_field(&mut self) -> Result<Option<Field<'_>>, MultipartError> {
        loop {
            match self.state {
                State::Preamble => self.skip_preamble().await?,
                State::Content => while self.read_content().await?.is_some() {},
                State::AfterDelimiter => self.after_delimiter().await?,
                State::Headers => {
                    let field = self.read_headers().await?;
                    return Ok(Some(Field {
                        multipart: self,
                        name: field.name,
                        file_name: field.file_name,
                        content_type: field.content_type,
                        headers: field.headers,
                    }));
                }
                State::Done => return Ok(None),
            }
        }
    }

    /// Reads more of the body into the buffer; `false` at its end.
    async fn fill(&mut self) -> Result<bool, MultipartError> {
        match self.body.read_chunk().await {
            Ok(Some(chunk)) => {
                self.buf.extend_from_slice(&chunk);
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(err) => {
                event!(debug, error = %err, "multipart body read failed");
                Err(MultipartError::new(
                    err.status_or_500(),
                    "Could not read the request body",
                ))
            }
        }
    }

    /// Reads at least `n` bytes into the buffer, or fails with `why` at the body's end.
    async fn need(&mut self, n: usize, why: &str) -> Result<(), MultipartError> {
        while self.buf.len() < n {
            if !self.fill().await? {
                return Err(MultipartError::malformed(why));
            }
        }
        Ok(())
    }

    async fn skip_preamble(&mut self) -> Result<(), MultipartError> {
        loop {
            if let Some(at) = find(&self.buf, &self.delimiter) {
                self.buf.advance(at + self.delimiter.len());
                self.state = State::AfterDelimiter;
                return Ok(());
            }
            // Keep what could be the start of a delimiter cut by the read.
            let keep = (self.delimiter.len() - 1).min(self.buf.len());
            self.buf.advance(self.buf.len() - keep);
            if !self.fill().await? {
                return Err(MultipartError::malformed("no boundary line"));
            }
        }
    }

    async fn after_delimiter(&mut self) -> Result<(), MultipartError> {
        self.need(2, "the body ends after a boundary").await?;
        if self.buf.starts_with(b"--") {
            self.state = State::Done;
            return Ok(());
        }
        // RFC 2046 §5.1.1: optional whitespace ("transport padding"), then CRLF.
        loop {
            let padding = self
                .buf
                .iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
            if padding > MAX_PART_HEADERS {
                return Err(MultipartError::malformed("a boundary line is too long"));
            }
            if padding + 2 <= self.buf.len() {
                if &self.buf[padding..padding + 2] != b"\r\n" {
                    return Err(MultipartError::malformed(
                        "a boundary line has trailing characters",
                    ));
                }
                self.buf.advance(padding + 2);
                self.state = State::Headers;
                return Ok(());
            }
            self.need(self.buf.len() + 1, "the body ends after a boundary")
                .await?;
        }
    }

    async fn read_headers(&mut self) -> Result<PartHead, MultipartError> {
        let end = loop {
            if self.buf.starts_with(b"\r\n") {
                break 0;
            }
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at + 2;
            }
            if self.buf.len() > MAX_PART_HEADERS {
                return Err(MultipartError::too_large(
                    "Multipart part headers too large",
                ));
            }
            self.need(self.buf.len() + 1, "the body ends inside part headers")
                .await?;
        };
        if end > MAX_PART_HEADERS {
            return Err(MultipartError::too_large(
                "Multipart part headers too large",
            ));
        }
        let block = self.buf.split_to(end + 2);
        let head = PartHead::parse(&block[..end])?;
        self.n_fields += 1;
        if self.n_fields > self.limits.max_fields {
            return Err(MultipartError::too_large("Too many multipart fields"));
        }
        self.field_size = 0;
        self.field_is_file = head.file_name.is_some();
        self.state = State::Content;
        Ok(head)
    }

    /// The next piece of the current part's content, `None` at its end (or when no part's
    /// content is being read).
    async fn read_content(&mut self) -> Result<Option<Bytes>, MultipartError> {
        if self.state != State::Content {
            return Ok(None);
        }
        loop {
            let ready = match find(&self.buf, &self.delimiter) {
                Some(0) => {
                    self.buf.advance(self.delimiter.len());
                    self.state = State::AfterDelimiter;
                    return Ok(None);
                }
                Some(at) => at,
                // A delimiter may begin in the last bytes: hold them back until it is known.
                None => self.buf.len().saturating_sub(self.delimiter.len() - 1),
            };
            if ready > 0 {
                let piece = self.buf.split_to(ready).freeze();
                self.field_size += piece.len() as u64;
                let (limit, what) = if self.field_is_file {
                    (self.limits.max_file_size, "Multipart file too large")
                } else {
                    (self.limits.max_field_size, "Multipart field too large")
                };
                if self.field_size > limit {
                    return Err(MultipartError::too_large(what));
                }
                return Ok(Some(piece));
            }
            if !self.fill().await? {
                return Err(MultipartError::malformed("the body ends inside a part"));
            }
        }
    }
}

impl fmt::Debug for Multipart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Multipart")
            .field("state", &self.state)
            .field("fields", &self.n_fields)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl<S> FromRequest<S> for Multipart {
    async fn from_request(
        req: &mut Request,
        cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        let content_type = req
            .header("content-type")
            .map(|value| String::from_utf8_lossy(value).into_owned())
            .unwrap_or_default();
        let limits = cx.multipart.clone();
        if let Some(total) = limits.max_total {
            req.set_body_limit(total);
        }
        Ok(Multipart::new(req.take_body(), &content_type, limits)?)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.body = Some(BodyDoc {
            content_type: "multipart/form-data",
            schema: None,
            required: true,
        });
    }
}

/// One field of a [`Multipart`] body: its name, file name and type, and its content, read
/// with [`chunk`](Field::chunk), [`bytes`](Field::bytes) or [`text`](Field::text).
///
/// The file name is the client's, untrusted: never use it as a path.
pub struct Field<'m> {
    multipart: &'m mut Multipart,
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    headers: HeaderMap,
}

impl Field<'_> {
    /// The field's name (`name=` of its `Content-Disposition`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file name, for a file field (`filename=`).
    pub fn file_name(&self) -> Option<&str> {
        self.file_name.as_deref()
    }

    /// The part's `Content-Type`, if it has one.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// Every header field of the part.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The next piece of the content, `None` at its end.
    ///
    /// # Errors
    ///
    /// As [`Multipart::next_field`]; 413 past the field's limit.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, MultipartError> {
        self.multipart.read_content().await
    }

    /// The whole content.
    ///
    /// # Errors
    ///
    /// As [`chunk`](Field::chunk).
    pub async fn bytes(mut self) -> Result<Bytes, MultipartError> {
        let Some(first) = self.chunk().await? else {
            return Ok(Bytes::new());
        };
        let mut all = BytesMut::from(&first[..]);
        while let Some(piece) = self.chunk().await? {
            all.extend_from_slice(&piece);
        }
        Ok(all.freeze())
    }

    /// The whole content as text.
    ///
    /// # Errors
    ///
    /// As [`chunk`](Field::chunk); 400 when it is not UTF-8.
    pub async fn text(self) -> Result<String, MultipartError> {
        let name = self.name.clone();
        let bytes = self.bytes().await?;
        String::from_utf8(bytes.into()).map_err(|_| {
            MultipartError::new(
                StatusCode::BAD_REQUEST,
                format!("Multipart field {name:?} is not valid UTF-8"),
            )
        })
    }
}

impl fmt::Debug for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Field")
            .field("name", &self.name)
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

/// A part's header block, parsed.
#[derive(Debug)]
struct PartHead {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    headers: HeaderMap,
}

impl PartHead {
    /// Parses `Name: value` lines (CRLF-separated, no final CRLF).
    fn parse(block: &[u8]) -> Result<PartHead, MultipartError> {
        let text = std::str::from_utf8(block)
            .map_err(|_| MultipartError::malformed("part headers are not UTF-8"))?;
        let mut pairs = Vec::new();
        for line in text.split("\r\n").filter(|line| !line.is_empty()) {
            let Some((name, value)) = line.split_once(':') else {
                return Err(MultipartError::malformed("a part header line has no colon"));
            };
            let is_token = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !is_token || value.contains(['\r', '\n', '\0']) {
                return Err(MultipartError::malformed("a part header is invalid"));
            }
            pairs.push((name.to_owned(), value.trim().to_owned()));
        }
        let headers = HeaderMap::from_pairs(pairs);
        let disposition = headers
            .get("content-disposition")
            .ok_or_else(|| MultipartError::malformed("a part has no Content-Disposition"))?;
        let (kind, params) = split_params(disposition);
        if !kind.eq_ignore_ascii_case("form-data") {
            return Err(MultipartError::malformed("a part is not form-data"));
        }
        let param = |wanted: &str| {
            params
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
                .map(|(_, value)| value.clone())
        };
        let name = param("name")
            .ok_or_else(|| MultipartError::malformed("a part's Content-Disposition has no name"))?;
        Ok(PartHead {
            name,
            file_name: param("filename"),
            content_type: headers.get("content-type").map(str::to_owned),
            headers,
        })
    }
}

/// Splits `type; a=1; b="x;y"` into the type and its parameters (quoted values unquoted,
/// `\"` and `\\` unescaped; any other backslash kept, as browsers send Windows paths).
fn split_params(value: &str) -> (&str, Vec<(String, String)>) {
    let (kind, mut rest) = value.split_once(';').unwrap_or((value, ""));
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        let Some(eq) = rest.find('=') else {
            break;
        };
        let name = rest[..eq].trim().to_owned();
        rest = rest[eq + 1..].trim_start();
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((at, c)) = chars.next() {
                match c {
                    '"' => {
                        end = at + 1;
                        break;
                    }
                    '\\' if quoted[at + 1..].starts_with(['"', '\\']) => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    c => value.push(c),
                }
            }
            rest = &quoted[end.min(quoted.len())..];
            value
        } else {
            let end = rest.find(';').unwrap_or(rest.len());
            let value = rest[..end].trim().to_owned();
            rest = &rest[end..];
            value
        };
        params.push((name, value));
    }
    (kind.trim(), params)
}

/// The boundary of a `multipart/form-data` media type.
fn parse_boundary(content_type: &str) -> Result<String, MultipartError> {
    let (kind, params) = split_params(content_type);
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return Err(MultipartError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type",
        ));
    }
    let boundary = params
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value)
        .ok_or_else(|| MultipartError::malformed("the Content-Type has no boundary"))?;
    // RFC 2046 §5.1.1: 1 to 70 `bchars`, not ending in a space.
    let bchar = |b: u8| b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&b);
    if boundary.is_empty()
        || boundary.len() > 70
        || boundary.ends_with(' ')
        || !boundary.bytes().all(bchar)
    {
        return Err(MultipartError::malformed("the boundary is invalid"));
    }
    Ok(boundary)
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    while let Some(offset) = haystack[from..].iter().position(|&b| b == first) {
        let at = from + offset;
        if haystack[at + 1..].starts_with(rest) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_parse_plain_and_quoted() {
        for (content_type, boundary) in [
            ("multipart/form-data; boundary=abc", "abc"),
            ("Multipart/Form-Data;boundary=\"a b:c\"", "a b:c"),
            ("multipart/form-data; charset=utf-8; boundary=x-y", "x-y"),
        ] {
            assert_eq!(parse_boundary(content_type).unwrap(), boundary);
        }
        for (content_type, status) in [
            ("text/plain; boundary=abc", 415),
            ("", 415),
            ("multipart/mixed; boundary=abc", 415),
            ("multipart/form-data", 400),
            ("multipart/form-data; boundary=", 400),
            ("multipart/form-data; boundary=\"abc \"", 400),
            ("multipart/form-data; boundary=a\u{e9}", 400),
        ] {
            let err = parse_boundary(content_type).unwrap_err();
            assert_eq!(err.status().as_u16(), status, "{content_type:?}");
        }
        let long = format!("multipart/form-data; boundary={}", "b".repeat(71));
        assert_eq!(parse_boundary(&long).unwrap_err().status().as_u16(), 400);
    }

    #[test]
    fn disposition_parameters_unquote_and_keep_windows_paths() {
        let (kind, params) =
            split_params(r#"form-data; name="a;b"; filename="C:\dir\x \"q\".txt""#);
        assert_eq!(kind, "form-data");
        assert_eq!(
            params,
            [
                ("name".to_owned(), "a;b".to_owned()),
                ("filename".to_owned(), r#"C:\dir\x "q".txt"#.to_owned())
            ]
        );
        let (_, params) = split_params("form-data; name=plain ; filename=\"unterminated");
        assert_eq!(params[0], ("name".to_owned(), "plain".to_owned()));
        assert_eq!(
            params[1],
            ("filename".to_owned(), "unterminated".to_owned())
        );
    }

    #[test]
    fn find_locates_the_first_whole_occurrence() {
        assert_eq!(find(b"ab\r\n--x", b"\r\n--x"), Some(2));
        assert_eq!(find(b"\r\n-\r\n--x", b"\r\n--x"), Some(3));
        assert_eq!(find(b"ab\r\n--", b"\r\n--x"), None);
        assert_eq!(find(b"", b"\r\n--x"), None);
    }
}
