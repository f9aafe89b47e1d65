//! The AWS Lambda Runtime API loop: what a custom runtime's `bootstrap` runs.
//!
//! Each turn asks the Runtime API (`AWS_LAMBDA_RUNTIME_API`) for the next invocation, serves
//! its event with the dispatcher through the in-memory exchange ([`handle_with`]), and posts
//! the response, or an invocation error when the event is not an HTTP event or the dispatcher
//! panicked; the loop then goes on. A failure before the loop starts is posted as an init error
//! ([`run_with`]).
//!
//! The request the dispatcher sees carries the invocation's context as header fields (any the
//! event itself had under these names are dropped): `lambda-runtime-aws-request-id`,
//! `lambda-runtime-deadline-ms`, `lambda-runtime-invoked-function-arn`. The X-Ray trace id
//! is put in the `_X_AMZN_TRACE_ID` environment variable for the invocation's duration, where
//! the AWS SDKs look for it.
//!
//! **Response streaming** (function URLs with `InvokeMode: RESPONSE_STREAM`): with
//! [`Config::streaming`], a payload 2.0 event's response is posted as it is produced: an
//! `application/vnd.awslambda.http-integration-response` body, chunked, made of a JSON prelude
//! (`statusCode`, `headers`, `cookies`), eight NUL bytes, then the body's chunks as the
//! dispatcher sends them (server-sent events reach the client live). An error after the
//! prelude is reported in the trailers `Lambda-Runtime-Function-Error-Type` and
//! `Lambda-Runtime-Function-Error-Body` (base64).

use std::convert::Infallible;
use std::fmt;
use std::io;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::{BufMut, Bytes, BytesMut};

use super::client::Client;
use super::{EventKind, Guarded, Invocation, PanicGuard, ServerlessResponse, handle_with};
use crate::http::ResponseEvent;
use crate::server::testing::{Exchange, encode_request};
use crate::server::{ConnOptions, Dispatch};

/// The Runtime API's version prefix.
const API: &str = "/2018-06-01/runtime";

/// Where the Runtime API is and how to serve its invocations.
///
/// Non-exhaustive, so that a new field is not a breaking change: start from `Config::new`
/// or `from_env` and set the fields you need.
///
/// # Examples
///
/// ```
/// use nanoapi::serverless::lambda::Config;
///
/// let config = Config::new("127.0.0.1:9001");
/// assert!(!config.streaming);
/// assert_eq!(config.max_invocations, None);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The Runtime API's `host:port` (`AWS_LAMBDA_RUNTIME_API`).
    pub runtime_api: String,
    /// The connection options each invocation is served with (limits, timeouts, static
    /// responses: see [`ConnOptions::from_options`]).
    pub conn: ConnOptions,
    /// Stream payload 2.0 responses (a function URL in `RESPONSE_STREAM` mode); from
    /// `NANOAPI_LAMBDA_STREAMING=1` in [`from_env`](Self::from_env).
    pub streaming: bool,
    /// Return after this many invocations (tests, or recycling a process); `None`: serve
    /// until the Runtime API fails.
    pub max_invocations: Option<u64>,
}

impl Config {
    /// Serving the Runtime API at `runtime_api` with default connection options, buffered.
    pub fn new(runtime_api: impl Into<String>) -> Config {
        Config {
            runtime_api: runtime_api.into(),
            conn: ConnOptions::default(),
            streaming: false,
            max_invocations: None,
        }
    }

    /// From the environment Lambda sets: `AWS_LAMBDA_RUNTIME_API`, and
    /// `NANOAPI_LAMBDA_STREAMING` (`1` or `true`) for function URLs that stream.
    ///
    /// # Errors
    ///
    /// `NotFound` when `AWS_LAMBDA_RUNTIME_API` is not set (not running on Lambda).
    pub fn from_env() -> io::Result<Config> {
        let api = std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "AWS_LAMBDA_RUNTIME_API is not set: not running on AWS Lambda",
            )
        })?;
        let streaming = std::env::var("NANOAPI_LAMBDA_STREAMING")
            .is_ok_and(|value| matches!(value.as_str(), "1" | "true"));
        Ok(Config {
            streaming,
            ..Config::new(api)
        })
    }
}

