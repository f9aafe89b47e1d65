//! The App overlay's parsers behind one app: the router (static, parameter and wildcard routes
//! with backtracking), query strings, path captures, cookies, urlencoded forms and JSON bodies,
//! all validated into typed values, driven through the in-memory exchange.
//!
//! Input: the first byte picks a route; the rest is split at `\n` into the path or query text,
//! a `Cookie` value, a body, and a `Content-Type` choice. Bytes a request line or field cannot
//! hold are percent-encoded (target) or dropped (cookie), so most inputs reach the App.
//!
//! Invariants: nothing panics (a handler or extractor panic would surface as a 500, which is
//! checked for); every response parses; validation failures are 422s with a JSON `detail`
//! list; the exchange answers every request.
#![no_main]

#[path = "common/worker.rs"]
mod worker;

use std::sync::OnceLock;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use nanoapi::app::{App, AppService, Cookie, Cookies, Form, Json, Path, Query};
use nanoapi::server::ConnOptions;
use nanoapi::server::testing::exchange;
use serde::{Deserialize, Serialize};
use worker::on_worker;

#[derive(Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Q {
    #[schemars(range(min = -5, max = 500))]
    #[serde(default)]
    n: i32,
    #[serde(default)]
    flag: bool,
    s: Option<String>,
    #[serde(default)]
    list: Vec<u8>,
    #[serde(default)]
    f: f64,
}

#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Kind {
    A,
    B,
}

#[derive(Serialize, Deserialize, schemars::JsonSchema)]
struct Inner {
    #[schemars(length(min = 1, max = 8))]
    tag: String,
    weight: Option<f32>,
}

#[derive(Serialize, Deserialize, schemars::JsonSchema)]
struct Body {
    id: u64,
    #[schemars(email)]
    email: String,
    #[schemars(regex(pattern = "^[a-z0-9-]{1,16}$"))]
    slug: String,
    kind: Kind,
    items: Vec<Inner>,
    #[serde(default)]
    extra: Option<Box<Body>>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Login {
    user: String,
    #[schemars(length(min = 3))]
    pass: String,
    #[serde(default)]
    remember: bool,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Session {
    session: String,
    theme: Option<String>,
}

async fn query(Query(_): Query<Q>) -> &'static str {
    "q"
}

async fn path(Path((a, b, rest)): Path<(String, u32, String)>) -> String {
    format!("{a}{b}{rest}")
}

async fn json(Json(body): Json<Body>) -> Json<Body> {
    Json(body)
}

async fn form(Form(_): Form<Login>) -> &'static str {
    "f"
}

async fn cookie(Cookie(_): Cookie<Session>, all: Cookies) -> String {
    all.iter().count().to_string()
}

async fn ok() -> &'static str {
    "ok"
}

fn app() -> &'static AppService {
    static APP: OnceLock<AppService> = OnceLock::new();
    APP.get_or_init(|| {
        App::new()
            .get("/q", query)
            .get("/p/{a}/{b}/{*rest}", path)
            .post("/j", json)
            .post("/f", form)
            .get("/c", cookie)
            .get("/u/me", ok)
            .get("/u/{id}", ok)
            .get("/u/{id}/x", ok)
            .get("/u/me/y/{z}", ok)
            .get("/files/{*p}", ok)
            .build()
            .unwrap()
    })
}

/// `text` with every byte a request target may not hold percent-encoded.
fn target_safe(text: &[u8]) -> String {
    let mut out = String::new();
    for &b in text {
        if b.is_ascii_graphic() && b != b'#' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds the request the input describes.
fn request(data: &[u8]) -> Option<Vec<u8>> {
    let (&route, rest) = data.split_first()?;
    let mut parts = rest.splitn(4, |&b| b == b'\n');
    let text = target_safe(parts.next().unwrap_or_default());
    let cookie: Vec<u8> = parts
        .next()
        .unwrap_or_default()
        .iter()
        .copied()
        .filter(|&b| b == b' ' || b.is_ascii_graphic())
        .collect();
    let body = parts.next().unwrap_or_default();
    let content_type = match parts.next().and_then(|c| c.first()).map(|c| c % 4) {
        Some(0) => "application/json",
        Some(1) => "application/x-www-form-urlencoded",
        Some(2) => "text/plain",
        _ => "application/merge-patch+json",
    };
    let (method, target) = match route % 6 {
        0 => ("GET", format!("/q?{text}")),
        1 => ("GET", format!("/p/{text}")),
        2 => ("POST", "/j".to_owned()),
        3 => ("POST", "/f".to_owned()),
        4 => ("GET", "/c".to_owned()),
        _ => ("GET", format!("/u/{text}")),
    };
    let mut wire = format!(
        "{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        body.len()
    )
    .into_bytes();
    if !cookie.is_empty() {
        wire.extend_from_slice(b"Cookie: ");
        wire.extend_from_slice(cookie.trim_ascii());
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"\r\n");
    wire.extend_from_slice(body);
    Some(wire)
}

fuzz_target!(|data: &[u8]| {
    let Some(wire) = request(data) else { return };
    let responses = on_worker(move || async move {
        let responses = exchange(&(), app(), &ConnOptions::default(), Bytes::from(wire)).await;
        responses.map(|rs| {
            rs.into_iter()
                .map(|r| (r.status().as_u16(), r.body.clone()))
                .collect::<Vec<_>>()
        })
    })
    .unwrap_or_else(|err| panic!("the exchange failed: {err}"));
    assert!(!responses.is_empty(), "no response");
    for (status, body) in responses {
        assert_ne!(
            status,
            500,
            "a handler or extractor failed: {}",
            String::from_utf8_lossy(&body)
        );
        if status == 422 {
            let detail: serde_json::Value = serde_json::from_slice(&body).expect("a JSON 422");
            assert!(
                detail["detail"].as_array().is_some_and(|d| !d.is_empty()),
                "{detail}"
            );
        }
    }
});
