use nanoapi::app::debug_handler;

#[debug_handler]
fn read() -> String {
    String::new()
}

fn main() {}
