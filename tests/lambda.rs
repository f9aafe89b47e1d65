//! The Lambda Runtime API loop against a fake Runtime API on loopback, on the executor, on
//! both backends: several invocations, a panicking dispatcher (an invocation error, then the
//! loop goes on), an event that is not HTTP, and streamed responses.
#![cfg(feature = "serverless")]

mod common;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

use bytes::{Buf, BytesMut};
use nanoapi::executor::net::{TcpListener, TcpStream};
use nanoapi::executor::{Runtime, spawn_local};
use nanoapi::http::{self, BodyFraming, Chunk, ChunkedDecoder, ChunkedLimits, Status};
use nanoapi::http::{Response, StatusCode};
use nanoapi::server::{Request, ResponseWriter};
use nanoapi::serverless::lambda::{Config, serve};
use serde_json::{Value, json};

/// What the function posted for one invocation.
#[derive(Debug)]
struct Post {
    path: String,
    headers: Vec<(String, String)>,
    /// The body, de-chunked.
    body: Vec<u8>,
    /// How many chunks carried it (0 when not chunked).
    chunks: usize,
    /// The raw bytes of a chunked body, trailers included.
    raw: Vec<u8>,
}

impl Post {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct FakeApi {
    /// (request id, event) handed out by `/invocation/next`, in order.
    events: VecDeque<(String, Value)>,
    posts: Vec<Post>,
    /// Opened when a streamed body's first event (its second chunk, after the prelude) has
    /// arrived here.
    first_event: Rc<Gate>,
}

/// A gate one side opens while the other waits on it (both on the one worker).
#[derive(Default)]
struct Gate {
    open: Cell<bool>,
    waiter: RefCell<Option<Waker>>,
}

impl Gate {
    async fn wait(&self) {
        poll_fn(|cx| {
            if self.open.get() {
                return Poll::Ready(());
            }
            *self.waiter.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    fn open(&self) {
        self.open.set(true);
        if let Some(waker) = self.waiter.take() {
            waker.wake();
        }
    }
}

/// Serves the Runtime API's three routes to one client connection at a time.
async fn fake_runtime_api(listener: TcpListener, api: Rc<RefCell<FakeApi>>) {
    while let Ok((stream, _)) = listener.accept().await {
        serve_client(&stream, &api).await;
    }
}

async fn serve_client(stream: &TcpStream, api: &RefCell<FakeApi>) {
    let mut buf = BytesMut::new();
    loop {
        let head = loop {
            if let Ok(Status::Complete(head)) =
                http::parse_request_head(&buf, &http::Limits::default())
            {
                break head;
            }
            if !read_more(stream, &mut buf).await {
                return;
            }
        };
        let head_bytes = buf.split_to(head.len()).freeze();
        let path = String::from_utf8_lossy(head.path(&head_bytes)).into_owned();
        let headers = head
            .headers(&head_bytes)
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect();
        let (mut body, mut chunks, mut raw) = (Vec::new(), 0, Vec::new());
        match head.framing() {
            BodyFraming::None => {}
            BodyFraming::Length(n) => {
                while buf.len() < n as usize {
                    assert!(read_more(stream, &mut buf).await, "body cut short");
                }
                body = buf.split_to(n as usize).to_vec();
            }
            BodyFraming::Chunked => {
                let mut decoder = ChunkedDecoder::new(ChunkedLimits::default());
                loop {
                    let (consumed, chunk) = decoder.decode(&buf).unwrap();
                    if let Chunk::Data(data) = chunk {
                        chunks += 1;
                        if chunks == 2 {
                            api.borrow().first_event.open();
                        }
                        body.extend_from_slice(data);
                    }
                    let need_more = chunk == Chunk::NeedMore;
                    raw.extend_from_slice(&buf[..consumed]);
                    buf.advance(consumed);
                    if decoder.is_done() {
                        break;
                    }
                    if need_more {
                        assert!(read_more(stream, &mut buf).await, "chunked body cut short");
                    }
                }
            }
        }
        let answer = if path.ends_with("/invocation/next") {
            // Each invocation waits for its own first event.
            api.borrow().first_event.open.set(false);
            let next = api.borrow_mut().events.pop_front();
            let Some((id, event)) = next else { return };
            let event = serde_json::to_vec(&event).unwrap();
            let mut answer = format!(
                "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n\
                 Lambda-Runtime-Deadline-Ms: 1700000000000\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:1:function:f\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-trace-{id}\r\n\
                 Content-Length: {}\r\n\r\n",
                event.len()
            )
            .into_bytes();
            answer.extend_from_slice(&event);
            answer
        } else {
            api.borrow_mut().posts.push(Post {
                path,
                headers,
                body,
                chunks,
                raw,
            });
            b"HTTP/1.1 202 Accepted\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}".to_vec()
        };
        assert!(stream.write_all(answer).await.0.is_ok());
    }
}

async fn read_more(stream: &TcpStream, buf: &mut BytesMut) -> bool {
    match stream.read_pooled().await {
        Ok(chunk) if !chunk.is_empty() => {
            buf.extend_from_slice(&chunk);
            true
        }
        _ => false,
    }
}

/// `/` greets with the trace id and request id it saw; `/panic` panics; `/events` streams
/// three events; `/events-fail` panics once its first event has been posted.
async fn app(
    first_event: &Rc<Gate>,
    req: &mut Request,
    w: &mut ResponseWriter,
) -> nanoapi::Result<()> {
    match req.path() {
        b"/panic" => panic!("boom"),
        b"/events" | b"/events-fail" => {
            let head = Response::new(StatusCode::OK).header("content-type", "text/event-stream")?;
            let mut events = w.start_chunked(head).await?;
            for n in 1..=3 {
                events.send(format!("data: {n}\n\n").into()).await?;
                if req.path() == b"/events-fail" {
                    // Fail only once the first event has reached the Runtime API.
                    first_event.wait().await;
                    panic!("the stream broke");
                }
            }
            events.finish().await
        }
        _ => {
            let trace = std::env::var("_X_AMZN_TRACE_ID").unwrap_or_default();
            let id = String::from_utf8_lossy(
                req.header("lambda-runtime-aws-request-id")
                    .unwrap_or_default(),
            )
            .into_owned();
            let body = req.read_to_end().await?;
            let text = format!("{trace} {id} {}", String::from_utf8_lossy(&body));
            w.send(Response::text(StatusCode::OK, text)).await
        }
    }
}

fn v2(method: &str, path: &str) -> Value {
    json!({"version": "2.0", "rawPath": path, "rawQueryString": "", "headers": {"host": "x"},
           "requestContext": {"http": {"method": method, "path": path}}, "isBase64Encoded": false})
}

/// Runs the loop over `events` (request id, event) with `streaming` until it has served them
/// all, and returns what was posted.
fn run_loop(rt: &Runtime, events: &[(&str, Value)], streaming: bool) -> Vec<Post> {
    let events: Vec<(String, Value)> = events
        .iter()
        .map(|(id, e)| ((*id).to_owned(), e.clone()))
        .collect();
    let mut outputs = rt.block_on_each(move |_| {
        let events = events.clone();
        async move {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let n = events.len() as u64;
            let first_event = Rc::new(Gate::default());
            let api = Rc::new(RefCell::new(FakeApi {
                events: events.into(),
                posts: Vec::new(),
                first_event: first_event.clone(),
            }));
            let server = spawn_local(fake_runtime_api(listener, api.clone()));
            let mut config = Config::new(addr.to_string());
            config.streaming = streaming;
            config.max_invocations = Some(n);
            serve(&config, &first_event, &app).await.unwrap();
            drop(server);
            std::mem::take(&mut api.borrow_mut().posts)
        }
    });
    outputs.pop().unwrap()
}

/// One test, so that no other test's loop sets `_X_AMZN_TRACE_ID` meanwhile.
#[test]
fn the_loop_serves_invocations_reports_errors_and_streams() {
    for backend in common::backends() {
        let rt = Runtime::builder()
            .backend(backend)
            .workers(1)
            .build()
            .unwrap();
        buffered_invocations_and_errors(&rt);
        streamed_function_url_responses(&rt);
    }
}

fn buffered_invocations_and_errors(rt: &Runtime) {
    {
        let mut post = v2("POST", "/echo");
        post["body"] = json!("hello");
        let rest = json!({"httpMethod": "GET", "path": "/", "headers": {"host": "x"},
                          "requestContext": {"stage": "prod"}, "body": null});
        let posts = run_loop(
            rt,
            &[
                ("id-1", v2("GET", "/")),
                ("id-2", v2("GET", "/panic")),
                ("id-3", json!({"detail-type": "Scheduled Event"})),
                ("id-4", post),
                ("id-5", rest),
            ],
            false,
        );
        let paths: Vec<&str> = posts.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/2018-06-01/runtime/invocation/id-1/response",
                "/2018-06-01/runtime/invocation/id-2/error",
                "/2018-06-01/runtime/invocation/id-3/error",
                "/2018-06-01/runtime/invocation/id-4/response",
                "/2018-06-01/runtime/invocation/id-5/response",
            ],
        );
        let first = posts[0].json();
        assert_eq!(first["statusCode"], 200);
        assert_eq!(first["body"], "Root=1-trace-id-1 id-1 ");
        assert_eq!(first["cookies"], json!([]));
        let panic = posts[1].json();
        assert_eq!(panic["errorType"], "Runtime.HandlerError");
        assert!(
            panic["errorMessage"]
                .as_str()
                .unwrap()
                .contains("dispatch panicked: boom")
        );
        assert_eq!(
            posts[1].header("lambda-runtime-function-error-type"),
            Some("Runtime.HandlerError")
        );
        assert_eq!(posts[2].json()["errorType"], "Runtime.InvalidEvent");
        assert_eq!(posts[3].json()["body"], "Root=1-trace-id-4 id-4 hello");
        let rest = posts[4].json();
        assert_eq!(rest["body"], "Root=1-trace-id-5 id-5 ");
        assert!(
            rest.get("multiValueHeaders").is_some(),
            "a REST event gets a REST response"
        );
        assert!(
            std::env::var_os("_X_AMZN_TRACE_ID").is_none(),
            "unset between invocations"
        );
    }
}

fn streamed_function_url_responses(rt: &Runtime) {
    {
        let posts = run_loop(
            rt,
            &[
                ("s-1", v2("GET", "/events")),
                ("s-2", v2("GET", "/panic")),
                ("s-3", v2("GET", "/events-fail")),
            ],
            true,
        );
        let streamed = &posts[0];
        assert_eq!(streamed.path, "/2018-06-01/runtime/invocation/s-1/response");
        assert_eq!(
            streamed.header("lambda-runtime-function-response-mode"),
            Some("streaming")
        );
        assert_eq!(
            streamed.header("content-type"),
            Some("application/vnd.awslambda.http-integration-response")
        );
        let at = streamed
            .body
            .windows(8)
            .position(|w| w == [0; 8])
            .expect("the delimiter");
        let prelude: Value = serde_json::from_slice(&streamed.body[..at]).unwrap();
        assert_eq!(prelude["statusCode"], 200);
        assert_eq!(prelude["headers"]["content-type"], "text/event-stream");
        assert_eq!(
            &streamed.body[at + 8..],
            b"data: 1\n\ndata: 2\n\ndata: 3\n\n"
        );
        assert!(
            streamed.chunks >= 4,
            "the prelude and each event in chunks of their own: {}",
            streamed.chunks
        );
        assert!(!String::from_utf8_lossy(&streamed.raw).contains("Error-Type"));

        // A panic before the head is an invocation error.
        assert_eq!(posts[1].path, "/2018-06-01/runtime/invocation/s-2/error");
        // A panic after the prelude goes in the trailers.
        let broken = &posts[2];
        assert_eq!(broken.path, "/2018-06-01/runtime/invocation/s-3/response");
        assert!(broken.body.ends_with(b"data: 1\n\n"));
        let raw = String::from_utf8_lossy(&broken.raw);
        assert!(
            raw.contains("Lambda-Runtime-Function-Error-Type: Runtime.HandlerError\r\n"),
            "{raw}"
        );
        assert!(
            raw.contains("Lambda-Runtime-Function-Error-Body: "),
            "{raw}"
        );
    }
}
