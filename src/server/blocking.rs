//! Blocking dispatch, for hosts whose handlers block (a foreign interpreter holding its lock):
//! the body is read on the worker, the handler runs on a dedicated bounded pool, and what it
//! writes comes back to the worker as frames over a bounded channel.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use bytes::Bytes;

use super::{Dispatch, Options, Request, ResponseWriter, ServerHandle, serve};
use crate::error::{Error, Result};
use crate::http::{Body, HeaderList, Response, StatusCode, Version};

/// How many frames a handler may get ahead of the connection before `BlockingWriter` blocks.
const FRAME_CAPACITY: usize = 16;

/// A request with everything owned, body included: what a blocking handler sees.
#[derive(Debug, Clone)]
pub struct OwnedRequest {
    method: Bytes,
    target: Bytes,
    path: Bytes,
    query: Option<Bytes>,
    version: Version,
    headers: Vec<(Bytes, Bytes)>,
    body: Bytes,
    peer: Option<SocketAddr>,
}

impl OwnedRequest {
    /// Takes the head of `req` (zero-copy slices of its bytes) and `body`.
    fn new(req: &Request, body: Bytes) -> OwnedRequest {
        let head = req.head_bytes();
        // A part inside the head is shared; one the parser answers from a constant (a
        // standard method's name) is copied.
        let slice = |part: &[u8]| {
            let range = head.as_ptr_range();
            if range.contains(&part.as_ptr()) || part.is_empty() {
                head.slice_ref(part)
            } else {
                Bytes::copy_from_slice(part)
            }
        };
        OwnedRequest {
            method: slice(req.method_bytes()),
            target: slice(req.target()),
            path: slice(req.path()),
            query: req.query().map(slice),
            version: req.version(),
            headers: req
                .headers()
                .map(|(name, value)| (slice(name), slice(value)))
                .collect(),
            body,
            peer: req.peer_addr(),
        }
    }

    /// The method as sent.
    pub fn method(&self) -> &[u8] {
        &self.method
    }

    /// The request-target as sent.
    pub fn target(&self) -> &[u8] {
        &self.target
    }

    /// The path (not decoded).
    pub fn path(&self) -> &[u8] {
        &self.path
    }

    /// The raw query.
    pub fn query(&self) -> Option<&[u8]> {
        self.query.as_deref()
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The header fields in order.
    pub fn headers(&self) -> &[(Bytes, Bytes)] {
        &self.headers
    }

    /// The first field named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| &v[..])
    }

    /// The whole body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The client's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }
}

/// What a blocking handler sends back to the connection.
enum Frame {
    Response {
        status: StatusCode,
        headers: HeaderList,
        body: Bytes,
    },
    StartChunked {
        status: StatusCode,
        headers: HeaderList,
    },
    Chunk(Bytes),
    EndChunked,
    /// Accept the request's WebSocket handshake (and tell the handler how it went).
    #[cfg(feature = "ws")]
    AcceptWebSocket(crate::ws::Accept),
    /// The handler returned (or panicked: a 500 error).
    Done(Result<()>),
}

/// A bounded single-producer channel from a pool thread to a worker task.
struct Channel {
    state: Mutex<ChannelState>,
    room: Condvar,
}

struct ChannelState {
    frames: VecDeque<Frame>,
    receiver: Option<Waker>,
    receiver_gone: bool,
}

impl Channel {
    fn lock(&self) -> MutexGuard<'_, ChannelState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Blocks while full; fails once the connection side is gone.
    fn send(&self, frame: Frame) -> io::Result<()> {
        let mut state = self.lock();
        while state.frames.len() >= FRAME_CAPACITY && !state.receiver_gone {
            state = self
                .room
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        if state.receiver_gone {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the connection is gone",
            ));
        }
        state.frames.push_back(frame);
        let waker = state.receiver.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    async fn recv(&self) -> Frame {
        poll_fn(|cx| {
            let mut state = self.lock();
            if let Some(frame) = state.frames.pop_front() {
                drop(state);
                self.room.notify_one();
                return Poll::Ready(frame);
            }
            state.receiver = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

/// Marks the receiving side gone when the dispatch future ends (or is dropped), so a handler
/// blocked on a full channel wakes up and gets an error.
struct ReceiverGuard(Arc<Channel>);

impl Drop for ReceiverGuard {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.receiver_gone = true;
        state.frames.clear();
        drop(state);
        self.0.room.notify_all();
    }
}

/// How a blocking handler answers: a whole response, or a chunked stream. Each call blocks
/// while the connection is behind by more than a few frames, and fails once it is gone.
pub struct BlockingWriter {
    channel: Arc<Channel>,
}

impl BlockingWriter {
    /// Sends a whole response.
    ///
    /// # Errors
    ///
    /// A streamed body (use `start_chunked`), or the connection is gone.
    pub fn send(&mut self, response: Response) -> io::Result<()> {
        let (status, headers, body) = response.into_parts();
        let Ok(body) = body.into_bytes() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "use start_chunked to stream from a blocking handler",
            ));
        };
        self.channel.send(Frame::Response {
            status,
            headers,
            body,
        })
    }

