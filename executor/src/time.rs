//! Timers: [`sleep`], [`sleep_until`], [`timeout`] and [`interval`].
//!
//! Each worker keeps its timers in an ordered map keyed by deadline; the earliest deadline
//! becomes the reactor's wait timeout, so a timer costs no syscall of its own. Insert and cancel
//! are O(log n). Resolution is a millisecond: the reactor never wakes before a deadline, and at
//! most about a millisecond after it.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;
use std::future::Future;
use std::num::NonZeroU64;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use crate::runtime::{try_with_current, with_current};

/// A timer's place in its worker's map: the millisecond it is due at (counted from a process-wide
/// epoch; the timer fires at its start, never before the deadline it was asked for), then a
/// sequence number that tells apart timers due at the same millisecond. One word, not an
/// `Instant` and an id: every idle connection keeps a timer, and the map holds twice as many
/// keys per node this way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerKey(NonZeroU64);

/// Bits of a [`TimerKey`] for the sequence number (the rest count milliseconds).
const SEQ_BITS: u32 = 20;
const SEQ_MASK: u64 = (1 << SEQ_BITS) - 1;
/// The latest tick: a century after the epoch (a deadline beyond it fires then), well within
/// the 44 bits left for ticks and within what an `Instant` can hold on every platform.
const MAX_TICK: u64 = 100 * 365 * 24 * 3600 * 1000;

/// The sequence numbers of every worker's map, so that two maps seldom hold the same key (a
/// timer moved from one worker to another must not name a stranger's entry).
static TIMER_SEQ: AtomicU64 = AtomicU64::new(0);

/// The instant ticks count from.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Whole milliseconds from the epoch to `at`, rounded down (`up`: rounded up), saturating.
fn tick_of(at: Instant, up: bool) -> u64 {
    let since = at.saturating_duration_since(epoch());
    let ms = since
        .as_secs()
        .saturating_mul(1000)
        .saturating_add(u64::from(since.subsec_millis()));
    let partial = !since.subsec_nanos().is_multiple_of(1_000_000);
    ms.saturating_add(u64::from(up && partial)).min(MAX_TICK)
}

/// The instant a tick starts at.
fn instant_of(tick: u64) -> Instant {
    epoch() + Duration::from_millis(tick)
}

impl TimerKey {
    fn tick(self) -> u64 {
        self.0.get() >> SEQ_BITS
    }

    /// When the timer fires: at or after the instant it was registered for.
    fn instant(self) -> Instant {
        instant_of(self.tick())
    }
}

/// One worker's pending timers.
///
/// A key means something only in the map that gave it. Keys are drawn from one sequence for
/// every map, so two maps seldom hold the same one; and a timer moved from one worker to another
/// does not trust its key there: a [`Sleep`] remembers its map's [`id`](Timers::id), a
/// [`Deadline`] touches an entry only if it holds the waker the deadline stored.
pub(crate) struct Timers {
    entries: BTreeMap<TimerKey, Waker>,
    /// Which worker's map this is.
    id: u64,
    /// The last tick [`expire`](Timers::expire) reached: every timer due by then has fired,
    /// and every timer in the map is due later.
    reached: u64,
    /// The first timer and its instant, as last computed: the worker asks for it on every pass
    /// of its loop, and it seldom changes between two.
    first: Cell<Option<(TimerKey, Instant)>>,
}

impl Default for Timers {
    fn default() -> Timers {
        static MAPS: AtomicU64 = AtomicU64::new(0);
        Timers {
            entries: BTreeMap::new(),
            id: MAPS.fetch_add(1, Ordering::Relaxed),
            reached: 0,
            first: Cell::new(None),
        }
    }
}

