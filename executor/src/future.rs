//! Small future combinators the runtime and its users share: panic containment and "whichever
//! finishes first".

use std::any::Any;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

pin_project! {
    /// A future that turns a panic in the inner future into an `Err` output carrying the
    /// panic's payload: a worker survives a task's panic this way, and a server survives a
    /// request handler's.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi_executor::future::{CatchUnwind, panic_message};
    ///
    /// nanoapi_executor::block_on(async {
    ///     let caught = CatchUnwind::new(async { panic!("boom") }).await;
    ///     assert_eq!(panic_message(&*caught.unwrap_err()), Some("boom"));
    ///     assert_eq!(CatchUnwind::new(async { 7 }).await.unwrap(), 7);
    /// });
    /// ```
    #[derive(Debug)]
    #[must_use = "futures do nothing unless awaited"]
    pub struct CatchUnwind<F> {
        #[pin]
        fut: F,
    }
}

impl<F> CatchUnwind<F> {
    /// Wraps `fut`.
    pub fn new(fut: F) -> Self {
        CatchUnwind { fut }
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send + 'static>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.project().fut;
        // A panicked future is finished: it is never polled again (its owner drops it), so
        // observing state broken by the unwind is impossible.
        match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// The message of a panic, when its payload is a string (as `panic!` makes it).
pub fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// Polls `a` and `b` until one completes: `Some(a's output)`, or `None` if `b` won. `a` is
/// polled first each time.
///
/// # Examples
///
/// ```
/// use std::pin::pin;
/// use nanoapi_executor::future::first_of;
///
/// nanoapi_executor::block_on(async {
///     let never = pin!(std::future::pending::<()>());
///     let ready = pin!(async { 1 });
///     assert_eq!(first_of(ready, never).await, Some(1));
/// });
/// ```
pub async fn first_of<A: Future, B: Future>(
    mut a: Pin<&mut A>,
    mut b: Pin<&mut B>,
) -> Option<A::Output> {
    poll_fn(|cx| {
        if let Poll::Ready(out) = a.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        if b.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}
