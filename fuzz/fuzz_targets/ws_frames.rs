//! Any bytes as a client's WebSocket stream, read in pieces of the size the first byte gives:
//! no panic, and the same messages (or the same close code) as one read of everything.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use nanoapi::ws::{Assembler, CloseCode, Decoder, Message};

/// The messages the stream makes, and the close code that ended it, if one did.
fn messages(input: &[u8], step: usize) -> (Vec<Message>, Option<CloseCode>) {
    let decoder = Decoder::new(1 << 12).allow_rsv1(input.first().is_some_and(|b| b & 1 == 1));
    let mut assembler = Assembler::new(1 << 14);
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
