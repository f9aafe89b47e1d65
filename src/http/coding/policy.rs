//! What a server compresses, and a response compressed for a request.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use super::{Coding, Encoder, negotiate};
use crate::http::{Body, BodyStream, HeaderList, Response, StatusCode};

/// The level of each coding.
///
/// The defaults, gzip 6, Brotli 4 and Zstandard 3, are each library's usual trade-off for
/// responses made per request (tower-http's and nginx's too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    /// 0 (stored) to 9 (smallest).
    pub gzip: u32,
    /// 0 to 11 (smallest).
    pub brotli: u32,
    /// 1 to 22 (smallest).
    pub zstd: i32,
}

impl Default for Levels {
    fn default() -> Levels {
        Levels {
            gzip: 6,
            brotli: 4,
            zstd: 3,
        }
    }
}

/// What a server compresses and how: the codings it offers in its order of preference (by
/// default every coding of the build: zstd, br, gzip), their [`Levels`], and the smallest body
/// worth compressing (860 bytes, below which a compressed body is rarely smaller by a packet).
///
/// A response is left as it is when its status is informational, 204, 206 or 304, when it
/// already has a `Content-Encoding` or has a `Content-Range`, when its `Cache-Control` says
/// `no-transform`, when its media type is compressed already
/// ([`compressible_media_type`]), or when its body is empty or known to be under the
/// threshold. Every other response gets `Vary: Accept-Encoding`, and is compressed when the
/// request's `Accept-Encoding` allows one of the codings ([`negotiate`]): its body in one piece
/// (a `Content-Length` of the compressed size), or a stream chunk by chunk with a flush after
/// each chunk (sent chunked); a strong `ETag` becomes weak (the compressed bytes are another
/// representation) and `Accept-Ranges` is dropped. A `HEAD` request gets the headers a `GET`
/// would.
///
/// The App registers it as middleware (`App::add_middleware(Compression::new())`); the
/// static-response cache renders its variants at start-up
/// ([`Options::static_compression`](crate::server::Options::static_compression)); a raw
/// dispatcher calls [`compress`](Compression::compress).
///
/// ```
/// # #[cfg(feature = "compression-gzip")] {
/// use nanoapi::http::coding::{Coding, Compression};
/// use nanoapi::http::{Response, StatusCode};
///
/// let compression = Compression::new().codings([Coding::Gzip]).gzip_level(9);
/// let page = Response::html(StatusCode::OK, "<p>hello</p>".repeat(100));
/// let sent = compression.compress([&b"gzip, br"[..]], page);
/// assert_eq!(sent.headers().get("content-encoding"), Some(&b"gzip"[..]));
/// assert_eq!(sent.headers().get("vary"), Some(&b"Accept-Encoding"[..]));
/// assert!(sent.body().len().unwrap() < 1_200);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Compression {
    codings: Vec<Coding>,
    levels: Levels,
    min_size: u64,
}

impl Default for Compression {
    fn default() -> Compression {
        Compression::new()
    }
}

impl Compression {
    /// Every coding of the build (zstd, br, gzip), the default levels, an 860-byte threshold.
    pub fn new() -> Compression {
        Compression {
            codings: Coding::available().to_vec(),
            levels: Levels::default(),
            min_size: 860,
        }
    }

    /// No coding: responses are left as they are. As route middleware under an app-wide
    /// `Compression`, it opts the route out.
    pub fn none() -> Compression {
        Compression::new().codings([])
    }

    /// The codings offered, in order of preference.
    ///
    /// # Panics
    ///
    /// If this build does not carry one of them (its feature is off).
    pub fn codings(mut self, codings: impl IntoIterator<Item = Coding>) -> Compression {
        self.codings.clear();
        for coding in codings {
            assert!(
                coding.is_available(),
                "content coding {coding} needs feature compression-{coding}"
            );
            if !self.codings.contains(&coding) {
                self.codings.push(coding);
            }
        }
        self
    }

