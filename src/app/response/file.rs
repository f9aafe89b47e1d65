//! `FileResponse`: a file from disk, streamed without blocking the worker, with validators
//! (`ETag`, `Last-Modified`), conditional requests (304) and byte ranges (206, 416).
//!
//! The design (why an extractor, the order of evaluation) is on [`FileResponse`].

use crate::app::logging::event;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_core::Stream;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::IntoResponse;
use super::stream::set_header;
use crate::app::doc::OperationDoc;
use crate::app::extract::{FromRequestParts, HeaderMap, Rejection, RequestContext, RequestParts};
use crate::app::handler::LocalBoxFuture;
use crate::executor::BufResult;
use crate::executor::fs::File;
use crate::http::{Body, HeaderList, Response, StatusCode};

/// How much of a file one read fetches: one chunk of the body.
const CHUNK_SIZE: usize = 64 * 1024;

/// The request fields that make a [`FileResponse`] conditional or partial: `If-None-Match`,
/// `If-Modified-Since`, `Range` and `If-Range`, with the method (ranges apply to `GET` only,
/// 304s to `GET` and `HEAD`). As an extractor it never rejects.
///
/// # Examples
///
/// ```
/// use nanoapi::app::{Conditional, HeaderMap};
///
/// let headers = HeaderMap::from_pairs([("Range", "bytes=0-99")]);
/// let conditional = Conditional::from_headers("GET", &headers);
/// # let _ = conditional;
/// ```
#[derive(Debug, Clone, Default)]
pub struct Conditional {
    method: Method,
    if_none_match: Option<String>,
    if_modified_since: Option<String>,
    range: Option<String>,
    if_range: Option<String>,
}

/// The methods conditional and range handling distinguish.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Method {
    #[default]
    Get,
    Head,
    Other,
}

impl Conditional {
    /// The fields of a request with `method` and `headers`.
    pub fn from_headers(method: &str, headers: &HeaderMap) -> Conditional {
        Conditional::new(method.as_bytes(), |name| {
            headers.get(name).map(str::to_owned)
        })
    }

    fn new(method: &[u8], get: impl Fn(&str) -> Option<String>) -> Conditional {
        Conditional {
            method: match method {
                b"GET" => Method::Get,
                b"HEAD" => Method::Head,
                _ => Method::Other,
            },
            if_none_match: get("if-none-match"),
            if_modified_since: get("if-modified-since"),
            range: get("range"),
            if_range: get("if-range"),
        }
    }
}

impl<S> FromRequestParts<S> for Conditional {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        _cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        let get = |name: &str| {
            req.header(name)
                .map(|value| String::from_utf8_lossy(value).into_owned())
        };
        Ok(Conditional::new(req.method_bytes(), get))
    }
}

/// A file sent from disk: opened and read through the executor (io_uring operations, or the
/// blocking pool on the poll backend), so the worker never blocks; the body goes out in
/// 64 KiB chunks with a `Content-Length`.
///
/// The response carries `Content-Type` (from the extension; `text/*` with
/// `charset=utf-8`), `Accept-Ranges: bytes`, a weak `ETag` made of the size and modification
/// time, and `Last-Modified`. Given the request's [`Conditional`] fields it answers 304, 206
/// or 416 as described below. A `HEAD` request gets the same head and no read.
///
/// # Conditional requests and ranges
///
/// A response cannot see the request it answers, and conditional and range handling need the
/// request's fields. So the handler takes them as an extractor, [`Conditional`], and hands
/// them to the response with [`FileResponse::conditional`]: explicit, no hidden coupling
/// between the App and one response type, and a handler that does not want 304s or ranges
/// (a download that must always be whole) simply leaves it out. [`StaticFiles`] does this for
/// every file it serves.
///
/// The evaluation follows RFC 9110 §13.2.2 for `GET` and `HEAD`: `If-None-Match` (weak
/// comparison, §8.8.3.2) and, only when it is absent, `If-Modified-Since` may answer 304; then,
/// for `GET` only (§14.2), `Range` may answer 206, or 416 when no byte of it exists.
/// `If-Range` lets the range apply only while the file is unchanged: as the `ETag` is weak and
/// `If-Range` needs a strong match (§13.1.5), only its date form can succeed, when it equals
/// `Last-Modified`. A `Range` that is not one `bytes` range (several ranges, another unit,
/// bad syntax) is ignored and the whole file is sent, as §14.2 allows. `If-Match` and
/// `If-Unmodified-Since` (for state-changing requests) are not evaluated.
///
/// [`StaticFiles`]: crate::app::StaticFiles
///
/// # Examples
///
/// ```
/// use nanoapi::app::{App, Conditional, FileResponse, HttpException};
/// use nanoapi::http::StatusCode;
///
/// async fn report(conditional: Conditional) -> Result<FileResponse, HttpException> {
///     let path = std::env::temp_dir().join("nanoapi-doc-report.csv");
///     let file = FileResponse::open(&path)
///         .await
///         .map_err(|_| HttpException::new(StatusCode::NOT_FOUND, "Not Found"))?;
///     Ok(file.conditional(conditional).attachment("report.csv"))
/// }
///
/// std::fs::write(std::env::temp_dir().join("nanoapi-doc-report.csv"), "a,b\n1,2\n").unwrap();
/// let client = App::new().get("/report", report).test_client();
/// let resp = client.get("/report").header("Range", "bytes=4-").send();
/// assert_eq!(resp.status(), 206);
/// assert_eq!(resp.header("content-range"), Some("bytes 4-7/8"));
/// assert_eq!(resp.header("content-disposition"), Some("attachment; filename=\"report.csv\""));
/// assert_eq!(resp.text(), "1,2\n");
///
/// let etag = resp.header("etag").unwrap().to_owned();
/// let resp = client.get("/report").header("If-None-Match", &etag).send();
/// assert_eq!(resp.status(), 304);
/// ```
pub struct FileResponse {
    file: Rc<File>,
    len: u64,
    modified: Option<SystemTime>,
    content_type: Bytes,
    headers: HeaderList,
    conditional: Option<Conditional>,
}

