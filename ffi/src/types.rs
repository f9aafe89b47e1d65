//! The plain data types of the ABI: strings as pointer + length, header fields.

use std::ffi::c_char;

/// Bytes owned by someone else: `len` bytes at `ptr`, not NUL-terminated, not necessarily
/// UTF-8. `ptr` may be NULL when `len` is 0. Where the library hands one out, it says how long
/// it stays valid.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nanoapi_str {
    /// The first byte (NULL allowed when `len` is 0).
    pub ptr: *const c_char,
    /// The number of bytes.
    pub len: usize,
}

/// One header field: a name and a value.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nanoapi_header {
    /// The field name.
    pub name: nanoapi_str,
    /// The field value.
    pub value: nanoapi_str,
}

impl nanoapi_str {
    /// A view of `bytes`, valid as long as they are.
    pub(crate) fn from_slice(bytes: &[u8]) -> nanoapi_str {
        nanoapi_str {
            ptr: bytes.as_ptr().cast(),
            len: bytes.len(),
        }
    }

    /// The empty string (NULL pointer, length 0).
    pub(crate) const EMPTY: nanoapi_str = nanoapi_str {
        ptr: std::ptr::null(),
        len: 0,
    };

    /// The bytes this points to.
    ///
    /// # Safety
    ///
    /// `ptr` must be NULL with `len` 0, or point to `len` readable bytes that stay unchanged
    /// for `'a`.
    pub(crate) unsafe fn as_bytes<'a>(self) -> &'a [u8] {
        if self.ptr.is_null() || self.len == 0 {
            return &[];
        }
        // SAFETY: the caller promises `len` readable bytes at the non-null `ptr` for `'a`.
        unsafe { std::slice::from_raw_parts(self.ptr.cast(), self.len) }
    }
}

/// The `n` fields at `headers`.
///
/// # Safety
///
/// `headers` must be NULL with `n` 0, or point to `n` initialised fields, each of whose strings
/// satisfies [`nanoapi_str::as_bytes`], all valid for `'a`.
pub(crate) unsafe fn header_slice<'a>(
    headers: *const nanoapi_header,
    n: usize,
) -> &'a [nanoapi_header] {
    if headers.is_null() || n == 0 {
        return &[];
    }
    // SAFETY: the caller promises `n` initialised fields at the non-null `headers`.
    unsafe { std::slice::from_raw_parts(headers, n) }
}
