//! What the peer servers share: the address argument, the `listening <addr>` line the
//! benchmark scripts wait for, and a tokio listener bound or the process ended.

use std::fmt::Display;
use std::io::Write;

/// The address to serve: the first argument, default `127.0.0.1:8080`.
pub fn addr_arg() -> String {
    std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string())
}

/// Prints `listening <addr>` on stdout, flushed: the scripts' sign that the server is up.
pub fn announce(addr: impl Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening {addr}");
    let _ = out.flush();
}

/// Reports `what` failing with `err` for server `name` and ends the process.
pub fn fail(name: &str, what: &str, err: impl Display) -> ! {
    eprintln!("{name}: {what}: {err}");
    std::process::exit(1);
}

/// A tokio listener on `addr`, announced; the process ends if it cannot bind.
pub async fn bind_tokio(name: &str, addr: &str) -> tokio::net::TcpListener {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| fail(name, &format!("bind {addr}"), e));
    announce(listener.local_addr().expect("local_addr"));
    listener
}

/// A tokio current-thread runtime with I/O and timers: one thread, as nanoapi's one worker.
pub fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .expect("build runtime")
}
