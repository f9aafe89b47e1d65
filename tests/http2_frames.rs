//! HTTP/2 (feature `http2`) from raw frames, both backends: RFC 9113's framing and stream-state
//! rules, organised by h2spec's sections, and the defences against rapid reset
//! (CVE-2023-44487), CONTINUATION floods (CVE-2024-27316) and oversized header lists. Each case
//! sends its frames after a valid preface and says what must come back.

mod common;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};

use nanoapi::executor::Backend;
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::{Options, Request, ResponseWriter, ServerHandle};

async fn hello(_: &(), _: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    w.send(Response::text(StatusCode::OK, "hello")).await
}

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Frame types (RFC 9113 §6).
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;
const PING: u8 = 0x6;
const WINDOW_UPDATE: u8 = 0x8;
const CONTINUATION: u8 = 0x9;

// Flags.
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const ACK: u8 = 0x1;

// Error codes (RFC 9113 §7).
const PROTOCOL_ERROR: u32 = 0x1;
const FRAME_SIZE_ERROR: u32 = 0x6;
const ENHANCE_YOUR_CALM: u32 = 0xb;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// `GET /` for `localhost` in HPACK: the static table's `:method GET`, `:scheme http` and
/// `:path /`, and `:authority` as a literal with an indexed name.
fn get_block() -> Vec<u8> {
    let mut block = vec![0x82, 0x86, 0x84, 0x41, 9];
    block.extend_from_slice(b"localhost");
    block
}

/// A frame the server sent.
#[derive(Debug)]
struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

struct Client {
    stream: TcpStream,
}

impl Client {
    /// Connects, sends the preface and an empty SETTINGS, and acknowledges the server's.
    fn connect(addr: SocketAddr) -> Client {
        let mut client = Client {
            stream: common::connect(addr),
        };
        let mut hello = PREFACE.to_vec();
        hello.extend(frame(SETTINGS, 0, 0, &[]));
        client.send(&hello);
        let settings = client.read_frame().expect("the server's SETTINGS");
        assert_eq!((settings.kind, settings.flags), (SETTINGS, 0));
        client.send(&frame(SETTINGS, ACK, 0, &[]));
        client
    }

    fn send(&mut self, bytes: &[u8]) {
        // The server may close first (that is what some cases check).
        let _ = self.stream.write_all(bytes);
    }

    /// The next frame, or `None` at the end of the connection.
    fn read_frame(&mut self) -> Option<Frame> {
        let mut head = [0u8; 9];
        read_exact(&mut self.stream, &mut head).ok()?;
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0; len];
        read_exact(&mut self.stream, &mut payload).ok()?;
        Some(Frame {
            kind: head[3],
            flags: head[4],
            stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
            payload,
        })
    }

    /// Reads until the server's GOAWAY (its error code) or the end of the connection (`None`),
    /// skipping everything else.
    fn goaway(&mut self) -> Option<u32> {
        while let Some(frame) = self.read_frame() {
            if frame.kind == GOAWAY {
                let code = &frame.payload[4..8];
                return Some(u32::from_be_bytes([code[0], code[1], code[2], code[3]]));
            }
        }
        None
    }

    /// The frames on `stream` until it ends (END_STREAM or RST_STREAM), or the connection does.
    fn stream_frames(&mut self, stream: u32) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Some(frame) = self.read_frame() {
            if frame.stream != stream {
                continue;
            }
            let end = frame.kind == RST_STREAM || frame.flags & END_STREAM != 0;
            frames.push(frame);
            if end {
                break;
            }
        }
        frames
    }
}

fn read_exact(stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<()> {
    let mut at = 0;
    while at < buf.len() {
        match common::read_some(stream, &mut buf[at..])? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => at += n,
        }
    }
    Ok(())
}

fn serve(backend: Backend) -> ServerHandle {
    let options = Options::default().port(0).workers(1).backend(backend);
    nanoapi::serve(options, (), hello).unwrap()
}

/// Runs `case` against a fresh connection to a server on every backend.
fn each_backend(case: impl Fn(&mut Client) -> Result<(), String>) {
    for backend in common::backends() {
        let server = serve(backend);
        let mut client = Client::connect(server.local_addr());
        if let Err(why) = case(&mut client) {
            panic!("{backend:?}: {why}");
        }
        // The server still serves new connections.
        let mut next = Client::connect(server.local_addr());
        next.send(&frame(HEADERS, END_HEADERS | END_STREAM, 1, &get_block()));
        let frames = next.stream_frames(1);
        assert!(
            frames
                .iter()
                .any(|f| f.kind == DATA && f.payload == b"hello"),
            "{backend:?}: {frames:?}"
        );
        // Closed before the drain, which would otherwise wait out the linger time after its
        // GOAWAY for clients that do not read it.
        drop((client, next));
        server.shutdown_blocking();
    }
}

fn expect_goaway(client: &mut Client, code: u32) -> Result<(), String> {
    match client.goaway() {
        Some(got) if got == code => Ok(()),
        other => Err(format!("GOAWAY {code:#x} expected, got {other:?}")),
    }
}

#[test]
fn s4_2_a_frame_over_the_max_frame_size_is_a_frame_size_error() {
    each_backend(|client| {
        client.send(&frame(HEADERS, END_HEADERS, 1, &vec![0; 16_385]));
        expect_goaway(client, FRAME_SIZE_ERROR)
    });
}

