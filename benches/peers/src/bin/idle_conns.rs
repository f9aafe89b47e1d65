//! Idle keep-alive connection memory probe for HTTP servers.
//!
//! ```text
//! idle_conns --addr 127.0.0.1:8080 --server-pid PID [--connections 5000]
//!            [--concurrency 256] [--path /plaintext] [--hold-secs 0]
//!            [--sources 1] [--serve-again 0] [--ws 0]
//! ```
//!
//! `--ws 1` opens WebSockets instead: the request is an opening handshake at `--path`
//! (answered `101`), and `--serve-again` sends a masked text frame `x` on every socket and
//! expects its echo.
//!
//! `--sources N` spreads the connections over the source addresses 127.0.0.1 … 127.0.0.N
//! (one address has only ~28,000 ephemeral ports towards one server port);
//! `--serve-again 1` sends one more request on every connection after the check and
//! counts the answers (`served_again`): idle connections must still be served.
//!
//! 1. One warmup request on a fresh connection (then closed), 300 ms pause, then the
//!    server's `VmRSS` is read from `/proc/PID/status` ("before").
//! 2. `connections` keep-alive connections are opened, at most `concurrency` connects
//!    in flight at once; each sends one `GET <path> HTTP/1.1` and reads the whole
//!    response (head + `content-length` body), then stays open and idle.
//! 3. As soon as the last response has arrived, `VmRSS` is read again ("after").
//! 4. Every connection is then checked without blocking: one that reads EOF, an error
//!    or unexpected bytes counts as `closed` (a server that closed idle connections
//!    before the sample would make the figure meaningless).
//! 5. Optionally hold the connections `hold-secs` more, then exit (closing them).
//!
//! Output on stdout, one line of JSON:
//! `{"connections":N,"rss_before_kib":A,"rss_after_kib":B,"kib_per_conn":X,
//!   "open_secs":S,"sample_after_first_response_secs":T,"closed_at_check":C}`.
//! `sample_after_first_response_secs` is the age of the oldest idle connection when
//! RSS was sampled (it must stay under the server's keep-alive idle timeout).
//!
//! Exit codes: 0 ok, 1 usage, 2 I/O error or bad response.

use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Args {
    addr: String,
    server_pid: u32,
    connections: usize,
    concurrency: usize,
    path: String,
    hold: f64,
    sources: u8,
    serve_again: bool,
    ws: bool,
}

fn usage(msg: &str) -> ! {
    eprintln!("idle_conns: {msg}");
    eprintln!(
        "usage: idle_conns --addr HOST:PORT --server-pid PID [--connections 5000] \
         [--concurrency 256] [--path /plaintext] [--hold-secs 0] [--sources 1] \
         [--serve-again 0] [--ws 0]"
    );
    std::process::exit(1);
}

fn parse_args() -> Args {
    let mut a = Args {
        addr: String::new(),
        server_pid: 0,
        connections: 5000,
        concurrency: 256,
        path: "/plaintext".into(),
        hold: 0.0,
        sources: 1,
        serve_again: false,
        ws: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it
            .next()
            .unwrap_or_else(|| usage(&format!("{k} needs a value")));
        fn num<T: std::str::FromStr>(k: &str, v: &str) -> T {
            v.parse()
                .unwrap_or_else(|_| usage(&format!("bad value for {k}: {v}")))
        }
        match k.as_str() {
            "--addr" => a.addr = v.clone(),
            "--server-pid" => a.server_pid = num(&k, &v),
            "--connections" => a.connections = num(&k, &v),
            "--concurrency" => a.concurrency = num(&k, &v),
            "--path" => a.path = v.clone(),
            "--hold-secs" => a.hold = num(&k, &v),
            "--sources" => a.sources = num(&k, &v),
            "--serve-again" => a.serve_again = num::<u8>(&k, &v) != 0,
            "--ws" => a.ws = num::<u8>(&k, &v) != 0,
            _ => usage(&format!("unknown option {k}")),
        }
    }
    if a.addr.is_empty() || a.server_pid == 0 || a.connections == 0 || a.concurrency == 0 {
        usage("--addr and --server-pid are required");
    }
    a
}

fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_else(|e| {
        eprintln!("idle_conns: /proc/{pid}/status: {e}");
        std::process::exit(2);
    });
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| {
            eprintln!("idle_conns: no VmRSS for pid {pid}");
            std::process::exit(2);
        })
}

fn fail(msg: String) -> ! {
    eprintln!("idle_conns: {msg}");
    std::process::exit(2);
}

/// Reads one full response (head, then `content-length` bytes of body); with `upgrade`, a
/// `101` head and nothing after it.
async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>, upgrade: bool) -> std::io::Result<()> {
    buf.clear();
    let mut chunk = [0u8; 1024];
    loop {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "server closed",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).unwrap_or("");
            if upgrade {
                if !head.starts_with("HTTP/1.1 101") || buf.len() != end + 4 {
                    return Err(std::io::Error::other(format!(
                        "not a bare 101: {}",
                        head.lines().next().unwrap_or("")
                    )));
                }
                return Ok(());
            }
            if !(head.starts_with("HTTP/1.1 2") || head.starts_with("HTTP/1.0 2")) {
                return Err(std::io::Error::other(format!(
                    "non-2xx response: {}",
                    head.lines().next().unwrap_or("")
                )));
            }
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .ok_or_else(|| std::io::Error::other("response without content-length"))?;
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "short body",
                    ));
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            if buf.len() != end + 4 + len {
                return Err(std::io::Error::other("extra bytes after the response"));
            }
            return Ok(());
        }
        if buf.len() > 64 * 1024 {
            return Err(std::io::Error::other("response head too large"));
        }
    }
}

