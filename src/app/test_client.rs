//! The test client: drives an app in-process through the runtime's in-memory connection, so
//! every response has exactly the wire's framing, headers and errors.

use std::fmt;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::AppService;
use crate::executor::Runtime;
use crate::http::{ResponseEvent, StatusCode};
use crate::server::ConnOptions;
use crate::server::testing::{ClientResponse, Exchange, encode_request, exchange};

/// Sends requests to an app without a socket (see [`App::test_client`](super::App::test_client)).
///
/// Requests go through [`serve_connection`](crate::server::serve_connection) over an in-memory
/// duplex: parsing, HEAD, `Date`, limits and errors are the server's own. `send` blocks on a
/// private executor (call it from plain `#[test]` functions); `send_async` awaits from any
/// executor (on a nanoapi worker the exchange runs there; elsewhere, as in `#[tokio::test]`, on
/// a background worker).
///
/// # Examples
///
/// ```
/// use nanoapi::app::{App, Json};
///
/// async fn create(Json(v): Json<serde_json::Value>) -> Json<serde_json::Value> { Json(v) }
///
/// let client = App::new().post("/items", create).test_client();
/// let resp = client.post("/items").json(&serde_json::json!({"a": 1})).send();
/// assert_eq!(resp.status(), 200);
/// assert_eq!(resp.json::<serde_json::Value>()["a"], 1);
/// assert_eq!(client.get("/nope").send().status(), 404);
/// ```
pub struct TestClient {
    service: Arc<AppService>,
    options: ConnOptions,
}

impl TestClient {
    /// A client for `service` with default connection options.
    pub fn new(service: AppService) -> TestClient {
        TestClient {
            service: Arc::new(service),
            options: ConnOptions::default(),
        }
    }

    /// Changes the connection options (limits, timeouts, peer address).
    pub fn with_options(mut self, options: ConnOptions) -> TestClient {
        self.options = options;
        self
    }

    /// A request with any method.
    pub fn request(&self, method: &str, target: &str) -> TestRequest<'_> {
        TestRequest {
            client: self,
            method: method.to_owned(),
            target: target.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A `GET` request.
    pub fn get(&self, target: &str) -> TestRequest<'_> {
        self.request("GET", target)
    }

    /// A `HEAD` request.
    pub fn head(&self, target: &str) -> TestRequest<'_> {
        self.request("HEAD", target)
    }

    /// A `POST` request.
    pub fn post(&self, target: &str) -> TestRequest<'_> {
        self.request("POST", target)
    }

    /// A `PUT` request.
    pub fn put(&self, target: &str) -> TestRequest<'_> {
        self.request("PUT", target)
    }

    /// A `PATCH` request.
    pub fn patch(&self, target: &str) -> TestRequest<'_> {
        self.request("PATCH", target)
    }

    /// A `DELETE` request.
    pub fn delete(&self, target: &str) -> TestRequest<'_> {
        self.request("DELETE", target)
    }

    /// An `OPTIONS` request.
    pub fn options(&self, target: &str) -> TestRequest<'_> {
        self.request("OPTIONS", target)
    }

    /// Opens a WebSocket at `target` in process: `self.get(target).websocket()` (see
    /// [`TestRequest::websocket`]; with the `ws` feature).
    ///
    /// # Errors
    ///
    /// The app's answer when it is not a `101`.
    #[cfg(feature = "ws")]
    pub async fn websocket(&self, target: &str) -> Result<super::TestWebSocket, TestResponse> {
        self.get(target).websocket().await
    }

    /// Sends raw request bytes (several pipelined requests allowed) and returns every
    /// response, blocking.
    ///
    /// # Panics
    ///
    /// On a worker thread, or if the exchange fails (a response the client cannot parse).
    pub fn raw(&self, wire: impl Into<Bytes>) -> Vec<TestResponse> {
        let wire = wire.into();
        crate::executor::block_on(exchange(&(), &*self.service, &self.options, wire))
            .unwrap_or_else(|err| panic!("in-memory exchange failed: {err}"))
            .into_iter()
            .map(TestResponse)
            .collect()
    }

    /// The compiled app.
    pub fn service(&self) -> &AppService {
        &self.service
    }
}

/// The worker `send_async` uses off the executor: one for the whole process, started on first
/// use.
fn background_worker() -> &'static Runtime {
    static WORKER: OnceLock<Runtime> = OnceLock::new();
    WORKER.get_or_init(|| {
        Runtime::builder()
            .workers(1)
            .thread_name("nanoapi-test-client")
            .build()
            .unwrap_or_else(|err| panic!("cannot start the test client's worker: {err}"))
    })
}

impl fmt::Debug for TestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestClient").finish_non_exhaustive()
    }
}

