//! Buffers of connections that went idle, reused by the next busy ones on the same worker: the
//! receive and send buffers (and a TLS session's), and the parsed head's field list.

use std::cell::RefCell;

use bytes::BytesMut;

use super::shared::READ_RESERVE;
use crate::http::RequestHead;

/// How many spare buffers (and heads) a worker keeps; more are freed. Enough for the
/// connections that are busy at one moment; every one kept is memory that idle connections are
/// charged for (4 KiB each).
const MAX_SPARE: usize = 128;
/// Buffers that grew past this (a large response) are freed rather than kept.
const MAX_KEPT_CAPACITY: usize = 64 * 1024;

thread_local! {
    static SPARE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
    static SPARE_HEADS: RefCell<Vec<RequestHead>> = const { RefCell::new(Vec::new()) };
}

/// A cleared buffer with room for at least one receive.
pub(crate) fn take() -> BytesMut {
    SPARE
        .with(|spare| spare.borrow_mut().pop())
        .unwrap_or_else(|| BytesMut::with_capacity(READ_RESERVE))
}

/// Keeps `buf` for reuse if nothing else shares its memory any more.
#[inline]
pub(crate) fn give_back(mut buf: BytesMut) {
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

/// A head whose field list has room from earlier requests (or a new, empty one).
pub(super) fn take_head() -> RequestHead {
    SPARE_HEADS
        .with(|spare| spare.borrow_mut().pop())
        .unwrap_or_default()
}

/// Keeps `head` (its field list's memory) for the next connection that needs one.
#[inline]
pub(super) fn give_back_head(head: RequestHead) {
    SPARE_HEADS.with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() < MAX_SPARE {
            spare.push(head);
        }
    });
}