impl FileResponse {
    /// Opens `path` and reads its metadata.
    ///
    /// # Errors
    ///
    /// As opening fails (`NotFound`, `PermissionDenied`, ...); `IsADirectory` for a
    /// directory and `InvalidInput` for anything else that is not a regular file.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<FileResponse> {
        let path = path.as_ref();
        let file = File::open(path).await?;
        let metadata = file.metadata().await?;
        if metadata.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "a directory is not a file response",
            ));
        }
        if !metadata.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "only a regular file can be a file response",
            ));
        }
        Ok(FileResponse {
            file: Rc::new(file),
            len: metadata.len(),
            modified: metadata.modified(),
            content_type: guess_content_type(path),
            headers: HeaderList::new(),
            conditional: None,
        })
    }

    /// Answers the request these fields come from: 304 when the client's copy is current,
    /// 206 or 416 for a `Range`. Without it, the response is always the whole file.
    pub fn conditional(mut self, conditional: Conditional) -> FileResponse {
        self.conditional = Some(conditional);
        self
    }

    /// Replaces the `Content-Type` guessed from the extension (an invalid value is logged and
    /// ignored).
    pub fn content_type(mut self, content_type: impl Into<Bytes>) -> FileResponse {
        let mut check = HeaderList::new();
        let content_type = content_type.into();
        match check.append("Content-Type", content_type.clone()) {
            Ok(()) => self.content_type = content_type,
            Err(err) => event!(error, error = %err, "response header refused"),
        }
        self
    }

    /// Asks the client to save the file as `filename`: `Content-Disposition: attachment`, with
    /// RFC 6266's `filename*` (UTF-8, percent-encoded) beside an ASCII fallback when the name
    /// is not plain ASCII.
    ///
    /// # Examples
    ///
    /// ```
    /// # nanoapi::executor::block_on(async {
    /// use nanoapi::app::{FileResponse, IntoResponse};
    ///
    /// let path = std::env::temp_dir().join("nanoapi-doc-attachment.txt");
    /// std::fs::write(&path, "x").unwrap();
    /// let resp = FileResponse::open(&path).await.unwrap().attachment("résumé.txt").into_response();
    /// assert_eq!(
    ///     resp.headers().get("content-disposition"),
    ///     Some(&b"attachment; filename=\"r_sum_.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"[..])
    /// );
    /// # });
    /// ```
    pub fn attachment(mut self, filename: &str) -> FileResponse {
        let value = content_disposition("attachment", filename);
        set_header(&mut self.headers, "Content-Disposition", value.into(), true);
        self
    }

    /// Adds a header field (`Cache-Control`, say); an invalid one is logged and ignored.
    pub fn header(mut self, name: &str, value: impl Into<Bytes>) -> FileResponse {
        set_header(&mut self.headers, name, value.into(), false);
        self
    }
}

