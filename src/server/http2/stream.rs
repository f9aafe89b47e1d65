//! One HTTP/2 stream served by the HTTP/1.1 dispatcher: the request goes in as HTTP/1.1 bytes
//! over an in-memory connection served by [`serve_connection`], the response comes out of
//! [`ResponseParser`] as HEADERS and DATA frames.
//!
//! This keeps the `Dispatch` seam as it is (the dispatcher sees the same `Request` and
//! `ResponseWriter`, with every HTTP/1.1 rule of the connection code: limits, `HEAD`, static
//! responses, errors, panics), at the cost of encoding and parsing each exchange once more.

use std::future::poll_fn;
use std::pin::pin;
use std::task::Poll;

use bytes::{BufMut, Bytes, BytesMut};
use h2::server::SendResponse;
use h2::{Reason, RecvStream, SendStream};

use crate::error::{Error, Result};
use crate::http::{
    HeaderList, ResponseEvent, ResponseHead, ResponseParser, StatusCode, encode_chunk,
    encode_last_chunk_with_trailers,
};
use crate::server::duplex::{Duplex, duplex};
use crate::server::{ConnOptions, Dispatch, Transport, serve_connection};

/// Response bytes the in-memory connection buffers before the dispatcher waits for them to
/// leave as DATA frames.
const RESPONSE_BUFFER: usize = 64 * 1024;

/// Header fields that belong to one HTTP/1.1 connection and have no meaning in HTTP/2
/// (RFC 9113 §8.2.2): never copied between the two.
const CONNECTION_SPECIFIC: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// Serves one stream: `request` through `dispatch`, the answer to `respond`.
pub(super) async fn serve_stream<C, D: Dispatch<C>>(
    ctx: &C,
    dispatch: &D,
    options: &ConnOptions,
    request: http::Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
) {
    let (parts, body) = request.into_parts();
    let is_head = parts.method == http::Method::HEAD;
    let has_body = !body.is_end_stream();
    let length_known = parts.headers.contains_key(http::header::CONTENT_LENGTH);
    let (client, server) = duplex(RESPONSE_BUFFER);
    client.push(http1_head(&parts, has_body && !length_known));
    if !has_body {
        let _ = client.shutdown_write();
    }
    let outcome = {
        let server = pin!(serve_connection(server, ctx, dispatch, options));
        let response = pin!(forward_response(&client, &mut respond, is_head));
        let mut request_body =
            has_body.then(|| Box::pin(forward_body(body, &client, !length_known)));
        let (mut server, mut response) = (Some(server), Some(response));
        poll_fn(|cx| {
            // The request body moves only while the response is not complete: a dispatcher
            // that answered without reading it has had its say.
            if let Some(body) = &mut request_body
                && body.as_mut().poll(cx).is_ready()
            {
                request_body = None;
            }
            if let Some(fut) = &mut server
                && fut.as_mut().poll(cx).is_ready()
            {
                server = None;
            }
            match &mut response {
                Some(fut) => fut.as_mut().poll(cx),
                None => Poll::Ready(Ok(())),
            }
        })
        .await
    };
    if let Err(err) = outcome {
        log::debug!("HTTP/2 stream: {err}");
        respond.send_reset(Reason::INTERNAL_ERROR);
    }
}

/// The HTTP/1.1 head of an HTTP/2 request: the request line from `:method` and `:path`, `Host`
/// from `:authority`, the fields (cookies joined as RFC 9113 §8.2.3 says), `chunked` framing
/// when a body comes without a length, and `Connection: close` (one exchange per in-memory
/// connection).
fn http1_head(parts: &http::request::Parts, chunked: bool) -> Bytes {
    let mut head = BytesMut::with_capacity(256);
    head.put_slice(parts.method.as_str().as_bytes());
    head.put_u8(b' ');
    let target = match &parts.method {
        &http::Method::CONNECT => parts.uri.authority().map_or("", |a| a.as_str()),
        _ => parts.uri.path_and_query().map_or("/", |p| p.as_str()),
    };
    head.put_slice(target.as_bytes());
    head.put_slice(b" HTTP/1.1\r\n");
    let authority = parts.uri.authority().map(|a| a.as_str().as_bytes());
    let host = authority.or_else(|| parts.headers.get(http::header::HOST).map(|h| h.as_bytes()));
    if let Some(host) = host {
        put_field(&mut head, b"host", host);
    }
    let mut cookies = parts.headers.get_all(http::header::COOKIE).iter();
    if let Some(first) = cookies.next() {
        head.put_slice(b"cookie: ");
        head.put_slice(first.as_bytes());
        for cookie in cookies {
            head.put_slice(b"; ");
            head.put_slice(cookie.as_bytes());
        }
        head.put_slice(b"\r\n");
    }
    for (name, value) in &parts.headers {
        // `expect`: the body is forwarded as it comes, so no interim response is wanted.
        if matches!(name.as_str(), "host" | "cookie" | "expect" | "te")
            || CONNECTION_SPECIFIC.contains(&name.as_str())
        {
            continue;
        }
        put_field(&mut head, name.as_str().as_bytes(), value.as_bytes());
    }
    if chunked {
        head.put_slice(b"transfer-encoding: chunked\r\n");
    }
    head.put_slice(b"connection: close\r\n\r\n");
    head.freeze()
}

fn put_field(head: &mut BytesMut, name: &[u8], value: &[u8]) {
    head.put_slice(name);
    head.put_slice(b": ");
    head.put_slice(value);
    head.put_slice(b"\r\n");
}

