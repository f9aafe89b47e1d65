//! permessage-deflate (RFC 7692) over real sockets, on both backends, organised like the
//! Autobahn TestSuite's sections 12 (compressed messages of every size, echoed, contexts kept)
//! and 13 (the offers and parameters a client can send), plus the failures a compressed
//! message can cause. The server is the `ws_echo` example's dispatch; the client compresses
//! and decompresses with flate2 as a browser would.
#![cfg(feature = "ws-deflate")]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use nanoapi::executor::Backend;
use nanoapi::server::ConnOptions;
use nanoapi::ws::Limits;

#[path = "../examples/ws_echo/echo.rs"]
mod echo;

use common::ws_frame as frame;

const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// A client's side of permessage-deflate: its compressor and decompressor, and whether it
/// resets them after each message.
struct Client {
    stream: TcpStream,
    compress: Compress,
    decompress: Decompress,
    reset_compress: bool,
}

impl Client {
    /// Opens a socket offering `extensions`; the answer's `Sec-WebSocket-Extensions` (if any)
    /// comes back with it. The client compresses with `client_window` bits and resets after
    /// each message if `no_context`.
    fn open(
        addr: SocketAddr,
        extensions: &str,
        client_window: u8,
        no_context: bool,
    ) -> (Client, Option<String>) {
        let handshake = format!(
            "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Extensions: {extensions}\r\n\r\n"
        );
        let (stream, head) = common::ws_open(addr, handshake.as_bytes());
        let head = head.expect("a 101");
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let agreed = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-extensions")
                .then(|| value.trim().to_owned())
        });
        // The server's window: what it answered, else 15.
        let server_window = agreed
            .as_deref()
            .and_then(|value| value.split("server_max_window_bits=").nth(1))
            .map_or(15, |bits| {
                bits[..bits.find(';').unwrap_or(bits.len())]
                    .parse()
                    .unwrap()
            });
        let client = Client {
            stream,
            compress: Compress::new_with_window_bits(Compression::new(6), false, client_window),
            decompress: Decompress::new_with_window_bits(false, server_window),
            reset_compress: no_context,
        };
        (client, agreed)
    }

    /// `message` compressed as one message's data, the tail removed.
    fn compress(&mut self, message: &[u8]) -> Vec<u8> {
        if message.is_empty() {
            // RFC 7692 §7.2.3.6 (zlib gives nothing for a second sync flush in a row).
            return vec![0x00];
        }
        let mut out = Vec::with_capacity(message.len() + 64);
        let start = self.compress.total_in();
        loop {
            out.reserve(message.len() / 2 + 64);
            let done = (self.compress.total_in() - start) as usize;
            self.compress
                .compress_vec(&message[done..], &mut out, FlushCompress::Sync)
                .unwrap();
            if (self.compress.total_in() - start) as usize == message.len()
                && out.len() < out.capacity()
            {
                break;
            }
        }
        assert!(out.ends_with(&TAIL));
        out.truncate(out.len() - 4);
        if self.reset_compress {
            self.compress.reset();
        }
        out
    }

    /// A server frame's compressed payload decompressed (with the context kept).
    fn decompress(&mut self, payload: &[u8]) -> Result<Vec<u8>, String> {
        let mut input = payload.to_vec();
        input.extend_from_slice(&TAIL);
        let mut out = Vec::with_capacity(payload.len() * 4 + 64);
        let start = self.decompress.total_in();
        loop {
            out.reserve(out.capacity().max(1024));
            let done = (self.decompress.total_in() - start) as usize;
            self.decompress
                .decompress_vec(&input[done..], &mut out, FlushDecompress::Sync)
                .map_err(|err| err.to_string())?;
            if (self.decompress.total_in() - start) as usize == input.len()
                && out.len() < out.capacity()
            {
                return Ok(out);
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Sends `message` compressed in one frame (`first` without RSV1, which is added).
    fn send_compressed(&mut self, first: u8, message: &[u8]) -> usize {
        let data = self.compress(message);
        self.send(&frame(first | 0x40, &data));
        data.len()
    }

    /// The next frame: (first byte, payload as received).
    fn read(&mut self) -> (u8, Vec<u8>) {
        common::ws_read_frame(&mut self.stream)
    }

    /// The next data frame decompressed if it has RSV1: (first byte, message, wire size).
    fn read_message(&mut self) -> (u8, Vec<u8>, usize) {
        let (first, payload) = self.read();
        let size = payload.len();
        if first & 0x40 != 0 {
            let message = self
                .decompress(&payload)
                .unwrap_or_else(|err| panic!("server data: {err}"));
            (first, message, size)
        } else {
            (first, payload, size)
        }
    }

    /// Closes normally and checks the echo, then the end of the connection.
    fn close_normally(mut self) {
        self.send(&frame(0x88, &1000u16.to_be_bytes()));
        assert_eq!(self.read(), (0x88, 1000u16.to_be_bytes().to_vec()));
        assert_eq!(self.stream.read(&mut [0; 8]).unwrap(), 0);
    }

    /// Expects a close frame with `code` and the end of the connection.
    fn expect_failure(mut self, code: u16) {
        let (first, payload) = self.read();
        assert_eq!(first, 0x88);
        assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), code);
        assert_eq!(self.stream.read(&mut [0; 8]).unwrap(), 0);
    }
}

