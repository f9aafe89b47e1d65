//! The `ssr-example` binary as a process manager runs it (nohup, `docker run` without `-i`):
//! with no standard input it keeps serving, and SIGTERM drains it to a clean exit.

/// The runtime's test helpers (backends, client connections).
#[path = "../../../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use nanoapi::executor::Backend;

#[test]
fn serves_without_standard_input_and_exits_cleanly_at_sigterm() {
    for backend in common::backends() {
        let name = match backend {
            Backend::IoUring => "uring",
            _ => "poll",
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_ssr-example"))
            .env("NANOAPI_BACKEND", name)
            .env_remove("NANOAPI_PORT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let port: u16 = first
            .strip_prefix("PORT ")
            .and_then(|port| port.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name}: no PORT line, got {first:?}"));

        // Standard input was closed from the start: the site still answers.
        let mut stream = common::connect(([127, 0, 0, 1], port).into());
        stream
            .write_all(b"GET /assets/hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200 OK\r\n"),
            "{name}: {answer}"
        );
        // Closed by the client too, as a browser would, so the server's lingering close (up to
        // 2 s waiting for the client's FIN) does not stretch the drain.
        drop(stream);

        // SAFETY: `child.id()` is the pid of a child this test started and has not reaped.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(status.success(), "{name}: {status}; stderr: {stderr}");
        assert!(stderr.contains("draining"), "{name}: stderr: {stderr}");
    }
}
