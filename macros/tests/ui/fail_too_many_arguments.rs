use nanoapi::app::debug_handler;

#[debug_handler]
async fn read(
    _: String, _: String, _: String, _: String, _: String, _: String, _: String,
    _: String, _: String, _: String, _: String, _: String, _: String,
) {
}

fn main() {}