fn serve<R: Send + 'static>(
    backend: Backend,
    limits: Limits,
    client: impl FnOnce(SocketAddr) -> R + Send + 'static,
) -> R {
    common::with_dispatch(backend, limits, ConnOptions::default(), echo::echo, client)
}

/// Text that compresses as JSON does, `n` bytes long.
fn json_like(n: usize) -> Vec<u8> {
    let mut text = Vec::with_capacity(n + 64);
    let mut i = 0u64;
    while text.len() < n {
        text.extend_from_slice(
            format!(
                "{{\"id\":{i},\"name\":\"item {}\",\"ok\":true}},",
                i * 7919 % 1000
            )
            .as_bytes(),
        );
        i += 1;
    }
    text.truncate(n);
    text
}

/// Bytes that do not compress, `n` long.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut state = (seed + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[test]
fn section_12_messages_of_every_size_are_echoed_compressed_with_the_context_kept() {
    for backend in common::backends() {
        serve(backend, Limits::default(), |addr| {
            let (mut client, agreed) = Client::open(
                addr,
                "permessage-deflate; client_max_window_bits",
                15,
                false,
            );
            assert_eq!(agreed.as_deref(), Some("permessage-deflate"));
            for n in [
                0, 16, 64, 256, 1024, 4096, 8192, 16_384, 32_768, 65_536, 131_072,
            ] {
                for (opcode, message) in [(0x1, json_like(n)), (0x2, noise(n, n as u64))] {
                    let mut sizes = Vec::new();
                    for round in 0..4 {
                        client.send_compressed(0x80 | opcode, &message);
                        let (first, echoed, size) = client.read_message();
                        assert_eq!(
                            first,
                            0xC0 | opcode,
                            "{n} bytes, round {round}: compressed (RSV1)"
                        );
                        assert!(echoed == message, "{n} bytes of {opcode:#x}, round {round}");
                        sizes.push(size);
                    }
                    if opcode == 0x1 && (1024..=16_384).contains(&n) {
                        // The server kept its context: the second refers to the first.
                        assert!(sizes[1] * 4 < sizes[0], "{n} bytes: {sizes:?}");
                    }
                }
            }
            client.close_normally();
        });
    }
}

#[test]
fn section_12_a_compressed_message_in_fragments_with_a_ping_between() {
    for backend in common::backends() {
        serve(backend, Limits::default(), |addr| {
            let (mut client, _) = Client::open(addr, "permessage-deflate", 15, false);
            let message = json_like(20_000);
            let data = client.compress(&message);
            let third = data.len() / 3;
            client.send(&frame(0x41, &data[..third]));
            client.send(&frame(0x89, b"between"));
            client.send(&frame(0x00, &data[third..2 * third]));
            client.send(&frame(0x80, &data[2 * third..]));
            assert_eq!(client.read(), (0x8A, b"between".to_vec()));
            let (first, echoed, _) = client.read_message();
            assert_eq!((first, echoed == message), (0xC1, true));
            // An uncompressed message between compressed ones leaves both contexts intact.
            client.send(&frame(0x81, b"plain"));
            let (_, plain, _) = client.read_message();
            assert_eq!(plain, b"plain");
            client.send_compressed(0x81, &message);
            let (_, again, _) = client.read_message();
            assert!(again == message);
            client.close_normally();
        });
    }
}

/// One case of section 13: an offer, the answer it must get, and how the client compresses.
struct Offer {
    id: &'static str,
    offer: &'static str,
    answer: Option<&'static str>,
    client_window: u8,
    client_no_context: bool,
}