impl Timers {
    fn insert(&mut self, deadline: Instant, waker: Waker) -> TimerKey {
        let mut tick = tick_of(deadline, true);
        let mut tried = 0;
        loop {
            // A million timers later the sequence comes round: a key still in use is skipped,
            // and a millisecond whose every number is in use gives way to the next one (the
            // last one allowed, to the one before).
            if tried == SEQ_MASK {
                tick = if tick < MAX_TICK { tick + 1 } else { tick - 1 };
                tried = 0;
            }
            tried += 1;
            let seq = TIMER_SEQ.fetch_add(1, Ordering::Relaxed) % SEQ_MASK;
            let key = TimerKey(NonZeroU64::MIN.saturating_add(seq) | tick << SEQ_BITS);
            if let Entry::Vacant(vacant) = self.entries.entry(key) {
                vacant.insert(waker);
                return key;
            }
        }
    }

    fn update(&mut self, key: TimerKey, waker: &Waker) {
        if let Some(stored) = self.entries.get_mut(&key)
            && !stored.will_wake(waker)
        {
            stored.clone_from(waker);
        }
    }

    /// Gives `key`'s entry `waker`, if the entry holds `owner`'s; whether it did.
    fn update_owned(&mut self, key: TimerKey, owner: &Waker, waker: &Waker) -> bool {
        match self.entries.get_mut(&key) {
            Some(stored) if stored.will_wake(owner) => {
                stored.clone_from(waker);
                true
            }
            _ => false,
        }
    }

    fn remove(&mut self, key: TimerKey) {
        self.entries.remove(&key);
    }

    /// Removes `key`'s entry if it holds `owner`'s waker.
    fn remove_owned(&mut self, key: TimerKey, owner: &Waker) {
        if let Entry::Occupied(entry) = self.entries.entry(key)
            && entry.get().will_wake(owner)
        {
            entry.remove();
        }
    }

    /// Whether `key`'s timer has not fired yet (told without reading a clock).
    fn is_pending(&self, key: TimerKey) -> bool {
        key.tick() > self.reached
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let (&key, _) = self.entries.first_key_value()?;
        match self.first.get() {
            Some((cached, at)) if cached == key => Some(at),
            _ => {
                let at = key.instant();
                self.first.set(Some((key, at)));
                Some(at)
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Moves the wakers of every timer due at `now` into `wakers`.
    pub(crate) fn expire(&mut self, now: Instant, wakers: &mut Vec<Waker>) {
        if self.next_deadline().is_none_or(|first| first > now) {
            return;
        }
        let reached = tick_of(now, false);
        self.reached = self.reached.max(reached);
        while let Some(entry) = self.entries.first_entry() {
            if entry.key().tick() > reached {
                break;
            }
            wakers.push(entry.remove());
        }
    }
}

/// Waits until `duration` has passed.
///
/// # Panics
///
/// When polled off a worker thread.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// nanoapi_executor::block_on(async {
///     let start = Instant::now();
///     nanoapi_executor::time::sleep(Duration::from_millis(5)).await;
///     assert!(start.elapsed() >= Duration::from_millis(5));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(Instant::now() + duration)
}

/// Waits until `deadline`.
///
/// # Panics
///
/// When polled off a worker thread.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        registered: None,
    }
}

/// The future returned by [`sleep`] and [`sleep_until`].
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Instant,
    /// The key of this timer, and the id of the worker's map that holds it, once registered.
    registered: Option<(TimerKey, u64)>,
}

impl Sleep {
    /// When this sleep ends.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline (a sleep that already ended starts again).
    pub fn reset(&mut self, deadline: Instant) {
        self.unregister();
        self.deadline = deadline;
    }

