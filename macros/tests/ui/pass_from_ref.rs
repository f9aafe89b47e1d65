//! The derive on a state struct: each field a part (`State<Field>`), a skipped field left out,
//! a generic state struct, handlers checked against the state by `debug_handler`.
use std::sync::Arc;

use nanoapi::app::{App, FromRef, State, debug_handler};

#[derive(Clone)]
struct Db(Arc<Vec<String>>);

#[derive(Clone, FromRef)]
struct AppState {
    db: Db,
    name: Arc<str>,
    #[from_ref(skip)]
    #[allow(dead_code)]
    secret: String,
}

#[derive(Clone, FromRef)]
struct Generic<T: Clone + Send + Sync + 'static> {
    inner: Arc<T>,
}

#[debug_handler(state = AppState)]
async fn count(State(db): State<Db>, State(name): State<Arc<str>>) -> String {
    format!("{name}: {}", db.0.len())
}

#[debug_handler(state = Generic<u8>)]
async fn inner(State(inner): State<Arc<u8>>) -> String {
    inner.to_string()
}

fn main() {
    let state = AppState {
        db: Db(Arc::default()),
        name: "users".into(),
        secret: String::new(),
    };
    let _app = App::new().with_state(state).get("/count", count);
    let _app = App::new()
        .with_state(Generic { inner: Arc::new(7u8) })
        .get("/inner", inner);
}
