use nanoapi::app::{Json, debug_handler};

#[debug_handler]
async fn both(Json(n): Json<u32>, text: String) -> String {
    format!("{n} {text}")
}

fn main() {}