/// Serves Lambda invocations with `dispatch` until the Runtime API fails; blocks the calling
/// thread, which becomes the executor's one worker (a Lambda function runs one invocation at a
/// time). Configuration from [`Config::from_env`].
///
/// The loop sets `_X_AMZN_TRACE_ID` between invocations: threads of the dispatcher's own that
/// read the environment through C code (`getenv`) while the loop runs are not supported (Rust's
/// `std::env` is).
///
/// # Errors
///
/// No Runtime API in the environment, or a failure talking to it.
///
/// # Examples
///
/// ```no_run
/// use nanoapi::http::{Response, StatusCode};
/// use nanoapi::server::{Request, ResponseWriter};
///
/// async fn hello(_: &(), _: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
///     w.send(Response::text(StatusCode::OK, "hello from Lambda")).await
/// }
///
/// fn main() -> std::io::Result<()> {
///     nanoapi::serverless::lambda::run((), hello)
/// }
/// ```
pub fn run<C, D: Dispatch<C>>(ctx: C, dispatch: D) -> io::Result<()> {
    run_with(|| Ok::<_, Infallible>((ctx, dispatch)))
}

/// [`run`], building the context and dispatcher with `init` first; if it fails, the error is
/// posted to the Runtime API as an init error (Lambda then reports it and restarts the
/// function) and returned.
///
/// # Errors
///
/// As [`run`], or `init`'s error.
///
/// # Examples
///
/// ```no_run
/// use nanoapi::http::{Response, StatusCode};
/// use nanoapi::server::{Request, ResponseWriter};
///
/// struct Ctx { greeting: String }
///
/// async fn hello(ctx: &Ctx, _: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
///     w.send(Response::text(StatusCode::OK, ctx.greeting.clone())).await
/// }
///
/// fn main() -> std::io::Result<()> {
///     nanoapi::serverless::lambda::run_with(|| {
///         let greeting = std::env::var("GREETING")?;
///         Ok::<_, std::env::VarError>((Ctx { greeting }, hello))
///     })
/// }
/// ```
pub fn run_with<C, D, E, F>(init: F) -> io::Result<()>
where
    D: Dispatch<C>,
    E: fmt::Display,
    F: FnOnce() -> Result<(C, D), E>,
{
    let config = Config::from_env()?;
    crate::executor::block_on(async {
        match init() {
            Ok((ctx, dispatch)) => serve(&config, &ctx, &dispatch).await,
            Err(err) => {
                let message = err.to_string();
                let mut client = Client::new(&config.runtime_api);
                post_error(&mut client, "/init/error", "Runtime.InitError", &message).await?;
                Err(io::Error::other(message))
            }
        }
    })
}

/// The loop of [`run`], on an executor already running: serves invocations until
/// [`Config::max_invocations`] or a failure of the Runtime API.
///
/// # Errors
///
/// A failure talking to the Runtime API (connecting, a malformed answer, a status other than
/// 2xx for the next invocation).
///
/// # Examples
///
/// ```no_run
/// use nanoapi::http::{Response, StatusCode};
/// use nanoapi::server::{Request, ResponseWriter};
/// use nanoapi::serverless::lambda::{Config, serve};
///
/// async fn hello(_: &(), _: &mut Request, w: &mut ResponseWriter) -> nanoapi::Result<()> {
///     w.send(Response::text(StatusCode::OK, "hello")).await
/// }
///
/// let mut config = Config::new("127.0.0.1:9001");
/// config.max_invocations = Some(1);
/// nanoapi::executor::block_on(serve(&config, &(), &hello)).unwrap();
/// ```
pub async fn serve<C, D: Dispatch<C>>(config: &Config, ctx: &C, dispatch: &D) -> io::Result<()> {
    let mut client = Client::new(&config.runtime_api);
    let mut served: u64 = 0;
    while config.max_invocations.is_none_or(|max| served < max) {
        let next = next_invocation(&mut client).await?;
        set_trace_id(next.trace_id.as_deref());
        let res = invoke(&mut client, config, ctx, dispatch, &next).await;
        set_trace_id(None);
        res?;
        served += 1;
    }
    Ok(())
}

/// What `/invocation/next` answered.
struct Next {
    request_id: String,
    deadline_ms: Option<String>,
    function_arn: Option<String>,
    trace_id: Option<String>,
    event: Bytes,
}

