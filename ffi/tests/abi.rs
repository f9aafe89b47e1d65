//! The C ABI driven from Rust as a C host would: a callback, the request view, the writer's
//! rules, the server's life cycle. Socket tests run on both backends.

use std::ffi::{c_int, c_void};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::ptr;
use std::time::Duration;

use nanoapi_ffi::*;

fn s(text: &str) -> nanoapi_str {
    nanoapi_str {
        ptr: text.as_ptr().cast(),
        len: text.len(),
    }
}

fn string(value: nanoapi_str) -> String {
    if value.len == 0 {
        return String::new();
    }
    // SAFETY: the library hands out readable strings, valid for the callback.
    let bytes = unsafe { std::slice::from_raw_parts(value.ptr.cast::<u8>(), value.len) };
    String::from_utf8_lossy(bytes).into_owned()
}

fn last_error() -> String {
    string(nanoapi_last_error())
}

fn backends() -> Vec<c_int> {
    match std::env::var("NANOAPI_BACKEND").as_deref() {
        Ok("uring") => vec![NANOAPI_BACKEND_URING],
        Ok("poll") => vec![NANOAPI_BACKEND_POLL],
        _ => vec![NANOAPI_BACKEND_URING, NANOAPI_BACKEND_POLL],
    }
}

/// Every backend, each in pool mode (`false`) and inline mode (`true`).
fn modes() -> Vec<(c_int, bool)> {
    backends()
        .into_iter()
        .flat_map(|backend| [(backend, false), (backend, true)])
        .collect()
}

/// A started server on `backend` calling `callback`, on the workers themselves if `inline`.
fn start(backend: c_int, callback: nanoapi_dispatch_fn, inline: bool) -> *mut nanoapi_server {
    let mut options = std::mem::MaybeUninit::uninit();
    // SAFETY: writable memory for one options struct.
    assert_eq!(
        unsafe { nanoapi_options_init(options.as_mut_ptr()) },
        NANOAPI_OK
    );
    // SAFETY: initialised just above.
    let mut options = unsafe { options.assume_init() };
    options.port = 0;
    options.workers = 1;
    options.backend = backend;
    let mut server = ptr::null_mut();
    // SAFETY: valid options and out-pointer; the server is live until freed by the test.
    unsafe {
        assert_eq!(nanoapi_server_new(&options, &mut server), NANOAPI_OK);
        let set = match inline {
            true => nanoapi_server_set_dispatch_inline,
            false => nanoapi_server_set_dispatch,
        };
        assert_eq!(set(server, callback, ptr::null_mut()), NANOAPI_OK);
        assert_eq!(nanoapi_server_start(server), NANOAPI_OK, "{}", last_error());
    }
    server
}

