//! The static-response cache: responses rendered once at start-up, answered without calling
//! the dispatcher, byte-identical to what the dispatcher would have sent for the same
//! `Response` (only the `Date` is spliced in at send time).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

#[cfg(coding)]
use crate::http::coding::{Coding, Compression};
use crate::http::{
    Body, DATE_VALUE_LENGTH, HeaderList, Response, ResponseContext, StatusCode, Version,
    send_response,
};

/// Responses registered with [`Options::static_response`](super::Options::static_response),
/// not yet rendered (the `Server` header is only known when the server starts).
#[derive(Clone, Default)]
pub struct StaticRoutes {
    routes: Vec<StaticRoute>,
    /// The compressed variants to render, if any.
    #[cfg(coding)]
    compression: Option<Compression>,
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

    /// Renders every route that `compression` applies to in each of its codings as well, so
    /// that a request's `Accept-Encoding` picks a variant without compressing anything while
    /// serving (every variant of such a route carries `Vary: Accept-Encoding`).
    #[cfg(coding)]
    pub fn compress(&mut self, compression: Compression) {
        self.compression = Some(compression);
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
            let entry = Arc::new(self.render_route(route, server_header));
            let method = route.method.as_bytes().to_vec();
            let table = match by_method.iter_mut().find(|(m, _)| *m == method) {
                Some((_, table)) => table,
                None => {
                    by_method.push((method, HashMap::new()));
                    &mut by_method.last_mut().expect("just pushed").1
                }
            };
            table.insert(route.path.as_bytes().into(), entry);
        }
        StaticCache { by_method }
    }

    /// One route's prepared responses: as registered, and compressed in each coding when the
    /// compression applies to it.
    fn render_route(&self, route: &StaticRoute, server_header: Option<&[u8]>) -> StaticEntry {
        let response = || {
            Response::from_parts(
                route.status,
                route.headers.clone(),
                Body::Bytes(route.body.clone()),
            )
        };
        #[cfg(coding)]
        if let Some(compression) = self
            .compression
            .as_ref()
            .filter(|compression| compression.applies_to(&response()))
        {
            let identity = compression.compress(None::<&[u8]>, response());
            let encoded = compression
                .offered()
                .iter()
                .map(|&coding| {
                    let coded =
                        compression.encode(coding, compression.compress(None::<&[u8]>, response()));
                    (coding, PreparedResponse::new(&coded, server_header))
                })
                .collect();
            return StaticEntry {
                identity: PreparedResponse::new(&identity, server_header),
                encoded,
                offered: compression.offered().to_vec(),
            };
        }
        StaticEntry {
            identity: PreparedResponse::new(&response(), server_header),
            #[cfg(coding)]
            encoded: Vec::new(),
            #[cfg(coding)]
            offered: Vec::new(),
        }
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
type PathTable = HashMap<Box<[u8]>, Arc<StaticEntry>>;

/// A static route's prepared responses: as registered, and in each coding of the compression
/// the routes were rendered with (when it applies to the route).
#[derive(Debug)]
pub(crate) struct StaticEntry {
    identity: PreparedResponse,
    /// In the server's order of preference; empty without compression.
    #[cfg(coding)]
    encoded: Vec<(Coding, PreparedResponse)>,
    /// The codings of `encoded`, in the same order, for negotiation.
    #[cfg(coding)]
    offered: Vec<Coding>,
}

impl StaticEntry {
    /// The response for a request whose `Accept-Encoding` values `accept_encoding` gives
    /// (called only when the route has compressed variants).
    #[cfg_attr(not(coding), allow(unused_variables))]
    pub(crate) fn select<'a, I>(&self, accept_encoding: impl FnOnce() -> I) -> &PreparedResponse
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        #[cfg(coding)]
        if !self.encoded.is_empty()
            && let Some(coding) = crate::http::coding::negotiate(accept_encoding(), &self.offered)
            && let Some((_, coded)) = self.encoded.iter().find(|(c, _)| *c == coding)
        {
            return coded;
        }
        &self.identity
    }
}

/// Rendered static routes, looked up per request (see [`StaticRoutes::render`]).
#[derive(Debug, Default)]
pub struct StaticCache {
    by_method: Vec<(Vec<u8>, PathTable)>,
}

