//! The reactors. One [`Driver`] per worker, chosen at start-up: io_uring (completion-based,
//! Linux) or poll (readiness-based, through `polling`). Both sit behind the same operations in
//! `crate::op`, so the rest of the crate never names a backend.

mod heap_pool;
pub(crate) mod poll;
#[cfg(target_os = "linux")]
pub(crate) mod uring;

use std::any::Any;
use std::io;
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

pub(crate) use heap_pool::{HeapBuf, HeapPool};

/// Per-worker reactor settings.
#[derive(Clone, Debug)]
pub(crate) struct DriverConfig {
    pub(crate) ring_entries: u32,
    pub(crate) recv_buf_count: u16,
    pub(crate) recv_buf_size: usize,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            ring_entries: 1024,
            recv_buf_count: 512,
            recv_buf_size: 4096,
        }
    }
}

/// A backend settled at start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DriverKind {
    IoUring,
    Poll,
}

impl DriverKind {
    /// io_uring if a ring with every feature this crate needs can be set up here, else poll.
    pub(crate) fn probe(config: &DriverConfig) -> DriverKind {
        #[cfg(target_os = "linux")]
        match uring::UringDriver::new(config) {
            Ok(_) => return DriverKind::IoUring,
            Err(err) => log::info!("io_uring is not available ({err}); using the poll backend"),
        }
        let _ = config;
        DriverKind::Poll
    }
}

#[allow(
    clippy::large_enum_variant,
    reason = "one per worker, reached on every operation: no box"
)]
pub(crate) enum Driver {
    #[cfg(target_os = "linux")]
    Uring(uring::UringDriver),
    Poll(poll::PollDriver),
}

impl Driver {
    pub(crate) fn new(kind: DriverKind, config: &DriverConfig) -> io::Result<Driver> {
        match kind {
            #[cfg(target_os = "linux")]
            DriverKind::IoUring => Ok(Driver::Uring(uring::UringDriver::new(config)?)),
            #[cfg(not(target_os = "linux"))]
            DriverKind::IoUring => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "io_uring is only available on Linux",
            )),
            DriverKind::Poll => Ok(Driver::Poll(poll::PollDriver::new()?)),
        }
    }

    /// The io_uring reactor; only operations created on an io_uring worker call this.
    #[cfg(target_os = "linux")]
    pub(crate) fn uring(&mut self) -> &mut uring::UringDriver {
        match self {
            Driver::Uring(driver) => driver,
            Driver::Poll(_) => unreachable!("an io_uring operation on a poll worker"),
        }
    }

    /// The readiness reactor; only operations created on a poll worker call this.
    pub(crate) fn poll(&mut self) -> &mut poll::PollDriver {
        match self {
            Driver::Poll(driver) => driver,
            #[cfg(target_os = "linux")]
            Driver::Uring(_) => unreachable!("a readiness operation on an io_uring worker"),
        }
    }

    pub(crate) fn unparker(&self) -> Unparker {
        match self {
            #[cfg(target_os = "linux")]
            Driver::Uring(driver) => Unparker::Uring(driver.eventfd()),
            Driver::Poll(driver) => Unparker::Poll(driver.poller()),
        }
    }

    /// Waits up to `timeout` (`None`: without limit) for completions or readiness, and collects
    /// the wakers to wake and the abandoned payloads to drop (the caller does both once the
    /// driver is no longer borrowed).
    pub(crate) fn park(
        &mut self,
        timeout: Option<Duration>,
        wakers: &mut Vec<Waker>,
        graveyard: &mut Vec<Box<dyn Any>>,
    ) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Driver::Uring(driver) => driver.park(timeout, wakers, graveyard),
            Driver::Poll(driver) => {
                let _ = graveyard;
                driver.park(timeout, wakers)
            }
        }
    }
}

/// Wakes a worker blocked in its reactor, from any thread.
pub(crate) enum Unparker {
    #[cfg(target_os = "linux")]
    Uring(Arc<std::os::fd::OwnedFd>),
    Poll(Arc<polling::Poller>),
}

impl Unparker {
    pub(crate) fn unpark(&self) {
        let res = match self {
            #[cfg(target_os = "linux")]
            Unparker::Uring(eventfd) => uring::signal_eventfd(eventfd),
            Unparker::Poll(poller) => poller.notify(),
        };
        if let Err(err) = res {
            log::error!("cannot wake a worker: {err}");
        }
    }
}

/// Where the bytes of a [`PooledBuf`](crate::PooledBuf) live.
pub(crate) enum PooledStorage {
    #[cfg(target_os = "linux")]
    Ring(uring::RingBuf),
    Heap(HeapBuf),
    /// End of stream, received without taking a buffer.
    Empty,
}

impl PooledStorage {
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            #[cfg(target_os = "linux")]
            PooledStorage::Ring(buf) => buf.as_slice(),
            PooledStorage::Heap(buf) => buf.as_slice(),
            PooledStorage::Empty => &[],
        }
    }
}