async fn next_invocation(client: &mut Client) -> io::Result<Next> {
    let wire = get_request(client, &format!("{API}/invocation/next"))?;
    let response = client.request(wire).await?;
    if response.status().as_u16() != 200 {
        return Err(io::Error::other(format!(
            "the Runtime API answered {} for the next invocation",
            response.status()
        )));
    }
    let header = |name: &str| {
        response
            .header(name)
            .map(|value| String::from_utf8_lossy(value).into_owned())
    };
    let request_id = header("lambda-runtime-aws-request-id")
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_graphic() && b != b'/'))
        .ok_or_else(|| io::Error::other("the next invocation has no usable request id"))?;
    Ok(Next {
        request_id,
        deadline_ms: header("lambda-runtime-deadline-ms"),
        function_arn: header("lambda-runtime-invoked-function-arn"),
        trace_id: header("lambda-runtime-trace-id"),
        event: response.body,
    })
}

/// Serves one invocation and posts its outcome.
async fn invoke<C, D: Dispatch<C>>(
    client: &mut Client,
    config: &Config,
    ctx: &C,
    dispatch: &D,
    next: &Next,
) -> io::Result<()> {
    let id = &next.request_id;
    let mut invocation = match Invocation::from_event(&next.event) {
        Ok(invocation) => invocation,
        Err(err) => {
            let path = format!("/invocation/{id}/error");
            return post_error(client, &path, "Runtime.InvalidEvent", &err.to_string()).await;
        }
    };
    add_context(&mut invocation, next);
    if config.streaming && invocation.kind == EventKind::HttpApiV2 {
        return stream(client, config, ctx, dispatch, id, invocation).await;
    }
    match handle_with(ctx, dispatch, &config.conn, invocation).await {
        Ok(response) => {
            let wire = post_request(
                client,
                &format!("{API}/invocation/{id}/response"),
                &[("Content-Type", "application/json")],
                &response.to_json(),
            )?;
            expect_accepted(client.request(wire).await?)
        }
        Err(err) => {
            log::error!("invocation {id}: {err}");
            let path = format!("/invocation/{id}/error");
            post_error(client, &path, "Runtime.HandlerError", &err.to_string()).await
        }
    }
}

/// Serves a payload 2.0 invocation, posting its response as a stream.
async fn stream<C, D: Dispatch<C>>(
    client: &mut Client,
    config: &Config,
    ctx: &C,
    dispatch: &D,
    id: &str,
    invocation: Invocation,
) -> io::Result<()> {
    let kind = invocation.kind;
    let Ok(wire) = invocation.to_http() else {
        let response = ServerlessResponse::bad_request(kind);
        return stream_response(client, id, &response).await;
    };
    let guard = PanicGuard::new(ctx, dispatch);
    let mut exchange = Exchange::new(&guard, &Guarded, &config.conn, wire);
    let head = match exchange.next_event().await {
        Ok(Some(ResponseEvent::Head(head))) if guard.check().is_ok() => head,
        outcome => {
            // Nothing was posted yet: a plain invocation error says it best.
            let message = match (guard.check(), outcome) {
                (Err(err), _) | (_, Err(err)) => err.to_string(),
                _ => "the server sent no response".to_owned(),
            };
            drop(exchange.finish().await);
            log::error!("invocation {id}: {message}");
            let path = format!("/invocation/{id}/error");
            return post_error(client, &path, "Runtime.HandlerError", &message).await;
        }
    };
    let status = head.status().as_u16();
    let prelude = ServerlessResponse::new(kind, status, head.fields().to_vec(), Bytes::new());
    start_stream(client, id, &prelude).await?;
    let mut failure = None;
    loop {
        match exchange.next_event().await {
            Ok(Some(ResponseEvent::Data(data))) => client.send_chunk(&data).await?,
            // Lambda's response streams have no trailers.
            Ok(Some(ResponseEvent::Trailers(_))) => {}
            Ok(Some(ResponseEvent::End)) => break,
            Ok(_) => {
                failure = Some("the response ended early".to_owned());
                break;
            }
            Err(err) => {
                failure = Some(err.to_string());
                break;
            }
        }
    }
    let finished = exchange.finish().await;
    let failure = failure
        .or_else(|| guard.check().err().map(|err| err.to_string()))
        .or_else(|| finished.err().map(|err| err.to_string()));
    if let Some(message) = &failure {
        log::error!("invocation {id}: {message}");
    }
    end_stream(client, failure.as_deref()).await
}

/// Posts a whole response in the streaming format (a request the runtime refused).
async fn stream_response(
    client: &mut Client,
    id: &str,
    response: &ServerlessResponse,
) -> io::Result<()> {
    start_stream(client, id, response).await?;
    client.send_chunk(response.body()).await?;
    end_stream(client, None).await
}

