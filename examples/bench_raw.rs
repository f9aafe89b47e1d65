//! TechEmpower's plaintext and JSON routes on the raw dispatcher, for `benches/`.
//! `GET /plaintext` → `Hello, World!`; `GET /json` → `{"message":"Hello, World!"}`, serialized
//! per request. Options from the environment.

use bytes::{BufMut, BytesMut};
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::{Request, ResponseWriter};

async fn dispatch(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    let response = match req.path() {
        b"/plaintext" => Response::text(StatusCode::OK, "Hello, World!"),
        b"/json" => Response::json_bytes(StatusCode::OK, message_json("Hello, World!")),
        _ => Response::text(StatusCode::NOT_FOUND, "Not Found"),
    };
    w.send(response).await
}

/// `{"message":<text>}`, escaped as JSON requires.
fn message_json(text: &str) -> bytes::Bytes {
    let mut out = BytesMut::with_capacity(16 + text.len());
    out.put_slice(b"{\"message\":\"");
    for ch in text.chars() {
        match ch {
            '"' => out.put_slice(b"\\\""),
            '\\' => out.put_slice(b"\\\\"),
            c if (c as u32) < 0x20 => out.put_slice(format!("\\u{:04x}", c as u32).as_bytes()),
            c => out.put_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out.put_slice(b"\"}");
    out.freeze()
}

fn main() -> std::io::Result<()> {
    nanoapi::run((), dispatch)
}
