use nanoapi::app::{Query, debug_handler};

#[derive(serde::Deserialize)]
struct Page {
    offset: u32,
}

#[debug_handler]
async fn list(Query(page): Query<Page>, body: String) -> String {
    format!("{}{body}", page.offset)
}

fn main() {}
