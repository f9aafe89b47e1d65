use nanoapi::app::debug_handler;

struct Todo;

#[debug_handler]
async fn read() -> Todo {
    Todo
}

fn main() {}