    fn unregister(&mut self) {
        if let Some((key, map)) = self.registered.take() {
            try_with_current(|ctx| {
                let mut timers = ctx.timers.borrow_mut();
                if timers.id == map {
                    timers.remove(key);
                }
            });
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            self.unregister();
            return Poll::Ready(());
        }
        let deadline = self.deadline;
        let registered = self.registered;
        // Registered in this worker's map: keep its waker current. Not yet, or in another
        // worker's map (this sleep was moved): register here.
        self.registered = Some(with_current(|ctx| {
            let mut timers = ctx.timers.borrow_mut();
            match registered {
                Some((key, map)) if map == timers.id => {
                    timers.update(key, cx.waker());
                    (key, map)
                }
                _ => (timers.insert(deadline, cx.waker().clone()), timers.id),
            }
        }));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.unregister();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// The worker's clock: the instant read when this worker last came back from waiting in its
/// reactor, so at most one pass of its loop old (every timer due by then has fired). Reading
/// it costs no clock read: for deadlines counted in seconds, set and checked per request.
/// Off a worker thread it is [`Instant::now`].
///
/// # Examples
///
/// ```
/// use std::time::Instant;
/// use nanoapi_executor::time::coarse_now;
///
/// nanoapi_executor::block_on(async {
///     assert!(coarse_now() <= Instant::now());
/// });
/// ```
pub fn coarse_now() -> Instant {
    try_with_current(|ctx| ctx.now.get()).unwrap_or_else(Instant::now)
}

/// A deadline that can be moved often and cheaply: the timeouts of a connection (idle,
/// header, body, write stall) that move forward with every request. It is judged by the
/// worker's clock ([`coarse_now`]): it ends at the first pass of the worker's loop at or after
/// its instant.
///
/// Moving it costs no timer work: the worker's timer stays registered at the old instant,
/// and when that fires early the deadline re-registers at its current instant (once per timeout
/// period at most, rather than once per wait). Only moving a deadline earlier than its
/// registered timer touches the timer map. One waiter at a time: the task that polls it last
/// is the one woken.
///
/// # Examples
///
/// ```
/// use std::future::poll_fn;
/// use std::time::{Duration, Instant};
/// use nanoapi_executor::time::Deadline;
///
/// nanoapi_executor::block_on(async {
///     let mut deadline = Deadline::new(Instant::now() + Duration::from_secs(60));
///     deadline.set(Instant::now() + Duration::from_millis(1));
///     poll_fn(|cx| deadline.poll_elapsed(cx)).await;
///     assert!(Instant::now() >= deadline.at());
/// });
/// ```
pub struct Deadline {
    at: Instant,
    /// The timer registered for this deadline (due at or before `at`, unless the deadline
    /// moved earlier since), with `waker`: its entry is the one that holds `waker`.
    registered: Option<TimerKey>,
    /// The waker stored with the timer.
    waker: Option<Waker>,
}

impl Deadline {
    /// A deadline at `at`; no timer is registered until it is polled.
    pub fn new(at: Instant) -> Deadline {
        Deadline {
            at,
            registered: None,
            waker: None,
        }
    }

    /// When the deadline is.
    pub fn at(&self) -> Instant {
        self.at
    }

    /// Moves the deadline to `at`.
    pub fn set(&mut self, at: Instant) {
        // The timer is due at or before the old instant (give or take its millisecond), so
        // only a move earlier can leave it due too late.
        let earlier = at < self.at;
        self.at = at;
        if earlier && self.registered.is_some_and(|key| key.instant() > at) {
            self.unregister();
        }
    }

    /// `Ready` once the deadline has passed; otherwise makes sure the worker wakes this task
    /// by then.
    ///
    /// # Panics
    ///
    /// When polled off a worker thread.
    pub fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // The worker fired every timer due at its clock, so a timer registered at or before it
        // has fired; a deadline that passed since is seen at the next pass.
        let now = coarse_now();
        if now >= self.at {
            self.unregister();
            return Poll::Ready(());
        }
        // The usual case: polled again by the task whose waker the timer holds, and the timer,
        // due at or before `at`, has not fired yet.
        if let (Some(key), Some(owner)) = (self.registered, &self.waker)
            && owner.will_wake(cx.waker())
            && with_current(|ctx| ctx.timers.borrow().is_pending(key))
        {
            return Poll::Pending;
        }
        self.register(cx.waker());
        Poll::Pending
    }

    /// Runs `fut` until this deadline at most.
    ///
    /// # Errors
    ///
    /// [`Elapsed`] when the deadline passes first (`fut` is dropped).
    pub async fn run<F: Future>(&mut self, fut: F) -> Result<F::Output, Elapsed> {
        let mut fut = std::pin::pin!(fut);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(output) = fut.as_mut().poll(cx) {
                return Poll::Ready(Ok(output));
            }
            self.poll_elapsed(cx).map(|()| Err(Elapsed(())))
        })
        .await
    }

    /// Makes sure a timer due at or before `at` wakes `waker`.
    #[cold]
    fn register(&mut self, waker: &Waker) {
        with_current(|ctx| {
            let mut timers = ctx.timers.borrow_mut();
            if let (Some(key), Some(owner)) = (self.registered, &self.waker)
                && timers.is_pending(key)
                && timers.update_owned(key, owner, waker)
            {
                // Another waker, taken by the deadline's own entry (there is none in this
                // worker's map when the deadline was polled on another worker before).
                self.waker = Some(waker.clone());
                return;
            }
            // Never registered, the timer fired (or is firing) before the deadline moved
            // there, or it is another worker's: register at the deadline.
            if let (Some(key), Some(owner)) = (self.registered.take(), self.waker.take()) {
                timers.remove_owned(key, &owner);
            }
            self.registered = Some(timers.insert(self.at, waker.clone()));
            self.waker = Some(waker.clone());
        });
    }

    fn unregister(&mut self) {
        if let (Some(key), Some(owner)) = (self.registered.take(), self.waker.take()) {
            try_with_current(|ctx| ctx.timers.borrow_mut().remove_owned(key, &owner));
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.unregister();
    }
}

