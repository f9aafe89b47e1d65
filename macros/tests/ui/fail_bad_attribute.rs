use nanoapi::app::debug_handler;

#[debug_handler(status = 201)]
async fn create() -> &'static str {
    "created"
}

fn main() {}
