//! `nanoapi_request`: the host's read-only view of a request during its callback.

use std::ffi::c_int;

use nanoapi::http::Version;
use nanoapi::server::OwnedRequest;

use crate::error::{Failure, guard, guard_value};
use crate::types::{nanoapi_header, nanoapi_str};

/// A request, valid only during the dispatch callback it was passed to. Every string read from
/// it is valid as long as the request is.
#[derive(Debug)]
pub struct nanoapi_request {
    /// The request, owned by the blocking pool's job for the whole callback.
    req: *const OwnedRequest,
}

impl nanoapi_request {
    /// A view of `req` for one callback.
    pub(crate) fn new(req: &OwnedRequest) -> nanoapi_request {
        nanoapi_request { req }
    }
}

/// The request behind `req`.
///
/// # Safety
///
/// `req` must be NULL or the pointer passed to the running callback.
unsafe fn view<'a>(req: *const nanoapi_request) -> Option<&'a OwnedRequest> {
    // SAFETY: a non-null `req` is the callback's view, which lives on the dispatching frame
    // and points to the request that frame borrows, both for the whole callback.
    unsafe { req.as_ref().map(|view| &*view.req) }
}

/// The method as sent (`GET`, `POST`, ...). Empty if `req` is NULL.
///
/// # Safety
///
/// `req` must be NULL or the request passed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_request_method(req: *const nanoapi_request) -> nanoapi_str {
    // SAFETY: forwarded from the caller.
    bytes_of(unsafe { view(req) }, OwnedRequest::method)
}

/// The request-target as sent (path and query).
///
/// # Safety
///
/// As [`nanoapi_request_method`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_request_target(req: *const nanoapi_request) -> nanoapi_str {
    // SAFETY: forwarded from the caller.
    bytes_of(unsafe { view(req) }, OwnedRequest::target)
}

/// The path, not percent-decoded.
///
/// # Safety
///
/// As [`nanoapi_request_method`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_request_path(req: *const nanoapi_request) -> nanoapi_str {
    // SAFETY: forwarded from the caller.
    bytes_of(unsafe { view(req) }, OwnedRequest::path)
}

/// The raw query after `?`, not decoded. Its `ptr` is NULL when the target has no `?`, and
/// non-NULL (with length 0) when the query is present but empty.
///
/// # Safety
///
/// As [`nanoapi_request_method`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_request_query(req: *const nanoapi_request) -> nanoapi_str {
    // SAFETY: forwarded from the caller.
    let req = unsafe { view(req) };
    guard_value("nanoapi_request_query", nanoapi_str::EMPTY, || {
        match req.and_then(OwnedRequest::query) {
            // An empty slice's pointer may be anything non-null; say "present" with a
            // non-null one.
            Some([]) => nanoapi_str {
                ptr: c"".as_ptr(),
                len: 0,
            },
            Some(query) => nanoapi_str::from_slice(query),
            None => nanoapi_str::EMPTY,
        }
    })
}

/// The protocol version: 10 for HTTP/1.0, 11 for HTTP/1.1 (0 if `req` is NULL).
///
/// # Safety
///
/// As [`nanoapi_request_method`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_request_version(req: *const nanoapi_request) -> c_int {
    // SAFETY: forwarded from the caller.
    let req = unsafe { view(req) };
    guard_value("nanoapi_request_version", 0, || {
        match req.map(OwnedRequest::version) {
            Some(Version::Http10) => 10,
            Some(_) => 11,
            None => 0,
        }
    })
}

/// The whole body (already read, up to the body limit).
///
/// # Safety
///
/// As [`nanoapi_request_method`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_request_body(req: *const nanoapi_request) -> nanoapi_str {
    // SAFETY: forwarded from the caller.
    bytes_of(unsafe { view(req) }, |req| &req.body()[..])
}

/// The number of header fields.
///
/// # Safety
///
/// As [`nanoapi_request_method`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_request_header_count(req: *const nanoapi_request) -> usize {
    // SAFETY: forwarded from the caller.
    let req = unsafe { view(req) };
    guard_value("nanoapi_request_header_count", 0, || {
        req.map_or(0, |req| req.headers().len())
    })
}

/// Stores the header field at `index` (in the order sent, names as sent) into `*out`.
///
/// # Errors
///
/// `NANOAPI_ERR_INVALID` if `req` or `out` is NULL or `index` is out of range.
///
/// # Safety
///
/// As [`nanoapi_request_method`]; `out` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_request_header_at(
    req: *const nanoapi_request,
    index: usize,
    out: *mut nanoapi_header,
) -> c_int {
    // SAFETY: forwarded from the caller.
    let req = unsafe { view(req) };
    guard("nanoapi_request_header_at", || {
        let req = req.ok_or_else(|| Failure::invalid("req is NULL"))?;
        if out.is_null() {
            return Err(Failure::invalid("out is NULL"));
        }
        let (name, value) = req.headers().get(index).ok_or_else(|| {
            Failure::invalid(format!(
                "header {index} of {} does not exist",
                req.headers().len()
            ))
        })?;
        let field = nanoapi_header {
            name: nanoapi_str::from_slice(name),
            value: nanoapi_str::from_slice(value),
        };
        // SAFETY: `out` is non-null and the caller promises it is writable.
        unsafe { out.write(field) };
        Ok(())
    })
}

/// Looks up the first field named `name` (ASCII case-insensitive); stores its value into
/// `*value` and returns true if there is one, else returns false and leaves `*value` alone.
///
/// # Safety
///
/// As [`nanoapi_request_method`]; `name` must be valid for reading; `value` must be NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_request_header(
    req: *const nanoapi_request,
    name: nanoapi_str,
    value: *mut nanoapi_str,
) -> bool {
    // SAFETY: forwarded from the caller.
    let (req, name) = unsafe { (view(req), name.as_bytes()) };
    guard_value("nanoapi_request_header", false, || {
        let Some(req) = req else { return false };
        let found = req
            .headers()
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name));
        match found {
            Some((_, found)) => {
                if !value.is_null() {
                    // SAFETY: `value` is non-null and the caller promises it is writable.
                    unsafe { value.write(nanoapi_str::from_slice(found)) };
                }
                true
            }
            None => false,
        }
    })
}

/// The bytes `part` picks from `req`, or the empty string.
fn bytes_of(req: Option<&OwnedRequest>, part: impl FnOnce(&OwnedRequest) -> &[u8]) -> nanoapi_str {
    guard_value("nanoapi_request", nanoapi_str::EMPTY, || {
        req.map_or(nanoapi_str::EMPTY, |req| nanoapi_str::from_slice(part(req)))
    })
}
