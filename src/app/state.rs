//! App state, looked up by type: values shared by every worker ([`App::state`]), and values
//! built on each worker by a function ([`App::worker_state`]) that stay on the thread they were
//! built on.
//!
//! [`App::state`]: super::App::state
//! [`App::worker_state`]: super::App::worker_state

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Builds one worker's value of a per-worker state type.
type MakeValue = Box<dyn Fn(usize) -> Box<dyn Any> + Send + Sync>;

/// The per-worker values of one app built on one thread, by type.
type WorkerValues = HashMap<TypeId, Box<dyn Any>>;

thread_local! {
    /// Per app (by [`StateMap::id`]), the per-worker values built on this thread.
    static BUILT: RefCell<Vec<(u64, Rc<WorkerValues>)>> = const { RefCell::new(Vec::new()) };
}

/// The app's state by type: shared values, and the functions that build per-worker ones.
pub(crate) struct StateMap {
    /// Tells this app's per-worker values apart from another's built on the same thread.
    id: u64,
    values: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
    per_worker: HashMap<TypeId, MakeValue>,
}

impl Default for StateMap {
    fn default() -> StateMap {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        StateMap {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            values: HashMap::new(),
            per_worker: HashMap::new(),
        }
    }
}

impl StateMap {
    pub(crate) fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.values.insert(TypeId::of::<T>(), Box::new(value));
    }

    /// Registers `make` to build each worker's `T`.
    pub(crate) fn insert_per_worker<T, F>(&mut self, make: F)
    where
        T: 'static,
        F: Fn(usize) -> T + Send + Sync + 'static,
    {
        let make: MakeValue = Box::new(move |worker| Box::new(make(worker)));
        self.per_worker.insert(TypeId::of::<T>(), make);
    }

    /// Whether a shared value of this type is registered.
    pub(crate) fn contains(&self, type_id: TypeId) -> bool {
        self.values.contains_key(&type_id)
    }

    /// Whether a per-worker value of this type is registered.
    pub(crate) fn contains_per_worker(&self, type_id: TypeId) -> bool {
        self.per_worker.contains_key(&type_id)
    }

    pub(crate) fn get<T: 'static>(&self) -> Option<&T> {
        self.values
            .get(&TypeId::of::<T>())
            .and_then(|value| value.downcast_ref())
    }

    /// This thread's `T`, built (with every other per-worker value of the app) on first use:
    /// on a runtime worker, with its index; elsewhere as worker 0.
    pub(crate) fn get_per_worker<T: Clone + 'static>(&self) -> Option<T> {
        if !self.contains_per_worker(TypeId::of::<T>()) {
            return None;
        }
        let worker = crate::executor::worker_index().unwrap_or(0);
        let values = self.build_per_worker(worker);
        values.get(&TypeId::of::<T>())?.downcast_ref().cloned()
    }

    /// Builds this thread's per-worker values as worker `worker`, unless they exist.
    pub(crate) fn build_per_worker(&self, worker: usize) -> Rc<WorkerValues> {
        let built = BUILT.with_borrow(|built| {
            built
                .iter()
                .find(|(id, _)| *id == self.id)
                .map(|(_, values)| values.clone())
        });
        if let Some(values) = built {
            return values;
        }
        // Built outside the borrow, so that a factory that reads another app's per-worker
        // state does not find the table borrowed.
        let values: Rc<WorkerValues> = Rc::new(
            self.per_worker
                .iter()
                .map(|(&type_id, make)| (type_id, make(worker)))
                .collect(),
        );
        BUILT.with_borrow_mut(|built| built.push((self.id, values.clone())));
        values
    }
}

impl Drop for StateMap {
    /// Frees this thread's per-worker values of the app (other threads free theirs when they
    /// end: a server's workers end with it).
    fn drop(&mut self) {
        if !self.per_worker.is_empty() {
            let _ = BUILT.try_with(|built| {
                if let Ok(mut built) = built.try_borrow_mut() {
                    built.retain(|(id, _)| *id != self.id);
                }
            });
        }
    }
}

impl fmt::Debug for StateMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateMap")
            .field("len", &self.values.len())
            .field("per_worker", &self.per_worker.len())
            .finish()
    }
}
