use nanoapi::app::{State, debug_handler};

#[derive(Clone)]
struct AppState;

#[derive(Clone)]
struct Database;

#[debug_handler(state = AppState)]
async fn read(State(db): State<Database>) -> &'static str {
    let _ = db;
    "read"
}

fn main() {}