    /// Sends the head of a streamed response (its body is ignored).
    ///
    /// # Errors
    ///
    /// The connection is gone.
    pub fn start_chunked(&mut self, head: Response) -> io::Result<()> {
        let (status, headers, _) = head.into_parts();
        self.channel.send(Frame::StartChunked { status, headers })
    }

    /// Sends one piece of a streamed body.
    ///
    /// # Errors
    ///
    /// The connection is gone.
    pub fn write_chunk(&mut self, chunk: impl Into<Bytes>) -> io::Result<()> {
        self.channel.send(Frame::Chunk(chunk.into()))
    }

    /// Ends a streamed body.
    ///
    /// # Errors
    ///
    /// The connection is gone.
    pub fn end_chunked(&mut self) -> io::Result<()> {
        self.channel.send(Frame::EndChunked)
    }

    /// Accepts the request's WebSocket opening handshake (choosing `protocol` among the ones
    /// the client offered, or none) instead of sending a response, and blocks until the `101`
    /// is sent: the socket is then usable from any thread, after this handler returned too.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when the request is not a valid handshake (it was answered with the 400
    /// or 426 that says why) or a response was already sent; the connection is gone.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use nanoapi::server::{BlockingWriter, OwnedRequest, Options, serve_blocking};
    /// use nanoapi::ws::Message;
    ///
    /// fn echo(_: &(), _: &OwnedRequest, w: &mut BlockingWriter) -> nanoapi::Result<()> {
    ///     let socket = w.accept_websocket(None)?;
    ///     while let Ok(Some(message)) = socket.recv() {
    ///         if let Message::Text(_) | Message::Binary(_) = message {
    ///             socket.send(message)?;
    ///         }
    ///     }
    ///     Ok(())
    /// }
    ///
    /// let server = serve_blocking(Options::default(), (), echo, 4, 64)?;
    /// server.shutdown_blocking();
    /// # Ok::<(), nanoapi::Error>(())
    /// ```
    #[cfg(feature = "ws")]
    pub fn accept_websocket(
        &mut self,
        protocol: Option<&str>,
    ) -> io::Result<crate::ws::BlockingWebSocket> {
        let bridge = crate::ws::Bridge::new();
        let accept = crate::ws::Accept::new(bridge.clone(), protocol.map(str::to_owned));
        self.channel.send(Frame::AcceptWebSocket(accept))?;
        bridge.wait_accepted()?;
        Ok(crate::ws::BlockingWebSocket::new(bridge))
    }
}

impl fmt::Debug for BlockingWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingWriter").finish()
    }
}

/// A job for the pool: everything it needs, owned.
/// A handler run: it returns what to do once its thread counts as free again (report that it
/// is done), so a client that got the response never finds the pool still busy with it.
type Job = Box<dyn FnOnce() -> Box<dyn FnOnce() + Send> + Send>;

/// A fixed set of threads and a bounded queue; a full queue refuses work (503).
struct Pool {
    state: Mutex<PoolState>,
    work: Condvar,
    threads: usize,
    queue_limit: usize,
}

struct PoolState {
    jobs: VecDeque<Job>,
    /// Jobs being run.
    busy: usize,
    /// The server is gone: threads exit once the queue is empty.
    stopped: bool,
}

impl Pool {
    fn start(threads: usize, queue_limit: usize) -> Arc<Pool> {
        let threads = threads.max(1);
        let pool = Arc::new(Pool {
            state: Mutex::new(PoolState {
                jobs: VecDeque::new(),
                busy: 0,
                stopped: false,
            }),
            work: Condvar::new(),
            threads,
            queue_limit,
        });
        for index in 0..threads {
            let pool = pool.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("nanoapi-dispatch-{index}"))
                .spawn(move || pool.run());
            if let Err(err) = spawned {
                log::error!("blocking dispatch: cannot start a thread: {err}");
            }
        }
        pool
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues `job`, or gives it back when every thread has a job and the queue is full.
    fn submit(&self, job: Job) -> std::result::Result<(), Job> {
        let mut state = self.lock();
        if state.busy + state.jobs.len() >= self.threads + self.queue_limit {
            return Err(job);
        }
        state.jobs.push_back(job);
        drop(state);
        self.work.notify_one();
        Ok(())
    }