impl fmt::Debug for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deadline").field("at", &self.at).finish()
    }
}

/// The error of [`timeout`]: the deadline passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> Self {
        std::io::ErrorKind::TimedOut.into()
    }
}

/// Runs `fut` for at most `duration`; on expiry `fut` is dropped (cancelling any I/O it had
/// in flight) and `Err(Elapsed)` is returned.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use nanoapi_executor::time::{sleep, timeout};
///
/// nanoapi_executor::block_on(async {
///     let res = timeout(Duration::from_millis(1), sleep(Duration::from_secs(60))).await;
///     assert!(res.is_err());
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, fut: F) -> Timeout<F> {
    Timeout {
        fut,
        sleep: sleep(duration),
    }
}

/// Runs `fut` until `deadline` at most; see [`timeout`].
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use nanoapi_executor::time::{sleep, timeout_at};
///
/// nanoapi_executor::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(1);
///     assert!(timeout_at(deadline, sleep(Duration::from_secs(60))).await.is_err());
/// });
/// ```
pub fn timeout_at<F: Future>(deadline: Instant, fut: F) -> Timeout<F> {
    Timeout {
        fut,
        sleep: sleep_until(deadline),
    }
}

pin_project! {
    /// The future returned by [`timeout`] and [`timeout_at`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Timeout<F> {
        #[pin]
        fut: F,
        sleep: Sleep,
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.fut.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("deadline", &self.sleep.deadline)
            .finish_non_exhaustive()
    }
}

/// A stream of ticks `period` apart, the first one immediately. A tick that is late does not
/// make the next ones early: missed ticks are skipped.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// nanoapi_executor::block_on(async {
///     let mut ticks = nanoapi_executor::time::interval(Duration::from_millis(2));
///     for _ in 0..3 {
///         ticks.tick().await;
///     }
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    assert!(!period.is_zero(), "interval period must be non-zero");
    Interval {
        period,
        sleep: sleep_until(Instant::now()),
    }
}

/// The ticker returned by [`interval`].
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    sleep: Sleep,
}

impl Interval {
    /// Waits for the next tick and returns when it was due.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let due = self.sleep.deadline();
        match Pin::new(&mut self.sleep).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                let now = Instant::now();
                let mut next = due + self.period;
                if next <= now {
                    // Skip the ticks that were missed rather than firing them in a burst.
                    let behind = (now - due).as_nanos() / self.period.as_nanos();
                    next = due + self.period * u32::try_from(behind + 1).unwrap_or(u32::MAX);
                }
                self.sleep.reset(next);
                Poll::Ready(due)
            }
        }
    }

    /// The time between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }
}

impl futures_core::Stream for Interval {
    type Item = Instant;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.poll_tick(cx).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;
    use std::time::{Duration, Instant};

    use super::*;

