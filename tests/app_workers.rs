//! The App on a thread-per-core server: state built on each worker (`App::per_worker`, taken
//! with `State<T>`), start-up hooks on each worker's executor before it accepts, shutdown
//! hooks on each worker after its drain — over real sockets on both backends.
#![cfg(feature = "app")]

mod common;

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nanoapi::app::{App, Next, Route, State};
use nanoapi::executor::worker_index;
use nanoapi::http::Response;
use nanoapi::server::{Options, Request};

fn get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// What one worker built: its index and a counter no other worker touches.
#[derive(Clone)]
struct Local {
    built_for: usize,
    served: Rc<Cell<u32>>,
}

async fn whoami(State(local): State<Local>) -> String {
    local.served.set(local.served.get() + 1);
    let used_on = worker_index().map_or("no worker".to_owned(), |worker| worker.to_string());
    format!(
        "built for {} used on {used_on} served {}",
        local.built_for,
        local.served.get()
    )
}

#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<String>>>);

impl Events {
    fn push(&self, event: String) {
        self.0.lock().unwrap().push(event);
    }

    fn sorted(&self) -> Vec<String> {
        let mut events = self.0.lock().unwrap().clone();
        events.sort();
        events
    }
}

#[test]
fn each_worker_builds_its_state_and_runs_the_hooks_on_its_own_executor() {
    for backend in common::backends() {
        let events = Events::default();
        let (built, starting, stopping) = (events.clone(), events.clone(), events.clone());
        let app = App::new()
            .per_worker(move |worker| {
                built.push(format!("built {worker} on {:?}", worker_index()));
                Local {
                    built_for: worker,
                    served: Rc::default(),
                }
            })
            .on_startup(move || {
                let starting = starting.clone();
                async move { starting.push(format!("startup on {:?}", worker_index())) }
            })
            .on_shutdown(move || {
                let stopping = stopping.clone();
                async move { stopping.push(format!("shutdown on {:?}", worker_index())) }
            })
            .get("/whoami", whoami);
        let server = app
            .serve(Options::default().port(0).workers(2).backend(backend))
            .unwrap();
        // Everything per worker happened before serve returned, once per worker.
        assert_eq!(
            events.sorted(),
            [
                "built 0 on Some(0)",
                "built 1 on Some(1)",
                "startup on Some(0)",
                "startup on Some(1)"
            ],
            "{backend:?}"
        );
        let addr = server.handle().local_addr();
        for _ in 0..4 {
            let response = get(addr, "/whoami");
            let body = response.rsplit("\r\n").next().unwrap();
            let words: Vec<&str> = body.split(' ').collect();
            // "built for W used on W served N": the value of the worker that serves.
            assert_eq!(words[2], words[5], "{backend:?}: {body}");
        }
        server.shutdown_blocking();
        let events = events.sorted();
        assert!(
            events.contains(&"shutdown on Some(0)".to_owned())
                && events.contains(&"shutdown on Some(1)".to_owned()),
            "{backend:?}: {events:?}"
        );
        assert_eq!(events.len(), 6, "{backend:?}: {events:?}");
    }
}

/// An app whose one worker builds a `Local`, with `whoami` on `/whoami`.
fn whoami_app() -> App<Local> {
    App::new()
        .per_worker(|worker| Local {
            built_for: worker,
            served: Rc::default(),
        })
        .get("/whoami", whoami)
}

/// Serves `app` on one worker and asks `/whoami` three times: the count it reports grows by
/// `per_request` each time.
fn assert_counts(app: App<Local>, per_request: u32) {
    let server = app.serve(Options::default().port(0).workers(1)).unwrap();
    let addr = server.handle().local_addr();
    for n in 1..=3 {
        let response = get(addr, "/whoami");
        let served = per_request * n;
        assert!(
            response.ends_with(&format!("built for 0 used on 0 served {served}")),
            "{response}"
        );
    }
    server.shutdown_blocking();
}

#[test]
fn a_worker_keeps_its_state_across_requests() {
    assert_counts(whoami_app(), 1);
}

/// An app-wide middleware gets the same per-worker value as the handlers, typed.
#[test]
fn middleware_shares_the_workers_state_with_the_handlers() {
    async fn count_too(req: &mut Request, next: Next<'_, Local>) -> Response {
        let served = &next.state().served;
        served.set(served.get() + 1);
        next.run(req).await
    }
    // The middleware counts first, then the handler: two per request on one value.
    assert_counts(whoami_app().middleware_with_state(count_too), 2);
}

/// A route's typed middleware on a per-worker app reads the route's path parameter and the
/// worker's value.
#[test]
fn route_middleware_reads_the_workers_state_and_the_path() {
    async fn count_by(req: &mut Request, next: Next<'_, Local>) -> Response {
        let cx = next.context();
        let by: u32 = cx.param("by").and_then(|by| by.parse().ok()).unwrap_or(0);
        let served = &cx.state().served;
        served.set(served.get() + by);
        next.run(req).await
    }
    async fn served(State(local): State<Local>) -> String {
        local.served.get().to_string()
    }
    let client = whoami_app()
        .route(Route::get("/add/{by}", served).middleware_with_state(count_by))
        .test_client();
    assert_eq!(client.get("/add/5").send().text(), "5");
    assert_eq!(client.get("/add/2").send().text(), "7");
    // The handler on another route sees the same value.
    assert_eq!(
        client.get("/whoami").send().text(),
        "built for 0 used on 0 served 8"
    );
}

#[test]
fn a_start_up_hook_that_panics_fails_serve() {
    let err = whoami_app()
        .on_startup(|| async { panic!("cannot reach the database") })
        .serve(Options::default().port(0).workers(1))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "worker 0 failed to start: cannot reach the database"
    );
}

/// The blocking test client runs the app on the calling thread, as worker 0 of an executor of
/// its own: the state is built there once and kept across requests.
#[test]
fn the_test_client_builds_per_worker_state_where_it_runs() {
    let client = whoami_app().test_client();
    assert_eq!(
        client.get("/whoami").send().text(),
        "built for 0 used on 0 served 1"
    );
    assert_eq!(
        client.get("/whoami").send().text(),
        "built for 0 used on 0 served 2"
    );
}
