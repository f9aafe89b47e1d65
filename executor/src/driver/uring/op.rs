//! Operation futures: submit an SQE, await its completion, and on drop leave the payload to
//! the slot (see `lifecycle`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use io_uring::squeue::Entry;

use crate::runtime::with_current;

/// An operation's payload: what the SQE points into, and how a completion becomes an output.
///
/// # Safety
///
/// Every pointer in the entry that `sqe` returns must point into memory owned by `self` that
/// stays valid and in place when `self` is moved (heap memory, not fields of `self`), until
/// `self` is dropped. The driver keeps `self` alive until the kernel's completion arrives.
pub(crate) unsafe trait UringOp: 'static {
    type Output;

    /// Whether a successful result is a new fd (closed by the driver if the future is gone).
    const RESULT_IS_FD: bool = false;

    fn sqe(&mut self) -> Entry;

    /// Turns the result (`Ok(res)` or the `-res` errno) and CQE flags into the output.
    fn complete(self, res: io::Result<u32>, flags: u32) -> Self::Output;
}

/// A submitted operation; awaiting it gives the payload's output.
pub(crate) struct Op<T: UringOp> {
    key: usize,
    payload: Option<T>,
}

impl<T: UringOp> Op<T> {
    /// Queues the operation; the SQE goes to the kernel when the worker next polls its reactor.
    pub(crate) fn submit(mut payload: T) -> Op<T> {
        let sqe = payload.sqe();
        // SAFETY: by `UringOp`'s contract the SQE points into `payload`'s stable memory, and
        // `payload` lives in this `Op` until the completion, or in the slot if dropped earlier.
        let key = with_current(|ctx| unsafe { ctx.driver.borrow_mut().uring().submit(sqe) });
        Op {
            key,
            payload: Some(payload),
        }
    }
}

// The payload is never pinned: it is moved out on completion or into the slot on drop.
impl<T: UringOp> Unpin for Op<T> {}

impl<T: UringOp> Future for Op<T> {
    type Output = T::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        let key = self.key;
        let (res, flags) =
            match with_current(|ctx| ctx.driver.borrow_mut().uring().poll_op(key, cx)) {
                Poll::Ready(completion) => completion,
                Poll::Pending => return Poll::Pending,
            };
        let payload = self.payload.take().expect("Op polled after completion");
        Poll::Ready(payload.complete(to_result(res), flags))
    }
}

impl<T: UringOp> Drop for Op<T> {
    fn drop(&mut self) {
        let Some(payload) = self.payload.take() else {
            return;
        };
        let key = self.key;
        let mut payload: Option<Box<dyn std::any::Any>> = Some(Box::new(payload));
        let leftover = crate::runtime::try_with_current(|ctx| {
            let payload = payload.take().expect("taken once");
            ctx.driver
                .borrow_mut()
                .uring()
                .abandon(key, payload, T::RESULT_IS_FD)
        });
        if let Some(payload) = payload {
            // No worker any more (thread teardown): the kernel may still write into the
            // payload, so it must never be freed.
            std::mem::forget(payload);
        }
        // The payload runs foreign drop code: only once the driver is no longer borrowed.
        drop(leftover);
    }
}

/// A CQE result as an `io::Result`: negative values are `-errno`.
pub(crate) fn to_result(res: i32) -> io::Result<u32> {
    u32::try_from(res).map_err(|_| io::Error::from_raw_os_error(-res))
}
