//! The io_uring reactor.
//!
//! One ring per worker, created on that worker's thread and touched by no other (so it can use
//! `SINGLE_ISSUER` and `DEFER_TASKRUN`). Operations live in a slab whose key is the SQE's
//! `user_data`; SQEs are queued without a syscall and handed to the kernel when the worker
//! parks, in one `io_uring_enter` that also waits for completions (with the next timer as its
//! timeout). Other threads wake the worker through an eventfd that the ring always has a read
//! pending on.

mod buf_ring;
mod lifecycle;
mod multishot;
pub(crate) mod op;

use std::any::Any;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use io_uring::squeue::Entry;
use io_uring::types::{Fd, SubmitArgs, Timespec};
use io_uring::{IoUring, opcode};
use slab::Slab;

pub(crate) use buf_ring::{BUF_GROUP, BufRing, RingBuf};
pub(crate) use lifecycle::MultishotKind;
use lifecycle::{AfterCompletion, Lifecycle, Multishot, close_fd};
pub(crate) use multishot::MultishotOp;

use crate::op::send_detached::uring::Progress;

use super::DriverConfig;

/// `user_data` of the eventfd read that wakes a parked worker.
const EVENTFD_KEY: u64 = u64::MAX;
/// `user_data` of async-cancel requests, whose own completions carry nothing we need.
const CANCEL_KEY: u64 = u64::MAX - 1;
/// How many received buffers a connection may leave unread before its multishot receive is
/// paused: enough for a burst, small against the ring (512 buffers by default).
const MAX_QUEUED_RECVS: usize = 8;

/// What [`UringDriver::poll_multishot`] yields.
pub(crate) enum MultishotEvent {
    /// A result and its CQE flags.
    Completion(i32, u32),
    /// The receive stopped because the buffer ring was empty.
    RanDry,
}

pub(crate) struct UringDriver {
    ring: IoUring,
    ops: Slab<Lifecycle>,
    buf_ring: BufRing,
    eventfd: Arc<OwnedFd>,
    /// Where the eventfd read lands; boxed so that its address is stable.
    eventfd_buf: Box<u64>,
    eventfd_armed: bool,
    /// Completions reaped outside `park` (when the submission queue was full) leave their
    /// wakers and payloads here until the next `park` hands them out.
    deferred_wakers: Vec<Waker>,
    deferred_graveyard: Vec<Box<dyn Any>>,
    /// Completions being handled (`user_data`, result, flags); kept for its allocation.
    cqes: Vec<(u64, i32, u32)>,
}

