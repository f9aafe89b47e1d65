//! The static-response cache: responses rendered once at start-up, answered without calling
//! the dispatcher, byte-identical to what the dispatcher would have sent for the same
//! `Response` (only the `Date` is spliced in at send time).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::http::{
    Body, DATE_VALUE_LENGTH, HeaderList, Response, ResponseContext, StatusCode, Version,
    send_response,
};

/// Responses registered with [`Options::static_response`](super::Options::static_response),
/// not yet rendered (the `Server` header is only known when the server starts).
#[derive(Clone, Default)]
pub struct StaticRoutes {
    routes: Vec<StaticRoute>,
}

#[derive(Clone)]
struct StaticRoute {
    method: String,
    path: String,
    status: StatusCode,
    headers: HeaderList,
    body: Bytes,
}

impl StaticRoutes {
    /// Registers `response` for `method` and `path` (the raw path, without query). A `GET`
    /// route also answers `HEAD`.
    ///
    /// # Panics
    ///
    /// If the body is a stream: a static response is rendered once.
    pub fn add(&mut self, method: &str, path: &str, response: Response) {
        let (status, headers, body) = response.into_parts();
        let Ok(body) = body.into_bytes() else {
            panic!("a static response cannot have a streamed body")
        };
        self.routes
            .retain(|route| !(route.method == method && route.path == path));
        self.routes.push(StaticRoute {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            headers,
            body,
        });
    }

    /// Whether no route is registered.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Renders every route for a server sending `server_header` (done by `serve` at start-up;
    /// call it to give [`ConnOptions`](super::ConnOptions) a cache of your own).
    pub fn render(&self, server_header: Option<&[u8]>) -> StaticCache {
        let mut by_method: Vec<(Vec<u8>, PathTable)> = Vec::new();
        for route in &self.routes {
            let response = Response::from_parts(
                route.status,
                route.headers.clone(),
                Body::Bytes(route.body.clone()),
            );
            let prepared = Arc::new(PreparedResponse::new(&response, server_header));
            let method = route.method.as_bytes().to_vec();
            let table = match by_method.iter_mut().find(|(m, _)| *m == method) {
                Some((_, table)) => table,
                None => {
                    by_method.push((method, HashMap::new()));
                    &mut by_method.last_mut().expect("just pushed").1
                }
            };
            table.insert(route.path.as_bytes().into(), prepared);
        }
        StaticCache { by_method }
    }
}

impl fmt::Debug for StaticRoutes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.routes
                    .iter()
                    .map(|route| format!("{} {}", route.method, route.path)),
            )
            .finish()
    }
}

/// The prepared responses of one method, by raw path.
type PathTable = HashMap<Box<[u8]>, Arc<PreparedResponse>>;

/// Rendered static routes, looked up per request (see [`StaticRoutes::render`]).
#[derive(Debug, Default)]
pub struct StaticCache {
    by_method: Vec<(Vec<u8>, PathTable)>,
}

impl StaticCache {
    /// The prepared response for `method` and `path`; a `HEAD` falls back to the `GET` route.
    pub(crate) fn lookup(&self, method: &[u8], path: &[u8]) -> Option<&PreparedResponse> {
        let find = |method: &[u8]| {
            self.by_method
                .iter()
                .find(|(m, _)| m == method)
                .and_then(|(_, table)| table.get(path))
        };
        find(method)
            .or_else(|| {
                if method == b"HEAD" {
                    find(b"GET")
                } else {
                    None
                }
            })
            .map(|p| &**p)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_method.is_empty()
    }
}

/// A response rendered ahead of time into every variant a request may need: HTTP/1.1 or 1.0,
/// keep-alive or close, GET or HEAD. Sending one copies bytes and splices in the current
/// `Date` (the tests below check every variant against the encoder).
pub(crate) struct PreparedResponse {
    status: StatusCode,
    /// Indexed by [`variant`]; each with the offset of its Date value.
    variants: [(Bytes, usize); 8],
}

/// A date that cannot occur in a rendered head, to find where the Date value goes.
const DATE_MARK: [u8; DATE_VALUE_LENGTH] = *b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f";

fn variant(version: Version, keep_alive: bool, head_request: bool) -> usize {
    usize::from(version == Version::Http10) * 4
        + usize::from(keep_alive) * 2
        + usize::from(head_request)
}

impl PreparedResponse {
    /// Renders `response` (a stream body is sent as empty) for a server sending
    /// `server_header`.
    pub fn new(response: &Response, server_header: Option<&[u8]>) -> PreparedResponse {
        let variants = std::array::from_fn(|index| {
            let version = if index >= 4 {
                Version::Http10
            } else {
                Version::Http11
            };
            let ctx = ResponseContext {
                version,
                keep_alive: index & 2 != 0,
                head_request: index & 1 != 0,
                date: &DATE_MARK,
                server: server_header,
            };
            let mut out = BytesMut::new();
            send_response(response, &ctx, &mut out);
            let offset = out
                .windows(DATE_VALUE_LENGTH)
                .position(|w| w == DATE_MARK)
                .expect("every head has a Date");
            (out.freeze(), offset)
        });
        PreparedResponse {
            status: response.status(),
            variants,
        }
    }

    /// The response's status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Appends the variant for this request to `out`, with `date` spliced in.
    pub fn append(
        &self,
        version: Version,
        keep_alive: bool,
        head_request: bool,
        date: &[u8; DATE_VALUE_LENGTH],
        out: &mut BytesMut,
    ) {
        let (bytes, offset) = &self.variants[variant(version, keep_alive, head_request)];
        let start = out.len();
        out.extend_from_slice(bytes);
        out[start + offset..start + offset + DATE_VALUE_LENGTH].copy_from_slice(date);
    }
}

impl fmt::Debug for PreparedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedResponse")
            .field("len", &self.variants[2].0.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response() -> Response {
        Response::text(StatusCode::OK, "static body")
            .header("Cache-Control", "max-age=60")
            .unwrap()
    }

    #[test]
    fn every_variant_is_byte_identical_to_the_encoder() {
        let date = *b"Sun, 06 Nov 1994 08:49:37 GMT";
        let prepared = PreparedResponse::new(&response(), Some(b"nanoapi"));
        for version in [Version::Http11, Version::Http10] {
            for keep_alive in [true, false] {
                for head_request in [false, true] {
                    let ctx = ResponseContext {
                        version,
                        keep_alive,
                        head_request,
                        date: &date,
                        server: Some(b"nanoapi"),
                    };
                    let mut expected = BytesMut::new();
                    send_response(&response(), &ctx, &mut expected);
                    let mut got = BytesMut::from(&b"earlier bytes"[..]);
                    prepared.append(version, keep_alive, head_request, &date, &mut got);
                    assert_eq!(
                        &got[13..],
                        &expected[..],
                        "{version:?} keep_alive={keep_alive} head={head_request}"
                    );
                }
            }
        }
    }

    #[test]
    fn head_falls_back_to_get_and_other_methods_do_not() {
        let mut routes = StaticRoutes::default();
        routes.add("GET", "/health", response());
        let cache = routes.render(None);
        assert!(cache.lookup(b"GET", b"/health").is_some());
        assert!(cache.lookup(b"HEAD", b"/health").is_some());
        assert!(cache.lookup(b"POST", b"/health").is_none());
        assert!(cache.lookup(b"GET", b"/health/").is_none());
    }
}