#[test]
fn section_13_every_offer_gets_its_answer_and_messages_flow_under_it() {
    static OFFERS: [Offer; 10] = [
        Offer {
            id: "13.1 plain",
            offer: "permessage-deflate",
            answer: Some("permessage-deflate"),
            client_window: 15,
            client_no_context: false,
        },
        Offer {
            id: "13.2 client no context takeover",
            offer: "permessage-deflate; client_no_context_takeover",
            answer: Some("permessage-deflate; client_no_context_takeover"),
            client_window: 15,
            client_no_context: true,
        },
        Offer {
            id: "13.3 client window 9",
            offer: "permessage-deflate; client_max_window_bits=9",
            answer: Some("permessage-deflate; client_max_window_bits=9"),
            client_window: 9,
            client_no_context: false,
        },
        Offer {
            id: "13.3 client window 8 (compressed with 9 by zlib)",
            offer: "permessage-deflate; client_max_window_bits=8",
            answer: Some("permessage-deflate; client_max_window_bits=8"),
            client_window: 9,
            client_no_context: false,
        },
        Offer {
            id: "13.4 server window 9",
            offer: "permessage-deflate; server_max_window_bits=9",
            answer: Some("permessage-deflate; server_max_window_bits=9"),
            client_window: 15,
            client_no_context: false,
        },
        Offer {
            id: "13.4 server window 15",
            offer: "permessage-deflate; server_max_window_bits=15",
            answer: Some("permessage-deflate; server_max_window_bits=15"),
            client_window: 15,
            client_no_context: false,
        },
        Offer {
            id: "13.5 both windows 9, no context either way",
            offer: "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=9",
            answer: Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=9",
            ),
            client_window: 9,
            client_no_context: true,
        },
        Offer {
            id: "13.6 server window 8 declined, the next offer taken",
            offer: "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_no_context_takeover",
            answer: Some("permessage-deflate; server_no_context_takeover"),
            client_window: 15,
            client_no_context: false,
        },
        Offer {
            id: "13.7 an unknown parameter: declined",
            offer: "permessage-deflate; x-speed=fast",
            answer: None,
            client_window: 15,
            client_no_context: false,
        },
        Offer {
            id: "13.7 another extension: declined",
            offer: "x-webkit-deflate-frame",
            answer: None,
            client_window: 15,
            client_no_context: false,
        },
    ];
    for backend in common::backends() {
        for offer in &OFFERS {
            serve(backend, Limits::default(), move |addr| {
                let (mut client, agreed) = Client::open(
                    addr,
                    offer.offer,
                    offer.client_window,
                    offer.client_no_context,
                );
                assert_eq!(agreed.as_deref(), offer.answer, "{}", offer.id);
                // Repeats at a distance of 100 bytes, which any window sees, and of 4,000,
                // which a 512-byte window does not: a server that compressed with more window
                // than it agreed is caught by the client's smaller decompressor.
                let chunk: Vec<u8> = (0..20)
                    .flat_map(|i| {
                        let block = noise(100, i);
                        [block.clone(), block].concat()
                    })
                    .collect();
                let message = [chunk.as_slice(), chunk.as_slice(), chunk.as_slice()].concat();
                let mut sizes = Vec::new();
                for _ in 0..3 {
                    if offer.answer.is_some() {
                        client.send_compressed(0x82, &message);
                    } else {
                        client.send(&frame(0x82, &message));
                    }
                    let (first, echoed, size) = client.read_message();
                    assert_eq!(
                        first & 0x40 != 0,
                        offer.answer.is_some(),
                        "{}: RSV1",
                        offer.id
                    );
                    assert!(echoed == message, "{}", offer.id);
                    sizes.push(size);
                }
                let server_window_small = offer
                    .answer
                    .is_some_and(|a| a.contains("server_max_window_bits=9"));
                if server_window_small {
                    assert!(
                        sizes[0] > 5500,
                        "{}: a 512-byte window cannot see the repeats: {sizes:?}",
                        offer.id
                    );
                } else if offer.answer.is_some() {
                    assert!(
                        sizes[0] < 3000,
                        "{}: a 32 KiB window sees them: {sizes:?}",
                        offer.id
                    );
                }
                if offer
                    .answer
                    .is_some_and(|a| a.contains("server_no_context_takeover"))
                {
                    assert_eq!(
                        sizes[0], sizes[2],
                        "{}: every message stands alone",
                        offer.id
                    );
                }
                client.close_normally();
            });
        }
    }
}

#[test]
fn compressed_messages_that_break_the_rules_fail_the_connection() {
    for backend in common::backends() {
        // RSV1 on a continuation frame: 1002.
        serve(backend, Limits::default(), |addr| {
            let (mut client, _) = Client::open(addr, "permessage-deflate", 15, false);
            let data = client.compress(b"hello hello hello");
            client.send(&frame(0x41, &data[..4]));
            client.send(&frame(0xC0, &data[4..]));
            client.expect_failure(1002);
        });
        // Data that is not DEFLATE: 1007.
        serve(backend, Limits::default(), |addr| {
            let (mut client, _) = Client::open(addr, "permessage-deflate", 15, false);
            client.send(&frame(0xC2, &[0xff; 40]));
            client.expect_failure(1007);
        });
        // Compressed text that is not UTF-8 once decompressed: 1007.
        serve(backend, Limits::default(), |addr| {
            let (mut client, _) = Client::open(addr, "permessage-deflate", 15, false);
            client.send_compressed(0x81, b"valid, then \xff\xfe not");
            client.expect_failure(1007);
        });
        // A bomb: 16 MiB of zeros in a few KiB, over a 1 MiB message limit: 1009 before the
        // server holds more than the limit.
        let limits = {
            let mut limits = Limits::default();
            limits.max_message = 1 << 20;
            limits
        };
        serve(backend, limits, |addr| {
            let (mut client, _) = Client::open(addr, "permessage-deflate", 15, false);
            let bomb = vec![0u8; 16 << 20];
            let sent = client.send_compressed(0x82, &bomb);
            assert!(sent < 32 << 10, "{sent}");
            client.expect_failure(1009);
        });
        // RSV1 when the client offered nothing: 1002.
        serve(backend, Limits::default(), |addr| {
            let (mut client, agreed) = Client::open(addr, "x-none", 15, false);
            assert_eq!(agreed, None);
            client.send(&frame(0xC1, b"x"));
            client.expect_failure(1002);
        });
    }
}