/// Sends the head of a streamed response and its prelude.
async fn start_stream(
    client: &mut Client,
    id: &str,
    response: &ServerlessResponse,
) -> io::Result<()> {
    let head = post_request(
        client,
        &format!("{API}/invocation/{id}/response"),
        &[
            ("Lambda-Runtime-Function-Response-Mode", "streaming"),
            (
                "Content-Type",
                "application/vnd.awslambda.http-integration-response",
            ),
            ("Transfer-Encoding", "chunked"),
            (
                "Trailer",
                "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
            ),
        ],
        b"",
    )?;
    client.send(head).await?;
    client.send_chunk(&response.streaming_prelude()).await
}

/// Ends a streamed response (with the error trailers if it failed) and reads the answer.
async fn end_stream(client: &mut Client, failure: Option<&str>) -> io::Result<()> {
    let mut end = BytesMut::from(&b"0\r\n"[..]);
    if let Some(message) = failure {
        let body = error_body("Runtime.HandlerError", message);
        end.put_slice(b"Lambda-Runtime-Function-Error-Type: Runtime.HandlerError\r\n");
        end.put_slice(b"Lambda-Runtime-Function-Error-Body: ");
        end.put_slice(STANDARD.encode(body).as_bytes());
        end.put_slice(b"\r\n");
    }
    end.put_slice(b"\r\n");
    client.send(end.freeze()).await?;
    expect_accepted(client.read_response().await?)
}

/// Posts an error (`path` under the API prefix: `/init/error` or `/invocation/{id}/error`).
async fn post_error(
    client: &mut Client,
    path: &str,
    error_type: &str,
    message: &str,
) -> io::Result<()> {
    let wire = post_request(
        client,
        &format!("{API}{path}"),
        &[
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Function-Error-Type", error_type),
        ],
        &error_body(error_type, message),
    )?;
    expect_accepted(client.request(wire).await?)
}

/// `{"errorMessage": .., "errorType": ..}`, the Runtime API's error document.
fn error_body(error_type: &str, message: &str) -> Vec<u8> {
    let body = serde_json::json!({"errorMessage": message, "errorType": error_type});
    serde_json::to_vec(&body).expect("a JSON value always serializes")
}

fn get_request(client: &Client, path: &str) -> io::Result<Bytes> {
    encode_request("GET", path, [("Host", client.host())], b"").map_err(io::Error::other)
}

fn post_request(
    client: &Client,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Bytes> {
    let host = [("Host", client.host())];
    encode_request("POST", path, host.iter().chain(headers).copied(), body)
        .map_err(io::Error::other)
}

/// The Runtime API answers posts with 202; anything else is logged (the invocation is over
/// either way), except a server error, which means the Runtime API is failing.
fn expect_accepted(response: crate::server::testing::ClientResponse) -> io::Result<()> {
    let status = response.status();
    if status.is_server_error() {
        return Err(io::Error::other(format!(
            "the Runtime API answered {status}"
        )));
    }
    if status.as_u16() != 202 {
        log::warn!(
            "the Runtime API answered {status}: {}",
            String::from_utf8_lossy(&response.body)
        );
    }
    Ok(())
}

/// Replaces any `lambda-runtime-*` field of the event with the invocation's context.
fn add_context(invocation: &mut Invocation, next: &Next) {
    invocation
        .headers
        .retain(|(name, _)| !name.to_ascii_lowercase().starts_with("lambda-runtime-"));
    let fields = [
        ("lambda-runtime-aws-request-id", Some(&next.request_id)),
        ("lambda-runtime-deadline-ms", next.deadline_ms.as_ref()),
        (
            "lambda-runtime-invoked-function-arn",
            next.function_arn.as_ref(),
        ),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            invocation.headers.push((name.to_owned(), value.clone()));
        }
    }
}

/// Sets (or, with `None`, removes) `_X_AMZN_TRACE_ID`.
fn set_trace_id(trace_id: Option<&str>) {
    const VAR: &str = "_X_AMZN_TRACE_ID";
    // SAFETY: `std::env` guards its own reads and writes with one lock, so Rust code reading
    // the environment concurrently is fine. What remains is C code calling `getenv` on another
    // thread at this moment. The loop calls this between invocations, when no dispatcher code
    // runs on its worker; nanoapi's own threads (the worker, the blocking pool with no task
    // queued by the runtime) do not call `getenv`; and `run` documents that a dispatcher's own
    // threads must not either while the loop runs (the contract every Lambda runtime that sets
    // this variable has).
    unsafe {
        match trace_id {
            Some(id) => std::env::set_var(VAR, id),
            None => std::env::remove_var(VAR),
        }
    }
}
