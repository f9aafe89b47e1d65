//! `nanoapi_options`: what a host sets before the server starts, and its conversion to the
//! runtime's [`Options`].

use std::ffi::c_int;
use std::net::IpAddr;
use std::time::Duration;

use nanoapi::executor::Backend;
use nanoapi::server::Options;

use crate::error::{Failure, guard};
use crate::types::nanoapi_str;

/// `NANOAPI_BACKEND` from the environment if set, else io_uring where it works, else poll.
pub const NANOAPI_BACKEND_AUTO: c_int = 0;
/// io_uring, with no fallback.
pub const NANOAPI_BACKEND_URING: c_int = 1;
/// Readiness (epoll, kqueue).
pub const NANOAPI_BACKEND_POLL: c_int = 2;

/// Server options. Fill with [`nanoapi_options_init`], then change what you need; zero in a
/// numeric field means the default.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nanoapi_options {
    /// The address to listen on, e.g. `127.0.0.1` or `::` (empty: 127.0.0.1). Copied by
    /// `nanoapi_server_new`.
    pub host: nanoapi_str,
    /// The port (0: the kernel chooses; read it back with `nanoapi_server_port`).
    pub port: u16,
    /// Reactor threads (0: one per core).
    pub workers: u32,
    /// `NANOAPI_BACKEND_AUTO`, `NANOAPI_BACKEND_URING` or `NANOAPI_BACKEND_POLL`.
    pub backend: c_int,
    /// Threads that run the dispatch callback (0: 8).
    pub dispatch_threads: u32,
    /// Requests that may wait for a dispatch thread; beyond, requests get 503 (0: 256).
    pub dispatch_queue: u32,
    /// Largest request body in bytes; larger is 413 (0: 2 MiB).
    pub max_body: u64,
    /// Longest request head in bytes; longer is 431 (0: 16 KiB).
    pub max_head: u32,
    /// Longest request-target in bytes; longer is 414 (0: 8 KiB).
    pub max_target: u32,
    /// Most header fields; more is 431 (0: 100).
    pub max_headers: u32,
    /// How long stopping lets in-flight requests finish, in milliseconds (0: 30 s).
    pub shutdown_timeout_ms: u64,
    /// Non-zero: from `nanoapi_server_start` until `nanoapi_server_run`
    /// returns, SIGINT and SIGTERM stop the server (the previous handlers are restored after).
    /// Zero (the default): the library installs no signal handler.
    pub handle_signals: c_int,
}

/// Default dispatch threads: enough for handlers that block on I/O, few enough for a small
/// machine.
const DEFAULT_DISPATCH_THREADS: u32 = 8;
/// Default dispatch queue: a burst of this many waits rather than getting 503.
const DEFAULT_DISPATCH_QUEUE: u32 = 256;

/// Fills `options` with the defaults: 127.0.0.1:8080, the runtime's limits and timeouts,
/// 8 dispatch threads, no signal handling.
///
/// # Safety
///
/// `options` must be NULL or point to writable memory for one `nanoapi_options`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanoapi_options_init(options: *mut nanoapi_options) -> c_int {
    guard("nanoapi_options_init", || {
        if options.is_null() {
            return Err(Failure::invalid("options is NULL"));
        }
        let defaults = Options::default();
        let init = nanoapi_options {
            host: nanoapi_str::EMPTY,
            port: defaults.port,
            workers: 0,
            backend: NANOAPI_BACKEND_AUTO,
            dispatch_threads: DEFAULT_DISPATCH_THREADS,
            dispatch_queue: DEFAULT_DISPATCH_QUEUE,
            max_body: defaults.limits.max_body,
            max_head: saturate(defaults.limits.max_head),
            max_target: saturate(defaults.limits.max_target),
            max_headers: saturate(defaults.limits.max_headers),
            shutdown_timeout_ms: saturate_u64(defaults.shutdown_timeout.as_millis()),
            handle_signals: 0,
        };
        // SAFETY: `options` is non-null and the caller promises it is writable.
        unsafe { options.write(init) };
        Ok(())
    })
}

/// The runtime options and pool sizes a host's options describe.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) options: Options,
    pub(crate) dispatch_threads: usize,
    pub(crate) dispatch_queue: usize,
    pub(crate) handle_signals: bool,
}

