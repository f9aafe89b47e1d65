//! Sleep, timeout and interval.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use nanoapi_executor::spawn_local;
use nanoapi_executor::time::{interval, sleep, timeout};

#[test]
fn sleeps_end_in_deadline_order_and_never_early() {
    common::on_each_backend(|_| async {
        let order = Rc::new(RefCell::new(Vec::new()));
        let start = Instant::now();
        let handles: Vec<_> = [30u64, 10, 20, 0]
            .into_iter()
            .map(|ms| {
                let order = order.clone();
                spawn_local(async move {
                    sleep(Duration::from_millis(ms)).await;
                    assert!(start.elapsed() >= Duration::from_millis(ms));
                    order.borrow_mut().push(ms);
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        assert_eq!(*order.borrow(), [0, 10, 20, 30]);
    });
}

#[test]
fn timeout_gives_the_output_when_in_time_and_elapsed_otherwise() {
    common::on_each_backend(|_| async {
        assert_eq!(timeout(Duration::from_secs(5), async { 4 }).await, Ok(4));
        let late = timeout(Duration::from_millis(5), sleep(Duration::from_secs(60))).await;
        assert!(late.is_err());
    });
}

#[test]
fn interval_ticks_at_its_period_and_skips_missed_ticks() {
    common::on_each_backend(|_| async {
        let period = Duration::from_millis(10);
        let mut ticks = interval(period);
        let first = ticks.tick().await;
        let second = ticks.tick().await;
        assert_eq!(second - first, period);
        // Fall behind by several periods: the next tick comes once, then on the grid again.
        sleep(period * 5).await;
        let late = ticks.tick().await;
        let next = ticks.tick().await;
        assert!(late >= second + period);
        // The sleep put the clock at least 5 periods past `second`; `late` is the first missed
        // tick (`second + period`), so the next one is on the grid past the sleep: a burst
        // would deliver `late + period` instead. (A comparison with `Instant::now()` here
        // would flake when the test thread is descheduled.)
        assert!(next - late >= period * 3, "no burst of missed ticks");
        assert_eq!(
            (next - first).as_nanos() % period.as_nanos(),
            0,
            "ticks stay on the grid"
        );
    });
}