impl UringDriver {
    /// Sets up a ring with the features this reactor needs (ext-arg waits, no dropped
    /// completions, provided-buffer rings: Linux 5.19 or later), with the single-issuer and
    /// deferred-task-run optimisations where the kernel has them.
    pub(crate) fn new(config: &DriverConfig) -> io::Result<UringDriver> {
        let ring = build_ring(config.ring_entries)?;
        let params = ring.params();
        if !params.is_feature_ext_arg() || !params.is_feature_nodrop() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "io_uring lacks EXT_ARG or NODROP (Linux < 5.11)",
            ));
        }
        let buf_ring = BufRing::register(&ring, config.recv_buf_count, config.recv_buf_size)?;
        // A blocking eventfd: io_uring would fail a read of a non-blocking one with EAGAIN
        // instead of waiting for it to be signalled.
        // SAFETY: `eventfd` takes no pointers.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned by nothing else.
        let eventfd = Arc::new(unsafe { OwnedFd::from_raw_fd(fd) });
        Ok(UringDriver {
            ring,
            ops: Slab::with_capacity(256),
            buf_ring,
            eventfd,
            eventfd_buf: Box::new(0),
            eventfd_armed: false,
            deferred_wakers: Vec::new(),
            deferred_graveyard: Vec::new(),
            cqes: Vec::with_capacity(256),
        })
    }

    pub(crate) fn eventfd(&self) -> Arc<OwnedFd> {
        self.eventfd.clone()
    }

    pub(crate) fn buf_ring(&self) -> &BufRing {
        &self.buf_ring
    }

    /// Queues `sqe` as a new operation and returns its slot key.
    ///
    /// # Safety
    ///
    /// The memory `sqe` points to must stay valid until the slot completes: the caller keeps
    /// it in the operation future, which hands it to the slot ([`abandon`](Self::abandon)) if
    /// dropped first.
    pub(crate) unsafe fn submit(&mut self, sqe: Entry) -> usize {
        let key = self.ops.insert(Lifecycle::Submitted);
        // SAFETY: forwarded from the caller.
        unsafe { self.push(&sqe.user_data(key as u64)) };
        key
    }

    /// Queues a send nobody awaits; its slot key (see `op::send_detached`).
    pub(crate) fn detach(&mut self, send: crate::op::send_detached::uring::DetachedSend) -> usize {
        let sqe = send.sqe();
        let key = self.ops.insert(Lifecycle::Detached(send));
        // SAFETY: the entry points into the send's buffer, whose heap memory the slot owns
        // (moving the slot moves the `BytesMut`, not its bytes) until its last completion.
        unsafe { self.push(&sqe.user_data(key as u64)) };
        key
    }

    /// Asks the kernel to stop the operation of slot `key` (its completion still arrives).
    pub(crate) fn cancel_op(&mut self, key: usize) {
        self.cancel(key);
    }

    pub(crate) fn poll_op(&mut self, key: usize, cx: &mut Context<'_>) -> Poll<(i32, u32)> {
        let completion = self.ops[key].poll(cx);
        if completion.is_ready() {
            self.ops.remove(key);
        }
        completion
    }

    /// The future of slot `key` is gone. If the kernel is done, frees the slot and gives the
    /// payload back to be dropped; otherwise the slot keeps the payload until the completion,
    /// and the operation is cancelled.
    pub(crate) fn abandon(
        &mut self,
        key: usize,
        payload: Box<dyn Any>,
        result_is_fd: bool,
    ) -> Option<Box<dyn Any>> {
        if let Lifecycle::Completed(res, _) = self.ops[key] {
            self.ops.remove(key);
            if result_is_fd && res >= 0 {
                close_fd(res);
            }
            return Some(payload);
        }
        self.ops[key] = Lifecycle::Ignored(lifecycle::Orphan {
            payload,
            result_is_fd,
        });
        self.cancel(key);
        None
    }

    /// A new slot for a multishot operation (not yet submitted).
    pub(crate) fn multishot_slot(&mut self, kind: MultishotKind) -> usize {
        self.ops.insert(Lifecycle::Multishot(Multishot::new(kind)))
    }

    /// The next result (and CQE flags) of multishot slot `key`; (re)submits `sqe()` when the
    /// kernel ended the previous submission (as it does after an error such as `EMFILE`).
    /// `RanDry` tells a receiver that the buffer ring was empty: it should receive once into a
    /// buffer of its own before re-arming.
    ///
    /// # Safety
    ///
    /// As for [`submit`](Self::submit): what `sqe` points to outlives the slot.
    pub(crate) unsafe fn poll_multishot(
        &mut self,
        key: usize,
        sqe: impl FnOnce() -> Entry,
        cx: &mut Context<'_>,
    ) -> Poll<MultishotEvent> {
        let Lifecycle::Multishot(multi) = &mut self.ops[key] else {
            unreachable!("slot {key} is not a multishot slot")
        };
        if let Some((res, flags)) = multi.results.pop_front() {
            return Poll::Ready(MultishotEvent::Completion(res, flags));
        }
        if !multi.armed && std::mem::take(&mut multi.ran_dry) {
            return Poll::Ready(MultishotEvent::RanDry);
        }
        match &mut multi.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        if !multi.armed {
            multi.armed = true;
            // SAFETY: forwarded from the caller.
            unsafe { self.push(&sqe().user_data(key as u64)) };
        }
        Poll::Pending
    }

    /// The owner of multishot slot `key` is gone: releases the results it did not take (fds
    /// closed, buffers back to the ring), and cancels the operation if still armed.
    /// `keep_alive` (the owner's fd) stays with the slot until the kernel's last completion.
    pub(crate) fn drop_multishot(
        &mut self,
        key: usize,
        keep_alive: Box<dyn Any>,
    ) -> Option<Box<dyn Any>> {
        let Lifecycle::Multishot(multi) = &mut self.ops[key] else {
            unreachable!("slot {key} is not a multishot slot")
        };
        for (res, flags) in multi.results.drain() {
            if let Some(bid) = io_uring::cqueue::buffer_select(flags) {
                self.deferred_graveyard
                    .push(Box::new(self.buf_ring.lend(bid, 0)));
            } else if multi.kind == MultishotKind::Accept && res >= 0 {
                close_fd(res);
            }
        }
        if !multi.armed {
            self.ops.remove(key);
            return Some(keep_alive);
        }
        multi.orphaned = true;
        multi.keep_alive = Some(keep_alive);
        self.cancel(key);
        None
    }

    fn cancel(&mut self, key: usize) {
        let sqe = opcode::AsyncCancel::new(key as u64)
            .build()
            .user_data(CANCEL_KEY);
        // SAFETY: an async-cancel points to no memory.
        unsafe { self.push(&sqe) };
    }

    /// Puts an entry in the submission queue, handing the queue to the kernel first if full.
    ///
    /// # Safety
    ///
    /// What `sqe` points to stays valid until its completion.
    unsafe fn push(&mut self, sqe: &Entry) {
        loop {
            // SAFETY: forwarded from the caller.
            if unsafe { self.ring.submission().push(sqe) }.is_ok() {
                return;
            }
            match self.ring.submit() {
                Ok(_) => {}
                // The completion queue is full: reap it so the kernel accepts submissions.
                Err(err)
                    if matches!(
                        err.raw_os_error(),
                        Some(libc::EBUSY | libc::EAGAIN | libc::EINTR)
                    ) =>
                {
                    let mut wakers = std::mem::take(&mut self.deferred_wakers);
                    let mut graveyard = std::mem::take(&mut self.deferred_graveyard);
                    self.reap(&mut wakers, &mut graveyard);
                    self.deferred_wakers = wakers;
                    self.deferred_graveyard = graveyard;
                }
                Err(err) => {
                    // Nothing sane remains: an SQE we cannot submit would leave its future
                    // waiting forever and its memory pinned.
                    panic!("io_uring: cannot submit: {err}");
                }
            }
        }
    }

    pub(crate) fn park(
        &mut self,
        timeout: Option<Duration>,
        wakers: &mut Vec<Waker>,
        graveyard: &mut Vec<Box<dyn Any>>,
    ) -> io::Result<()> {
        wakers.append(&mut self.deferred_wakers);
        graveyard.append(&mut self.deferred_graveyard);
        let res = match timeout {
            Some(Duration::ZERO) => {
                let sq = self.ring.submission();
                if sq.is_empty() && !sq.taskrun() && !sq.cq_overflow() {
                    Ok(0)
                } else {
                    drop(sq);
                    self.ring.submit()
                }
            }
            timeout => {
                self.arm_eventfd();
                match timeout {
                    None => self.ring.submit_and_wait(1),
                    Some(timeout) => {
                        let ts = Timespec::from(timeout);
                        let args = SubmitArgs::new().timespec(&ts);
                        self.ring.submitter().submit_with_args(1, &args)
                    }
                }
            }
        };
        match res {
            Ok(_) => {}
            Err(err)
                if matches!(
                    err.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY)
                ) => {}
            Err(err) => return Err(err),
        }
        self.reap(wakers, graveyard);
        Ok(())
    }

    fn arm_eventfd(&mut self) {
        if self.eventfd_armed {
            return;
        }
        self.eventfd_armed = true;
        let buf: *mut u64 = &mut *self.eventfd_buf;
        let sqe = opcode::Read::new(Fd(self.eventfd.as_raw_fd()), buf.cast(), 8)
            .build()
            .user_data(EVENTFD_KEY);
        // SAFETY: `eventfd_buf` is boxed (stable) and owned by the driver, whose `Drop` waits
        // for this read's completion (or cancellation) before freeing it.
        unsafe { self.push(&sqe) };
    }

    fn reap(&mut self, wakers: &mut Vec<Waker>, graveyard: &mut Vec<Box<dyn Any>>) {
        // Copied out first: handling a completion may queue an SQE, which needs the ring.
        let mut cqes = std::mem::take(&mut self.cqes);
        cqes.extend(
            self.ring
                .completion()
                .map(|cqe| (cqe.user_data(), cqe.result(), cqe.flags())),
        );
        for &(user_data, res, flags) in &cqes {
            match user_data {
                EVENTFD_KEY => self.eventfd_armed = false,
                CANCEL_KEY => {}
                key => {
                    let key = key as usize;
                    let Some(slot) = self.ops.get_mut(key) else {
                        log::error!("io_uring: completion for unknown slot {key}");
                        continue;
                    };
                    // A result nobody will take may hold a ring buffer: give it back.
                    if slot.is_orphaned()
                        && let Some(bid) = io_uring::cqueue::buffer_select(flags)
                    {
                        graveyard.push(Box::new(self.buf_ring.lend(bid, 0)));
                    }
                    match slot.complete(res, flags) {
                        AfterCompletion::Nothing => {}
                        AfterCompletion::Wake(waker) => wakers.push(waker),
                        AfterCompletion::Free(payload) => {
                            self.ops.remove(key);
                            graveyard.extend(payload);
                            continue;
                        }
                        AfterCompletion::Detached => {
                            self.detached_completed(key, res, wakers);
                            continue;
                        }
                    }
                    // A receiver that does not keep up is paused before it drains the ring
                    // that every connection of this worker shares; it re-arms once it caught up.
                    if let Lifecycle::Multishot(multi) = &self.ops[key]
                        && multi.kind == MultishotKind::Recv
                        && multi.armed
                        && multi.results.len() == MAX_QUEUED_RECVS
                    {
                        self.cancel(key);
                    }
                }
            }
        }
        cqes.clear();
        self.cqes = cqes;
    }

    /// Makes `waker` the one woken when detached send `key` finishes.
    pub(crate) fn wait_detached(&mut self, key: usize, waker: &Waker) {
        let Some(Lifecycle::Detached(send)) = self.ops.get_mut(key) else {
            unreachable!("slot {key} is a detached send in flight")
        };
        if !send.waiter.as_ref().is_some_and(|w| w.will_wake(waker)) {
            send.waiter = Some(waker.clone());
        }
    }

    /// A completion of detached send `key`: resubmits the rest of a short send, or frees the
    /// slot (the buffer goes to its `done`, the stream's waiter is woken).
    fn detached_completed(&mut self, key: usize, res: i32, wakers: &mut Vec<Waker>) {
        let Lifecycle::Detached(send) = &mut self.ops[key] else {
            unreachable!("slot {key} is a detached send")
        };
        match send.complete(res) {
            Progress::More(sqe) => {
                // SAFETY: as in `detach`: the slot still owns the buffer the entry points into.
                unsafe { self.push(&sqe.user_data(key as u64)) };
            }
            Progress::Done => {
                let Lifecycle::Detached(send) = self.ops.remove(key) else {
                    unreachable!("matched above")
                };
                wakers.extend(send.finish());
            }
        }
    }

    /// Whether any slot still waits for the kernel.
    fn has_in_flight(&self) -> bool {
        self.eventfd_armed
            || self.ops.iter().any(|(_, op)| match op {
                Lifecycle::Completed(..) => false,
                Lifecycle::Multishot(multi) => multi.armed,
                _ => true,
            })
    }
}

