//! The app's state: one value shared by every worker ([`App::with_state`]), or a value built on
//! each worker by a function ([`App::per_worker`]) that stays on the thread it was built on.
//! Its type is the app's `S`; here it is held as `dyn Any`, and each route's endpoint gives its
//! handler the type it was made for.
//!
//! [`App::with_state`]: super::App::with_state
//! [`App::per_worker`]: super::App::per_worker

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Builds one worker's value.
type MakeValue = Box<dyn Fn(usize) -> Rc<dyn Any> + Send + Sync>;

thread_local! {
    /// Per app (by its id), the per-worker value built on this thread.
    static BUILT: RefCell<Vec<(u64, Rc<dyn Any>)>> = const { RefCell::new(Vec::new()) };
}

/// The app's state.
pub(crate) enum AppState {
    /// The same value for every worker.
    Shared(Box<dyn Any + Send + Sync>),
    /// A value per worker, built by `make`; `id` tells this app's values apart from another's
    /// built on the same thread.
    PerWorker { id: u64, make: MakeValue },
}

/// What a request borrows its state from: the shared value, or this worker's.
pub(crate) enum StateRef<'a> {
    Shared(&'a (dyn Any + Send + Sync)),
    Worker(Rc<dyn Any>),
}

impl StateRef<'_> {
    pub(crate) fn get(&self) -> &dyn Any {
        match self {
            StateRef::Shared(value) => *value,
            StateRef::Worker(value) => &**value,
        }
    }
}

impl Default for AppState {
    /// No state: `()`.
    fn default() -> AppState {
        AppState::shared(())
    }
}

impl AppState {
    pub(crate) fn shared<S: Send + Sync + 'static>(value: S) -> AppState {
        AppState::Shared(Box::new(value))
    }

    pub(crate) fn per_worker<S, F>(make: F) -> AppState
    where
        S: 'static,
        F: Fn(usize) -> S + Send + Sync + 'static,
    {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        AppState::PerWorker {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            make: Box::new(move |worker| Rc::new(make(worker))),
        }
    }

    /// The state for a request on this thread: a per-worker value is built (as this runtime
    /// worker's, or as worker 0 elsewhere) on first use.
    pub(crate) fn get(&self) -> StateRef<'_> {
        match self {
            AppState::Shared(value) => StateRef::Shared(&**value),
            AppState::PerWorker { id, make } => {
                let worker = crate::executor::worker_index().unwrap_or(0);
                StateRef::Worker(built(*id, make, worker))
            }
        }
    }

    /// Builds this thread's per-worker value as worker `worker`, unless it exists.
    pub(crate) fn build_for(&self, worker: usize) {
        if let AppState::PerWorker { id, make } = self {
            built(*id, make, worker);
        }
    }
}

/// App `id`'s value on this thread, built by `make` as worker `worker` unless it exists.
fn built(id: u64, make: &MakeValue, worker: usize) -> Rc<dyn Any> {
    let found = BUILT.with_borrow(|built| {
        built
            .iter()
            .find(|(app, _)| *app == id)
            .map(|(_, value)| value.clone())
    });
    if let Some(value) = found {
        return value;
    }
    // Built outside the borrow, so that a factory that reads another app's per-worker state
    // does not find the table borrowed.
    let value = make(worker);
    BUILT.with_borrow_mut(|built| built.push((id, value.clone())));
    value
}

impl Drop for AppState {
    /// Frees this thread's per-worker value of the app (other threads free theirs when they
    /// end: a server's workers end with it).
    fn drop(&mut self) {
        if let AppState::PerWorker { id, .. } = self {
            let _ = BUILT.try_with(|built| {
                if let Ok(mut built) = built.try_borrow_mut() {
                    built.retain(|(app, _)| app != id);
                }
            });
        }
    }
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppState::Shared(_) => f.write_str("AppState::Shared"),
            AppState::PerWorker { id, .. } => write!(f, "AppState::PerWorker({id})"),
        }
    }
}