impl StaticCache {
    /// The prepared responses for `method` and `path`; a `HEAD` falls back to the `GET` route.
    pub(crate) fn lookup(&self, method: &[u8], path: &[u8]) -> Option<&StaticEntry> {
        let find = |method: &[u8]| {
            self.by_method
                .iter()
                .find(|(m, _)| m == method)
                .and_then(|(_, table)| table.get(path))
        };
        crate::http::route_for_method(method, find).map(|p| &**p)
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
    /// The head (without `Date`) and body HTTP/2 sends, or why the response cannot be sent
    /// over HTTP/2.
    #[cfg(feature = "http2")]
    http2: crate::Result<(::http::Response<()>, Bytes)>,
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
            #[cfg(feature = "http2")]
            http2: http2_variant(response, server_header),
        }
    }

    /// Sends the response on an HTTP/2 stream, `Date` spliced in.
    ///
    /// # Errors
    ///
    /// The stream gone, or a field HTTP/2 cannot carry.
    #[cfg(feature = "http2")]
    pub(crate) fn send_http2(
        &self,
        stream: &crate::server::http2::StreamResponse,
        head_request: bool,
    ) -> crate::Result<()> {
        let (head, body) = self
            .http2
            .as_ref()
            .map_err(|err| crate::Error::new(err.to_string()))?;
        let end = head_request || body.is_empty();
        stream.send_prepared_head(head.clone(), end)?;
        if end {
            return Ok(());
        }
        stream.send_whole(body.clone())
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

/// The HTTP/2 head and body of a static response.
#[cfg(feature = "http2")]
fn http2_variant(
    response: &Response,
    server_header: Option<&[u8]>,
) -> crate::Result<(::http::Response<()>, Bytes)> {
    let (length, _) = crate::http::encode::http2_framing(response, false);
    let body = Bytes::copy_from_slice(response.body().as_slice().unwrap_or_default());
    let server = crate::server::http2::server_value(server_header);
    let head = crate::server::http2::response_head(
        response.status(),
        response.headers(),
        length,
        server.as_ref().filter(|_| !response.headers().has_server()),
    )?;
    Ok((head, body))
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

    #[cfg(feature = "compression-gzip")]
    #[test]
    fn compressed_variants_are_rendered_once_and_picked_by_accept_encoding() {
        use crate::http::coding::{Coding, Compression};
        use std::io::Read;

        let page = "<p>the same paragraph</p>".repeat(100);
        let mut routes = StaticRoutes::default();
        routes.add("GET", "/page", Response::html(StatusCode::OK, page.clone()));
        routes.add("GET", "/small", Response::text(StatusCode::OK, "ok"));
        routes.compress(Compression::new().codings([Coding::Gzip]));
        let cache = routes.render(None);
        let date = *b"Sun, 06 Nov 1994 08:49:37 GMT";
        let send = |path: &[u8], accept: &[&[u8]], head_request: bool| {
            let entry = cache.lookup(b"GET", path).unwrap();
            let mut out = BytesMut::new();
            entry.select(|| accept.iter().copied()).append(
                Version::Http11,
                true,
                head_request,
                &date,
                &mut out,
            );
            let text = out.freeze();
            let split = text.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            (
                String::from_utf8(text[..split].to_vec()).unwrap(),
                text.slice(split..),
            )
        };

        let (head, body) = send(b"/page", &[b"br;q=1, gzip;q=0.5"], false);
        assert!(head.contains("\r\nContent-Encoding: gzip\r\n"), "{head}");
        assert!(head.contains("\r\nVary: Accept-Encoding\r\n"), "{head}");
        assert!(
            head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())),
            "{head}"
        );
        let mut plain = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, page);
        // HEAD: the same head, no body.
        let (head_only, nothing) = send(b"/page", &[b"gzip"], true);
        assert_eq!(head_only, head);
        assert!(nothing.is_empty());

        // Identity: the page as registered, still varying.
        let (head, body) = send(b"/page", &[b"identity"], false);
        assert!(!head.contains("Content-Encoding"), "{head}");
        assert!(head.contains("\r\nVary: Accept-Encoding\r\n"), "{head}");
        assert_eq!(body, page.as_bytes());
        let (no_field, _) = send(b"/page", &[], false);
        assert_eq!(no_field, head);

        // Under the threshold: one rendering, no Vary.
        let (head, body) = send(b"/small", &[b"gzip"], false);
        assert!(
            !head.contains("Content-Encoding") && !head.contains("Vary"),
            "{head}"
        );
        assert_eq!(body, "ok");
    }
}