impl IntoResponse for FileResponse {
    fn into_response(self) -> Response {
        let etag = etag(self.len, self.modified);
        let last_modified = self.modified.map(httpdate::fmt_http_date);
        let outcome = match &self.conditional {
            Some(conditional) => evaluate(conditional, self.len, self.modified, &etag),
            None => Outcome::Full,
        };
        let mut headers = HeaderList::with_capacity(5 + self.headers.len());
        // The values below are built from digits, hex and an IMF-fixdate, and the content
        // type was checked when set: appending cannot fail.
        if !matches!(outcome, Outcome::NotModified) {
            let _ = headers.append("Content-Type", self.content_type.clone());
            let _ = headers.append("Accept-Ranges", "bytes");
        }
        let _ = headers.append("ETag", etag);
        if let Some(last_modified) = last_modified {
            let _ = headers.append("Last-Modified", last_modified);
        }
        let (status, body) = match outcome {
            Outcome::NotModified => (StatusCode::NOT_MODIFIED, Body::Empty),
            Outcome::Full => (StatusCode::OK, file_body(self.file, 0, self.len)),
            Outcome::Partial { start, end } => {
                let range = format!("bytes {start}-{}/{}", end - 1, self.len);
                let _ = headers.append("Content-Range", range);
                (
                    StatusCode::PARTIAL_CONTENT,
                    file_body(self.file, start, end),
                )
            }
            Outcome::Unsatisfiable => {
                let _ = headers.append("Content-Range", format!("bytes */{}", self.len));
                (StatusCode::RANGE_NOT_SATISFIABLE, Body::Empty)
            }
        };
        for (name, value) in &self.headers {
            let _ = headers.append(Bytes::copy_from_slice(name), Bytes::copy_from_slice(value));
        }
        Response::from_parts(status, headers, body)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.success_plain("application/octet-stream");
    }
}

impl std::fmt::Debug for FileResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileResponse")
            .field("len", &self.len)
            .field("modified", &self.modified)
            .field("conditional", &self.conditional)
            .finish_non_exhaustive()
    }
}

/// What a file response answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// 304: the client's copy is current.
    NotModified,
    /// 200: the whole file.
    Full,
    /// 206: bytes `start..end`.
    Partial { start: u64, end: u64 },
    /// 416: no byte of the range exists.
    Unsatisfiable,
}

/// RFC 9110 §13.2.2's order for `GET`/`HEAD` (see the module documentation).
fn evaluate(
    conditional: &Conditional,
    len: u64,
    modified: Option<SystemTime>,
    etag: &str,
) -> Outcome {
    if conditional.method == Method::Other {
        return Outcome::Full;
    }
    if let Some(if_none_match) = &conditional.if_none_match {
        if etag_list_matches(if_none_match, etag) {
            return Outcome::NotModified;
        }
    } else if let Some(since) = &conditional.if_modified_since
        && let (Some(modified), Ok(since)) = (modified, httpdate::parse_http_date(since))
        && unix_secs(modified) <= unix_secs(since)
    {
        return Outcome::NotModified;
    }
    let Some(range) = &conditional.range else {
        return Outcome::Full;
    };
    if conditional.method != Method::Get {
        return Outcome::Full;
    }
    if let Some(if_range) = &conditional.if_range
        && !if_range_holds(if_range, modified)
    {
        return Outcome::Full;
    }
    match parse_range(range, len) {
        RangeSpec::Ignored => Outcome::Full,
        RangeSpec::Unsatisfiable => Outcome::Unsatisfiable,
        RangeSpec::Bytes { start, end } => Outcome::Partial { start, end },
    }
}

/// A weak `ETag` from the size and the modification time (nanoseconds where known), in hex.
fn etag(len: u64, modified: Option<SystemTime>) -> String {
    match modified.and_then(|m| m.duration_since(UNIX_EPOCH).ok()) {
        Some(since) => format!("W/\"{len:x}-{:x}\"", since.as_nanos()),
        None => format!("W/\"{len:x}\""),
    }
}

/// Whole seconds since the epoch (HTTP dates have no finer resolution); 0 before it.
fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// Whether `If-None-Match`'s value names `etag`: `*`, or a list of entity tags one of which
/// matches by the weak comparison (the opaque tags are equal, `W/` or not). A malformed list
/// matches nothing past the point where it breaks.
fn etag_list_matches(list: &str, etag: &str) -> bool {
    if list.trim() == "*" {
        return true;
    }
    let ours = opaque_tag(etag);
    let mut rest = list;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        let tag = rest.strip_prefix("W/").unwrap_or(rest);
        let Some(inner) = tag.strip_prefix('"') else {
            return false;
        };
        let Some(close) = inner.find('"') else {
            return false;
        };
        if inner[..close] == *ours {
            return true;
        }
        rest = &inner[close + 1..];
    }
}

