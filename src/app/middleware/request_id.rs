//! `RequestIdMiddleware`: gives every request an id, kept from the client when it is sane,
//! readable by handlers as [`Extension<RequestId>`](crate::app::Extension) and sent back on the
//! response.

use crate::app::logging::event;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use super::{Middleware, Next};
use crate::app::handler::LocalBoxFuture;
use crate::http::{Response, is_token_byte};
use crate::server::Request;

/// The longest incoming id kept (a UUID is 36 characters); a longer one is replaced.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// A request's id: the client's `X-Request-ID` when valid, else one generated here. Always
/// 1 to [`MAX_REQUEST_ID_LEN`] visible ASCII characters.
///
/// Generated ids are 32 lowercase hex digits, unique within the process (a per-process random
/// half and a counter) and unlikely to repeat across processes.
///
/// # Examples
///
/// ```
/// use nanoapi::app::{App, Extension, RequestId, RequestIdMiddleware};
///
/// async fn whoami(Extension(id): Extension<RequestId>) -> String {
///     format!("request {id}")
/// }
///
/// let client = App::new()
///     .add_middleware(RequestIdMiddleware::new())
///     .get("/", whoami)
///     .test_client();
/// let resp = client.get("/").header("X-Request-ID", "abc-123").send();
/// assert_eq!(resp.text(), "request abc-123");
/// assert_eq!(resp.header("x-request-id"), Some("abc-123"));
///
/// let generated = client.get("/").send();
/// assert_eq!(generated.header("x-request-id").unwrap().len(), 32);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestId(Bytes);

impl RequestId {
    /// A fresh id, unique within this process.
    pub fn generate() -> RequestId {
        static PREFIX: OnceLock<u64> = OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        // `RandomState` is seeded from the OS's randomness: no file or syscall of our own.
        let prefix = *PREFIX.get_or_init(|| RandomState::new().hash_one(std::process::id()));
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // Multiplying by an odd constant is a bijection on u64, so the second half stays
        // unique while not reading as a bare counter.
        let mixed = (n ^ prefix).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut id = [0u8; 32];
        hex(prefix, &mut id[..16]);
        hex(mixed, &mut id[16..]);
        RequestId(Bytes::copy_from_slice(&id))
    }

    /// `value` as an id, if it is 1 to [`MAX_REQUEST_ID_LEN`] visible ASCII characters.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::app::RequestId;
    ///
    /// assert_eq!(RequestId::parse(b"req-42").unwrap().as_str(), "req-42");
    /// assert!(RequestId::parse(b"").is_none());
    /// assert!(RequestId::parse(b"has space").is_none());
    /// assert!(RequestId::parse(&[b'a'; 129]).is_none());
    /// ```
    pub fn parse(value: &[u8]) -> Option<RequestId> {
        let valid = (1..=MAX_REQUEST_ID_LEN).contains(&value.len())
            && value.iter().all(|b| b.is_ascii_graphic());
        valid.then(|| RequestId(Bytes::copy_from_slice(value)))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a request id is ASCII")
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RequestId").field(&self.as_str()).finish()
    }
}

/// Writes `value` as 16 lowercase hex digits into `out`.
fn hex(value: u64, out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = DIGITS[(value >> (60 - 4 * i)) as usize & 0xf];
    }
}

/// The request-id middleware: takes the id from the request header (default `X-Request-ID`)
/// when it is a valid [`RequestId`], else generates one; stores it in the request's extensions
/// and sets the same header on the response (replacing one the handler set).
///
/// Put it before (outside) [`AccessLog`](crate::app::AccessLog) and anything else that wants
/// the id. See [`RequestId`] for an example.
#[derive(Debug, Clone)]
pub struct RequestIdMiddleware {
    /// The header's name, to look it up in the request.
    name: String,
    /// The same name, to add it to responses without copying.
    header: Bytes,
    trust_incoming: bool,
}

impl Default for RequestIdMiddleware {
    fn default() -> RequestIdMiddleware {
        RequestIdMiddleware::new()
    }
}

impl RequestIdMiddleware {
    /// Reads and writes `X-Request-ID`, keeping a valid incoming id.
    pub fn new() -> RequestIdMiddleware {
        RequestIdMiddleware {
            name: "X-Request-ID".to_owned(),
            header: Bytes::from_static(b"X-Request-ID"),
            trust_incoming: true,
        }
    }

    /// Uses another header (`X-Correlation-ID`, ...).
    ///
    /// # Panics
    ///
    /// If `name` is not a token.
    pub fn header(mut self, name: &str) -> RequestIdMiddleware {
        assert!(
            !name.is_empty() && name.bytes().all(is_token_byte),
            "request id header {name:?} is not a token"
        );
        self.name = name.to_owned();
        self.header = Bytes::copy_from_slice(name.as_bytes());
        self
    }

    /// Whether to keep a valid id the client sent (default true); false always generates one.
    pub fn trust_incoming(mut self, trust: bool) -> RequestIdMiddleware {
        self.trust_incoming = trust;
        self
    }

    fn id_for(&self, req: &Request) -> RequestId {
        self.trust_incoming
            .then(|| req.header(&self.name).and_then(RequestId::parse))
            .flatten()
            .unwrap_or_else(RequestId::generate)
    }
}

impl Middleware for RequestIdMiddleware {
    fn call<'a>(&'a self, req: &'a mut Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        Box::pin(async move {
            let id = self.id_for(req);
            req.extensions_mut().insert(id.clone());
            let mut resp = next.run(req).await;
            // A request id is visible ASCII and the name a token: the field is valid.
            if let Err(err) = resp.headers_mut().insert(self.header.clone(), id.0) {
                event!(error, error = %err, "request id header refused");
            }
            resp
        })
    }
}
