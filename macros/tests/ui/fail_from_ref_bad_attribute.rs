use nanoapi::app::FromRef;

#[derive(Clone, FromRef)]
struct AppState {
    #[from_ref(rename = "db")]
    db: String,
}

fn main() {}
