//! WebSocket conformance over real sockets, on both backends, organised like the Autobahn
//! TestSuite's sections (1 framing, 2 pings and pongs, 3 reserved bits, 4 opcodes, 5
//! fragmentation, 6 UTF-8, 7 close handling, 9 sizes): each case sends a client's exact bytes
//! to the `ws_echo` example's dispatch and checks every frame that comes back, and whether the
//! connection then ends. (Section 12–13, compression, waits for permessage-deflate.)
#![cfg(feature = "ws")]

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;

use nanoapi::executor::Backend;
use nanoapi::server::ConnOptions;
use nanoapi::ws::Limits;

#[path = "../examples/ws_echo/echo.rs"]
mod echo;

const HANDSHAKE: &[u8] =
    b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

use common::ws_frame as frame;

fn text(payload: &[u8]) -> Vec<u8> {
    frame(0x81, payload)
}

fn close(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    frame(0x88, &payload)
}

/// What the server must answer: these frames (first byte, payload), then either the echo of a
/// normal close the runner sends, or (`Some(code)`) a close frame with that code and the end
/// of the connection.
struct Case {
    id: &'static str,
    send: Vec<Vec<u8>>,
    answers: Vec<(u8, Vec<u8>)>,
    fails_with: Option<u16>,
}

fn case(id: &'static str, send: Vec<Vec<u8>>, answers: Vec<(u8, Vec<u8>)>) -> Case {
    Case {
        id,
        send,
        answers,
        fails_with: None,
    }
}

fn fails(id: &'static str, send: Vec<Vec<u8>>, code: u16) -> Case {
    Case {
        id,
        send,
        answers: Vec::new(),
        fails_with: Some(code),
    }
}

