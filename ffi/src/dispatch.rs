//! Calling the host: its dispatch callback, run on the blocking pool, and the count of calls in
//! progress that lets `nanoapi_server_run` promise none is running once it returns.

use std::ffi::{c_int, c_void};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use nanoapi::http::StatusCode;
use nanoapi::server::{BlockingWriter, Dispatch, OwnedRequest, Request, ResponseWriter};

use crate::request::nanoapi_request;
use crate::writer::{Collected, Sink, WriterState, nanoapi_writer};

/// The host's dispatch callback: called once per request (except static routes) on one of the
/// dispatch threads, with the `ctx` given to `nanoapi_server_set_dispatch`. Returns 0
/// on success; non-zero, or returning without a response, makes the response a 500 (if nothing
/// was sent yet) or aborts the connection (mid-stream). `req` and `w` are valid only until it
/// returns.
pub type nanoapi_dispatch_fn = Option<
    unsafe extern "C" fn(
        ctx: *mut c_void,
        req: *const nanoapi_request,
        w: *mut nanoapi_writer,
    ) -> c_int,
>;

/// The callback a server calls, with its context.
#[derive(Debug)]
pub(crate) struct HostDispatch {
    callback:
        unsafe extern "C" fn(*mut c_void, *const nanoapi_request, *mut nanoapi_writer) -> c_int,
    ctx: HostCtx,
    calls: Arc<Calls>,
}

/// The host's context pointer, passed back to it untouched.
#[derive(Debug, Clone, Copy)]
struct HostCtx(*mut c_void);

// SAFETY: the pointer is never dereferenced here; the host promises (nanoapi.h,
// `nanoapi_server_set_dispatch`) that its callback may be called with it from any of the
// dispatch threads, several at once.
unsafe impl Send for HostCtx {}
// SAFETY: as for `Send`: only copies of the pointer are shared.
unsafe impl Sync for HostCtx {}

impl HostDispatch {
    pub(crate) fn new(
        callback: unsafe extern "C" fn(
            *mut c_void,
            *const nanoapi_request,
            *mut nanoapi_writer,
        ) -> c_int,
        ctx: *mut c_void,
        calls: Arc<Calls>,
    ) -> HostDispatch {
        HostDispatch {
            callback,
            ctx: HostCtx(ctx),
            calls,
        }
    }

    /// Calls the host for `req` (the blocking pool's handler).
    pub(crate) fn handle(&self, req: &OwnedRequest, w: &mut BlockingWriter) -> nanoapi::Result<()> {
        self.call(req, Sink::Pool(w))
    }

    /// Calls the host for `req` with a writer over `sink`.
    fn call(&self, req: &OwnedRequest, sink: Sink) -> nanoapi::Result<()> {
        let Some(_call) = self.calls.enter() else {
            return Err(nanoapi::Error::with_status(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is stopping",
            ));
        };
        let view = nanoapi_request::new(req);
        let mut writer = nanoapi_writer::new(sink);
        // SAFETY: the host gave this callback and context for exactly this call; `view` and
        // `writer` live on this frame until the call returns, as the ABI documents.
        let rc = unsafe { (self.callback)(self.ctx.0, &view, &mut writer) };
        if rc != 0 {
            return Err(nanoapi::Error::with_status(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the dispatch callback returned {rc}"),
            ));
        }
        if writer.state() == WriterState::Streaming {
            return Err(nanoapi::Error::new(
                "the dispatch callback returned without nanoapi_writer_end_chunked",
            ));
        }
        // With nothing sent, the connection answers 500 for us.
        Ok(())
    }
}

/// Inline mode: the host's callback runs on the worker itself, once the body was read, and
/// what it wrote is sent after it returned. No thread hop; the callback must not block.
#[derive(Debug)]
pub(crate) struct InlineDispatch {
    pub(crate) host: HostDispatch,
    pub(crate) body_limit: u64,
}

impl Dispatch<()> for InlineDispatch {
    async fn dispatch(
        &self,
        _: &(),
        req: &mut Request,
        w: &mut ResponseWriter,
    ) -> nanoapi::Result<()> {
        req.set_body_limit(self.body_limit);
        let body = req.read_to_end().await?;
        let owned = OwnedRequest::new(req, body);
        let mut collected = Collected::default();
        self.host.call(&owned, Sink::Inline(&mut collected))?;
        match collected {
            Collected {
                head: Some(response),
                chunks: None,
            } => w.send(response).await,
            Collected {
                head: Some(head),
                chunks: Some(chunks),
            } => {
                let mut body = w.start_chunked(head).await?;
                for chunk in chunks {
                    body.send(chunk).await?;
                }
                body.finish().await
            }
            // Nothing sent: the connection answers 500.
            Collected { head: None, .. } => Ok(()),
        }
    }
}

/// The callbacks in progress, and whether new ones may start.
#[derive(Debug, Default)]
pub(crate) struct Calls {
    state: Mutex<CallsState>,
    idle: Condvar,
}

#[derive(Debug, Default)]
struct CallsState {
    running: usize,
    closed: bool,
}

/// One callback in progress; counted down when dropped.
#[derive(Debug)]
pub(crate) struct Call<'a>(&'a Calls);

impl Calls {
    fn lock(&self) -> MutexGuard<'_, CallsState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a callback in, unless the server has stopped calling the host.
    pub(crate) fn enter(&self) -> Option<Call<'_>> {
        let mut state = self.lock();
        if state.closed {
            return None;
        }
        state.running += 1;
        Some(Call(self))
    }

    /// Lets no new callback start and waits for the running ones to return.
    pub(crate) fn close_and_wait(&self) {
        let mut state = self.lock();
        state.closed = true;
        while state.running > 0 {
            state = self.idle.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Drop for Call<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.running -= 1;
        // Only `close_and_wait` waits, and only once closed: no system call per request.
        if state.running == 0 && state.closed {
            self.0.idle.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_waits_for_running_calls_and_refuses_new_ones() {
        let calls = Arc::new(Calls::default());
        let call = calls.enter().expect("open");
        let closer = {
            let calls = calls.clone();
            std::thread::spawn(move || calls.close_and_wait())
        };
        // Wait until the closer has closed (it then waits for `call`).
        while !calls.lock().closed {
            std::thread::yield_now();
        }
        assert!(calls.enter().is_none(), "no call starts once closed");
        assert!(!closer.is_finished(), "close waits for the running call");
        drop(call);
        closer.join().unwrap();
    }
}
