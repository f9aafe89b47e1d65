//! Tasks: the join handle, panic containment and cooperative yielding.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The payload of a panic caught in a task.
pub(crate) type Panic = Box<dyn Any + Send + 'static>;

/// What a task's runnable yields: the output, or the panic that ended it.
pub(crate) type TaskOutput<T> = Result<T, Panic>;

/// An owned permission to await a spawned task's output.
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] if the task panicked or was cancelled.
/// Dropping a `JoinHandle` cancels the task (its future is dropped on its worker at the next
/// opportunity); call [`detach`](JoinHandle::detach) to let it run on unobserved. A
/// `JoinHandle` can be awaited from any thread and from any executor.
#[must_use = "dropping a JoinHandle cancels the task; call `detach()` to let it run"]
pub struct JoinHandle<T> {
    task: Option<async_task::FallibleTask<TaskOutput<T>>>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(task: async_task::Task<TaskOutput<T>>) -> Self {
        JoinHandle {
            task: Some(task.fallible()),
        }
    }

    /// Lets the task run to completion without anyone awaiting it.
    pub fn detach(mut self) {
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }

    /// Cancels the task and waits until its future is dropped; returns the output if the task
    /// finished first.
    pub async fn cancel(mut self) -> Option<T> {
        let task = self.task.take()?;
        match task.cancel().await {
            Some(Ok(output)) => Some(output),
            _ => None,
        }
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|task| task.is_finished())
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(task) = self.task.as_mut() else {
            return Poll::Ready(Err(JoinError::cancelled()));
        };
        let res = match Pin::new(task).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => Err(JoinError::cancelled()),
            Poll::Ready(Some(Ok(output))) => Ok(output),
            Poll::Ready(Some(Err(panic))) => Err(JoinError { panic: Some(panic) }),
        };
        self.task = None;
        Poll::Ready(res)
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why a task gave no output: it panicked, or it was cancelled (its runtime shut down).
pub struct JoinError {
    panic: Option<Panic>,
}

impl JoinError {
    fn cancelled() -> Self {
        JoinError { panic: None }
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        self.panic.is_some()
    }

    /// Whether the task was cancelled before it finished.
    pub fn is_cancelled(&self) -> bool {
        self.panic.is_none()
    }

    /// The panic's payload, to resume it with [`std::panic::resume_unwind`].
    ///
    /// # Errors
    ///
    /// Gives `self` back if the task was cancelled rather than panicked.
    pub fn try_into_panic(self) -> Result<Panic, JoinError> {
        match self.panic {
            Some(panic) => Ok(panic),
            None => Err(self),
        }
    }

    /// The panic message, when the payload is a string (as `panic!` makes it).
    pub fn panic_message(&self) -> Option<&str> {
        crate::future::panic_message(&**self.panic.as_ref()?)
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.panic, self.panic_message()) {
            (None, _) => f.write_str("JoinError::Cancelled"),
            (Some(_), Some(msg)) => write!(f, "JoinError::Panic({msg:?})"),
            (Some(_), None) => f.write_str("JoinError::Panic(..)"),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.panic, self.panic_message()) {
            (None, _) => f.write_str("task was cancelled"),
            (Some(_), Some(msg)) => write!(f, "task panicked: {msg}"),
            (Some(_), None) => f.write_str("task panicked"),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(err: JoinError) -> Self {
        std::io::Error::other(err.to_string())
    }
}

/// Yields once to the worker, letting other ready tasks run before this one continues.
///
/// # Examples
///
/// ```
/// nanoapi_executor::block_on(async {
///     nanoapi_executor::yield_now().await;
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
