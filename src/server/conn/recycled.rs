//! `Recycled`: a future moved to the heap into memory that the worker reuses, so that answering
//! a batch of requests needs no allocation while the connection future itself stays small.
//!
//! The connection future boxes its batch-answering future once per batch (that future holds
//! the dispatcher's, whose size the runtime does not control): with a plain `Box` that is one
//! `malloc` and one `free` per non-pipelined request. Here the memory goes back to a per-worker
//! free list when the future is dropped and the next batch of any connection on the worker takes
//! it from there.

use std::alloc::{Layout, alloc, dealloc, handle_alloc_error};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

/// How many free blocks a worker keeps (one per connection answering at the same moment is
/// enough: a batch ends before its connection waits again).
const MAX_FREE: usize = 64;

/// Freed blocks with their layouts; freed for real when the thread exits.
struct FreeList(Vec<(Layout, NonNull<u8>)>);

impl Drop for FreeList {
    fn drop(&mut self) {
        for (layout, block) in self.0.drain(..) {
            // SAFETY: `block` was allocated with `layout` by `alloc` and is unused (it is on
            // the free list).
            unsafe { dealloc(block.as_ptr(), layout) };
        }
    }
}

thread_local! {
    static FREE: RefCell<FreeList> = const { RefCell::new(FreeList(Vec::new())) };
}

/// A heap-allocated future in recycled memory. `Unpin` (it is a pointer), so it can be awaited
/// as it is.
pub(super) struct Recycled<F> {
    /// INVARIANT: points to a live `F` in a block of `Layout::new::<F>()` (a dangling pointer
    /// for a zero-sized `F`) that this value owns until it is dropped.
    fut: NonNull<F>,
}

impl<F: Future> Recycled<F> {
    /// The future `make` returns, in a free block of its layout or a new one. Made by a closure
    /// called here rather than passed in made: inlined, the compiler builds the future in the
    /// block instead of on the stack and then copying its whole size in (−220 instructions per
    /// request for the batch future, `benches/cost.sh`).
    #[inline(always)]
    pub(super) fn new_with(make: impl FnOnce() -> F) -> Recycled<F> {
        let layout = Layout::new::<F>();
        let block = if layout.size() == 0 {
            NonNull::dangling()
        } else {
            take(layout).unwrap_or_else(|| {
                // SAFETY: `layout` has a non-zero size.
                let block = unsafe { alloc(layout) };
                NonNull::new(block).unwrap_or_else(|| handle_alloc_error(layout))
            })
        };
        let fut_ptr = block.cast::<F>();
        // SAFETY: the block is valid for writes of an `F` and suitably aligned (it has `F`'s
        // layout), and nothing else uses it.
        unsafe { fut_ptr.as_ptr().write(make()) };
        Recycled { fut: fut_ptr }
    }
}

impl<F: Future> Future for Recycled<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: the future lives at a fixed heap address until `drop` drops it in place, so
        // it is never moved after this first pin (the invariant of `fut`); `&mut self` gives
        // exclusive access.
        let fut = unsafe { Pin::new_unchecked(&mut *self.fut.as_ptr()) };
        fut.poll(cx)
    }
}

impl<F> Drop for Recycled<F> {
    fn drop(&mut self) {
        // SAFETY: `fut` points to a live `F` that this value owns (the invariant); it is
        // dropped once, here, in place.
        unsafe { self.fut.as_ptr().drop_in_place() };
        let layout = Layout::new::<F>();
        if layout.size() != 0 {
            give_back(layout, self.fut.cast());
        }
    }
}

/// A free block of exactly `layout`, if the worker has one.
fn take(layout: Layout) -> Option<NonNull<u8>> {
    FREE.try_with(|free| {
        let mut free = free.borrow_mut();
        let at = free.0.iter().rposition(|(l, _)| *l == layout)?;
        Some(free.0.swap_remove(at).1)
    })
    .ok()
    .flatten()
}

/// Keeps `block` for reuse, or frees it when the list is full (or the thread is exiting).
fn give_back(layout: Layout, block: NonNull<u8>) {
    let kept = FREE
        .try_with(|free| {
            let mut free = free.borrow_mut();
            if free.0.len() < MAX_FREE {
                free.0.push((layout, block));
                true
            } else {
                false
            }
        })
        .unwrap_or(false);
    if !kept {
        // SAFETY: `block` was allocated with `layout` and its future was dropped.
        unsafe { dealloc(block.as_ptr(), layout) };
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;

    /// A future that holds `held` until it is dropped; every call returns the same type.
    async fn holding(held: Rc<()>, fill: u8) -> [u8; 100] {
        let _held = held;
        [fill; 100]
    }

    #[test]
    fn the_memory_of_a_dropped_future_is_reused_and_the_future_dropped() {
        let alive = Rc::new(());
        let first = Recycled::new_with(|| holding(alive.clone(), 0));
        let address = first.fut.as_ptr() as usize;
        drop(first);
        assert_eq!(Rc::strong_count(&alive), 1, "the future was dropped");
        let second = Recycled::new_with(|| holding(alive.clone(), 1));
        assert_eq!(
            second.fut.as_ptr() as usize,
            address,
            "same layout, same block"
        );
        let out = crate::executor::block_on(second);
        assert_eq!(out, [1u8; 100]);
    }

    #[test]
    fn zero_sized_futures_need_no_block() {
        assert_eq!(
            crate::executor::block_on(Recycled::new_with(|| std::future::ready(()))),
            ()
        );
    }
}
