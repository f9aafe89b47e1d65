//! A WebSocket echo server on the bare runtime (feature `ws`, no App): `GET /ws` upgrades and
//! echoes every text and binary message; anything else is a 404. Build it alone:
//! `cargo run --example ws_echo --no-default-features --features ws` (`ws-deflate` instead of
//! `ws`: with permessage-deflate).

mod echo;

fn main() -> std::io::Result<()> {
    nanoapi::run(nanoapi::ws::Limits::default(), echo::echo)
}