    /// gzip's level.
    ///
    /// # Panics
    ///
    /// Above 9.
    pub fn gzip_level(mut self, level: u32) -> Compression {
        assert!(level <= 9, "gzip levels are 0 to 9, not {level}");
        self.levels.gzip = level;
        self
    }

    /// Brotli's level.
    ///
    /// # Panics
    ///
    /// Above 11.
    pub fn brotli_level(mut self, level: u32) -> Compression {
        assert!(level <= 11, "Brotli levels are 0 to 11, not {level}");
        self.levels.brotli = level;
        self
    }

    /// Zstandard's level.
    ///
    /// # Panics
    ///
    /// Outside 1 to 22.
    pub fn zstd_level(mut self, level: i32) -> Compression {
        assert!(
            (1..=22).contains(&level),
            "zstd levels are 1 to 22, not {level}"
        );
        self.levels.zstd = level;
        self
    }

    /// The smallest body compressed, in bytes (a stream's size is unknown: it is compressed).
    pub fn min_size(mut self, bytes: u64) -> Compression {
        self.min_size = bytes;
        self
    }

    /// The codings offered, in order of preference.
    pub fn offered(&self) -> &[Coding] {
        &self.codings
    }

    /// The levels.
    pub fn levels(&self) -> &Levels {
        &self.levels
    }

    /// The coding for a request with these `Accept-Encoding` values, `None` for the identity.
    pub fn negotiate<'a>(
        &self,
        accept_encoding: impl IntoIterator<Item = &'a [u8]>,
    ) -> Option<Coding> {
        negotiate(accept_encoding, &self.codings)
    }

    /// Whether `resp` may be compressed at all (see the type's documentation): whether it
    /// varies with `Accept-Encoding`.
    pub fn applies_to(&self, resp: &Response) -> bool {
        if self.codings.is_empty() || !compressible_status(resp.status()) {
            return false;
        }
        let headers = resp.headers();
        if headers.contains("content-encoding")
            || headers.contains("content-range")
            || headers
                .get_all("cache-control")
                .any(|value| has_token(value, b"no-transform"))
            || headers
                .get("content-type")
                .is_some_and(|media| !compressible_media_type(media))
        {
            return false;
        }
        match resp.body() {
            Body::Empty => false,
            Body::Stream(_) => true,
            body => body.len().is_some_and(|len| len >= self.min_size),
        }
    }

    /// `resp` as sent to a request with these `Accept-Encoding` values: compressed when it
    /// [`applies_to`](Compression::applies_to) it and the request accepts a coding offered,
    /// with `Vary: Accept-Encoding` whenever it applies.
    pub fn compress<'a>(
        &self,
        accept_encoding: impl IntoIterator<Item = &'a [u8]>,
        mut resp: Response,
    ) -> Response {
        if !self.applies_to(&resp) {
            return resp;
        }
        add_vary(resp.headers_mut());
        match self.negotiate(accept_encoding) {
            Some(coding) => self.encode(coding, resp),
            None => resp,
        }
    }

    /// `resp` (to which this compression [`applies_to`](Compression::applies_to)) compressed
    /// with `coding`. A body in memory that fails to compress (not expected: the output is
    /// memory) is sent as it was.
    pub fn encode(&self, coding: Coding, mut resp: Response) -> Response {
        let body = std::mem::take(resp.body_mut());
        let coded = match body {
            Body::Stream(stream) | Body::SizedStream { stream, .. } => Body::Stream(Box::pin(
                Encoding::new(stream, Encoder::new(coding, &self.levels)),
            )),
            in_memory => {
                let plain = in_memory.as_slice().unwrap_or_default();
                match Encoder::encode_all(coding, &self.levels, plain) {
                    Ok(coded) => Body::Bytes(coded),
                    Err(err) => {
                        log::warn!("{coding} compression failed, sent uncompressed: {err}");
                        *resp.body_mut() = in_memory;
                        return resp;
                    }
                }
            }
        };
        *resp.body_mut() = coded;
        let headers = resp.headers_mut();
        let _ = headers.append("Content-Encoding", coding.token());
        headers.remove("accept-ranges");
        if let Some(etag) = headers.get("etag").filter(|tag| tag.starts_with(b"\"")) {
            let mut weak = b"W/".to_vec();
            weak.extend_from_slice(etag);
            let _ = headers.insert("ETag", Bytes::from(weak));
        }
        resp
    }
}

