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
    /// The body was not read before the handler ran: it comes through `BlockingWriter::body`.
    streamed: bool,
    peer: Option<SocketAddr>,
}

impl OwnedRequest {
    /// Takes the head of `req` (zero-copy slices of its bytes) and `body` (what
    /// [`Request::read_to_end`] returned): for a dispatcher that hands requests to code which
    /// wants them owned, as the C ABI's inline mode does.
    pub fn new(req: &Request, body: Bytes) -> OwnedRequest {
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
            streamed: false,
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

    /// The whole body (empty when it is streamed: see [`body_is_streamed`](Self::body_is_streamed)).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body was not read before the handler ran (a pool that streams large bodies, see
    /// [`BlockingPool::stream_bodies_over`]): read it with [`BlockingWriter::body`].
    pub fn body_is_streamed(&self) -> bool {
        self.streamed
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
    /// The handler asks for the next piece of a streamed body.
    ReadBody(BodyRequest),
    /// The handler returned (or panicked: a 500 error).
    Done(Result<()>),
}

/// Where the worker puts the piece of body a handler asked for.
#[derive(Default)]
struct BodySlot {
    piece: Mutex<Option<io::Result<Option<Bytes>>>>,
    filled: Condvar,
}

/// A body read a handler waits for: answered with [`answer`](BodyRequest::answer), or, when
/// dropped unanswered (the connection's future ended, the server stops), with an error, so
/// the handler never waits forever.
struct BodyRequest(Option<Arc<BodySlot>>);

impl BodyRequest {
    fn answer(mut self, piece: io::Result<Option<Bytes>>) {
        if let Some(slot) = self.0.take() {
            slot.fill(piece);
        }
    }
}

impl Drop for BodyRequest {
    fn drop(&mut self) {
        if let Some(slot) = self.0.take() {
            slot.fill(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the connection is gone",
            )));
        }
    }
}

impl BodySlot {
    fn fill(&self, piece: io::Result<Option<Bytes>>) {
        *self.piece.lock().unwrap_or_else(|p| p.into_inner()) = Some(piece);
        self.filled.notify_one();
    }

    fn wait(&self) -> io::Result<Option<Bytes>> {
        let mut piece = self.piece.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(piece) = piece.take() {
                return piece;
            }
            piece = self
                .filled
                .wait(piece)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

/// The body of a request whose handler runs before it was read (see
/// [`OwnedRequest::body_is_streamed`]): each [`read_chunk`](BlockingBody::read_chunk) blocks
/// until the worker has read the next piece from the connection. Usable from any thread while
/// the request's response is not finished.
#[derive(Clone)]
pub struct BlockingBody {
    channel: Arc<Channel>,
}

impl BlockingBody {
    /// The next piece of the body, `None` at its end.
    ///
    /// # Errors
    ///
    /// The body is malformed or over the limit (`InvalidData`; the connection answers 400 or
    /// 413 if no response was sent) or the connection is gone.
    pub fn read_chunk(&self) -> io::Result<Option<Bytes>> {
        let slot = Arc::new(BodySlot::default());
        self.channel
            .send(Frame::ReadBody(BodyRequest(Some(slot.clone()))))?;
        slot.wait()
    }
}

impl fmt::Debug for BlockingBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingBody").finish_non_exhaustive()
    }
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
    /// The handler's thread waits for room: only then is `room` notified (a notification is a
    /// system call, paid on the worker's thread).
    sender_waiting: bool,
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
            state.sender_waiting = true;
            state = self
                .room
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state.sender_waiting = false;
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
                let sender_waiting = state.sender_waiting;
                drop(state);
                if sender_waiting {
                    self.room.notify_one();
                }
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
        let sender_waiting = state.sender_waiting;
        drop(state);
        if sender_waiting {
            self.0.room.notify_all();
        }
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

