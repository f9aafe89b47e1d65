use nanoapi::app::{Json, debug_handler};

#[derive(serde::Deserialize)]
struct NewTodo {
    title: String,
}

#[debug_handler]
async fn create(Json(todo): Json<NewTodo>) -> String {
    todo.title
}

fn main() {}
