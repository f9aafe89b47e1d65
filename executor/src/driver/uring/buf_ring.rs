//! The provided-buffer ring: receive buffers the kernel picks from only when data arrives, so a
//! socket waiting for data holds none.
//!
//! The ring is an array of `io_uring_buf` entries shared with the kernel: we add buffers at the
//! tail (published with a release store), the kernel consumes from the head. A received buffer
//! is lent out as a [`RingBuf`] and goes back to the tail when dropped.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::cell::Cell;
use std::io;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::IoUring;
use io_uring::types::BufRingEntry;

/// The buffer group id of the worker's ring (one group per ring).
pub(crate) const BUF_GROUP: u16 = 0;

#[derive(Clone)]
pub(crate) struct BufRing {
    inner: Rc<Inner>,
}

struct Inner {
    /// `n_bufs` entries, page-aligned, shared with the kernel.
    entries: NonNull<BufRingEntry>,
    entries_layout: Layout,
    /// `n_bufs * buf_size` bytes; buffer `bid` starts at `bid * buf_size`.
    memory: NonNull<u8>,
    memory_layout: Layout,
    n_bufs: u16,
    buf_size: usize,
    /// Our copy of the tail; the kernel reads the shared one.
    tail: Cell<u16>,
}

impl BufRing {
    /// Allocates `n_bufs` (a power of two) buffers of `buf_size` bytes and registers them with
    /// `ring` as group [`BUF_GROUP`].
    pub(crate) fn register(ring: &IoUring, n_bufs: u16, buf_size: usize) -> io::Result<BufRing> {
        assert!(
            n_bufs.is_power_of_two(),
            "buffer ring size must be a power of two"
        );
        let entries_layout = Layout::array::<BufRingEntry>(usize::from(n_bufs))
            .and_then(|layout| layout.align_to(4096))
            .map_err(io::Error::other)?;
        let memory_layout = Layout::array::<u8>(usize::from(n_bufs) * buf_size)
            .and_then(|layout| layout.align_to(64))
            .map_err(io::Error::other)?;
        // SAFETY: both layouts have a non-zero size (n_bufs >= 1, buf_size >= 64).
        let (entries, memory) =
            unsafe { (alloc_zeroed(entries_layout), alloc_zeroed(memory_layout)) };
        let (Some(entries), Some(memory)) = (
            NonNull::new(entries.cast::<BufRingEntry>()),
            NonNull::new(memory),
        ) else {
            return Err(io::ErrorKind::OutOfMemory.into());
        };
        let inner = Inner {
            entries,
            entries_layout,
            memory,
            memory_layout,
            n_bufs,
            buf_size,
            tail: Cell::new(0),
        };
        for bid in 0..n_bufs {
            inner.push(bid);
        }
        // SAFETY: `entries` points at `n_bufs` entries that live as long as `inner`, and the
        // driver keeps a clone of this ring until the io_uring instance is torn down (see
        // `UringDriver`'s `Drop`), which unregisters the group.
        unsafe {
            ring.submitter().register_buf_ring_with_flags(
                entries.as_ptr() as u64,
                n_bufs,
                BUF_GROUP,
                0,
            )?
        };
        Ok(BufRing {
            inner: Rc::new(inner),
        })
    }

    /// Takes buffer `bid` that the kernel filled with `len` bytes.
    pub(crate) fn lend(&self, bid: u16, len: usize) -> RingBuf {
        debug_assert!(bid < self.inner.n_bufs && len <= self.inner.buf_size);
        RingBuf {
            ring: self.inner.clone(),
            bid,
            len,
        }
    }
}

impl Inner {
    /// Hands buffer `bid` (back) to the kernel.
    fn push(&self, bid: u16) {
        let tail = self.tail.get();
        let index = usize::from(tail & (self.n_bufs - 1));
        // SAFETY: `index < n_bufs`, so the entry is inside the allocation. The kernel only
        // reads entries between its head and the published tail, and this one is at or past
        // the tail, so nobody else accesses it now.
        let entry = unsafe { &mut *self.entries.as_ptr().add(index) };
        // SAFETY: `bid < n_bufs`, so the buffer lies inside `memory`.
        let addr = unsafe { self.memory.as_ptr().add(usize::from(bid) * self.buf_size) };
        entry.set_addr(addr as u64);
        entry.set_len(u32::try_from(self.buf_size).unwrap_or(u32::MAX));
        entry.set_bid(bid);
        let tail = tail.wrapping_add(1);
        self.tail.set(tail);
        // SAFETY: the shared tail is a `u16` inside entry 0 (its `resv` field), valid for the
        // ring's lifetime, naturally aligned, and only written by this thread; the kernel reads
        // it concurrently, hence the atomic store. Release publishes the entry written above.
        unsafe { AtomicU16::from_ptr(BufRingEntry::tail(self.entries.as_ptr()).cast_mut()) }
            .store(tail, Ordering::Release);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // SAFETY: allocated in `register` with these layouts; the last `Rc` is gone only after
        // the driver waited for every operation that could write into `memory`.
        unsafe {
            dealloc(self.entries.as_ptr().cast(), self.entries_layout);
            dealloc(self.memory.as_ptr(), self.memory_layout);
        }
    }
}

/// A buffer lent from the ring; it goes back to the kernel when dropped.
pub(crate) struct RingBuf {
    ring: Rc<Inner>,
    bid: u16,
    len: usize,
}

impl RingBuf {
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: buffer `bid` lies inside `memory` (zero-initialised at allocation, so every
        // byte is initialised), and while lent the kernel does not own it: it is not in the
        // ring until `Drop` pushes it back.
        unsafe {
            std::slice::from_raw_parts(
                self.ring
                    .memory
                    .as_ptr()
                    .add(usize::from(self.bid) * self.ring.buf_size),
                self.len,
            )
        }
    }
}

impl Drop for RingBuf {
    fn drop(&mut self) {
        self.ring.push(self.bid);
    }
}
