//! Bare io_uring responder: the floor under every HTTP server on this machine.
//!
//! Usage: `uring_responder [addr|port] [plaintext|json]` (default `127.0.0.1:8080`, or
//! `127.0.0.1:$PORT` when `PORT` is set; default body `plaintext`).
//!
//! One thread, one io_uring. It accepts, and for every connection it alternates one
//! receive and the sends that answer it. It parses nothing: each `\r\n\r\n` it sees
//! counts as one complete request (a partial delimiter at the end of a read is carried
//! into the next one), and each request is answered with the same pre-rendered
//! `HTTP/1.1 200 OK` response, so pipelined requests get one response each. The Date
//! header is fixed; a real server keeps it current from a per-second cache, which costs
//! nothing per request. With `json` the body is `{"message":"Hello, World!"}`, also
//! pre-rendered (not serialized per request). What is left is the kernel's loopback TCP
//! path and io_uring: the least CPU per request any server can reach here.
//!
//! TCP_NODELAY on (set on the listener; Linux copies it to accepted sockets). Prints
//! `listening <addr>` on stdout once bound (flushed), and nothing else except errors
//! on stderr.

use std::io::{self, Write};
use std::net::TcpListener;
use std::os::fd::{AsRawFd, RawFd};

use io_uring::{opcode, squeue, types, IoUring};
use memchr::memmem;

/// Bytes received per read. wrk's pipelined batch (16 requests of ~170 bytes) fits.
const READ_BUF_LEN: usize = 16 * 1024;
/// `"\r\n\r\n".len() - 1`: the most bytes of a delimiter a read can end with unmatched.
const TAIL_LEN: usize = 3;
/// Copies of the response in the shared send buffer: up to this many responses go out
/// in one send.
const RESPONSES_PER_SEND: usize = 64;
/// `user_data` of the accept; connections use their slot index.
const ACCEPT_USERDATA: u64 = u64::MAX;

const DATE: &str = "Thu, 26 Nov 2026 12:00:00 GMT";

struct Conn {
    fd: RawFd,
    /// `buf[..tail]` holds the unmatched end of the previous read; reads land after it.
    buf: Box<[u8]>,
    tail: usize,
    /// Responses owed, counted in bytes still to send.
    unsent: usize,
    /// Bytes of the current response already sent (the offset into the response).
    phase: usize,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = match (args.next(), std::env::var("PORT")) {
        (Some(a), _) if a.contains(':') => a,
        (Some(port), _) | (None, Ok(port)) => format!("127.0.0.1:{port}"),
        (None, Err(_)) => "127.0.0.1:8080".to_string(),
    };
    let body: &str = match args.next().as_deref() {
        None | Some("plaintext") => "text/plain\r\nContent-Length: 13\r\n\r\nHello, World!",
        Some("json") => {
            "application/json\r\nContent-Length: 27\r\n\r\n{\"message\":\"Hello, World!\"}"
        }
        Some(other) => die(&format!("unknown body '{other}' (plaintext or json)")),
    };
    let response =
        format!("HTTP/1.1 200 OK\r\nServer: bare\r\nDate: {DATE}\r\nContent-Type: {body}");
    // Leaked, so every send may point into it for as long as the process lives.
    let responses: &'static [u8] = response.repeat(RESPONSES_PER_SEND).into_bytes().leak();

    // The ring first, so a kernel without io_uring fails before `listening` is printed.
    let ring = IoUring::new(1024).unwrap_or_else(|e| die(&format!("io_uring: {e}")));
    let listener = TcpListener::bind(&addr).unwrap_or_else(|e| die(&format!("bind {addr}: {e}")));
    set_nodelay(listener.as_raw_fd()).unwrap_or_else(|e| die(&format!("TCP_NODELAY: {e}")));
    {
        let mut out = io::stdout().lock();
        let _ = writeln!(
            out,
            "listening {}",
            listener.local_addr().expect("local_addr")
        );
        let _ = out.flush();
    }
    if let Err(e) = serve(ring, &listener, responses, response.len()) {
        die(&format!("io_uring: {e}"));
    }
}

