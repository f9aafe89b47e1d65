//! The `Date` header value, rendered at most once a second per thread.
//!
//! Thread-per-core makes a thread-local cache natural: no synchronisation. A serving worker
//! runs a refresher task that re-renders the value at each second boundary
//! ([`refresh_every_second`]), so a response costs no clock read; elsewhere the cache checks
//! the clock on each call and re-renders when the second changed.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

/// The length of an IMF-fixdate: `"Sun, 06 Nov 1994 08:49:37 GMT".len()`.
pub const DATE_VALUE_LENGTH: usize = 29;

thread_local! {
    /// The second the cached value renders, and the value.
    static CACHE: Cell<(u64, [u8; DATE_VALUE_LENGTH])> = const { Cell::new((u64::MAX, [0; DATE_VALUE_LENGTH])) };
    /// How many refresher tasks keep `CACHE` current on this thread.
    static REFRESHERS: Cell<usize> = const { Cell::new(0) };
}

/// The current time as an IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
///
/// # Examples
///
/// ```
/// let date = nanoapi::http::http_date();
/// assert!(date.ends_with(b" GMT"));
/// ```
pub fn http_date() -> [u8; DATE_VALUE_LENGTH] {
    if REFRESHERS.get() > 0 {
        return CACHE.get().1;
    }
    refresh()
}

/// Re-renders the cached value if the second changed; returns it.
fn refresh() -> [u8; DATE_VALUE_LENGTH] {
    let now = unix_now().as_secs();
    CACHE.with(|cache| {
        let (second, value) = cache.get();
        if second == now {
            return value;
        }
        let value = render(now);
        cache.set((now, value));
        value
    })
}

fn unix_now() -> std::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Keeps this worker's Date cache current until dropped: re-renders at every second boundary,
/// so that [`http_date`] reads no clock. Run it as a task on each serving worker.
///
/// # Panics
///
/// Off a worker thread (it sleeps on the worker's timers).
pub async fn refresh_every_second() {
    struct Registered;
    impl Drop for Registered {
        fn drop(&mut self) {
            REFRESHERS.set(REFRESHERS.get() - 1);
        }
    }
    refresh();
    REFRESHERS.set(REFRESHERS.get() + 1);
    let _registered = Registered;
    loop {
        // Wake just after the next second begins (a millisecond late at most, the timers'
        // resolution): the value is at most that stale.
        let into_second = unix_now().subsec_nanos();
        let until_next = std::time::Duration::from_nanos(1_000_000_000 - u64::from(into_second));
        nanoapi_executor::time::sleep(until_next).await;
        refresh();
    }
}

const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Renders `secs` since the Unix epoch as an IMF-fixdate.
pub(crate) fn render(secs: u64) -> [u8; DATE_VALUE_LENGTH] {
    let days = secs / 86_400;
    let secs_of_day = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    // 1970-01-01 was a Thursday.
    out[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    two_digits(&mut out[5..7], day);
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    let year = year.min(9999);
    two_digits(&mut out[12..14], year / 100);
    two_digits(&mut out[14..16], year % 100);
    two_digits(&mut out[17..19], secs_of_day / 3600);
    two_digits(&mut out[20..22], secs_of_day / 60 % 60);
    two_digits(&mut out[23..25], secs_of_day % 60);
    out
}

fn two_digits(out: &mut [u8], n: u64) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

/// Year, month (1–12) and day (1–31) of the `days`-th day after 1970-01-01, in the proleptic
/// Gregorian calendar (Howard Hinnant's `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(secs: u64) -> String {
        String::from_utf8(render(secs).to_vec()).unwrap()
    }

    #[test]
    fn renders_known_instants() {
        assert_eq!(rendered(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        // RFC 9110's example.
        assert_eq!(rendered(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        // A leap day, and the last second of a century leap year.
        assert_eq!(rendered(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(rendered(978_307_199), "Sun, 31 Dec 2000 23:59:59 GMT");
        assert_eq!(rendered(1_795_564_800), "Wed, 25 Nov 2026 00:00:00 GMT");
    }

    #[test]
    fn agrees_with_a_day_by_day_walk_for_sixty_years() {
        let mut expected = (1970u64, 1u64, 1u64);
        for days in 0..(60 * 366) {
            assert_eq!(civil_from_days(days), expected, "day {days}");
            let (y, m, d) = expected;
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let month_len = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ][m as usize - 1];
            expected = if d < month_len {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
    }

    #[test]
    fn a_refresher_serves_the_date_without_reading_the_clock_until_dropped() {
        nanoapi_executor::block_on(async {
            let refresher = nanoapi_executor::spawn_local(refresh_every_second());
            nanoapi_executor::yield_now().await;
            assert_eq!(REFRESHERS.get(), 1);
            let cached = http_date();
            let now = unix_now().as_secs();
            assert!(
                cached == render(now) || cached == render(now - 1),
                "the current second (or the one just ended)"
            );
            drop(refresher);
            nanoapi_executor::yield_now().await;
            assert_eq!(
                REFRESHERS.get(),
                0,
                "a dropped refresher no longer vouches for the cache"
            );
        });
    }

    #[test]
    fn the_cache_serves_the_current_second() {
        let a = http_date();
        let b = http_date();
        assert!(
            a == b || a[..20] == b[..20],
            "two calls within a second (or across its edge)"
        );
        assert_eq!(&a[25..], b" GMT");
    }
}