/// Sends the request's DATA frames into the in-memory connection (as chunks when `chunked`),
/// giving the client window back as the connection takes them, then ends the request.
async fn forward_body(mut body: RecvStream, client: &Duplex, chunked: bool) -> Result<()> {
    while let Some(data) = body.data().await {
        let data = data.map_err(h2_error)?;
        let len = data.len();
        if len == 0 {
            continue;
        }
        let out = if chunked {
            let mut out = BytesMut::new();
            encode_chunk(&mut out, &data);
            out
        } else {
            BytesMut::from(data)
        };
        let (sent, _) = client.send_all(out).await;
        sent?;
        body.flow_control()
            .release_capacity(len)
            .map_err(h2_error)?;
    }
    if chunked {
        // The last chunk, with the request's trailing HEADERS as its trailer section (checked
        // as header fields are: the framing fields are left out).
        let mut fields = HeaderList::new();
        for (name, value) in body.trailers().await.map_err(h2_error)?.iter().flatten() {
            if let Err(err) = fields.append(name.as_str().to_owned(), value.as_bytes().to_vec()) {
                log::debug!("HTTP/2 request trailer {name} left out: {err}");
            }
        }
        let mut last = BytesMut::new();
        encode_last_chunk_with_trailers(&mut last, &fields);
        let (sent, _) = client.send_all(last).await;
        sent?;
    }
    client.shutdown_write()?;
    Ok(())
}

/// Reads the in-memory connection's response and sends it on the stream: the head as
/// HEADERS, the body as DATA within the client's flow-control window.
async fn forward_response(
    client: &Duplex,
    respond: &mut SendResponse<Bytes>,
    is_head: bool,
) -> Result<()> {
    let mut parser = ResponseParser::default();
    parser.set_head_request(is_head);
    let mut received = BytesMut::new();
    let mut stream: Option<SendStream<Bytes>> = None;
    loop {
        let event = match parser.parse(&mut received).map_err(Error::new)? {
            Some(event) => event,
            None => {
                let chunk = client.recv().await?;
                if chunk.is_empty() {
                    return match parser.end_of_stream(&received).map_err(Error::new)? {
                        Some(ResponseEvent::End) => end(stream.as_mut()),
                        _ => Err(Error::new("the response ended early")),
                    };
                }
                received.extend_from_slice(&chunk);
                continue;
            }
        };
        match event {
            // An interim response (no `expect` is forwarded, so only a dispatcher's own).
            ResponseEvent::Head(head) if head.status().as_u16() < 200 => {}
            ResponseEvent::Head(head) => {
                let empty = is_head || has_no_body(&head);
                let sent = respond
                    .send_response(http2_response(&head)?, empty)
                    .map_err(h2_error)?;
                if empty {
                    return Ok(());
                }
                stream = Some(sent);
            }
            ResponseEvent::Data(data) => match stream.as_mut() {
                Some(stream) => send_data(stream, data).await?,
                None => return Err(Error::new("response data before its head")),
            },
            // Trailing HEADERS end the stream.
            ResponseEvent::Trailers(fields) => match stream.as_mut() {
                Some(stream) => {
                    let fields = fields.iter().map(|(name, value)| (&name[..], &value[..]));
                    return stream.send_trailers(header_map(fields)?).map_err(h2_error);
                }
                None => return Err(Error::new("response trailers before its head")),
            },
            ResponseEvent::End => return end(stream.as_mut()),
        }
    }
}

/// Whether the head says the body is empty (no DATA frame follows the HEADERS).
fn has_no_body(head: &ResponseHead) -> bool {
    matches!(
        head.status(),
        StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED
    ) || head.header("content-length") == Some(b"0")
}

/// The HTTP/2 response for an HTTP/1.1 head: its status and fields, less the
/// connection-specific ones.
fn http2_response(head: &ResponseHead) -> Result<http::Response<()>> {
    let mut response = http::Response::new(());
    *response.status_mut() =
        http::StatusCode::from_u16(head.status().as_u16()).map_err(Error::new)?;
    *response.headers_mut() = header_map(head.headers())?;
    Ok(response)
}

/// HTTP/2 header fields for HTTP/1.1 ones, less the connection-specific fields.
fn header_map<'a>(
    fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
) -> Result<http::HeaderMap> {
    let mut map = http::HeaderMap::new();
    for (name, value) in fields {
        let name = http::HeaderName::from_bytes(name).map_err(Error::new)?;
        if CONNECTION_SPECIFIC.contains(&name.as_str()) {
            continue;
        }
        let value = http::HeaderValue::from_bytes(value).map_err(Error::new)?;
        map.append(name, value);
    }
    Ok(map)
}

/// Sends `data` as the client's window allows.
async fn send_data(stream: &mut SendStream<Bytes>, mut data: Bytes) -> Result<()> {
    while !data.is_empty() {
        stream.reserve_capacity(data.len());
        let granted = poll_fn(|cx| stream.poll_capacity(cx)).await;
        let granted = match granted {
            Some(granted) => granted.map_err(h2_error)?,
            None => return Err(Error::new("the stream closed while its response was sent")),
        };
        if granted == 0 {
            continue;
        }
        let part = data.split_to(granted.min(data.len()));
        stream.send_data(part, false).map_err(h2_error)?;
    }
    Ok(())
}

/// Ends the response's stream (an empty DATA frame with END_STREAM).
fn end(stream: Option<&mut SendStream<Bytes>>) -> Result<()> {
    match stream {
        Some(stream) => stream.send_data(Bytes::new(), true).map_err(h2_error),
        None => Err(Error::new("the response ended before its head")),
    }
}

fn h2_error(err: h2::Error) -> Error {
    Error::new(err.to_string())
}
