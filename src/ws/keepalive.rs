//! What a WebSocket's receiving side watches while it waits for bytes: a ping after a quiet
//! spell, the idle and frame-read timeouts that close a connection whose peer stopped, and the
//! server's drain.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::close::CloseCode;
use super::socket::Limits;
use crate::executor::time::{Deadline, coarse_now};
use crate::server::Watch;

/// What came due while the socket waited for bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Due {
    /// Time to ping the quiet peer.
    Ping,
    /// Time to give up on the peer.
    Timeout(Timeout),
    /// The server drains: time to say goodbye.
    Drain,
}

/// A timeout of [`Limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timeout {
    /// Nothing arrived for the idle timeout.
    Idle,
    /// A frame began to arrive and did not finish within the read timeout.
    Read,
}

impl Timeout {
    /// The close code and reason the socket closes with.
    pub(super) fn close(self) -> (CloseCode, &'static str) {
        match self {
            Timeout::Idle => (CloseCode::GOING_AWAY, "idle timeout"),
            Timeout::Read => (CloseCode::POLICY_VIOLATION, "frame read timeout"),
        }
    }
}

/// The timers of one socket, judged by the worker's clock ([`coarse_now`]).
#[derive(Debug)]
pub(super) struct Keepalive {
    ping_interval: Option<Duration>,
    idle: Option<Duration>,
    read: Option<Duration>,
    deadline: Deadline,
    /// When bytes last arrived (or the socket opened).
    last_received: Instant,
    /// When the bytes of the frame still incomplete in the receive buffer began to arrive.
    frame_started: Option<Instant>,
    /// When the last keepalive ping went out.
    last_ping: Option<Instant>,
}

impl Keepalive {
    /// The timers `limits` ask for; `None` when it sets none (nothing to arm then).
    pub(super) fn new(limits: &Limits) -> Option<Keepalive> {
        if limits.ping_interval.is_none()
            && limits.idle_timeout.is_none()
            && limits.read_timeout.is_none()
        {
            return None;
        }
        let now = coarse_now();
        Some(Keepalive {
            ping_interval: limits.ping_interval,
            idle: limits.idle_timeout,
            read: limits.read_timeout,
            deadline: Deadline::new(now),
            last_received: now,
            frame_started: None,
            last_ping: None,
        })
    }

    /// Bytes arrived; `partial_frame`: the receive buffer still holds the start of a frame
    /// after what could be decoded.
    pub(super) fn received(&mut self, partial_frame: bool) {
        let now = coarse_now();
        self.last_received = now;
        self.frame_started = match self.frame_started {
            Some(started) if partial_frame => Some(started),
            None if partial_frame => Some(now),
            _ => None,
        };
    }

    /// A keepalive ping went out.
    pub(super) fn pinged(&mut self) {
        self.last_ping = Some(coarse_now());
    }

    /// What comes due first, and when.
    fn next(&self) -> Option<(Instant, Due)> {
        let ping = self.ping_interval.map(|interval| {
            let since = self
                .last_ping
                .map_or(self.last_received, |ping| ping.max(self.last_received));
            (since + interval, Due::Ping)
        });
        let idle = self
            .idle
            .map(|idle| (self.last_received + idle, Due::Timeout(Timeout::Idle)));
        let read = self
            .read
            .zip(self.frame_started)
            .map(|(read, started)| (started + read, Due::Timeout(Timeout::Read)));
        // A timeout wins a tie with a ping: the ping could not help any more.
        [idle, read, ping]
            .into_iter()
            .flatten()
            .min_by_key(|(at, _)| *at)
    }
}

/// Polls `recv` (left in place, so an operation in flight is not lost) until it completes, or
/// until a timer of `keepalive` comes due or `drain` is raised first.
///
/// # Errors
///
/// What came due.
pub(super) async fn wait<F: Future>(
    mut keepalive: Option<&mut Keepalive>,
    mut drain: Option<&mut Watch>,
    mut recv: Pin<&mut F>,
) -> Result<F::Output, Due> {
    let due = keepalive.as_deref().and_then(Keepalive::next);
    if let (Some(keepalive), Some((at, _))) = (keepalive.as_deref_mut(), due) {
        keepalive.deadline.set(at);
    }
    poll_fn(|cx| {
        if let Poll::Ready(out) = recv.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        if let Some(drain) = drain.as_deref_mut()
            && drain.poll_raised(cx).is_ready()
        {
            return Poll::Ready(Err(Due::Drain));
        }
        if let (Some(keepalive), Some((_, due))) = (keepalive.as_deref_mut(), due)
            && keepalive.deadline.poll_elapsed(cx).is_ready()
        {
            return Poll::Ready(Err(due));
        }
        Poll::Pending
    })
    .await
}
