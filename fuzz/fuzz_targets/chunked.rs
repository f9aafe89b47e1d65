//! Any bytes, read in pieces of the size the first byte gives: no panic, and the same outcome
//! as one read of everything.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nanoapi::http::chunked::{Chunk, ChunkedDecoder, ChunkedError, ChunkedLimits};

fn decode(input: &[u8], step: usize) -> Result<(Vec<u8>, bool), ChunkedError> {
    let mut decoder = ChunkedDecoder::new(ChunkedLimits::default());
    let mut body = Vec::new();
    for piece in input.chunks(step) {
        let mut at = 0;
        loop {
            let (consumed, chunk) = decoder.decode(&piece[at..])?;
            at += consumed;
            match chunk {
                Chunk::Data(data) => body.extend_from_slice(data),
                Chunk::NeedMore => break,
                Chunk::Done => return Ok((body, true)),
            }
        }
    }
    Ok((body, false))
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, input)) = data.split_first() else {
        return;
    };
    let step = usize::from(step).max(1);
    assert_eq!(decode(input, step), decode(input, input.len().max(1)));
});