impl Config {
    /// Reads `raw`, copying its strings.
    ///
    /// # Safety
    ///
    /// `raw.host` must satisfy [`nanoapi_str::as_bytes`].
    pub(crate) unsafe fn from_raw(raw: &nanoapi_options) -> Result<Config, Failure> {
        // SAFETY: forwarded from the caller.
        let host = unsafe { raw.host.as_bytes() };
        let mut options = Options::default();
        if !host.is_empty() {
            let host = std::str::from_utf8(host)
                .ok()
                .and_then(|host| host.parse::<IpAddr>().ok())
                .ok_or_else(|| {
                    Failure::invalid(format!(
                        "host {:?} is not an IP address",
                        String::from_utf8_lossy(host)
                    ))
                })?;
            options.host = host;
        }
        options.port = raw.port;
        if raw.workers > 0 {
            options = options.workers(raw.workers as usize);
        }
        options.backend = match raw.backend {
            NANOAPI_BACKEND_AUTO => Backend::Auto,
            NANOAPI_BACKEND_URING => Backend::IoUring,
            NANOAPI_BACKEND_POLL => Backend::Poll,
            other => return Err(Failure::invalid(format!("unknown backend {other}"))),
        };
        let limits = &mut options.limits;
        if raw.max_body > 0 {
            limits.max_body = raw.max_body;
        }
        if raw.max_head > 0 {
            limits.max_head = raw.max_head as usize;
        }
        if raw.max_target > 0 {
            limits.max_target = raw.max_target as usize;
        }
        if raw.max_headers > 0 {
            limits.max_headers = raw.max_headers as usize;
        }
        if raw.shutdown_timeout_ms > 0 {
            options.shutdown_timeout = Duration::from_millis(raw.shutdown_timeout_ms);
        }
        Ok(Config {
            options,
            dispatch_threads: or_default(raw.dispatch_threads, DEFAULT_DISPATCH_THREADS),
            dispatch_queue: or_default(raw.dispatch_queue, DEFAULT_DISPATCH_QUEUE),
            handle_signals: raw.handle_signals != 0,
        })
    }
}

fn or_default(value: u32, default: u32) -> usize {
    (if value == 0 { default } else { value }) as usize
}

fn saturate(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn saturate_u64(value: u128) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> nanoapi_options {
        let mut raw = std::mem::MaybeUninit::<nanoapi_options>::uninit();
        // SAFETY: `raw` is writable memory for one options struct.
        assert_eq!(unsafe { nanoapi_options_init(raw.as_mut_ptr()) }, 0);
        // SAFETY: initialised by the call above.
        unsafe { raw.assume_init() }
    }

    #[test]
    fn defaults_are_the_runtimes() {
        // SAFETY: the default host is the empty string.
        let config = unsafe { Config::from_raw(&defaults()) }.unwrap();
        let runtime = Options::default();
        assert_eq!(config.options.addr(), runtime.addr());
        assert_eq!(config.options.limits, runtime.limits);
        assert_eq!(config.options.shutdown_timeout, runtime.shutdown_timeout);
        assert_eq!(config.options.backend, Backend::Auto);
        assert_eq!((config.dispatch_threads, config.dispatch_queue), (8, 256));
        assert!(!config.handle_signals);
    }

    #[test]
    fn fields_override_the_defaults() {
        let mut raw = defaults();
        let host = "::1";
        raw.host = nanoapi_str::from_slice(host.as_bytes());
        raw.port = 0;
        raw.backend = NANOAPI_BACKEND_POLL;
        raw.max_body = 10;
        raw.max_headers = 3;
        raw.dispatch_threads = 2;
        // SAFETY: `host` outlives the call.
        let config = unsafe { Config::from_raw(&raw) }.unwrap();
        assert_eq!(config.options.addr(), "[::1]:0".parse().unwrap());
        assert_eq!(config.options.backend, Backend::Poll);
        assert_eq!(config.options.limits.max_body, 10);
        assert_eq!(config.options.limits.max_headers, 3);
        assert_eq!(config.dispatch_threads, 2);
    }

    #[test]
    fn bad_host_and_backend_are_refused() {
        let mut raw = defaults();
        raw.host = nanoapi_str::from_slice(b"localhost");
        // SAFETY: the host is a static string.
        let err = unsafe { Config::from_raw(&raw) }.unwrap_err();
        assert!(format!("{err:?}").contains("localhost"));
        let mut raw = defaults();
        raw.backend = 9;
        // SAFETY: the default host is the empty string.
        assert!(unsafe { Config::from_raw(&raw) }.is_err());
        // SAFETY: NULL is allowed and refused.
        let code = unsafe { nanoapi_options_init(std::ptr::null_mut()) };
        assert_eq!(code, crate::NANOAPI_ERR_INVALID);
    }
}
