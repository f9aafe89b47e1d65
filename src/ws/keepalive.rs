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

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Milliseconds after the start, or none.
    type After = Option<u64>;

    /// A row: ping, idle and read timers, when the frame started and when the last ping went,
    /// then what comes due first and when.
    type Case = (After, After, After, After, After, Option<(Due, u64)>);

    /// A keepalive with the given timers, last fed at `t0`.
    fn keepalive(
        ping: Option<u64>,
        idle: Option<u64>,
        read: Option<u64>,
        t0: Instant,
    ) -> Keepalive {
        Keepalive {
            ping_interval: ping.map(ms),
            idle: idle.map(ms),
            read: read.map(ms),
            deadline: Deadline::new(t0),
            last_received: t0,
            frame_started: None,
            last_ping: None,
        }
    }

    #[test]
    fn what_comes_due_first() {
        let t0 = Instant::now();
        let idle = Due::Timeout(Timeout::Idle);
        let read = Due::Timeout(Timeout::Read);
        #[rustfmt::skip]
        let cases: [Case; 8] = [
            (None, None, None, None, None, None),
            (Some(50), None, None, None, None, Some((Due::Ping, 50))),
            // The next ping counts from the last one, not from the last bytes.
            (Some(50), None, None, None, Some(30), Some((Due::Ping, 80))),
            (None, Some(100), None, None, None, Some((idle, 100))),
            // A tie: the timeout wins, a ping could not help any more.
            (Some(100), Some(100), None, None, None, Some((idle, 100))),
            (Some(20), Some(100), None, None, None, Some((Due::Ping, 20))),
            // The read timeout runs only while a frame is incomplete.
            (None, None, Some(10), None, None, None),
            (None, Some(100), Some(10), Some(5), None, Some((read, 15))),
        ];
        for (ping, idle_after, read_after, started, pinged, expected) in cases {
            let mut k = keepalive(ping, idle_after, read_after, t0);
            k.frame_started = started.map(|n| t0 + ms(n));
            k.last_ping = pinged.map(|n| t0 + ms(n));
            let got = k
                .next()
                .map(|(at, due)| (due, (at - t0).as_millis() as u64));
            assert_eq!(
                got, expected,
                "{ping:?} {idle_after:?} {read_after:?} {started:?} {pinged:?}"
            );
        }
    }
}
