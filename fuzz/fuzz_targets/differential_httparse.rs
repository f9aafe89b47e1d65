//! A head nanoapi accepts must be read by httparse the same way: same length, method, target,
//! version and fields. (The reverse does not hold: nanoapi is stricter.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use nanoapi::http::parse::{Limits, Status, Version, parse_request_head};

fuzz_target!(|data: &[u8]| {
    let Ok(Status::Complete(head)) = parse_request_head(data, &Limits::default()) else {
        return;
    };
    let mut fields = [httparse::EMPTY_HEADER; 128];
    let mut theirs = httparse::Request::new(&mut fields);
    match theirs.parse(data) {
        Ok(httparse::Status::Complete(len)) => {
            assert_eq!(len, head.len());
            assert_eq!(
                theirs.method.map(str::as_bytes),
                Some(head.method_bytes(data))
            );
            assert_eq!(theirs.path.map(str::as_bytes), Some(head.target(data)));
            let version = match head.version() {
                Version::Http10 => 0,
                Version::Http11 => 1,
            };
            assert_eq!(theirs.version, Some(version));
            let ours: Vec<(&[u8], &[u8])> = head.headers(data).collect();
            let theirs: Vec<(&[u8], &[u8])> = theirs
                .headers
                .iter()
                .map(|h| (h.name.as_bytes(), h.value))
                .collect();
            assert_eq!(ours, theirs);
        }
        // httparse reads only HTTP/1.0 and 1.1; nanoapi reads 1.2-1.9 as 1.1 (RFC 9110 §2.5).
        Err(httparse::Error::Version) => assert!(matches!(minor_version(data), b'2'..=b'9')),
        other => panic!("nanoapi accepted a head httparse rejects: {other:?}"),
    }
});

/// The minor version digit of the request line: its last byte, after any leading CRLFs.
fn minor_version(data: &[u8]) -> u8 {
    let mut rest = data;
    while let Some(after) = rest.strip_prefix(b"\r\n") {
        rest = after;
    }
    let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap_or(0);
    line_end.checked_sub(1).map_or(0, |last| rest[last])
}