fn cases() -> Vec<Case> {
    let bytes = |n: usize| (0..n).map(|i| (i % 251) as u8).collect::<Vec<u8>>();
    let letters = |n: usize| vec![b'*'; n];
    let mut all = Vec::new();
    // 1: text and binary messages of every length class, echoed.
    for n in [0, 125, 126, 127, 128, 65_535, 65_536] {
        all.push(case(
            "1.1 text",
            vec![text(&letters(n))],
            vec![(0x81, letters(n))],
        ));
        all.push(case(
            "1.2 binary",
            vec![frame(0x82, &bytes(n))],
            vec![(0x82, bytes(n))],
        ));
    }
    // 2: pings are answered with their payload; a ping over 125 bytes fails.
    all.push(case(
        "2.1 empty ping",
        vec![frame(0x89, b"")],
        vec![(0x8A, Vec::new())],
    ));
    all.push(case(
        "2.2 text ping",
        vec![frame(0x89, b"Hello, world!")],
        vec![(0x8A, b"Hello, world!".to_vec())],
    ));
    all.push(case(
        "2.3 binary ping",
        vec![frame(0x89, &[0, 255, 254, 253])],
        vec![(0x8A, vec![0, 255, 254, 253])],
    ));
    all.push(case(
        "2.4 125-byte ping",
        vec![frame(0x89, &letters(125))],
        vec![(0x8A, letters(125))],
    ));
    all.push(fails(
        "2.5 126-byte ping",
        vec![frame(0x89, &letters(126))],
        1002,
    ));
    let ping = frame(0x89, b"chunked");
    all.push(case(
        "2.6 ping sent a byte at a time",
        ping.iter().map(|b| vec![*b]).collect(),
        vec![(0x8A, b"chunked".to_vec())],
    ));
    all.push(case(
        "2.7 unsolicited pong",
        vec![frame(0x8A, b""), text(b"after")],
        vec![(0x81, b"after".to_vec())],
    ));
    all.push(case(
        "2.10 ten pings",
        (0..10)
            .map(|i| frame(0x89, format!("p{i}").as_bytes()))
            .collect(),
        (0..10)
            .map(|i| (0x8A, format!("p{i}").into_bytes()))
            .collect(),
    ));
    // 3: reserved bits without an extension fail, after what came before is answered.
    all.push(fails("3.1 RSV1", vec![frame(0xC1, b"x")], 1002));
    let mut rsv2 = case(
        "3.2 RSV2 after a message",
        vec![text(b"ok"), frame(0xA1, b"x")],
        vec![(0x81, b"ok".to_vec())],
    );
    rsv2.fails_with = Some(1002);
    all.push(rsv2);
    all.push(fails("3.3 RSV3", vec![frame(0x91, b"x")], 1002));
    all.push(fails("3.6 RSV on a ping", vec![frame(0xC9, b"")], 1002));
    // 4: reserved opcodes fail.
    for opcode in [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        all.push(fails(
            "4 reserved opcode",
            vec![frame(0x80 | opcode, b"")],
            1002,
        ));
    }
    // 5: fragments.
    all.push(fails(
        "5.1 fragmented ping",
        vec![frame(0x09, b"a"), frame(0x80, b"b")],
        1002,
    ));
    all.push(fails(
        "5.2 fragmented pong",
        vec![frame(0x0A, b"a"), frame(0x80, b"b")],
        1002,
    ));
    all.push(case(
        "5.3 text in two fragments",
        vec![frame(0x01, b"frag"), frame(0x80, b"ment")],
        vec![(0x81, b"fragment".to_vec())],
    ));
    all.push(case(
        "5.6 a ping between fragments",
        vec![frame(0x01, b"fr"), frame(0x89, b"p"), frame(0x80, b"ag")],
        vec![(0x8A, b"p".to_vec()), (0x81, b"frag".to_vec())],
    ));
    all.push(case(
        "5.19 many fragments, pings between",
        vec![
            frame(0x01, b"a"),
            frame(0x00, b"b"),
            frame(0x89, b"1"),
            frame(0x00, b"c"),
            frame(0x89, b"2"),
            frame(0x80, b"d"),
        ],
        vec![
            (0x8A, b"1".to_vec()),
            (0x8A, b"2".to_vec()),
            (0x81, b"abcd".to_vec()),
        ],
    ));
    all.push(fails(
        "5.9 a continuation that continues nothing",
        vec![frame(0x80, b"x")],
        1002,
    ));
    all.push(fails(
        "5.12 a lone unfinished continuation",
        vec![frame(0x00, b"x")],
        1002,
    ));
    all.push(fails(
        "5.18 a new message before the last one ended",
        vec![frame(0x01, b"a"), frame(0x81, b"b")],
        1002,
    ));
    all.push(case(
        "5.20 an empty final fragment",
        vec![frame(0x02, &[1, 2]), frame(0x80, b"")],
        vec![(0x82, vec![1, 2])],
    ));
    // 6: text must be UTF-8, checked as it arrives.
    let valid: [&[u8]; 5] = [
        b"",
        "κόσμε".as_bytes(),
        &[0xF0, 0x9F, 0x98, 0x80],
        &[0xEF, 0xBF, 0xBF],
        &[0xF4, 0x8F, 0xBF, 0xBF],
    ];
    for sample in valid {
        all.push(case(
            "6 valid UTF-8",
            vec![text(sample)],
            vec![(0x81, sample.to_vec())],
        ));
    }
    let invalid: [&[u8]; 8] = [
        &[0xFF],
        &[0xC0, 0xAF],
        &[0xED, 0xA0, 0x80],
        &[0xF4, 0x90, 0x80, 0x80],
        &[0xCE],
        &[0x80],
        &[0xE0, 0x80, 0xAF],
        &[0xF8, 0x88, 0x80, 0x80, 0xAF],
    ];
    for sample in invalid {
        all.push(fails("6 invalid UTF-8", vec![text(sample)], 1007));
    }
    let split = "κόσμε".as_bytes();
    all.push(case(
        "6.2 a character split across fragments",
        vec![frame(0x01, &split[..1]), frame(0x80, &split[1..])],
        vec![(0x81, split.to_vec())],
    ));
    all.push(fails(
        "6.4 invalid in a middle fragment",
        vec![
            frame(0x01, b"ok"),
            frame(0x00, &[0xED, 0xA0, 0x80]),
            frame(0x80, b"end"),
        ],
        1007,
    ));
    all.push(fails(
        "6.3 a character cut by the message's end",
        vec![frame(0x01, b"a"), frame(0x80, &[0xF0, 0x9F])],
        1007,
    ));
    // 7: the close handshake.
    all.push(fails(
        "7.3.1 a close with nothing",
        vec![frame(0x88, b"")],
        1005,
    ));
    all.push(fails(
        "7.3.2 a close of one byte",
        vec![frame(0x88, b"\x03")],
        1002,
    ));
    all.push(fails(
        "7.5.1 a close reason that is not UTF-8",
        vec![close(1000, &[0xCE, 0xBA, 0xED, 0xA0, 0x80])],
        1007,
    ));
    for code in [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
    ] {
        all.push(fails(
            "7.7 a code a peer may send (echoed)",
            vec![close(code, b"reason")],
            code,
        ));
    }
    for code in [
        0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        all.push(fails(
            "7.9 a code no peer may send",
            vec![close(code, b"")],
            1002,
        ));
    }
    all.push(fails(
        "7.3.6 a close of 125 bytes",
        vec![close(1000, &letters(123))],
        1000,
    ));
    all.push(fails(
        "7.1.x data after the close",
        vec![close(1000, b""), text(b"ignored")],
        1000,
    ));
    // 9: large messages, whole and in many fragments.
    let large = letters(1 << 20);
    all.push(case(
        "9.1 a 1 MiB text",
        vec![text(&large)],
        vec![(0x81, large.clone())],
    ));
    let mut fragments = vec![frame(0x02, &large[..4096])];
    for piece in large[4096..].chunks(4096) {
        fragments.push(frame(0x00, piece));
    }
    let last = fragments.len() - 1;
    fragments[last][0] = 0x80;
    all.push(case(
        "9.3 a 1 MiB binary in 4 KiB fragments",
        fragments,
        vec![(0x82, large)],
    ));
    all
}

