//! Any bytes: no panic, and a parsed head lies inside the buffer and agrees with `parse_into`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nanoapi::http::parse::{Limits, RequestHead, Status, parse_request_head};

fuzz_target!(|data: &[u8]| {
    let result = parse_request_head(data, &Limits::default());
    let mut head = RequestHead::new();
    let len = head.parse_into(data, &Limits::default());
    if let Ok(Status::Complete(parsed)) = &result {
        assert_eq!(len, Ok(Status::Complete(parsed.len())));
        assert!(parsed.len() <= data.len());
        assert_eq!(parsed.headers(data).count(), parsed.header_count());
    }
});
