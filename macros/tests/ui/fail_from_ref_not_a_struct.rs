use nanoapi::app::FromRef;

#[derive(Clone, FromRef)]
enum AppState {
    Empty,
}

fn main() {}
