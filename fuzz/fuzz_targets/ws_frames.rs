//! Any bytes as a client's WebSocket stream, read in pieces of the size the first byte gives,
//! with permessage-deflate agreed when the second byte is odd (compressed messages decompressed
//! under the message limit): no panic, and the same messages (or the same close code) as one
//! read of everything.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use nanoapi::server::Request;
use nanoapi::ws::{Assembler, CloseCode, Decoder, Deflate, Handshake, Message};

/// Assembles messages as a socket that agreed permessage-deflate with a browser's offer does.
fn inflating(assembler: Assembler) -> Assembler {
    let offer = Request::from_parts(
        "GET",
        "/ws",
        &[
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
        ],
        "",
    )
    .unwrap();
    let handshake = Handshake::check(&offer).unwrap();
    assembler.inflating(&handshake.deflate(&Deflate::new()).unwrap())
}

/// The messages the stream makes, and the close code that ended it, if one did.
fn messages(input: &[u8], step: usize) -> (Vec<Message>, Option<CloseCode>) {
    let deflate = input.first().is_some_and(|b| b & 1 == 1);
    let decoder = Decoder::new(1 << 12).allow_rsv1(deflate);
    let mut assembler = Assembler::new(1 << 14);
    if deflate {
        assembler = inflating(assembler);
    }
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in input.chunks(step) {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => match assembler.push(frame) {
                    Ok(Some(message)) => out.push(message),
                    Ok(None) => {}
                    Err(err) => return (out, Some(err.code)),
                },
                Ok(None) => break,
                Err(err) => return (out, Some(err.code)),
            }
        }
    }
    (out, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, input)) = data.split_first() else {
        return;
    };
    let step = usize::from(step).max(1);
    assert_eq!(messages(input, step), messages(input, input.len().max(1)));
});