/// Sends a masked text frame `x` on an open WebSocket and reads its echo.
async fn ws_echo(s: &mut TcpStream) -> std::io::Result<()> {
    let mask = [1, 2, 3, 4];
    s.write_all(&[
        0x81,
        0x81,
        mask[0],
        mask[1],
        mask[2],
        mask[3],
        b'x' ^ mask[0],
    ])
    .await?;
    let mut echo = [0u8; 3];
    s.read_exact(&mut echo).await?;
    if echo != [0x81, 0x01, b'x'] {
        return Err(std::io::Error::other(format!("bad echo {echo:02x?}")));
    }
    Ok(())
}

async fn one(addr: &str, req: &[u8], source: u8, ws: bool) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    // The port is chosen at connect, for the whole address pair: ports that wait out
    // TIME_WAIT towards an earlier run's server port stay usable.
    let on: libc::c_int = 1;
    // SAFETY: a valid socket fd, and a pointer to a c_int that lives across the call with
    // its size as the length.
    let set = unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(&socket),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if set != 0 {
        return Err(std::io::Error::last_os_error());
    }
    socket.bind(std::net::SocketAddr::from(([127, 0, 0, source.max(1)], 0)))?;
    let target = tokio::net::lookup_host(addr)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let mut s = socket.connect(target).await?;
    s.set_nodelay(true)?;
    s.write_all(req).await?;
    let mut buf = Vec::with_capacity(512);
    read_response(&mut s, &mut buf, ws).await?;
    Ok(s)
}

fn main() {
    let args = parse_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build runtime");
    let upgrade = if args.ws {
        "Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    } else {
        ""
    };
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: idle_conns\r\nAccept: */*\r\n{upgrade}\r\n",
        args.path, args.addr
    )
    .into_bytes();
    let ws = args.ws;
    rt.block_on(async move {
        // 1. warmup + baseline
        drop(one(&args.addr, &req, 1, ws).await.unwrap_or_else(|e| fail(format!("warmup: {e}"))));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = rss_kib(args.server_pid);

        // 2. open the idle connections
        let t0 = Instant::now();
        let first_done: Rc<Cell<Option<Instant>>> = Rc::new(Cell::new(None));
        let local = tokio::task::LocalSet::new();
        let streams = local
            .run_until(async {
                let sem = Rc::new(tokio::sync::Semaphore::new(args.concurrency));
                let mut handles = Vec::with_capacity(args.connections);
                for i in 0..args.connections {
                    let permit_sem = sem.clone();
                    let addr = args.addr.clone();
                    let req = req.clone();
                    let first = first_done.clone();
                    let source = 1 + (i % usize::from(args.sources.max(1))) as u8;
                    handles.push(tokio::task::spawn_local(async move {
                        let _permit = permit_sem.acquire().await.expect("semaphore");
                        let s = one(&addr, &req, source, ws)
                            .await
                            .unwrap_or_else(|e| fail(format!("connection {i}: {e}")));
                        if first.get().is_none() {
                            first.set(Some(Instant::now()));
                        }
                        s
                    }));
                }
                let mut v = Vec::with_capacity(handles.len());
                for h in handles {
                    v.push(h.await.expect("task"));
                }
                v
            })
            .await;
        // 3. sample at once
        let after = rss_kib(args.server_pid);
        let now = Instant::now();
        let open_secs = (now - t0).as_secs_f64();
        let age = (now - first_done.get().unwrap_or(now)).as_secs_f64();

        // 4. are they all still open?
        // (std sockets from tokio are non-blocking: a peek that would block means the
        // connection is open and idle; EOF, data or an error means it is not.)
        let streams: Vec<std::net::TcpStream> = streams
            .into_iter()
            .map(|s| s.into_std().expect("into_std"))
            .collect();
        let mut closed = 0usize;
        let mut probe = [0u8; 64];
        for s in &streams {
            match s.peek(&mut probe) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                _ => closed += 1,
            }
        }
        // 5. every idle connection is still served
        let mut served_again = 0usize;
        let streams = if args.serve_again {
            let local = tokio::task::LocalSet::new();
            let (served, streams) = local
                .run_until(async {
                    let mut handles = Vec::with_capacity(streams.len());
                    for s in streams {
                        let req = req.clone();
                        handles.push(tokio::task::spawn_local(async move {
                            let mut s = TcpStream::from_std(s).expect("from_std");
                            let mut buf = Vec::with_capacity(512);
                            let ok = if ws {
                                ws_echo(&mut s).await.is_ok()
                            } else {
                                s.write_all(&req).await.is_ok()
                                    && read_response(&mut s, &mut buf, false).await.is_ok()
                            };
                            (ok, s.into_std().expect("into_std"))
                        }));
                    }
                    let mut served = 0usize;
                    let mut v = Vec::with_capacity(handles.len());
                    for h in handles {
                        let (ok, s) = h.await.expect("task");
                        served += usize::from(ok);
                        v.push(s);
                    }
                    (served, v)
                })
                .await;
            served_again = served;
            streams
        } else {
            streams
        };
        let per = (after as f64 - before as f64) / args.connections as f64;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "{{\"connections\":{},\"rss_before_kib\":{},\"rss_after_kib\":{},\"kib_per_conn\":{:.3},\
             \"open_secs\":{:.3},\"sample_after_first_response_secs\":{:.3},\"closed_at_check\":{},\
             \"served_again\":{}}}",
            args.connections, before, after, per, open_secs, age, closed, served_again
        );
        let _ = out.flush();
        if args.hold > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(args.hold)).await;
        }
        drop(streams);
    });
}
