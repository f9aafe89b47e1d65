//! Reference HTTP server: may_minihttp on the may coroutine runtime, one worker thread.
//!
//! Usage: `may_minihttp_raw [addr]` (default `127.0.0.1:8080`).
//!
//! TechEmpower's two raw routes: `GET /plaintext` → `Hello, World!` (`text/plain`) and
//! `GET /json` → `{"message":"Hello, World!"}` serialized per request with serde_json
//! (`application/json`); anything else → 404. may_minihttp writes `Server: M` and `Date`
//! itself. `may::config().set_workers(1)`; the coroutine stack size is may's default
//! (0x1000 words, the value the TechEmpower may-minihttp entry sets explicitly).
//!
//! TCP_NODELAY: may_minihttp leaves Nagle on (its `set_nodelay` call is commented out),
//! and its read buffer can end mid-batch under pipelining, so the second half of a
//! batch's responses waits for the client's delayed ACK (about 40 ms on loopback);
//! with TechEmpower's request headers at depth 16 that capped it near 600k req/s with
//! the server mostly idle. The other servers all set TCP_NODELAY, so this binary sets
//! it on the listening socket right after binding; Linux copies it to every accepted
//! socket. `MAY_NODELAY=0` keeps may_minihttp's stock behavior.
//! Prints `listening <addr>` on stdout once bound (flushed), and nothing else except
//! errors on stderr.

use std::io::{self, Write};

use bytes::BufMut;
use may_minihttp::{HttpService, HttpServiceFactory, Request, Response};
use serde::Serialize;

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

struct Techempower;

impl HttpService for Techempower {
    fn call(&mut self, req: Request, rsp: &mut Response) -> io::Result<()> {
        match req.path() {
            "/plaintext" => {
                rsp.header("Content-Type: text/plain").body("Hello, World!");
            }
            "/json" => {
                rsp.header("Content-Type: application/json");
                serde_json::to_writer(
                    rsp.body_mut().writer(),
                    &Message {
                        message: "Hello, World!",
                    },
                )?;
            }
            _ => {
                rsp.status_code(404, "Not Found").body("Not Found");
            }
        }
        Ok(())
    }
}

struct Factory;

impl HttpServiceFactory for Factory {
    type Service = Techempower;

    fn new_service(&self, _: usize) -> Self::Service {
        Techempower
    }
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    may::config().set_workers(1);
    let server = match Factory.start(addr.as_str()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("may_minihttp_raw: bind {addr}: {e}");
            std::process::exit(1);
        }
    };
    if std::env::var_os("MAY_NODELAY").is_none_or(|v| v != "0") {
        let n = set_nodelay_on_listeners();
        if n != 1 {
            eprintln!("may_minihttp_raw: expected one listening socket, set TCP_NODELAY on {n}");
        }
    }
    {
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "listening {addr}");
        let _ = out.flush();
    }
    let _ = server.join();
}

/// Sets TCP_NODELAY on every listening TCP socket of this process (may_minihttp binds
/// its listener inside `start`, out of reach); accepted sockets inherit it. Returns
/// how many sockets it was set on.
fn set_nodelay_on_listeners() -> usize {
    let mut count = 0;
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    for entry in dir.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<libc::c_int>().ok())
        else {
            continue;
        };
        let mut listening: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: plain getsockopt/setsockopt on an fd number of this process, with
        // correctly sized option buffers; a non-socket fd just fails.
        let ok = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_ACCEPTCONN,
                (&mut listening as *mut libc::c_int).cast(),
                &mut len,
            )
        } == 0;
        if !ok || listening == 0 {
            continue;
        }
        let one: libc::c_int = 1;
        let set = unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        } == 0;
        if set {
            count += 1;
        }
    }
    count
}
