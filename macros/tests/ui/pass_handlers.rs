//! Handlers the attribute accepts unchanged: extractors, a generic state type, `impl Trait`
//! and unit outputs, a pattern argument.
use nanoapi::app::{App, HttpException, IntoResponse, Json, Path, Query, State, debug_handler};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Page {
    limit: Option<u32>,
}

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
struct Todo {
    title: String,
}

#[debug_handler]
async fn list(Query(page): Query<Page>, State(prefix): State<String>) -> Json<Vec<String>> {
    Json(vec![format!("{prefix}{}", page.limit.unwrap_or(10))])
}

#[debug_handler]
async fn create(Path(id): Path<u64>, Json(todo): Json<Todo>) -> Result<Json<Todo>, HttpException> {
    let _ = id;
    Ok(Json(todo))
}

#[debug_handler]
async fn health() -> impl IntoResponse {
    "ok"
}

#[debug_handler]
async fn nothing() {}

#[debug_handler]
async fn generic<T: Clone + Send + Sync + 'static>(State(value): State<T>) -> String {
    let _ = value.clone();
    String::new()
}

fn main() {
    let _app = App::new()
        .with_state(String::from("todo-"))
        .get("/todos", list)
        .post("/todos/{id}", create)
        .get("/health", health)
        .get("/nothing", nothing)
        .get("/generic", generic::<String>);
}
