//! Buffers of connections that went idle, reused by the next busy ones on the same worker.

use std::cell::RefCell;

use bytes::BytesMut;

use super::shared::READ_RESERVE;

/// How many spare buffers a worker keeps; more are freed.
const MAX_SPARE: usize = 1024;
/// Buffers that grew past this (a large response) are freed rather than kept.
const MAX_KEPT_CAPACITY: usize = 64 * 1024;

thread_local! {
    static SPARE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// A cleared buffer with room for at least one receive.
pub(super) fn take() -> BytesMut {
    SPARE
        .with(|spare| spare.borrow_mut().pop())
        .unwrap_or_else(|| BytesMut::with_capacity(READ_RESERVE))
}

/// Keeps `buf` for reuse if nothing else shares its memory any more.
pub(super) fn give_back(mut buf: BytesMut) {
    buf.clear();
    if buf.capacity() > MAX_KEPT_CAPACITY || !buf.try_reclaim(READ_RESERVE) {
        return;
    }
    SPARE.with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() < MAX_SPARE {
            spare.push(buf);
        }
    });
}