/// A request being built by a [`TestClient`].
#[derive(Debug)]
pub struct TestRequest<'c> {
    client: &'c TestClient,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl TestRequest<'_> {
    /// Adds a header field.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds a cookie (in a `Cookie` field).
    pub fn cookie(self, name: &str, value: &str) -> Self {
        self.header("cookie", &format!("{name}={value}"))
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a JSON body and `Content-Type: application/json`.
    ///
    /// # Panics
    ///
    /// If `value` does not serialize.
    pub fn json<T: Serialize>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value).expect("a test body serializes");
        self.header("content-type", "application/json").body(body)
    }

    /// Sets an urlencoded form body.
    pub fn form(self, fields: &[(&str, &str)]) -> Self {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }

    /// Whether a header field `name` was set (names compared case-insensitively).
    #[cfg(feature = "ws")]
    pub(super) fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// What serving this request takes: the app and the connection options.
    #[cfg(feature = "ws")]
    pub(super) fn client_parts(&self) -> (Arc<AppService>, ConnOptions) {
        (self.client.service.clone(), self.client.options.clone())
    }

    pub(super) fn wire(&self) -> Bytes {
        encode_request(
            &self.method,
            &self.target,
            self.headers.iter().map(|(n, v)| (n, v)),
            &self.body,
        )
        .unwrap_or_else(|err| panic!("invalid test request: {err}"))
    }

    /// Sends the request and waits for the response, blocking.
    ///
    /// # Panics
    ///
    /// On a worker thread (use [`send_async`](Self::send_async)), or if no response comes.
    pub fn send(self) -> TestResponse {
        let wire = self.wire();
        self.client
            .raw(wire)
            .into_iter()
            .next()
            .expect("the server answered")
    }

    /// Sends the request and awaits the response, from any executor: on a nanoapi worker the
    /// exchange runs on it; anywhere else (a `#[tokio::test]`, another executor) it runs on a
    /// background nanoapi worker shared by every test client of the process.
    ///
    /// # Panics
    ///
    /// If no response comes.
    ///
    /// # Examples
    ///
    /// ```
    /// use nanoapi::app::App;
    ///
    /// async fn hello() -> &'static str { "hello" }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// // In a `#[tokio::test]`:
    /// let client = App::new().get("/", hello).test_client();
    /// assert_eq!(client.get("/").send_async().await.text(), "hello");
    /// # });
    /// ```
    pub async fn send_async(self) -> TestResponse {
        let wire = self.wire();
        let client = self.client;
        let responses = if crate::executor::worker_index().is_some() {
            exchange(&(), &*client.service, &client.options, wire).await
        } else {
            let (service, options) = (client.service.clone(), client.options.clone());
            let exchanged = background_worker()
                .handle()
                .spawn_on(0, move || async move {
                    exchange(&(), &*service, &options, wire).await
                })
                .await;
            exchanged.unwrap_or_else(|err| panic!("the background test worker failed: {err}"))
        };
        let responses = responses.unwrap_or_else(|err| panic!("in-memory exchange failed: {err}"));
        TestResponse(responses.into_iter().next().expect("the server answered"))
    }

    /// Sends the request and collects the response's head and body chunks as they arrive
    /// (blocking): for streamed responses, where the chunk boundaries matter.
    ///
    /// # Panics
    ///
    /// On a worker thread, or if the exchange fails.
    pub fn send_streamed(self) -> (TestResponse, Vec<Bytes>) {
        let wire = self.wire();
        let client = self.client;
        crate::executor::block_on(async {
            let mut exchange = Exchange::new(&(), &*client.service, &client.options, wire);
            let mut head = None;
            let mut chunks = Vec::new();
            let mut trailers = Vec::new();
            while let Some(event) = exchange.next_event().await.expect("a parsable response") {
                match event {
                    ResponseEvent::Head(h) => head = Some(h),
                    ResponseEvent::Data(data) => chunks.push(data),
                    ResponseEvent::Trailers(fields) => trailers = fields,
                    ResponseEvent::End => break,
                }
            }
            let body: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
            let resp = ClientResponse {
                head: head.expect("a response head"),
                body: body.into(),
                trailers,
                closed: exchange.closed(),
            };
            (TestResponse(resp), chunks)
        })
    }
}

/// `application/x-www-form-urlencoded` encoding of one component.
fn form_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A response a [`TestClient`] received.
#[derive(Debug, Clone)]
pub struct TestResponse(pub ClientResponse);

impl TestResponse {
    /// The status code as a number.
    pub fn status(&self) -> u16 {
        self.0.status().as_u16()
    }

    /// The status code.
    pub fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    /// The first value of header `name`, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.0
            .header(name)
            .map(|v| std::str::from_utf8(v).unwrap_or_default())
    }

    /// Every value of header `name`, as text.
    pub fn header_all<'a>(&'a self, name: &'a str) -> Vec<&'a str> {
        self.0
            .header_all(name)
            .map(|v| std::str::from_utf8(v).unwrap_or_default())
            .collect()
    }

    /// The body.
    pub fn bytes(&self) -> &Bytes {
        &self.0.body
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.body).into_owned()
    }

    /// The body parsed as JSON.
    ///
    /// # Panics
    ///
    /// If the body is not JSON for `T`.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.0.body).unwrap_or_else(|err| {
            panic!(
                "response body is not the JSON expected: {err}: {}",
                self.text()
            )
        })
    }

    /// Whether the server closed the connection after this response.
    pub fn closed(&self) -> bool {
        self.0.closed
    }
}