    /// A waker of its own (wakers made from distinct `Arc`s never `will_wake` each other).
    fn distinct_waker() -> Waker {
        struct Nobody;
        impl std::task::Wake for Nobody {
            fn wake(self: std::sync::Arc<Self>) {}
        }
        Waker::from(std::sync::Arc::new(Nobody))
    }

    /// A sleep and a deadline registered on one worker, then moved to another whose map holds
    /// other timers under the very same keys (a collision, made by hand): polling, moving and
    /// ending the strangers there leaves those entries alone, and the strangers register anew.
    #[test]
    fn timers_moved_to_another_worker_leave_its_entries_alone() {
        let rt = crate::Runtime::builder().workers(2).build().unwrap();
        let at = Instant::now() + Duration::from_millis(300);
        let moved = rt
            .block_on(rt.handle().spawn_on(0, move || async move {
                let mut sleep = Box::pin(sleep_until(at));
                let mut deadline = Deadline::new(at);
                let waker = distinct_waker();
                let mut cx = Context::from_waker(&waker);
                assert!(sleep.as_mut().poll(&mut cx).is_pending());
                assert!(deadline.poll_elapsed(&mut cx).is_pending());
                (sleep, deadline)
            }))
            .unwrap();
        let done = rt.block_on(rt.handle().spawn_on(1, move || async move {
            let (mut sleep, mut deadline) = moved;
            let keys = [sleep.registered.unwrap().0, deadline.registered.unwrap()];
            let strangers = distinct_waker();
            let held = || {
                with_current(|ctx| {
                    let timers = ctx.timers.borrow();
                    keys.iter()
                        .filter(|key| {
                            timers
                                .entries
                                .get(key)
                                .is_some_and(|w| w.will_wake(&strangers))
                        })
                        .count()
                })
            };
            with_current(|ctx| {
                for key in keys {
                    ctx.timers
                        .borrow_mut()
                        .entries
                        .insert(key, strangers.clone());
                }
            });
            // Polled here by another task, then moved earlier (which unregisters), then ended.
            let waker = distinct_waker();
            let mut cx = Context::from_waker(&waker);
            assert!(sleep.as_mut().poll(&mut cx).is_pending());
            assert!(deadline.poll_elapsed(&mut cx).is_pending());
            assert_ne!(sleep.registered.unwrap().0, keys[0], "registered anew");
            assert_ne!(deadline.registered.unwrap(), keys[1], "registered anew");
            deadline.set(at - Duration::from_millis(100));
            assert_eq!(held(), 2, "the strangers' entries are untouched");
            std::future::poll_fn(|cx| deadline.poll_elapsed(cx)).await;
            drop(deadline);
            assert_eq!(held(), 2);
            sleep.await;
            // The strangers' timers were due with the sleep: fired, not removed early.
            held()
        }));
        assert_eq!(done.unwrap(), 0);
    }

    #[test]
    fn a_timer_key_is_one_word_and_keys_in_use_are_skipped() {
        assert_eq!(std::mem::size_of::<Option<TimerKey>>(), 8);
        let mut timers = Timers::default();
        let at = Instant::now() + Duration::from_secs(5);
        // The keys the next eight sequence numbers would give at that millisecond, taken
        // beforehand (other threads may draw numbers meanwhile: the assertions hold either way).
        let tick = tick_of(at, true);
        let base = TIMER_SEQ.load(Ordering::Relaxed);
        let taken: Vec<TimerKey> = (0..8)
            .map(|i| {
                TimerKey(NonZeroU64::MIN.saturating_add((base + i) % SEQ_MASK) | tick << SEQ_BITS)
            })
            .collect();
        for key in &taken {
            timers.entries.insert(*key, Waker::noop().clone());
        }
        let key = timers.insert(at, Waker::noop().clone());
        assert!(!taken.contains(&key), "a key in use is never given again");
        assert_eq!(key.tick(), tick);
        assert_eq!(timers.entries.len(), 9, "nothing was overwritten");
    }

