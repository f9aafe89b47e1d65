//! A small HTTP/1.1 client on the executor's sockets, for the Lambda Runtime API: one
//! keep-alive connection, requests written as bytes, responses read with the runtime's
//! [`ResponseParser`].

use std::io;

use bytes::{BufMut, Bytes, BytesMut};
use nanoapi_executor::net::TcpStream;

use crate::http::{ResponseEvent, ResponseParser};
use crate::server::testing::ClientResponse;

/// A client of one server (`host:port`), reconnecting when the server closed.
pub(super) struct Client {
    addr: String,
    conn: Option<Conn>,
}

struct Conn {
    stream: TcpStream,
    received: BytesMut,
    parser: ResponseParser,
    /// Whether a response came over this connection (a reused connection may have been
    /// closed by the server meanwhile).
    used: bool,
}

impl Client {
    pub(super) fn new(addr: &str) -> Client {
        Client {
            addr: addr.to_owned(),
            conn: None,
        }
    }

    /// The `Host` value for requests.
    pub(super) fn host(&self) -> &str {
        &self.addr
    }

    /// Sends a whole request and reads its response.
    pub(super) async fn request(&mut self, wire: Bytes) -> io::Result<ClientResponse> {
        self.send(wire).await?;
        self.read_response().await
    }

    /// Sends bytes of a request, connecting first if needed. The first bytes sent over a
    /// reused connection that fail are sent again over a new one: the server may have closed
    /// it while it was idle.
    pub(super) async fn send(&mut self, bytes: Bytes) -> io::Result<()> {
        let retry = self.conn.as_ref().is_some_and(|conn| conn.used);
        match self.send_once(bytes.clone()).await {
            Err(_) if retry => {
                self.conn = None;
                self.send_once(bytes).await
            }
            res => res,
        }
    }

    /// Sends `data` as one chunk of a chunked body (nothing for empty data).
    pub(super) async fn send_chunk(&mut self, data: &[u8]) -> io::Result<()> {
        let mut chunk = BytesMut::new();
        crate::http::encode_chunk(&mut chunk, data);
        self.send(chunk.freeze()).await
    }

    async fn send_once(&mut self, bytes: Bytes) -> io::Result<()> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(self.addr.as_str()).await?;
            stream.set_nodelay(true)?;
            self.conn = Some(Conn {
                stream,
                received: BytesMut::new(),
                parser: ResponseParser::default(),
                used: false,
            });
        }
        let conn = self.conn.as_mut().expect("connected above");
        let (res, _) = conn.stream.write_all(bytes).await;
        if res.is_err() {
            self.conn = None;
        }
        res
    }

    /// Reads one response; the connection is dropped after it if the server closes it.
    pub(super) async fn read_response(&mut self) -> io::Result<ClientResponse> {
        let res = self.read_response_once().await;
        match &res {
            Ok(response) if !response.closed => {}
            _ => self.conn = None,
        }
        res
    }

    async fn read_response_once(&mut self) -> io::Result<ClientResponse> {
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "no request sent"))?;
        conn.used = true;
        let mut head = None;
        let mut body = BytesMut::new();
        let mut trailers = Vec::new();
        let mut eof = false;
        loop {
            let event = if eof {
                conn.parser.end_of_stream(&conn.received)
            } else {
                conn.parser.parse(&mut conn.received)
            };
            match event.map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))? {
                Some(ResponseEvent::Head(h)) if h.status().as_u16() < 200 => {}
                Some(ResponseEvent::Head(h)) => head = Some(h),
                Some(ResponseEvent::Data(data)) => body.put_slice(&data),
                Some(ResponseEvent::Trailers(fields)) => trailers = fields,
                Some(ResponseEvent::End) => {
                    if let Some(head) = head.take() {
                        let closed = head.closes() || eof;
                        return Ok(ClientResponse {
                            head,
                            body: body.freeze(),
                            trailers: std::mem::take(&mut trailers),
                            closed,
                        });
                    }
                }
                None if eof => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection before responding",
                    ));
                }
                None => {
                    let chunk = conn.stream.read_pooled().await?;
                    if chunk.is_empty() {
                        eof = true;
                    } else {
                        conn.received.put_slice(&chunk);
                    }
                }
            }
        }
    }
}