fn serve(
    mut ring: IoUring,
    listener: &TcpListener,
    responses: &'static [u8],
    response_len: usize,
) -> io::Result<()> {
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut done: Vec<(u64, i32)> = Vec::new();
    let finder = memmem::Finder::new(b"\r\n\r\n");
    let accept = opcode::Accept::new(
        types::Fd(listener.as_raw_fd()),
        std::ptr::null_mut(),
        std::ptr::null_mut(),
    )
    .flags(libc::SOCK_CLOEXEC)
    .build()
    .user_data(ACCEPT_USERDATA);
    // SAFETY: the accept writes no peer address (both pointers are null), and the
    // listener is borrowed for all of `serve`, which owns the ring, so it outlives the ring.
    unsafe { push(&mut ring, &accept)? };
    loop {
        ring.submit_and_wait(1)?;
        done.clear();
        done.extend(ring.completion().map(|cqe| (cqe.user_data(), cqe.result())));
        for &(user_data, res) in &done {
            if user_data == ACCEPT_USERDATA {
                if res >= 0 {
                    let conn = Conn {
                        fd: res,
                        buf: vec![0; READ_BUF_LEN].into_boxed_slice(),
                        tail: 0,
                        unsent: 0,
                        phase: 0,
                    };
                    let idx = match free.pop() {
                        Some(idx) => {
                            conns[idx] = Some(conn);
                            idx
                        }
                        None => {
                            conns.push(Some(conn));
                            conns.len() - 1
                        }
                    };
                    submit_recv(&mut ring, conns[idx].as_mut().unwrap(), idx)?;
                } else {
                    eprintln!(
                        "uring_responder: accept: {}",
                        io::Error::from_raw_os_error(-res)
                    );
                }
                // SAFETY: as for the first accept above.
                unsafe { push(&mut ring, &accept)? };
                continue;
            }
            let idx = user_data as usize;
            let conn = conns[idx].as_mut().expect("completion for a free slot");
            // The connection had exactly one operation in flight: a send while it owes
            // responses, else a receive.
            let next = if conn.unsent > 0 {
                on_sent(conn, res, response_len)
            } else {
                on_received(conn, res, &finder, response_len)
            };
            match next {
                Some(()) if conn.unsent > 0 => submit_send(&mut ring, conn, idx, responses)?,
                Some(()) => submit_recv(&mut ring, conn, idx)?,
                None => {
                    // SAFETY: no operation on this fd is in flight (its only one just completed).
                    unsafe { libc::close(conn.fd) };
                    conns[idx] = None;
                    free.push(idx);
                }
            }
        }
    }
}

/// Counts the complete requests in what was received and carries the unmatched end
/// over. `None`: end of stream or error, close the connection.
fn on_received(
    conn: &mut Conn,
    res: i32,
    finder: &memmem::Finder,
    response_len: usize,
) -> Option<()> {
    if res <= 0 {
        if res < 0 && -res != libc::ECONNRESET {
            eprintln!(
                "uring_responder: recv: {}",
                io::Error::from_raw_os_error(-res)
            );
        }
        return None;
    }
    let len = conn.tail + res as usize;
    let mut requests = 0;
    let mut consumed = 0; // end of the last delimiter found
    for pos in finder.find_iter(&conn.buf[..len]) {
        requests += 1;
        consumed = pos + 4;
    }
    // Keep the last bytes that could begin a delimiter, never bytes of one already counted.
    let keep_from = consumed.max(len.saturating_sub(TAIL_LEN));
    conn.buf.copy_within(keep_from..len, 0);
    conn.tail = len - keep_from;
    conn.unsent = requests * response_len;
    Some(())
}

/// Accounts for a (possibly short) send. `None`: error (or nothing sent), close the connection.
fn on_sent(conn: &mut Conn, res: i32, response_len: usize) -> Option<()> {
    if res <= 0 {
        if res < 0 && -res != libc::ECONNRESET && -res != libc::EPIPE {
            eprintln!(
                "uring_responder: send: {}",
                io::Error::from_raw_os_error(-res)
            );
        }
        return None;
    }
    conn.unsent -= res as usize;
    conn.phase = (conn.phase + res as usize) % response_len;
    Some(())
}

fn submit_recv(ring: &mut IoUring, conn: &mut Conn, idx: usize) -> io::Result<()> {
    let spare = &mut conn.buf[conn.tail..];
    let recv = opcode::Recv::new(types::Fd(conn.fd), spare.as_mut_ptr(), spare.len() as u32)
        .build()
        .user_data(idx as u64);
    // SAFETY: the buffer is the connection's boxed slice, whose heap memory does not move
    // when `conns` grows; the slot is freed only after this receive's completion.
    unsafe { push(ring, &recv) }
}

fn submit_send(
    ring: &mut IoUring,
    conn: &mut Conn,
    idx: usize,
    responses: &'static [u8],
) -> io::Result<()> {
    // `responses` repeats the response, so from offset `phase` on it continues the stream.
    let chunk = &responses[conn.phase..];
    let len = chunk.len().min(conn.unsent);
    let send = opcode::Send::new(types::Fd(conn.fd), chunk.as_ptr(), len as u32)
        .flags(libc::MSG_NOSIGNAL)
        .build()
        .user_data(idx as u64);
    // SAFETY: `responses` is leaked (`'static`) and never written after start-up.
    unsafe { push(ring, &send) }
}

/// Queues `sqe`, submitting what is queued first if the submission queue is full.
///
/// # Safety
///
/// Every buffer and fd that `sqe` points to must stay valid until its completion arrives.
unsafe fn push(ring: &mut IoUring, sqe: &squeue::Entry) -> io::Result<()> {
    // SAFETY: the caller keeps the entry's buffers alive until its completion.
    while unsafe { ring.submission().push(sqe) }.is_err() {
        ring.submit()?;
    }
    Ok(())
}

fn set_nodelay(fd: RawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `on` is a live c_int for the duration of the call, and its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn die(msg: &str) -> ! {
    eprintln!("uring_responder: {msg}");
    std::process::exit(1);
}
