//! Echo load generator: strict ping-pong over N TCP connections.
//!
//! ```text
//! echo_load --addr 127.0.0.1:9001 --connections 64 --size 32 \
//!           --duration-secs 10 --warmup-secs 2 [--threads 0] [--server-pid PID] \
//!           [--ws /ws]
//! ```
//!
//! With `--ws PATH` every connection first opens a WebSocket at PATH (the opening handshake,
//! no extensions; anything but a `101` aborts with exit code 2), then each message is one
//! masked binary frame of `size` bytes and the echo must be one unmasked binary frame with the
//! same payload.
//!
//! Each connection writes a `size`-byte message, reads exactly `size` bytes
//! back, checks them byte for byte (any mismatch aborts with exit code 3) and
//! repeats. Only round trips completed inside the measured window (after the
//! warmup) are counted. Output on stdout is one line of JSON:
//!
//! ```text
//! {"messages": N, "seconds": S, "msgs_per_sec": R}
//! ```
//!
//! With `--server-pid PID` the tool also samples `/proc/PID/stat` (utime,
//! stime; fields 14 and 15, in clock ticks) at the exact instants the
//! measured window opens and closes, and adds `"server_utime_ticks"` and
//! `"server_stime_ticks"` (deltas) to the JSON. `measure-start` and
//! `measure-end` are printed on stderr at those instants as well.
//!
//! `--threads 0` (default) runs everything on one tokio current-thread
//! runtime, which is the fastest choice when the tool is pinned to a single
//! core; `--threads N` uses a multi-thread runtime with N workers.
//!
//! The run is bounded: connect (10 s for all connections) + warmup +
//! duration, then it exits without waiting for the server; a watchdog
//! aborts the process if that budget is exceeded by 30 s.
//!
//! Exit codes: 0 ok, 1 usage, 2 I/O error / server closed, 3 echo mismatch,
//! 4 watchdog, 5 a connection completed no round trip in the window.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Args {
    addr: String,
    connections: usize,
    size: usize,
    duration: f64,
    warmup: f64,
    threads: usize,
    server_pid: Option<u32>,
    ws: Option<String>,
}

fn usage(msg: &str) -> ! {
    eprintln!("echo_load: {msg}");
    eprintln!(
        "usage: echo_load [--addr 127.0.0.1:9001] [--connections 64] [--size 32] \
         [--duration-secs 10] [--warmup-secs 2] [--threads 0] [--server-pid PID] [--ws PATH]"
    );
    std::process::exit(1);
}

