use nanoapi::app::{Path, debug_handler};

struct Database;

#[debug_handler]
async fn read(Path(id): Path<u64>, db: Database) -> String {
    let _ = db;
    id.to_string()
}

fn main() {}