    #[test]
    fn timers_expire_in_deadline_order_and_only_when_due() {
        let mut timers = Timers::default();
        let now = Instant::now();
        let ms = Duration::from_millis;
        let late = timers.insert(now + ms(20), Waker::noop().clone());
        timers.insert(now + ms(10), Waker::noop().clone());
        timers.insert(now + ms(10), Waker::noop().clone());
        // Millisecond resolution: due at the start of the millisecond the deadline is in, or
        // of the next one, never before the deadline.
        let first = timers.next_deadline().expect("three timers");
        assert!(first >= now + ms(10) && first < now + ms(11), "{first:?}");

        let mut woken = Vec::new();
        timers.expire(now + ms(9), &mut woken);
        assert!(woken.is_empty());
        timers.expire(first - Duration::from_nanos(1), &mut woken);
        assert!(woken.is_empty(), "not a nanosecond early");
        timers.expire(first, &mut woken);
        assert_eq!(woken.len(), 2, "both timers due at 10 ms, none other");
        assert_eq!(timers.next_deadline(), Some(late.instant()));
        assert!(late.instant() >= now + ms(20) && late.instant() < now + ms(21));

        timers.remove(late);
        assert!(timers.is_empty());
    }

    #[test]
    fn a_dropped_sleep_removes_its_timer() {
        crate::block_on(async {
            let count = || with_current(|ctx| ctx.timers.borrow().entries.len());
            let mut sleeps: Vec<_> = (0..1000)
                .map(|i| Box::pin(sleep(Duration::from_secs(3600 + i))))
                .collect();
            let mut cx = Context::from_waker(Waker::noop());
            for sleep in &mut sleeps {
                assert!(sleep.as_mut().poll(&mut cx).is_pending());
            }
            assert_eq!(count(), 1000);
            drop(sleeps);
            assert_eq!(count(), 0);
        });
    }

    #[test]
    fn a_deadline_moved_later_keeps_its_timer_and_re_registers_when_it_fires() {
        crate::block_on(async {
            let count = || with_current(|ctx| ctx.timers.borrow().entries.len());
            let start = Instant::now();
            let mut deadline = Deadline::new(start + Duration::from_millis(20));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(deadline.poll_elapsed(&mut cx).is_pending());
            assert_eq!(count(), 1);
            for i in 1..100 {
                deadline.set(start + Duration::from_millis(40 + i));
                assert!(deadline.poll_elapsed(&mut cx).is_pending());
            }
            assert_eq!(count(), 1, "moving later touches no timer");
            // The worker fires the deadline's timer at 20 ms, with this sleep's.
            sleep_until(start + Duration::from_millis(20)).await;
            assert_eq!(count(), 0, "the timer fired at its first instant");
            if Instant::now() < deadline.at() {
                assert!(deadline.poll_elapsed(&mut cx).is_pending());
                assert_eq!(count(), 1, "re-registered at the current deadline");
            }
            std::future::poll_fn(|cx| deadline.poll_elapsed(cx)).await;
            assert!(Instant::now() >= start + Duration::from_millis(139));
            assert_eq!(count(), 0);
        });
    }

    #[test]
    fn a_deadline_moved_earlier_replaces_its_timer() {
        crate::block_on(async {
            let count = || with_current(|ctx| ctx.timers.borrow().entries.len());
            let start = Instant::now();
            let mut deadline = Deadline::new(start + Duration::from_secs(60));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(deadline.poll_elapsed(&mut cx).is_pending());
            deadline.set(start + Duration::from_millis(5));
            assert_eq!(count(), 0, "the later timer is gone");
            let res = deadline.run(std::future::pending::<()>()).await;
            assert!(res.is_err() && Instant::now() >= start + Duration::from_millis(5));
            drop(deadline);
            assert_eq!(count(), 0);
        });
    }

    #[test]
    fn a_sleep_polled_again_keeps_one_timer() {
        crate::block_on(async {
            let mut sleep = Box::pin(sleep(Duration::from_secs(60)));
            let mut cx = Context::from_waker(Waker::noop());
            for _ in 0..3 {
                assert!(sleep.as_mut().poll(&mut cx).is_pending());
            }
            assert_eq!(with_current(|ctx| ctx.timers.borrow().entries.len()), 1);
        });
    }
}