fn compressible_status(status: StatusCode) -> bool {
    let code = status.as_u16();
    code >= 200 && !matches!(code, 204 | 206 | 304)
}

/// Whether a body of this media type (a `Content-Type` value) gains from compression: not
/// images other than SVG, audio, video, WOFF fonts, archives and already-compressed files.
///
/// ```
/// use nanoapi::http::coding::compressible_media_type;
/// assert!(compressible_media_type(b"application/json"));
/// assert!(compressible_media_type(b"image/svg+xml; charset=utf-8"));
/// assert!(!compressible_media_type(b"image/png"));
/// assert!(!compressible_media_type(b"application/zip"));
/// ```
pub fn compressible_media_type(content_type: &[u8]) -> bool {
    let essence = content_type
        .split(|&b| b == b';')
        .next()
        .map(|media| media.trim_ascii())
        .unwrap_or_default();
    let lower = essence.to_ascii_lowercase();
    let (kind, subtype) = match lower.iter().position(|&b| b == b'/') {
        Some(slash) => (&lower[..slash], &lower[slash + 1..]),
        None => (&lower[..], &b""[..]),
    };
    match kind {
        b"image" => subtype == b"svg+xml",
        b"audio" | b"video" => false,
        b"font" => !matches!(subtype, b"woff" | b"woff2"),
        b"application" => !matches!(
            subtype,
            b"zip"
                | b"gzip"
                | b"x-gzip"
                | b"zstd"
                | b"x-zstd"
                | b"x-brotli"
                | b"x-bzip2"
                | b"x-xz"
                | b"x-7z-compressed"
                | b"x-rar-compressed"
                | b"vnd.rar"
                | b"font-woff"
                | b"font-woff2"
        ),
        _ => true,
    }
}

/// Whether a comma-separated field value lists `token` (ignoring case and parameters).
fn has_token(value: &[u8], token: &[u8]) -> bool {
    value.split(|&b| b == b',').any(|element| {
        let name = element.split(|&b| b == b'=').next().unwrap_or_default();
        name.trim_ascii().eq_ignore_ascii_case(token)
    })
}

/// Adds `Vary: Accept-Encoding` unless a `Vary` already lists it (or `*`).
fn add_vary(headers: &mut HeaderList) {
    let listed = headers
        .get_all("vary")
        .any(|value| has_token(value, b"accept-encoding") || has_token(value, b"*"));
    if !listed {
        let _ = headers.append("Vary", "Accept-Encoding");
    }
}

/// A streamed body compressed chunk by chunk, each flushed.
struct Encoding {
    stream: BodyStream,
    /// `None` once finished.
    encoder: Option<Encoder>,
}

impl Encoding {
    fn new(stream: BodyStream, encoder: Encoder) -> Encoding {
        Encoding {
            stream,
            encoder: Some(encoder),
        }
    }
}

impl Stream for Encoding {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            let Some(encoder) = this.encoder.as_mut() else {
                return Poll::Ready(None);
            };
            return match this.stream.as_mut().poll_next(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) if chunk.is_empty() => continue,
                Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(encoder.encode_chunk(&chunk))),
                Poll::Ready(Some(Err(err))) => {
                    this.encoder = None;
                    Poll::Ready(Some(Err(err)))
                }
                Poll::Ready(None) => {
                    let encoder = this.encoder.take().expect("checked above");
                    Poll::Ready(Some(encoder.finish()))
                }
            };
        }
    }
}
