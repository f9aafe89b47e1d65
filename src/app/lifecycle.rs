//! Lifecycle: start-up and shutdown hooks (on each worker of a server), and background tasks
//! that run after a response is sent.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use super::extract::{FromRequestParts, Rejection, RequestContext, RequestParts};
use super::handler::LocalBoxFuture;
use super::service::AppService;
use crate::server::{ShutdownSignal, Workers};

/// A hook: an async function run once.
pub(crate) type Hook = Box<dyn Fn() -> LocalBoxFuture<'static, ()> + Send + Sync>;

/// The start-up and shutdown hooks of an app.
#[derive(Default)]
pub(crate) struct Hooks {
    pub startup: Vec<Hook>,
    pub shutdown: Vec<Hook>,
}

impl Hooks {
    /// Runs `hooks` in order.
    pub(crate) async fn run(hooks: &[Hook]) {
        for hook in hooks {
            hook().await;
        }
    }
}

/// An app's life on each worker of its server: the per-worker state and the start-up hooks
/// before the first accept, the shutdown hooks after the drain.
pub(crate) struct AppWorkers {
    pub(crate) service: Arc<AppService>,
}

impl Workers for AppWorkers {
    type Context = ();

    async fn start(&self, worker: usize) {
        self.service.state.build_for(worker);
        Hooks::run(&self.service.hooks.startup).await;
    }

    async fn stop(&self, _worker: usize, _ctx: &()) {
        Hooks::run(&self.service.hooks.shutdown).await;
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("startup", &self.startup.len())
            .field("shutdown", &self.shutdown.len())
            .finish()
    }
}

/// Work to do after the response is sent (an email, a cache refresh), as FastAPI's
/// `BackgroundTasks`: take it as a handler argument and add futures; they run in order on the
/// same worker once the response has been written, before the connection's next request.
///
/// # Examples
///
/// ```
/// use nanoapi::app::BackgroundTasks;
///
/// async fn signup(tasks: BackgroundTasks) -> &'static str {
///     tasks.add(async { /* send the welcome email */ });
///     "ok"
/// }
/// ```
#[derive(Clone, Default)]
pub struct BackgroundTasks {
    tasks: Rc<RefCell<Vec<LocalBoxFuture<'static, ()>>>>,
}

impl BackgroundTasks {
    /// Queues `task`.
    pub fn add(&self, task: impl Future<Output = ()> + 'static) {
        self.tasks.borrow_mut().push(Box::pin(task));
    }

    /// How many tasks are queued.
    pub fn len(&self) -> usize {
        self.tasks.borrow().len()
    }

    /// Whether none is queued.
    pub fn is_empty(&self) -> bool {
        self.tasks.borrow().is_empty()
    }

    /// Runs the queued tasks, in order.
    pub(crate) async fn run(self) {
        let tasks = std::mem::take(&mut *self.tasks.borrow_mut());
        for task in tasks {
            task.await;
        }
    }
}

impl fmt::Debug for BackgroundTasks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackgroundTasks")
            .field("queued", &self.len())
            .finish()
    }
}

impl<S> FromRequestParts<S> for BackgroundTasks {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        _cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        if let Some(tasks) = req.extensions().get::<BackgroundTasks>() {
            return Ok(tasks.clone());
        }
        let tasks = BackgroundTasks::default();
        req.extensions_mut().insert(tasks.clone());
        Ok(tasks)
    }
}

/// The server's drain signal as a handler argument: raised when the server begins to shut
/// down, so that a long poll or an endless stream can end early instead of holding the
/// shutdown to its timeout (an [`EventSource`](super::EventSource) ends at the drain on its
/// own). Outside a server (the [`TestClient`](super::TestClient)) it is a signal nothing
/// raises.
///
/// # Examples
///
/// ```
/// use std::pin::pin;
/// use std::time::Duration;
/// use nanoapi::executor::future::first_of;
/// use nanoapi::executor::time::sleep;
/// use nanoapi::server::ShutdownSignal;
///
/// /// A long poll: waits up to 30 s for news, less when the server is draining.
/// async fn poll_news(draining: ShutdownSignal) -> &'static str {
///     let news = pin!(sleep(Duration::from_secs(30)));
///     match first_of(news, pin!(draining.raised())).await {
///         Some(()) => "no news",
///         None => "the server is restarting: ask again",
///     }
/// }
/// # let _ = nanoapi::app::App::new().get("/news", poll_news);
/// ```
impl<S> FromRequestParts<S> for ShutdownSignal {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        _cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        Ok(req.shutdown_signal().cloned().unwrap_or_default())
    }
}
