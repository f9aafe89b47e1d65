//! `serve` and `ServerHandle`: binding, several workers on one port, graceful shutdown.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nanoapi::executor::time::sleep;
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::{Options, Request, ResponseWriter};

/// Counts requests; `/slow` takes 300 ms.
async fn dispatch(
    started: &Arc<AtomicUsize>,
    req: &mut Request,
    w: &mut ResponseWriter,
) -> nanoapi::Result<()> {
    started.fetch_add(1, Ordering::SeqCst);
    if req.path() == b"/slow" {
        sleep(Duration::from_millis(300)).await;
    }
    let worker = nanoapi::executor::worker_index().unwrap_or(usize::MAX);
    w.send(Response::text(StatusCode::OK, format!("worker {worker}")))
        .await
}

fn get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

#[test]
fn serve_on_port_zero_shares_the_port_across_workers() {
    for backend in common::backends() {
        let started = Arc::new(AtomicUsize::new(0));
        let options = Options::default().port(0).workers(2).backend(backend);
        let server = nanoapi::serve(options, started.clone(), dispatch).unwrap();
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0);
        let mut workers = std::collections::BTreeSet::new();
        for _ in 0..40 {
            let response = get(addr, "/").unwrap();
            assert!(
                response.starts_with("HTTP/1.1 200 OK"),
                "{backend:?}: {response}"
            );
            workers.insert(response.rsplit(' ').next().unwrap().to_owned());
        }
        assert_eq!(started.load(Ordering::SeqCst), 40);
        assert_eq!(
            workers.len(),
            2,
            "{backend:?}: both workers serve the port: {workers:?}"
        );
        server.shutdown_blocking();
    }
}

#[test]
fn a_port_in_use_is_an_error_that_names_the_address() {
    // A listener without `SO_REUSEPORT` holds the port against ours.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    for backend in common::backends() {
        let options = Options::default().port(port).workers(1).backend(backend);
        let err = nanoapi::serve(options, Arc::new(AtomicUsize::new(0)), dispatch).unwrap_err();
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::AddrInUse,
            "{backend:?}: {err}"
        );
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("cannot listen on 127.0.0.1:{port}: ")),
            "{backend:?}: {message}"
        );
    }
}

#[test]
fn an_inherited_listener_is_served_by_every_worker() {
    for backend in common::backends() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let started = Arc::new(AtomicUsize::new(0));
        let options = Options::default()
            .listener(listener)
            .workers(2)
            .backend(backend);
        let server = nanoapi::serve(options, started.clone(), dispatch).unwrap();
        assert_eq!(server.local_addr(), addr);
        for _ in 0..10 {
            let response = get(addr, "/").unwrap();
            assert!(
                response.starts_with("HTTP/1.1 200 OK"),
                "{backend:?}: {response}"
            );
        }
        assert_eq!(started.load(Ordering::SeqCst), 10);
        server.shutdown_blocking();
        // The listener closed with the server: nothing accepts on the address any more.
        assert!(get(addr, "/").is_err(), "{backend:?}");
    }
}

#[test]
fn graceful_shutdown_finishes_the_request_in_flight_then_refuses_new_ones() {
    for backend in common::backends() {
        let started = Arc::new(AtomicUsize::new(0));
        let options = Options::default().port(0).workers(1).backend(backend);
        let server = Arc::new(nanoapi::serve(options, started.clone(), dispatch).unwrap());
        let addr = server.local_addr();
        let slow = std::thread::spawn(move || get(addr, "/slow"));
        // Shut down once the slow request is being handled.
        while started.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        assert!(!server.is_draining());
        let stopper = server.clone();
        let stopping = std::thread::spawn(move || stopper.shutdown_blocking());
        let response = slow.join().unwrap().unwrap();
        assert!(
            response.starts_with("HTTP/1.1 200 OK"),
            "{backend:?}: in-flight request finished: {response}"
        );
        assert!(
            response.contains("Connection: close"),
            "{backend:?}: draining responses close"
        );
        stopping.join().unwrap();
        assert!(server.is_draining());
        assert!(
            get(addr, "/").is_err(),
            "{backend:?}: no new connections after shutdown"
        );
    }
}

