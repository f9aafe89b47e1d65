//! Answers every request with what the runtime understood of it, as JSON:
//! `{"method","target","path","query","version","headers":[[name,value],...],"body","body_len"}`
//! (strings decoded as lossy UTF-8). A black-box view of the parser. Options from the
//! environment.

use nanoapi::http::{Response, StatusCode, Version};
use nanoapi::server::{Request, ResponseWriter};

async fn echo(_: &(), req: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    let body = req.read_to_end().await?;
    let mut json = String::from("{");
    field(&mut json, "method", req.method_bytes());
    field(&mut json, "target", req.target());
    field(&mut json, "path", req.path());
    match req.query() {
        Some(query) => field(&mut json, "query", query),
        None => json.push_str("\"query\":null,"),
    }
    let version: &[u8] = if req.version() == Version::Http10 {
        b"HTTP/1.0"
    } else {
        b"HTTP/1.1"
    };
    field(&mut json, "version", version);
    json.push_str("\"headers\":[");
    for (i, (name, value)) in req.headers().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push('[');
        string(&mut json, name);
        json.push(',');
        string(&mut json, value);
        json.push(']');
    }
    json.push_str("],");
    field(&mut json, "body", &body);
    json.push_str(&format!("\"body_len\":{}}}", body.len()));
    w.send(Response::json_bytes(StatusCode::OK, json.into()))
        .await
}

fn field(json: &mut String, name: &str, value: &[u8]) {
    json.push('"');
    json.push_str(name);
    json.push_str("\":");
    string(json, value);
    json.push(',');
}

/// A JSON string of `bytes` read as lossy UTF-8.
fn string(json: &mut String, bytes: &[u8]) {
    json.push('"');
    for ch in String::from_utf8_lossy(bytes).chars() {
        match ch {
            '"' => json.push_str("\\\""),
            '\\' => json.push_str("\\\\"),
            '\n' => json.push_str("\\n"),
            '\r' => json.push_str("\\r"),
            '\t' => json.push_str("\\t"),
            c if (c as u32) < 0x20 => json.push_str(&format!("\\u{:04x}", c as u32)),
            c => json.push(c),
        }
    }
    json.push('"');
}

fn main() -> std::io::Result<()> {
    nanoapi::run((), echo)
}
