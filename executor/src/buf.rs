//! Owned buffers for completion-based I/O.
//!
//! An I/O operation takes its buffer by value and hands it back with the result, on error too:
//! io_uring reads and writes memory after the call that started them returned, so the caller
//! must not be able to touch (or free) the buffer while the kernel may use it.

use std::fmt;
use std::io;
use std::ops::Deref;

use bytes::{Bytes, BytesMut};

use crate::driver::PooledStorage;

/// The result of an owned-buffer operation: the outcome and the buffer, given back either way.
pub type BufResult<T, B> = (io::Result<T>, B);

/// A buffer whose initialised bytes can be written to a file or socket.
///
/// # Safety
///
/// The memory behind [`stable_ptr`](IoBuf::stable_ptr) must stay valid, unchanged in place and
/// at the same address while the value is moved, for as long as the value lives and is not
/// mutated through another path: the kernel may read it after the value moved into the reactor.
/// `bytes_init` must not exceed the memory available at that pointer.
pub unsafe trait IoBuf: 'static {
    /// A pointer to the first byte; stable across moves of `self`.
    fn stable_ptr(&self) -> *const u8;

    /// The number of initialised bytes, all of which are written.
    fn bytes_init(&self) -> usize;
}

/// A buffer the kernel can fill: bytes go after the initialised part, up to the capacity.
///
/// # Safety
///
/// As for [`IoBuf`], and `stable_mut_ptr` must point at `bytes_total` bytes that stay valid
/// for writes at the same address while the value is moved.
pub unsafe trait IoBufMut: IoBuf {
    /// A pointer to the first byte, valid for writes of `bytes_total` bytes.
    fn stable_mut_ptr(&mut self) -> *mut u8;

    /// The capacity: the number of bytes the buffer can hold.
    fn bytes_total(&self) -> usize;

    /// Marks the first `pos` bytes as initialised.
    ///
    /// # Safety
    ///
    /// The first `pos` bytes must have been initialised (by the kernel or by the caller), and
    /// `pos <= bytes_total()`.
    unsafe fn set_init(&mut self, pos: usize);
}

// SAFETY: a `Vec`'s heap allocation does not move when the `Vec` value moves, and `len` bytes
// of it are initialised.
unsafe impl IoBuf for Vec<u8> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: as for `IoBuf`; `capacity` bytes are allocated and writable.
unsafe impl IoBufMut for Vec<u8> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        if pos > self.len() {
            // SAFETY: the caller promises `pos <= capacity` and that these bytes are initialised.
            unsafe { self.set_len(pos) };
        }
    }
}

// SAFETY: `BytesMut` keeps its bytes in a heap allocation that does not move with the handle.
unsafe impl IoBuf for BytesMut {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: as for `IoBuf`; `capacity` bytes are allocated and uniquely owned by this handle.
unsafe impl IoBufMut for BytesMut {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        if pos > self.len() {
            // SAFETY: the caller promises `pos <= capacity` and that these bytes are initialised.
            unsafe { self.set_len(pos) };
        }
    }
}

// SAFETY: `Bytes` points at immutable shared (or static) memory that outlives the handle.
unsafe impl IoBuf for Bytes {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: static memory never moves and is never freed.
unsafe impl IoBuf for &'static [u8] {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: static memory never moves and is never freed.
unsafe impl IoBuf for &'static str {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

/// Bytes received into a buffer borrowed from the worker's pool.
///
/// A socket waiting for data holds no buffer: one is taken from the worker's pool (on io_uring,
/// the kernel picks it from a provided-buffer ring) only when data arrives. Dropping the
/// `PooledBuf` returns the buffer to the pool of the worker it came from, so keep it only for
/// as long as the bytes are being looked at; copy what must live longer. An empty `PooledBuf`
/// means the peer closed its side (end of stream).
///
/// A `PooledBuf` can be written out as it is (it implements [`IoBuf`]), which is how an echo
/// or a proxy forwards bytes without copying them.
///
/// `PooledBuf` is neither `Send` nor `Sync`: it belongs to its worker.
pub struct PooledBuf {
    storage: PooledStorage,
    /// Bytes before this were already consumed (see [`advance`](PooledBuf::advance)).
    start: usize,
}

impl PooledBuf {
    pub(crate) fn new(storage: PooledStorage) -> PooledBuf {
        PooledBuf { storage, start: 0 }
    }

    /// The number of bytes received (and not yet consumed).
    pub fn len(&self) -> usize {
        self.storage.as_slice().len() - self.start
    }

    /// Whether nothing is left: for a fresh receive, end of stream.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Consumes the first `n` bytes.
    ///
    /// # Panics
    ///
    /// If `n > self.len()`.
    pub fn advance(&mut self, n: usize) {
        assert!(
            n <= self.len(),
            "cannot advance past the end of a PooledBuf"
        );
        self.start += n;
    }
}

// SAFETY: the bytes live in the worker's ring or in a heap buffer, neither of which moves
// with the `PooledBuf`, and stay put until it is dropped; `len()` of them follow the pointer.
unsafe impl IoBuf for PooledBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.deref().as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

impl Deref for PooledBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.storage.as_slice()[self.start..]
    }
}

impl fmt::Debug for PooledBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledBuf")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}