    /// The request's body, read piece by piece as the handler asks (when the pool streams it;
    /// otherwise it is already whole in [`OwnedRequest::body`] and this reads nothing).
    pub fn body(&self) -> BlockingBody {
        BlockingBody {
            channel: self.channel.clone(),
        }
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

/// Runs a batch of handler calls on a pool thread (see [`BlockingPool::scope`]).
type Scope = Arc<dyn Fn(&mut dyn FnMut()) + Send + Sync>;

/// The threads a blocking handler runs on: how many, how many requests may wait for one (beyond
/// that, requests get 503), how many ready requests a thread takes at once, and what wraps each
/// such batch.
///
/// A host whose handlers need a lock of their own (Python's interpreter lock) takes it once
/// per batch in [`scope`](BlockingPool::scope) rather than once per request: under load a
/// thread finds several requests waiting and runs them all under one acquisition.
///
/// ```
/// use nanoapi::http::{Response, StatusCode};
/// use nanoapi::server::{BlockingPool, Options, serve_blocking_with};
///
/// let pool = BlockingPool::new(2, 64)
///     .batch(8)
///     .scope(|run: &mut dyn FnMut()| {
///         // take a host lock here, once for up to 8 requests
///         run();
///     });
/// let server = serve_blocking_with(
///     Options::default().port(0).workers(1),
///     (),
///     |_: &(), _req, w| Ok(w.send(Response::text(StatusCode::OK, "hi"))?),
///     pool,
/// )
/// .unwrap();
/// server.shutdown_blocking();
/// ```
#[derive(Clone)]
pub struct BlockingPool {
    threads: usize,
    queue: usize,
    batch: usize,
    scope: Option<Scope>,
    stream_over: Option<u64>,
}

impl BlockingPool {
    /// `threads` threads (at least one) and up to `queue` requests waiting; one request per
    /// turn, no scope.
    pub fn new(threads: usize, queue: usize) -> BlockingPool {
        BlockingPool {
            threads: threads.max(1),
            queue,
            batch: 1,
            scope: None,
            stream_over: None,
        }
    }

    /// Up to `batch` (at least one) ready requests taken by a thread at once and run one after
    /// the other inside one call of the scope; while other threads are idle, a thread takes
    /// only its share of the waiting requests. A larger batch saves lock round trips under
    /// load; a request then also waits for those before it in its batch.
    pub fn batch(mut self, batch: usize) -> BlockingPool {
        self.batch = batch.max(1);
        self
    }

    /// Bodies declared longer than `bytes`, and chunked ones, are not read before the handler
    /// runs: it reads them piece by piece with [`BlockingWriter::body`] while they arrive
    /// ([`OwnedRequest::body_is_streamed`]). Shorter bodies are read whole first, as by
    /// default.
    pub fn stream_bodies_over(mut self, bytes: u64) -> BlockingPool {
        self.stream_over = Some(bytes);
        self
    }

    /// What wraps each batch: `scope(run)` must call `run` once, on the calling thread (take
    /// a lock, call `run`, release it).
    pub fn scope(mut self, scope: impl Fn(&mut dyn FnMut()) + Send + Sync + 'static) -> Self {
        self.scope = Some(Arc::new(scope));
        self
    }
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingPool")
            .field("threads", &self.threads)
            .field("queue", &self.queue)
            .field("batch", &self.batch)
            .field("scope", &self.scope.is_some())
            .field("stream_over", &self.stream_over)
            .finish()
    }
}

/// A fixed set of threads and a bounded queue; a full queue refuses work (503).
struct Pool {
    state: Mutex<PoolState>,
    work: Condvar,
    config: BlockingPool,
}

struct PoolState {
    jobs: VecDeque<Job>,
    /// Jobs taken by a thread and not finished.
    busy: usize,
    /// Threads waiting for work: a new job notifies `work` (a system call, on the worker's
    /// thread) only when one waits.
    idle: usize,
    /// The server is gone: threads exit once the queue is empty.
    stopped: bool,
}

impl Pool {
    fn start(config: BlockingPool) -> Arc<Pool> {
        let threads = config.threads;
        let pool = Arc::new(Pool {
            state: Mutex::new(PoolState {
                jobs: VecDeque::new(),
                busy: 0,
                idle: 0,
                stopped: false,
            }),
            work: Condvar::new(),
            config,
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
        if state.busy + state.jobs.len() >= self.config.threads + self.config.queue {
            return Err(job);
        }
        state.jobs.push_back(job);
        let wake = state.idle > 0;
        drop(state);
        if wake {
            self.work.notify_one();
        }
        Ok(())
    }

    fn run(&self) {
        let mut batch = Vec::with_capacity(self.config.batch);
        let mut reports = Vec::with_capacity(self.config.batch);
        let mut state = self.lock();
        loop {
            if !state.jobs.is_empty() {
                // Idle threads (notified, or about to be) get their share: a batch only
                // grows as long as no other thread is free to run the jobs beside it.
                let share = state.jobs.len().div_ceil(state.idle + 1);
                let taken = share.min(self.config.batch);
                batch.extend(state.jobs.drain(..taken));
                state.busy += taken;
                drop(state);
                let mut run = || reports.extend(batch.drain(..).map(|job: Job| job()));
                if let Some(scope) = &self.config.scope {
                    scope(&mut run);
                }
                // What the scope left (it did not call `run`) runs without it.
                run();
                state = self.lock();
                state.busy -= taken;
                drop(state);
                reports
                    .drain(..)
                    .for_each(|report: Box<dyn FnOnce() + Send>| report());
                state = self.lock();
                continue;
            }
            if state.stopped {
                return;
            }
            state.idle += 1;
            state = self
                .work
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state.idle -= 1;
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
    stream_over: Option<u64>,
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
        let streamed = self.stream_over.is_some_and(|over| {
            req.is_chunked() || req.content_length().is_some_and(|length| length > over)
        });
        let owned = match streamed {
            true => OwnedRequest {
                streamed: true,
                ..OwnedRequest::new(req, Bytes::new())
            },
            false => {
                let body = req.read_to_end().await?;
                OwnedRequest::new(req, body)
            }
        };
        let channel = Arc::new(Channel {
            state: Mutex::new(ChannelState {
                frames: VecDeque::new(),
                receiver: None,
                receiver_gone: false,
                sender_waiting: false,
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

/// Writes the handler's frames as they come, until it returns; reads the body for it when it
/// asks, at any point.
async fn relay(channel: &Channel, req: &mut Request, w: &mut ResponseWriter) -> Result<()> {
    let mut body_error = None;
    match next(channel, req, &mut body_error).await {
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
                match next(channel, req, &mut body_error).await {
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
                    Frame::ReadBody(_) => unreachable!("`next` serves body reads itself"),
                }
            }
        }
        // Nothing was sent: the connection answers the error (a failed body read's first:
        // its 400 or 413), or a 500.
        Frame::Done(result) => return body_error.map_or(result, Err),
        Frame::Chunk(_) | Frame::EndChunked => {
            return Err(Error::new("write_chunk before start_chunked"));
        }
        Frame::ReadBody(_) => unreachable!("`next` serves body reads itself"),
    }
    match next(channel, req, &mut body_error).await {
        Frame::Done(result) => result,
        // A WebSocket asked for after a response: refused (the handler's wait ends with it).
        #[cfg(feature = "ws")]
        Frame::AcceptWebSocket(_) => Err(Error::new("accept_websocket after a response")),
        _ => Err(Error::new("a second response from the blocking handler")),
    }
}

/// The handler's next frame other than a body read: those are served here, from `req`, and a
/// failed one is kept in `body_error` (the connection cannot go on after it).
async fn next(channel: &Channel, req: &mut Request, body_error: &mut Option<Error>) -> Frame {
    loop {
        match channel.recv().await {
            Frame::ReadBody(request) => {
                let piece = req.read_chunk().await;
                request.answer(piece.map_err(|err| {
                    let failure = io::Error::new(io::ErrorKind::InvalidData, err.to_string());
                    body_error.get_or_insert(err);
                    failure
                }));
            }
            frame => return frame,
        }
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
    serve_blocking_with(options, ctx, f, BlockingPool::new(threads, queue))
}

/// [`serve_blocking`] on the threads `pool` describes (batches of ready requests, a scope
/// around each batch).
///
/// # Errors
///
/// As [`serve`].
pub fn serve_blocking_with<C, F>(
    options: Options,
    ctx: C,
    f: F,
    pool: BlockingPool,
) -> io::Result<ServerHandle>
where
    C: Send + Sync + 'static,
    F: Fn(&C, &OwnedRequest, &mut BlockingWriter) -> Result<()> + Send + Sync + 'static,
{
    let dispatch = BlockingDispatch {
        handler: Arc::new(f),
        stream_over: pool.stream_over,
        pool: Pool::start(pool),
        body_limit: options.limits.max_body,
    };
    serve(options, Arc::new(ctx), dispatch)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    thread_local! {
        /// Jobs run inside the current scope call.
        static IN_SCOPE: Cell<usize> = const { Cell::new(0) };
    }

    /// A job that runs `body` and, once its thread counts as free, sends `index` on `done`.
    fn job(index: usize, done: &mpsc::Sender<usize>, body: impl FnOnce() + Send + 'static) -> Job {
        let done = done.clone();
        Box::new(move || {
            IN_SCOPE.set(IN_SCOPE.get() + 1);
            body();
            Box::new(move || done.send(index).unwrap())
        })
    }

    /// Submits job 0, which holds its thread until the returned sender is dropped; returns
    /// once it runs.
    fn occupy(pool: &Pool, done: &mpsc::Sender<usize>) -> mpsc::Sender<()> {
        let (entered_tx, entered) = mpsc::channel();
        let (release_tx, release) = mpsc::channel::<()>();
        let first = job(0, done, move || {
            entered_tx.send(()).unwrap();
            let _ = release.recv();
        });
        assert!(pool.submit(first).is_ok());
        entered.recv_timeout(Duration::from_secs(10)).unwrap();
        release_tx
    }

    fn wait_for(done: &mpsc::Receiver<usize>, n: usize) -> Vec<usize> {
        let mut seen: Vec<usize> = (0..n)
            .map(|_| done.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect();
        seen.sort_unstable();
        seen
    }

    #[test]
    fn a_thread_takes_the_jobs_waiting_for_it_as_one_batch_inside_one_scope() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let seen = batches.clone();
        let pool = Pool::start(BlockingPool::new(1, 8).batch(3).scope(move |run| {
            IN_SCOPE.set(0);
            run();
            seen.lock().unwrap().push(IN_SCOPE.get());
        }));
        let (done_tx, done) = mpsc::channel();
        let release_tx = occupy(&pool, &done_tx);
        // The only thread is busy: these four wait in the queue.
        for index in 1..=4 {
            assert!(pool.submit(job(index, &done_tx, || {})).is_ok());
        }
        assert_eq!(pool.lock().jobs.len(), 4);
        drop(release_tx);
        assert_eq!(wait_for(&done, 5), [0, 1, 2, 3, 4]);
        // The first job alone, then three of the four waiting (the batch's limit), then the
        // last one.
        assert_eq!(*batches.lock().unwrap(), [1, 3, 1]);
        pool.stop();
    }

    #[test]
    fn jobs_a_scope_did_not_run_still_run() {
        let pool = Pool::start(BlockingPool::new(1, 8).scope(|_run| {}));
        let (done_tx, done) = mpsc::channel();
        assert!(pool.submit(job(7, &done_tx, || {})).is_ok());
        assert_eq!(wait_for(&done, 1), [7]);
        pool.stop();
    }

    #[test]
    fn a_full_pool_refuses_work_at_threads_plus_queue_jobs() {
        let pool = Pool::start(BlockingPool::new(1, 1).batch(4));
        let (done_tx, done) = mpsc::channel();
        let release_tx = occupy(&pool, &done_tx);
        assert!(pool.submit(job(1, &done_tx, || {})).is_ok());
        assert!(pool.submit(job(2, &done_tx, || {})).is_err());
        drop(release_tx);
        assert_eq!(wait_for(&done, 2), [0, 1]);
        pool.stop();
    }
}