fn run(addr: SocketAddr, case: &Case) -> Result<(), String> {
    let (mut stream, head) = common::ws_open(addr, HANDSHAKE);
    if head.is_none() {
        return Err("closed during the handshake".into());
    }
    for piece in &case.send {
        stream.write_all(piece).unwrap();
    }
    for expected in &case.answers {
        let got = common::ws_read_frame(&mut stream);
        if got != *expected {
            let show = |f: &(u8, Vec<u8>)| format!("{:#04x} with {} bytes", f.0, f.1.len());
            return Err(format!("expected {}, got {}", show(expected), show(&got)));
        }
    }
    let code = match case.fails_with {
        // A case that ends well: the runner closes normally and gets its code back.
        None => {
            stream.write_all(&close(1000, b"")).unwrap();
            1000
        }
        Some(code) => code,
    };
    let (first, payload) = common::ws_read_frame(&mut stream);
    let got = match payload.as_slice() {
        [] => 1005,
        [high, low, ..] => u16::from_be_bytes([*high, *low]),
        [_] => return Err("a close payload of one byte".into()),
    };
    if (first, got) != (0x88, code) {
        return Err(format!(
            "expected a close with {code}, got {first:#04x} with {got}"
        ));
    }
    let mut rest = [0u8; 16];
    match stream.read(&mut rest) {
        Ok(0) => Ok(()),
        other => Err(format!(
            "the connection stayed open after the close: {other:?}"
        )),
    }
}

#[test]
fn every_case_of_sections_1_to_7_and_9_passes() {
    for backend in common::backends() {
        let failures = serve(backend, |addr| {
            cases()
                .iter()
                .filter_map(|case| {
                    run(addr, case)
                        .err()
                        .map(|why| format!("{}: {why}", case.id))
                })
                .collect::<Vec<_>>()
        });
        assert!(failures.is_empty(), "{backend:?}:\n{}", failures.join("\n"));
    }
}

fn serve<R: Send + 'static>(
    backend: Backend,
    client: impl FnOnce(SocketAddr) -> R + Send + 'static,
) -> R {
    common::with_dispatch(
        backend,
        Limits::default(),
        ConnOptions::default(),
        echo::echo,
        client,
    )
}