/// The quoted part of an entity tag, without `W/` and the quotes.
fn opaque_tag(etag: &str) -> &str {
    etag.strip_prefix("W/").unwrap_or(etag).trim_matches('"')
}

/// Whether a range may apply under `If-Range`: an entity tag never matches (ours is weak and
/// §13.1.5 asks for a strong match); a date matches when it is the file's `Last-Modified`.
fn if_range_holds(if_range: &str, modified: Option<SystemTime>) -> bool {
    let if_range = if_range.trim();
    if if_range.starts_with('"') || if_range.starts_with("W/") {
        return false;
    }
    match (modified, httpdate::parse_http_date(if_range)) {
        (Some(modified), Ok(date)) => unix_secs(modified) == unix_secs(date),
        _ => false,
    }
}

/// A `Range` value, judged against a file of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeSpec {
    /// Not a single `bytes` range in valid syntax: send the whole file.
    Ignored,
    /// A valid range with no byte in the file.
    Unsatisfiable,
    /// Bytes `start..end` (`end` exclusive, within the file, `start < end`).
    Bytes { start: u64, end: u64 },
}

/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n` (RFC 9110 §14.1.2): `b` past the end is
/// clamped, `a` past the end or `-0` is unsatisfiable, `b < a` is invalid.
fn parse_range(value: &str, len: u64) -> RangeSpec {
    let value = value.trim();
    let Some(unit_end) = value.find('=') else {
        return RangeSpec::Ignored;
    };
    if !value[..unit_end].trim().eq_ignore_ascii_case("bytes") {
        return RangeSpec::Ignored;
    }
    let spec = value[unit_end + 1..].trim();
    if spec.contains(',') {
        // Several ranges would need multipart/byteranges; §14.2 lets a server ignore Range.
        return RangeSpec::Ignored;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeSpec::Ignored;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        let Some(suffix) = digits(last) else {
            return RangeSpec::Ignored;
        };
        if suffix == 0 || len == 0 {
            return RangeSpec::Unsatisfiable;
        }
        return RangeSpec::Bytes {
            start: len.saturating_sub(suffix),
            end: len,
        };
    }
    let Some(start) = digits(first) else {
        return RangeSpec::Ignored;
    };
    let end = if last.is_empty() {
        len
    } else {
        match digits(last) {
            Some(last) if last >= start => last.saturating_add(1).min(len),
            _ => return RangeSpec::Ignored,
        }
    };
    if start >= len {
        return RangeSpec::Unsatisfiable;
    }
    RangeSpec::Bytes { start, end }
}

/// A non-empty run of ASCII digits as a number (`u64::from_str` would also take a `+`).
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The `Content-Type` for `path`'s extension; `text/*` types say UTF-8.
pub(crate) fn guess_content_type(path: &Path) -> Bytes {
    match mime_guess::from_path(path).first_raw() {
        Some(mime) if mime.starts_with("text/") => format!("{mime}; charset=utf-8").into(),
        Some(mime) => Bytes::from_static(mime.as_bytes()),
        None => Bytes::from_static(b"application/octet-stream"),
    }
}

/// RFC 5987 `attr-char`: what `filename*` may carry unencoded.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `kind; filename="name"`, plus `filename*=UTF-8''…` (RFC 6266 §4.3) when the name is not
/// printable ASCII without quotes and backslashes; the plain `filename` is then a fallback
/// with `_` for every other character. Control characters never reach the value.
fn content_disposition(kind: &str, filename: &str) -> String {
    let plain = |c: char| c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\';
    if filename.chars().all(plain) {
        return format!("{kind}; filename=\"{filename}\"");
    }
    let fallback: String = filename
        .chars()
        .map(|c| if plain(c) { c } else { '_' })
        .collect();
    let encoded = utf8_percent_encode(filename, ATTR_CHAR);
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// Bytes `start..end` of `file` as a body of known length.
fn file_body(file: Rc<File>, start: u64, end: u64) -> Body {
    if start == end {
        return Body::Empty;
    }
    Body::sized_stream(
        end - start,
        FileChunks {
            file,
            offset: start,
            end,
            reading: None,
        },
    )
}

/// Reads `offset..end` of a file, one [`CHUNK_SIZE`] read at a time.
struct FileChunks {
    file: Rc<File>,
    offset: u64,
    end: u64,
    /// The read in flight.
    reading: Option<LocalBoxFuture<'static, BufResult<usize, Vec<u8>>>>,
}

impl Stream for FileChunks {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.offset >= this.end {
            return Poll::Ready(None);
        }
        let reading = this.reading.get_or_insert_with(|| {
            let want = (this.end - this.offset).min(CHUNK_SIZE as u64) as usize;
            let (file, offset) = (this.file.clone(), this.offset);
            Box::pin(async move { file.read_at(Vec::with_capacity(want), offset).await })
        });
        let (res, mut buf) = std::task::ready!(reading.as_mut().poll(cx));
        this.reading = None;
        let err = match res {
            Ok(0) => io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while it was being sent",
            ),
            Ok(n) => {
                // The buffer's capacity may exceed the request; never send past `end`.
                buf.truncate(n.min((this.end - this.offset) as usize));
                this.offset += buf.len() as u64;
                return Poll::Ready(Some(Ok(Bytes::from(buf))));
            }
            Err(err) => err,
        };
        event!(warn, error = %err, "reading a file response failed; closing the connection");
        this.offset = this.end;
        Poll::Ready(Some(Err(err)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_as_rfc_9110_says() {
        let bytes = |start, end| RangeSpec::Bytes { start, end };
        for (value, expected) in [
            ("bytes=0-99", bytes(0, 100)),
            ("bytes=0-0", bytes(0, 1)),
            ("bytes=990-", bytes(990, 1000)),
            ("bytes=-10", bytes(990, 1000)),
            ("bytes=-5000", bytes(0, 1000)),
            ("bytes=500-5000", bytes(500, 1000)),
            ("Bytes = 1-2 ", bytes(1, 3)),
            ("bytes=999-999", bytes(999, 1000)),
            ("bytes=1000-", RangeSpec::Unsatisfiable),
            ("bytes=1000-2000", RangeSpec::Unsatisfiable),
            ("bytes=-0", RangeSpec::Unsatisfiable),
            ("bytes=5-4", RangeSpec::Ignored),
            ("bytes=0-1,5-6", RangeSpec::Ignored),
            ("items=0-1", RangeSpec::Ignored),
            ("bytes=+1-2", RangeSpec::Ignored),
            ("bytes=1", RangeSpec::Ignored),
            ("bytes=-", RangeSpec::Ignored),
            ("bytes=a-b", RangeSpec::Ignored),
            ("bytes=99999999999999999999999-", RangeSpec::Ignored),
            ("", RangeSpec::Ignored),
        ] {
            assert_eq!(parse_range(value, 1000), expected, "{value:?}");
        }
        assert_eq!(parse_range("bytes=0-", 0), RangeSpec::Unsatisfiable);
        assert_eq!(parse_range("bytes=-1", 0), RangeSpec::Unsatisfiable);
    }

    #[test]
    fn if_none_match_compares_weakly_through_a_list() {
        let ours = "W/\"a-1\"";
        for (list, expected) in [
            ("*", true),
            ("W/\"a-1\"", true),
            ("\"a-1\"", true),
            ("\"x\", W/\"a-1\"", true),
            ("\"x\",\"a-1\"", true),
            ("\"a-2\"", false),
            ("\"a-1", false),
            ("a-1", false),
            ("", false),
            ("\"x,y\", \"a-1\"", true),
        ] {
            assert_eq!(etag_list_matches(list, ours), expected, "{list:?}");
        }
    }

    #[test]
    fn content_disposition_falls_back_for_non_ascii_and_never_carries_controls() {
        assert_eq!(
            content_disposition("attachment", "report.csv"),
            "attachment; filename=\"report.csv\""
        );
        assert_eq!(
            content_disposition("attachment", "a\"b\r\nSet-Cookie: x.txt"),
            "attachment; filename=\"a_b__Set-Cookie: x.txt\"; \
             filename*=UTF-8''a%22b%0D%0ASet-Cookie%3A%20x.txt"
        );
        assert_eq!(
            content_disposition("attachment", "日本.txt"),
            "attachment; filename=\"__.txt\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt"
        );
    }

    #[test]
    fn etags_are_weak_and_change_with_size_and_time() {
        let t = UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 5);
        assert_eq!(etag(10, Some(t)), "W/\"a-17979cfe362a0005\"");
        assert_ne!(etag(11, Some(t)), etag(10, Some(t)));
        assert_eq!(etag(10, None), "W/\"a\"");
    }
}