fn get(server: *mut nanoapi_server, path: &str) -> String {
    // SAFETY: the server is live.
    let port = unsafe { nanoapi_server_port(server) };
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nX-Two: 2\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn free(server: *mut nanoapi_server) {
    // SAFETY: started and never run: free stops it; nothing else uses it.
    unsafe { nanoapi_server_free(server) };
}

/// Answers per path, checking the writer's rules along the way.
unsafe extern "C" fn handler(
    _: *mut c_void,
    req: *const nanoapi_request,
    w: *mut nanoapi_writer,
) -> c_int {
    // SAFETY: `req` and `w` are the live arguments of this callback.
    unsafe {
        let path = string(nanoapi_request_path(req));
        match path.as_str() {
            "/fail" => 7,
            "/silent" => 0,
            "/ws" => {
                // Only the pool mode can hand a WebSocket to the host.
                let mut socket = ptr::null_mut();
                let rc = nanoapi_writer_accept_websocket(w, s(""), &mut socket);
                let text = format!("accept={rc}");
                nanoapi_writer_send(w, 200, s("text/plain"), ptr::null(), 0, s(&text))
            }
            "/view" => {
                let mut two = s("");
                assert!(nanoapi_request_header(req, s("x-two"), &mut two));
                assert!(!nanoapi_request_header(req, s("x-none"), ptr::null_mut()));
                let mut field = std::mem::zeroed::<nanoapi_header>();
                let n = nanoapi_request_header_count(req);
                assert_eq!(
                    nanoapi_request_header_at(req, n, &mut field),
                    NANOAPI_ERR_INVALID
                );
                assert_eq!(nanoapi_request_header_at(req, 0, &mut field), NANOAPI_OK);
                let query = nanoapi_request_query(req);
                let text = format!(
                    "{} {} q={} null={} v={} n={n} first={}:{} two={}",
                    string(nanoapi_request_method(req)),
                    string(nanoapi_request_target(req)),
                    string(query),
                    query.ptr.is_null(),
                    nanoapi_request_version(req),
                    string(field.name),
                    string(field.value),
                    string(two),
                );
                nanoapi_writer_send(w, 200, s("text/plain"), ptr::null(), 0, s(&text))
            }
            "/rules" => {
                // A chunk needs a started stream; a reserved header is refused; a bad status too.
                assert_eq!(nanoapi_writer_write_chunk(w, s("x")), NANOAPI_ERR_STATE);
                let bad = nanoapi_header {
                    name: s("Content-Length"),
                    value: s("1"),
                };
                assert_eq!(
                    nanoapi_writer_send(w, 200, s(""), &bad, 1, s("")),
                    NANOAPI_ERR_INVALID
                );
                assert!(last_error().contains("Content-Length"), "{}", last_error());
                assert_eq!(
                    nanoapi_writer_send(w, 42, s(""), ptr::null(), 0, s("")),
                    NANOAPI_ERR_INVALID
                );
                let cookies = [
                    nanoapi_header {
                        name: s("Set-Cookie"),
                        value: s("a=1"),
                    },
                    nanoapi_header {
                        name: s("Set-Cookie"),
                        value: s("b=2"),
                    },
                ];
                assert_eq!(
                    nanoapi_writer_start_chunked(w, 200, s("text/plain"), cookies.as_ptr(), 2),
                    NANOAPI_OK
                );
                assert_eq!(
                    nanoapi_writer_send(w, 200, s(""), ptr::null(), 0, s("")),
                    NANOAPI_ERR_STATE
                );
                for part in ["one ", "", "two"] {
                    assert_eq!(nanoapi_writer_write_chunk(w, s(part)), NANOAPI_OK);
                }
                assert_eq!(nanoapi_writer_end_chunked(w), NANOAPI_OK);
                assert_eq!(nanoapi_writer_end_chunked(w), NANOAPI_ERR_STATE);
                NANOAPI_OK
            }
            _ => nanoapi_writer_send(w, 404, s(""), ptr::null(), 0, s("")),
        }
    }
}

#[test]
fn the_request_view_shows_the_request() {
    for (backend, inline) in modes() {
        let server = start(backend, Some(handler), inline);
        let response = get(server, "/view?a=1");
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        assert!(
            response.ends_with("GET /view?a=1 q=a=1 null=false v=11 n=3 first=Host:x two=2"),
            "{response}"
        );
        assert!(get(server, "/view").contains(" q= null=true "));
        free(server);
    }
}

#[test]
fn the_writer_enforces_one_response_and_valid_fields() {
    for (backend, inline) in modes() {
        let server = start(backend, Some(handler), inline);
        let response = get(server, "/rules");
        assert!(
            response.contains("Transfer-Encoding: chunked"),
            "{response}"
        );
        assert!(response.contains("Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n"));
        assert!(
            response.ends_with("\r\n\r\n4\r\none \r\n3\r\ntwo\r\n0\r\n\r\n"),
            "{response:?}"
        );
        free(server);
    }
}

#[test]
fn a_failing_or_silent_callback_is_a_500() {
    for (backend, inline) in modes() {
        let server = start(backend, Some(handler), inline);
        assert!(get(server, "/fail").starts_with("HTTP/1.1 500"));
        assert!(get(server, "/silent").starts_with("HTTP/1.1 500"));
        free(server);
    }
}

#[test]
fn the_inline_mode_refuses_a_websocket_and_can_still_answer() {
    for backend in backends() {
        let server = start(backend, Some(handler), true);
        let response = get(server, "/ws");
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(
            response.ends_with(&format!("accept={NANOAPI_ERR_STATE}")),
            "{response}"
        );
        free(server);
    }
}

#[test]
fn calls_out_of_order_are_refused_with_a_message() {
    let mut server = ptr::null_mut();
    // SAFETY: NULL options mean the defaults; every pointer is valid or NULL on purpose.
    unsafe {
        assert_eq!(nanoapi_server_start(ptr::null_mut()), NANOAPI_ERR_INVALID);
        assert_eq!(nanoapi_server_new(ptr::null(), &mut server), NANOAPI_OK);
        assert_eq!(nanoapi_server_port(server), 0);
        assert_eq!(nanoapi_server_start(server), NANOAPI_ERR_STATE);
        assert!(
            last_error().contains("nanoapi_server_set_dispatch"),
            "{}",
            last_error()
        );
        assert_eq!(
            nanoapi_server_set_dispatch(server, None, ptr::null_mut()),
            NANOAPI_ERR_INVALID
        );
        let status = 200;
        let (get, path) = (s("GET"), s("/x"));
        assert_eq!(
            nanoapi_server_add_static(server, s("G T"), path, status, s(""), ptr::null(), 0, s("")),
            NANOAPI_ERR_INVALID
        );
        assert_eq!(
            nanoapi_server_add_static(server, get, s("/x?y"), status, s(""), ptr::null(), 0, s("")),
            NANOAPI_ERR_INVALID
        );
        nanoapi_server_free(server);
    }
    for (backend, inline) in modes() {
        let server = start(backend, Some(handler), inline);
        // SAFETY: the server is live.
        unsafe {
            assert_ne!(nanoapi_server_port(server), 0);
            assert_eq!(
                nanoapi_server_set_dispatch(server, Some(handler), ptr::null_mut()),
                NANOAPI_ERR_STATE
            );
            assert_eq!(
                nanoapi_server_set_dispatch_inline(server, Some(handler), ptr::null_mut()),
                NANOAPI_ERR_STATE
            );
            assert_eq!(nanoapi_server_stop(server), NANOAPI_OK);
            // A stop before run: run starts nothing new, drains, and returns.
            assert_eq!(nanoapi_server_run(server), NANOAPI_OK);
            assert_eq!(nanoapi_server_run(server), NANOAPI_ERR_STATE);
            assert_eq!(nanoapi_server_start(server), NANOAPI_ERR_STATE);
        }
        free(server);
    }
}