#[test]
fn shutdown_is_awaitable_from_tokio() {
    let server = nanoapi::serve(
        Options::default().port(0).workers(1),
        Arc::new(AtomicUsize::new(0)),
        dispatch,
    )
    .unwrap();
    let addr = server.local_addr();
    assert!(get(addr, "/").unwrap().starts_with("HTTP/1.1 200"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { server.shutdown().await });
    assert!(server.is_draining());
}

#[test]
fn static_responses_are_served_without_the_dispatcher() {
    for backend in common::backends() {
        let started = Arc::new(AtomicUsize::new(0));
        let options = Options::default()
            .port(0)
            .workers(1)
            .backend(backend)
            .static_response(
                "GET",
                "/static",
                Response::text(StatusCode::OK, "from the cache"),
            );
        let server = nanoapi::serve(options, started.clone(), dispatch).unwrap();
        let response = get(server.local_addr(), "/static?ignored=1").unwrap();
        assert!(
            response.starts_with("HTTP/1.1 200 OK\r\nServer: nanoapi\r\nDate: "),
            "{backend:?}: {response}"
        );
        assert!(
            response.ends_with("Content-Length: 14\r\nConnection: close\r\n\r\nfrom the cache"),
            "{backend:?}: {response}"
        );
        let mut stream = TcpStream::connect(server.local_addr()).unwrap();
        stream
            .write_all(b"HEAD /static HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut head = String::new();
        stream.read_to_string(&mut head).unwrap();
        assert!(
            head.ends_with("Content-Length: 14\r\nConnection: close\r\n\r\n"),
            "{backend:?}: HEAD: {head}"
        );
        assert_eq!(
            started.load(Ordering::SeqCst),
            0,
            "{backend:?}: the dispatcher was not called"
        );
        assert!(
            get(server.local_addr(), "/other")
                .unwrap()
                .contains("worker 0")
        );
        assert_eq!(started.load(Ordering::SeqCst), 1);
        server.shutdown_blocking();
    }
}

/// A per-worker context that is not `Send`: a counter in an `Rc`.
struct PerWorker {
    worker: usize,
    served: std::rc::Rc<std::cell::Cell<usize>>,
}

async fn count(ctx: &PerWorker, _: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
    ctx.served.set(ctx.served.get() + 1);
    w.send(Response::text(
        StatusCode::OK,
        format!("worker {} served {}", ctx.worker, ctx.served.get()),
    ))
    .await
}

#[test]
fn serve_per_worker_builds_a_context_on_each_worker() {
    let options = Options::default().port(0).workers(1);
    let server = nanoapi::server::serve_per_worker(
        options,
        |worker| PerWorker {
            worker,
            served: Default::default(),
        },
        count,
    )
    .unwrap();
    for n in 1..=3 {
        let response = get(server.local_addr(), "/").unwrap();
        assert!(
            response.ends_with(&format!("worker 0 served {n}")),
            "{response}"
        );
    }
    server.shutdown_blocking();
}

/// Records each worker's start and stop, and the requests served between them.
#[derive(Clone, Default)]
struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    fn note(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl nanoapi::server::Workers for Journal {
    type Context = (usize, Journal);

    async fn start(&self, worker: usize) -> (usize, Journal) {
        // Runs on the worker's own executor: it can await there.
        nanoapi::executor::yield_now().await;
        let on = nanoapi::executor::worker_index();
        self.note(format!("start {worker} on {on:?}"));
        (worker, self.clone())
    }

    async fn stop(&self, worker: usize, _ctx: &(usize, Journal)) {
        self.note(format!("stop {worker}"));
    }
}

async fn journaled(
    (worker, journal): &(usize, Journal),
    req: &mut Request,
    w: &mut ResponseWriter,
) -> nanoapi::Result<()> {
    if req.path() == b"/slow" {
        journal.note(format!("slow request on {worker}"));
        sleep(Duration::from_millis(300)).await;
    }
    let sent = w.send(Response::text(StatusCode::OK, "done")).await;
    journal.note(format!("answered on {worker}"));
    sent
}

#[test]
fn serve_workers_starts_each_worker_before_serving_and_stops_it_after_the_drain() {
    for backend in common::backends() {
        let journal = Journal::default();
        let options = Options::default().port(0).workers(2).backend(backend);
        let server = nanoapi::server::serve_workers(options, journal.clone(), journaled).unwrap();
        // Both workers have started when serve_workers returns.
        let mut started = journal.lines();
        started.sort();
        assert_eq!(
            started,
            ["start 0 on Some(0)", "start 1 on Some(1)"],
            "{backend:?}"
        );

        let addr = server.local_addr();
        let slow = std::thread::spawn(move || get(addr, "/slow"));
        let waiting = std::time::Instant::now();
        while !journal
            .lines()
            .iter()
            .any(|line| line.starts_with("slow request"))
        {
            assert!(
                waiting.elapsed() < Duration::from_secs(10),
                "the request never arrived"
            );
            std::thread::yield_now();
        }
        server.shutdown_blocking();
        assert!(slow.join().unwrap().unwrap().ends_with("done"));
        let lines = journal.lines();
        let worker = lines
            .iter()
            .find_map(|line| line.strip_prefix("slow request on "))
            .unwrap();
        let answered = lines
            .iter()
            .position(|line| *line == format!("answered on {worker}"))
            .unwrap();
        let stopped = lines
            .iter()
            .position(|line| *line == format!("stop {worker}"))
            .unwrap();
        assert!(answered < stopped, "{backend:?}: {lines:?}");
        assert!(lines.contains(&"stop 0".to_owned()) && lines.contains(&"stop 1".to_owned()));
    }
}

/// A start that panics.
struct FailingStart;

impl nanoapi::server::Workers for FailingStart {
    type Context = ();

    async fn start(&self, worker: usize) {
        if worker == 1 {
            panic!("no database");
        }
    }
}

#[test]
fn a_worker_start_that_panics_is_an_error_from_serve_workers() {
    async fn never(_: &(), _: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
        w.send(Response::text(StatusCode::OK, "unreachable")).await
    }
    let options = Options::default().port(0).workers(2);
    let err = nanoapi::server::serve_workers(options, FailingStart, never).unwrap_err();
    assert_eq!(err.to_string(), "worker 1 failed to start: no database");
}

#[test]
fn metrics_hooks_see_connections_and_statuses() {
    let counters = Arc::new(common::Counters::default());
    let options = Options::default()
        .port(0)
        .workers(1)
        .metrics(counters.clone())
        .static_response(
            "GET",
            "/static",
            Response::text(StatusCode::ACCEPTED, "cached"),
        );
    let server = nanoapi::serve(options, Arc::new(AtomicUsize::new(0)), dispatch).unwrap();
    assert!(
        get(server.local_addr(), "/")
            .unwrap()
            .starts_with("HTTP/1.1 200")
    );
    assert!(
        get(server.local_addr(), "/static")
            .unwrap()
            .starts_with("HTTP/1.1 202")
    );
    server.shutdown_blocking();
    assert_eq!(counters.opened.load(Ordering::SeqCst), 2);
    assert_eq!(counters.closed.load(Ordering::SeqCst), 2);
    let mut statuses = counters.completed.lock().unwrap().clone();
    statuses.sort();
    assert_eq!(statuses, [200, 202]);
}

#[test]
fn connections_queued_at_shutdown_get_503() {
    for backend in common::backends() {
        let mut options = Options::default().port(0).workers(1).backend(backend);
        // One connection at a time: the second waits in the listener's queue.
        options.max_connections = 1;
        let server = nanoapi::serve(options, Arc::new(AtomicUsize::new(0)), dispatch).unwrap();
        let addr = server.local_addr();
        let mut first = common::connect(addr);
        first
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 512];
        assert!(
            first.read(&mut buf).unwrap() > 0,
            "{backend:?}: the first connection is served"
        );
        // The second connection completes its handshake into the listener's queue (connect
        // returns once the kernel has queued it); the worker does not accept it while the
        // first is open.
        let mut queued = common::connect(addr);
        queued
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        server.shutdown_blocking();
        let mut response = String::new();
        queued.read_to_string(&mut response).unwrap();
        assert!(
            response.starts_with("HTTP/1.1 503"),
            "{backend:?}: {response}"
        );
    }
}
