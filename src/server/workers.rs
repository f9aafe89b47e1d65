//! A server's life on each worker: what a worker builds before its first accept and what it
//! does once its connections have closed ([`Workers`]), and the three ways of giving a
//! dispatcher its context that [`serve`](super::serve), [`serve_per_worker`](super::serve_per_worker)
//! and [`serve_workers`](super::serve_workers) rest on.

use std::future::{Future, ready};
use std::ops::Deref;
use std::rc::Rc;
use std::sync::Arc;

/// What a server runs on each of its workers around the accept loop: for a per-worker context
/// that needs `async` work to build (a connection pool that connects, a cache that warms up)
/// and per-worker start-up and shutdown work. Give it to [`serve_workers`](super::serve_workers).
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use nanoapi::http::{Response, StatusCode};
/// use nanoapi::server::{Options, Request, ResponseWriter, Workers, serve_workers};
///
/// /// Per worker: a request counter, no atomics.
/// struct Counting;
///
/// impl Workers for Counting {
///     type Context = Cell<u64>;
///
///     async fn start(&self, _worker: usize) -> Cell<u64> {
///         Cell::new(0)
///     }
///
///     async fn stop(&self, worker: usize, served: &Cell<u64>) {
///         log::info!("worker {worker} served {} requests", served.get());
///     }
/// }
///
/// async fn count(served: &Cell<u64>, _: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
///     served.set(served.get() + 1);
///     w.send(Response::text(StatusCode::OK, served.get().to_string())).await
/// }
///
/// let server = serve_workers(Options::default().port(0).workers(1), Counting, count).unwrap();
/// server.shutdown_blocking();
/// ```
pub trait Workers: Send + Sync + 'static {
    /// What the dispatcher gets as `ctx` on one worker; it stays on that worker, so it need not
    /// be `Send`.
    type Context: 'static;

    /// Builds worker `worker`'s context, on that worker, after its listener is bound and before
    /// it accepts a connection. The server has started (and
    /// [`serve_workers`](super::serve_workers) returns) once every worker's `start` has
    /// finished; a `start` that panics makes it return the panic as an error instead.
    fn start(&self, worker: usize) -> impl Future<Output = Self::Context>;

    /// Runs on the worker once the server drains and the worker's last connection has closed,
    /// or when 90 % of the shutdown timeout has passed with some still open (the deadline
    /// cancels whatever still runs then, this too). The default does nothing.
    fn stop(&self, worker: usize, ctx: &Self::Context) -> impl Future<Output = ()> {
        let _ = (worker, ctx);
        ready(())
    }
}

/// How the accept loop of one worker gets its context and hands it back: the one seam the
/// server start-up is generic over.
pub(super) trait Lifecycle<C>: Send + Sync + 'static {
    /// The context as the accept loop holds it (cloned into every connection's task).
    type Ctx: Deref<Target = C> + Clone + 'static;

    fn start(&self, worker: usize) -> impl Future<Output = Self::Ctx>;

    fn stop(&self, worker: usize, ctx: &C) -> impl Future<Output = ()>;
}

/// One context for every worker ([`serve`](super::serve)).
pub(super) struct SharedContext<C>(pub(super) Arc<C>);

impl<C: Send + Sync + 'static> Lifecycle<C> for SharedContext<C> {
    type Ctx = Arc<C>;

    fn start(&self, _worker: usize) -> impl Future<Output = Arc<C>> {
        ready(self.0.clone())
    }

    fn stop(&self, _worker: usize, _ctx: &C) -> impl Future<Output = ()> {
        ready(())
    }
}

/// A context built by a plain function on each worker ([`serve_per_worker`](super::serve_per_worker)).
pub(super) struct FnWorkers<M>(pub(super) M);

impl<C, M> Workers for FnWorkers<M>
where
    C: 'static,
    M: Fn(usize) -> C + Send + Sync + 'static,
{
    type Context = C;

    fn start(&self, worker: usize) -> impl Future<Output = C> {
        ready((self.0)(worker))
    }
}

/// A [`Workers`] as the accept loop's [`Lifecycle`].
pub(super) struct PerWorker<W>(pub(super) W);

impl<W: Workers> Lifecycle<W::Context> for PerWorker<W> {
    type Ctx = Rc<W::Context>;

    async fn start(&self, worker: usize) -> Rc<W::Context> {
        Rc::new(self.0.start(worker).await)
    }

    fn stop(&self, worker: usize, ctx: &W::Context) -> impl Future<Output = ()> {
        self.0.stop(worker, ctx)
    }
}