impl Drop for UringDriver {
    /// Cancels what is in flight and waits for the kernel to finish with every buffer before
    /// any of it is freed. If the kernel takes unreasonably long, the memory is leaked instead.
    fn drop(&mut self) {
        let in_flight: Vec<usize> = self
            .ops
            .iter()
            .filter(|(_, op)| !matches!(op, Lifecycle::Completed(..)))
            .map(|(key, _)| key)
            .collect();
        for key in in_flight {
            self.cancel(key);
        }
        if self.eventfd_armed {
            let sqe = opcode::AsyncCancel::new(EVENTFD_KEY)
                .build()
                .user_data(CANCEL_KEY);
            // SAFETY: an async-cancel points to no memory.
            unsafe { self.push(&sqe) };
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut wakers = Vec::new();
        let mut graveyard = Vec::new();
        while self.has_in_flight() && Instant::now() < deadline {
            let ts = Timespec::from(Duration::from_millis(100));
            let args = SubmitArgs::new().timespec(&ts);
            let _ = self.ring.submitter().submit_with_args(1, &args);
            self.reap(&mut wakers, &mut graveyard);
        }
        drop(wakers);
        drop(graveyard);
        if self.has_in_flight() {
            log::error!("io_uring: operations still in flight at shutdown; leaking their buffers");
            std::mem::forget(std::mem::take(&mut self.ops));
            std::mem::forget(self.buf_ring.clone());
            std::mem::forget(std::mem::replace(&mut self.eventfd_buf, Box::new(0)));
        }
    }
}

/// Creates a ring with the most optimisations the kernel accepts.
fn build_ring(entries: u32) -> io::Result<IoUring> {
    let mut builder = IoUring::builder();
    builder
        .setup_cqsize(entries.saturating_mul(4))
        .setup_coop_taskrun()
        .setup_taskrun_flag()
        .setup_single_issuer()
        .setup_defer_taskrun();
    match builder.build(entries) {
        Ok(ring) => return Ok(ring),
        Err(err) if err.raw_os_error() == Some(libc::EINVAL) => {}
        Err(err) => return Err(err),
    }
    // Kernels before 6.1 know neither SINGLE_ISSUER nor DEFER_TASKRUN.
    let mut builder = IoUring::builder();
    builder.setup_cqsize(entries.saturating_mul(4));
    builder.build(entries)
}

/// Wakes the worker parked on the ring that reads `eventfd`.
pub(crate) fn signal_eventfd(eventfd: &OwnedFd) -> io::Result<()> {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live local to an fd we own.
    let n = unsafe { libc::write(eventfd.as_raw_fd(), (&raw const one).cast(), 8) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