fn parse_args() -> Args {
    let mut a = Args {
        addr: "127.0.0.1:9001".to_string(),
        connections: 64,
        size: 32,
        duration: 10.0,
        warmup: 2.0,
        threads: 0,
        server_pid: None,
        ws: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            usage("help");
        }
        let val = it
            .next()
            .unwrap_or_else(|| usage(&format!("missing value for {flag}")));
        macro_rules! num {
            () => {
                val.parse()
                    .unwrap_or_else(|_| usage(&format!("bad value for {flag}: {val}")))
            };
        }
        match flag.as_str() {
            "--addr" => a.addr = val.clone(),
            "--connections" => a.connections = num!(),
            "--size" => a.size = num!(),
            "--duration-secs" => a.duration = num!(),
            "--warmup-secs" => a.warmup = num!(),
            "--threads" => a.threads = num!(),
            "--server-pid" => a.server_pid = Some(num!()),
            "--ws" => a.ws = Some(val.clone()),
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    if a.connections == 0 || a.size == 0 {
        usage("--connections and --size must be >= 1");
    }
    // `contains` is false for NaN, so NaN is rejected too.
    if !(0.0..86400.0).contains(&a.duration)
        || a.duration == 0.0
        || !(0.0..86400.0).contains(&a.warmup)
    {
        usage("--duration-secs must be in (0, 86400) and --warmup-secs in [0, 86400)");
    }
    a
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const WATCHDOG_SLACK: f64 = 30.0;

/// One counter per connection, on its own cache line.
#[repr(align(128))]
#[derive(Default)]
struct Counter(AtomicU64);

/// (utime, stime) of a process in clock ticks, from /proc/PID/stat.
fn proc_cpu(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_else(|e| {
        eprintln!("echo_load: read /proc/{pid}/stat: {e}");
        std::process::exit(2);
    });
    // comm (field 2) may contain spaces and parens: split after the last ')'.
    let rest = &s[s.rfind(')').expect("stat format") + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): field k is f[k - 3].
    (f[11].parse().expect("utime"), f[12].parse().expect("stime"))
}

fn fail(code: i32, msg: String) -> ! {
    eprintln!("echo_load: {msg}");
    std::process::exit(code);
}

/// The mask of every frame the client sends (any key does: the server must unmask).
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A binary frame's header for a payload of `len` bytes, with the mask bit and key when
/// `masked` (the client's frames) or without (the server's).
fn ws_header(len: usize, masked: bool) -> Vec<u8> {
    let mask_bit = if masked { 0x80 } else { 0 };
    let mut header = vec![0x82];
    match len {
        0..=125 => header.push(mask_bit | len as u8),
        126..=0xffff => {
            header.push(mask_bit | 126);
            header.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            header.push(mask_bit | 127);
            header.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    if masked {
        header.extend_from_slice(&MASK);
    }
    header
}

/// Opens a WebSocket at `path` on `stream`: the opening handshake, whose answer must be a
/// `101` (read up to its blank line, and not a byte further: the server sends nothing more
/// before the first echo).
async fn ws_handshake(id: usize, stream: &mut TcpStream, path: &str) {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    if let Err(e) = stream.write_all(request.as_bytes()).await {
        fail(2, format!("connection {id}: handshake write: {e}"));
    }
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) if head.len() < 8192 => head.push(byte[0]),
            Ok(_) => fail(2, format!("connection {id}: handshake: no complete answer")),
            Err(e) => fail(2, format!("connection {id}: handshake read: {e}")),
        }
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        let line = String::from_utf8_lossy(&head);
        let line = line.lines().next().unwrap_or_default();
        fail(2, format!("connection {id}: handshake refused: {line}"));
    }
}

async fn ping_pong(
    id: usize,
    mut stream: TcpStream,
    size: usize,
    counter: Arc<Counter>,
    stop: Arc<AtomicBool>,
    ws: Option<String>,
) {
    if let Some(path) = &ws {
        ws_handshake(id, &mut stream, path).await;
    }
    // Fixed per-connection pattern; the first (up to) 8 bytes carry the
    // sequence number so a stale or reordered echo is caught too.
    let mut msg: Vec<u8> = (0..size)
        .map(|i| {
            (i as u8)
                .wrapping_mul(31)
                .wrapping_add(id as u8)
                .wrapping_add(7)
        })
        .collect();
    // Read buffer larger than a message: an echo longer than what was sent
    // is detected, and a short read (n < buf len) lets tokio skip the extra
    // EAGAIN read before waiting for readiness.
    // Over a WebSocket the wire carries the masked frame and the echo is the server's frame:
    // its header, then the payload as sent.
    let (send_header, echo_header) = match ws {
        Some(_) => (ws_header(size, true), ws_header(size, false)),
        None => (Vec::new(), Vec::new()),
    };
    let expected_len = echo_header.len() + size;
    // What goes on the wire: the header, then the payload (masked over a WebSocket, once
    // here; per message only the sequence number's bytes change).
    let mask = |i: usize| if ws.is_some() { MASK[i % 4] } else { 0 };
    let mut wire = send_header.clone();
    wire.extend(msg.iter().enumerate().map(|(i, b)| b ^ mask(i)));
    let mut rbuf = vec![0u8; expected_len.max(4096) + 1];
    let seq_len = size.min(8);
    let mut seq: u64 = 0;
    loop {
        msg[..seq_len].copy_from_slice(&seq.to_le_bytes()[..seq_len]);
        for i in 0..seq_len {
            wire[send_header.len() + i] = msg[i] ^ mask(i);
        }
        if let Err(e) = stream.write_all(&wire).await {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            fail(2, format!("connection {id}: write: {e}"));
        }
        let mut got = 0;
        while got < expected_len {
            match stream.read(&mut rbuf[got..]).await {
                Ok(0) => {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    fail(2, format!("connection {id}: server closed the connection"));
                }
                Ok(n) => got += n,
                Err(e) => {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    fail(2, format!("connection {id}: read: {e}"));
                }
            }
        }
        if got != expected_len {
            fail(
                3,
                format!(
                    "connection {id}: message {seq}: expected {expected_len} bytes, got {got} back"
                ),
            );
        }
        if rbuf[..echo_header.len()] != echo_header[..] {
            fail(
                3,
                format!(
                    "connection {id}: message {seq}: echo frame header {:02x?}, expected {:02x?}",
                    &rbuf[..echo_header.len()],
                    echo_header
                ),
            );
        }
        let echoed = &rbuf[echo_header.len()..expected_len];
        if echoed != &msg[..] {
            let at = (0..size).find(|&i| echoed[i] != msg[i]).unwrap_or(0);
            fail(
                3,
                format!(
                    "connection {id}: echo mismatch in message {seq} at byte {at}: \
                     sent {:#04x}, got {:#04x}",
                    msg[at], echoed[at]
                ),
            );
        }
        counter.0.fetch_add(1, Ordering::Relaxed);
        seq = seq.wrapping_add(1);
        if stop.load(Ordering::Relaxed) {
            return;
        }
    }
}

fn total(counters: &[Arc<Counter>]) -> Vec<u64> {
    counters
        .iter()
        .map(|c| c.0.load(Ordering::Relaxed))
        .collect()
}

async fn run(args: Args) {
    let stop = Arc::new(AtomicBool::new(false));
    let mut counters = Vec::with_capacity(args.connections);
    let mut streams = Vec::with_capacity(args.connections);
    // All connections are opened before any traffic; the whole phase is
    // bounded by CONNECT_TIMEOUT.
    let deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT;
    for id in 0..args.connections {
        let s = match tokio::time::timeout_at(deadline, TcpStream::connect(&args.addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => fail(2, format!("connect {} (#{id}): {e}", args.addr)),
            Err(_) => fail(
                2,
                format!(
                    "connect {} (#{id}): timed out after {CONNECT_TIMEOUT:?}",
                    args.addr
                ),
            ),
        };
        s.set_nodelay(true)
            .unwrap_or_else(|e| fail(2, format!("set_nodelay: {e}")));
        streams.push(s);
    }
    for (id, s) in streams.into_iter().enumerate() {
        let c = Arc::new(Counter::default());
        counters.push(c.clone());
        tokio::spawn(ping_pong(
            id,
            s,
            args.size,
            c,
            stop.clone(),
            args.ws.clone(),
        ));
    }

    tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
    let cpu0 = args.server_pid.map(proc_cpu);
    let before = total(&counters);
    let t0 = Instant::now();
    eprintln!("measure-start");

    tokio::time::sleep(Duration::from_secs_f64(args.duration)).await;
    let cpu1 = args.server_pid.map(proc_cpu);
    let after = total(&counters);
    let secs = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    eprintln!("measure-end");

    let per_conn: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    let messages: u64 = per_conn.iter().sum();
    let mut json = format!(
        "{{\"messages\": {messages}, \"seconds\": {secs:.6}, \"msgs_per_sec\": {:.1}",
        messages as f64 / secs
    );
    if let (Some((u0, s0)), Some((u1, s1))) = (cpu0, cpu1) {
        json.push_str(&format!(
            ", \"server_utime_ticks\": {}, \"server_stime_ticks\": {}",
            u1 - u0,
            s1 - s0
        ));
    }
    json.push('}');
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{json}");
        let _ = out.flush();
    }
    if let Some(idle) = per_conn.iter().position(|&n| n == 0) {
        let stalled = per_conn.iter().filter(|&&n| n == 0).count();
        fail(
            5,
            format!(
                "{stalled} connection(s) completed no round trip in the window \
                 (first: #{idle}); results are invalid"
            ),
        );
    }
}

fn main() {
    let args = parse_args();

    // Hard bound on the run time, whatever the server does.
    let budget =
        CONNECT_TIMEOUT + Duration::from_secs_f64(args.warmup + args.duration + WATCHDOG_SLACK);
    std::thread::spawn(move || {
        std::thread::sleep(budget);
        fail(
            4,
            format!("watchdog: still running after {budget:?}; aborting"),
        );
    });

    let rt = if args.threads == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    }
    .expect("build runtime");
    rt.block_on(run(args));
    // Do not wait for in-flight round trips: exiting closes the sockets.
    std::process::exit(0);
}