#[test]
fn s5_1_data_on_an_idle_stream_is_a_protocol_error() {
    each_backend(|client| {
        client.send(&frame(DATA, END_STREAM, 1, b"x"));
        expect_goaway(client, PROTOCOL_ERROR)
    });
}

#[test]
fn s5_1_1_an_even_stream_from_the_client_is_a_protocol_error() {
    each_backend(|client| {
        client.send(&frame(HEADERS, END_HEADERS | END_STREAM, 2, &get_block()));
        expect_goaway(client, PROTOCOL_ERROR)
    });
}

#[test]
fn s5_1_1_a_stream_id_lower_than_an_earlier_one_is_a_protocol_error() {
    each_backend(|client| {
        client.send(&frame(HEADERS, END_HEADERS | END_STREAM, 5, &get_block()));
        client.send(&frame(HEADERS, END_HEADERS | END_STREAM, 3, &get_block()));
        expect_goaway(client, PROTOCOL_ERROR)
    });
}

#[test]
fn s6_5_a_settings_frame_of_the_wrong_length_is_a_connection_error() {
    each_backend(|client| {
        client.send(&frame(SETTINGS, 0, 0, &[0, 3, 0, 0, 0]));
        // RFC 9113 asks FRAME_SIZE_ERROR; the h2 codec answers PROTOCOL_ERROR (a connection
        // error either way; README, "HTTP/2").
        expect_goaway(client, PROTOCOL_ERROR)
    });
}

#[test]
fn s6_9_a_zero_window_increment_on_the_connection_is_a_protocol_error() {
    each_backend(|client| {
        client.send(&frame(WINDOW_UPDATE, 0, 0, &[0, 0, 0, 0]));
        expect_goaway(client, PROTOCOL_ERROR)
    });
}

#[test]
fn s6_10_continuation_of_another_stream_is_a_protocol_error() {
    each_backend(|client| {
        client.send(&frame(HEADERS, END_STREAM, 1, &get_block()));
        client.send(&frame(CONTINUATION, END_HEADERS, 3, &[]));
        expect_goaway(client, PROTOCOL_ERROR)
    });
}

#[test]
fn s4_3_an_hpack_index_past_the_tables_is_a_connection_error() {
    each_backend(|client| {
        // Indexed field 126: neither the static table (61) nor the empty dynamic table.
        client.send(&frame(HEADERS, END_HEADERS | END_STREAM, 1, &[0xfe]));
        // RFC 9113 §4.3 asks COMPRESSION_ERROR; the h2 codec answers PROTOCOL_ERROR.
        expect_goaway(client, PROTOCOL_ERROR)
    });
}

#[test]
fn a_continuation_flood_is_stopped_at_the_header_list_limit() {
    each_backend(|client| {
        // HEADERS without END_HEADERS, then CONTINUATION frames of one large literal field
        // each, far past the 16 KiB header list limit (CVE-2024-27316).
        client.send(&frame(HEADERS, END_STREAM, 1, &get_block()));
        let mut field = vec![0x40, 0x01, b'x', 0x7f, 0x81, 0x7c];
        field.extend(vec![b'a'; 16_000]);
        for _ in 0..200 {
            client.send(&frame(CONTINUATION, 0, 1, &field));
        }
        // The server ends it: a GOAWAY, a reset or a 431 for the stream, never a 200.
        let mut answered_ok = false;
        while let Some(frame) = client.read_frame() {
            if frame.kind == HEADERS && frame.stream == 1 && frame.payload.first() == Some(&0x88) {
                answered_ok = true;
            }
            if frame.kind == GOAWAY || frame.kind == RST_STREAM {
                break;
            }
        }
        if answered_ok {
            return Err("the flooded stream was answered 200".into());
        }
        Ok(())
    });
}

#[test]
fn a_rapid_reset_flood_is_answered_with_goaway() {
    each_backend(|client| {
        // Streams opened and cancelled at once, over and over (CVE-2023-44487).
        let mut burst = Vec::new();
        for i in 0..2_000u32 {
            let stream = 1 + 2 * i;
            burst.extend(frame(HEADERS, END_HEADERS, stream, &get_block()));
            burst.extend(frame(RST_STREAM, 0, stream, &8u32.to_be_bytes()));
        }
        client.send(&burst);
        expect_goaway(client, ENHANCE_YOUR_CALM)
    });
}

#[test]
fn ping_and_settings_floods_do_not_stop_the_connection() {
    each_backend(|client| {
        // Ten thousand PINGs and SETTINGS without reading a single answer; the request after
        // them is still served.
        let mut flood = Vec::new();
        for i in 0..10_000u64 {
            flood.extend(frame(PING, 0, 0, &i.to_be_bytes()));
            flood.extend(frame(SETTINGS, 0, 0, &[]));
        }
        client.send(&flood);
        client.send(&frame(HEADERS, END_HEADERS | END_STREAM, 1, &get_block()));
        let frames = client.stream_frames(1);
        if frames
            .iter()
            .any(|f| f.kind == DATA && f.payload == b"hello")
        {
            Ok(())
        } else {
            Err(format!(
                "the request after the flood was not answered: {frames:?}"
            ))
        }
    });
}
