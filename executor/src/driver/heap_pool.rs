//! Receive buffers recycled per worker, for reactors without a kernel-managed buffer ring.

use std::cell::RefCell;
use std::rc::Rc;

/// Free buffers of one size, kept for reuse up to a bound.
pub(crate) struct HeapPool {
    free: RefCell<Vec<Vec<u8>>>,
    buf_size: usize,
}

/// How many free buffers a worker keeps; beyond that, returned buffers are freed. Enough for a
/// burst of concurrently active connections without holding much memory when idle.
const MAX_FREE: usize = 256;

impl HeapPool {
    pub(crate) fn new(buf_size: usize) -> HeapPool {
        HeapPool {
            free: RefCell::new(Vec::new()),
            buf_size,
        }
    }

    /// An empty buffer with `buf_size` capacity.
    pub(crate) fn take(self: &Rc<Self>) -> HeapBuf {
        let buf = self
            .free
            .borrow_mut()
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(self.buf_size));
        HeapBuf {
            buf,
            pool: self.clone(),
        }
    }
}

/// A buffer on loan from a [`HeapPool`]; it goes back when dropped.
pub(crate) struct HeapBuf {
    pub(crate) buf: Vec<u8>,
    pool: Rc<HeapPool>,
}

impl HeapBuf {
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for HeapBuf {
    fn drop(&mut self) {
        let mut free = self.pool.free.borrow_mut();
        if free.len() < MAX_FREE {
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            free.push(buf);
        }
    }
}