    fn run(&self) {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.jobs.pop_front() {
                state.busy += 1;
                drop(state);
                let report = job();
                state = self.lock();
                state.busy -= 1;
                drop(state);
                report();
                state = self.lock();
                continue;
            }
            if state.stopped {
                return;
            }
            state = self
                .work
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

impl Pool {
    /// Lets the threads exit once the queued jobs are done.
    fn stop(&self) {
        self.lock().stopped = true;
        self.work.notify_all();
    }
}

/// The dispatcher that hands requests to a blocking handler.
struct BlockingDispatch<F> {
    handler: Arc<F>,
    pool: Arc<Pool>,
    body_limit: u64,
}

impl<C, F> Dispatch<Arc<C>> for BlockingDispatch<F>
where
    C: Send + Sync + 'static,
    F: Fn(&C, &OwnedRequest, &mut BlockingWriter) -> Result<()> + Send + Sync + 'static,
{
    async fn dispatch(
        &self,
        ctx: &Arc<C>,
        req: &mut Request,
        w: &mut ResponseWriter,
    ) -> Result<()> {
        req.set_body_limit(self.body_limit);
        let body = req.read_to_end().await?;
        let owned = OwnedRequest::new(req, body);
        let channel = Arc::new(Channel {
            state: Mutex::new(ChannelState {
                frames: VecDeque::new(),
                receiver: None,
                receiver_gone: false,
            }),
            room: Condvar::new(),
        });
        let _receiver = ReceiverGuard(channel.clone());
        let job_channel = channel.clone();
        let (ctx, handler) = (ctx.clone(), self.handler.clone());
        let job: Job = Box::new(move || {
            let mut writer = BlockingWriter {
                channel: job_channel.clone(),
            };
            let outcome = catch_unwind(AssertUnwindSafe(|| handler(&ctx, &owned, &mut writer)));
            let result = match outcome {
                Ok(result) => result,
                Err(_) => Err(Error::with_status(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the blocking handler panicked",
                )),
            };
            Box::new(move || {
                let _ = job_channel.send(Frame::Done(result));
            })
        });
        if self.pool.submit(job).is_err() {
            return Err(Error::with_status(
                StatusCode::SERVICE_UNAVAILABLE,
                "every dispatch thread is busy",
            ));
        }
        relay(&channel, req, w).await
    }
}

impl<F> Drop for BlockingDispatch<F> {
    fn drop(&mut self) {
        self.pool.stop();
    }
}

/// Writes the handler's frames as they come, until it returns.
async fn relay(channel: &Channel, req: &Request, w: &mut ResponseWriter) -> Result<()> {
    // Only accepting a WebSocket reads the request.
    #[cfg(not(feature = "ws"))]
    let _ = req;
    match channel.recv().await {
        #[cfg(feature = "ws")]
        Frame::AcceptWebSocket(accept) => accept.run(req, w).await?,
        Frame::Response {
            status,
            headers,
            body,
        } => {
            w.send(Response::from_parts(status, headers, Body::Bytes(body)))
                .await?;
        }
        Frame::StartChunked { status, headers } => {
            let mut body = w
                .start_chunked(Response::from_parts(status, headers, Body::Empty))
                .await?;
            loop {
                match channel.recv().await {
                    Frame::Chunk(chunk) => body.send(chunk).await?,
                    Frame::EndChunked => break body.finish().await?,
                    // Returning mid-stream drops `body` unfinished: the connection is aborted.
                    Frame::Done(result) => {
                        result?;
                        return Err(Error::new(
                            "the blocking handler returned without end_chunked",
                        ));
                    }
                    Frame::Response { .. } | Frame::StartChunked { .. } => {
                        return Err(Error::new("a second response from the blocking handler"));
                    }
                    #[cfg(feature = "ws")]
                    Frame::AcceptWebSocket(_) => {
                        return Err(Error::new("accept_websocket during a streamed response"));
                    }
                }
            }
        }
        // Nothing was sent: the connection answers the error, or a 500.
        Frame::Done(result) => return result,
        Frame::Chunk(_) | Frame::EndChunked => {
            return Err(Error::new("write_chunk before start_chunked"));
        }
    }
    match channel.recv().await {
        Frame::Done(result) => result,
        // A WebSocket asked for after a response: refused (the handler's wait ends with it).
        #[cfg(feature = "ws")]
        Frame::AcceptWebSocket(_) => Err(Error::new("accept_websocket after a response")),
        _ => Err(Error::new("a second response from the blocking handler")),
    }
}

/// Serves a blocking handler: `f(ctx, request, writer)` runs on a pool of `threads` threads
/// (separate from `spawn_blocking`) with up to `queue` requests waiting; beyond that, requests
/// get 503. The body is read up to the body limit before `f` runs; the worker keeps serving
/// other connections meanwhile.
///
/// # Errors
///
/// As [`serve`].
///
/// # Examples
///
/// ```
/// use nanoapi::http::{Response, StatusCode};
/// use nanoapi::server::{BlockingWriter, OwnedRequest, Options, serve_blocking};
///
/// fn handler(_: &(), req: &OwnedRequest, w: &mut BlockingWriter) -> nanoapi::Result<()> {
///     w.send(Response::text(StatusCode::OK, format!("{} bytes", req.body().len())))?;
///     Ok(())
/// }
///
/// let server = serve_blocking(Options::default().port(0).workers(1), (), handler, 2, 16).unwrap();
/// server.shutdown_blocking();
/// ```
pub fn serve_blocking<C, F>(
    options: Options,
    ctx: C,
    f: F,
    threads: usize,
    queue: usize,
) -> io::Result<ServerHandle>
where
    C: Send + Sync + 'static,
    F: Fn(&C, &OwnedRequest, &mut BlockingWriter) -> Result<()> + Send + Sync + 'static,
{
    let dispatch = BlockingDispatch {
        handler: Arc::new(f),
        pool: Pool::start(threads, queue),
        body_limit: options.limits.max_body,
    };
    serve(options, Arc::new(ctx), dispatch)
}
