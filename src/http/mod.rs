//! The HTTP/1.1 runtime's wire layer: pure code over byte slices, no sockets.
//!
//! - [`parse`]: the zero-copy request-head parser, which also decides the body's framing;
//! - [`chunked`]: the chunked transfer coding decoder;
//! - [`response`]: [`Response`], its [`Body`] and its validated [`HeaderList`];
//! - [`encode`]: a response onto the wire ([`send_response`]), chunked framing out, and the
//!   one-copy `200 application/json` path;
//! - [`response_parse`]: the client side, an incremental response parser ([`ResponseParser`]);
//! - [`coding`]: content codings (gzip, br, zstd behind features): `Accept-Encoding`
//!   negotiation, response compression, request body decoding;
//! - [`StatusCode`] and [`http_date`]: status codes with reason phrases, and the cached `Date`
//!   value.
//!
//! **Architecture Invariant:** nothing here names a socket, a buffer type of the executor or a
//! type of the `app` layer, and nothing here depends on serde or JSON crates: framing is tested
//! with byte-string tables.

pub mod chunked;
pub mod coding;
pub mod encode;
pub mod parse;
pub mod response;
pub mod response_parse;

pub(crate) mod chars;
mod date;
mod status;

pub use chunked::{Chunk, ChunkedDecoder, ChunkedError, ChunkedLimits};
pub use date::{DATE_VALUE_LENGTH, http_date, refresh_every_second};
pub use encode::{
    ChunkHeader, Framing, FramingKind, ResponseContext, append_decimal, can_use_fast_json_bytes,
    encode_chunk, encode_last_chunk, encode_last_chunk_with_trailers, send_fast_json_bytes,
    send_response,
};
pub use parse::{
    BodyFraming, Limits, Method, ParseError, RequestHead, Status, Version, parse_request_head,
};
pub use response::{Body, BodyStream, HeaderError, HeaderList, Response};
pub use response_parse::{
    ResponseError, ResponseEvent, ResponseHead, ResponseLimits, ResponseParser,
};
pub use status::{InvalidStatusCode, StatusCode};

/// Whether `b` is a `tchar` (RFC 9110 §5.6.2), for code outside `http` that writes heads.
pub(crate) fn is_token_byte(b: u8) -> bool {
    chars::is(b, chars::TOKEN)
}

/// The route for `method` among those `find` knows: its own, or for `HEAD` the `GET` one
/// (RFC 9110 §9.3.2: the same head, no content; the encoder leaves the body out). The static
/// cache and the App route with it.
pub(crate) fn route_for_method<T>(method: &[u8], find: impl Fn(&[u8]) -> Option<T>) -> Option<T> {
    find(method).or_else(|| {
        if method == b"HEAD" {
            find(b"GET")
        } else {
            None
        }
    })
}

#[cfg(test)]
mod prop_tests;
