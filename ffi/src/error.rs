//! Return codes, the per-thread last error message, and the boundary guard that keeps panics
//! from unwinding into the host.

use std::cell::RefCell;
use std::ffi::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::types::nanoapi_str;

/// Success.
pub const NANOAPI_OK: c_int = 0;
/// An argument is wrong: a NULL pointer, an invalid status or header field, a host that does
/// not parse.
pub const NANOAPI_ERR_INVALID: c_int = -1;
/// A call out of order: configuring a started server, a second response, a chunk before
/// `start_chunked`.
pub const NANOAPI_ERR_STATE: c_int = -2;
/// The operating system refused: the address cannot be bound, the runtime cannot start.
pub const NANOAPI_ERR_IO: c_int = -3;
/// The connection is gone: the client left or the server is shutting down.
pub const NANOAPI_ERR_CLOSED: c_int = -4;
/// A bug inside the library was caught at the boundary (a panic); the message says where.
pub const NANOAPI_ERR_PANIC: c_int = -5;

thread_local! {
    /// The message of the last failed call on this thread.
    static LAST_ERROR: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The message of the last call that failed on this thread (empty if none did). The bytes stay
/// valid until the next failing call on this thread.
#[unsafe(no_mangle)]
pub extern "C" fn nanoapi_last_error() -> nanoapi_str {
    LAST_ERROR.with(|last| {
        let last = last.borrow();
        // The buffer is only replaced by a later failure on this thread, as documented.
        nanoapi_str::from_slice(&last)
    })
}

/// A failure to report to the host: its code and message.
#[derive(Debug)]
pub(crate) struct Failure {
    code: c_int,
    message: String,
}

impl Failure {
    pub(crate) fn invalid(message: impl Into<String>) -> Failure {
        Failure {
            code: NANOAPI_ERR_INVALID,
            message: message.into(),
        }
    }

    pub(crate) fn state(message: impl Into<String>) -> Failure {
        Failure {
            code: NANOAPI_ERR_STATE,
            message: message.into(),
        }
    }

    pub(crate) fn io(err: &std::io::Error) -> Failure {
        Failure {
            code: NANOAPI_ERR_IO,
            message: err.to_string(),
        }
    }

    pub(crate) fn closed(err: &std::io::Error) -> Failure {
        Failure {
            code: NANOAPI_ERR_CLOSED,
            message: err.to_string(),
        }
    }
}

/// Runs `f` for an entry point that returns a code: its failure is stored as this thread's last
/// error, and a panic becomes [`NANOAPI_ERR_PANIC`] instead of unwinding into the host.
pub(crate) fn guard(name: &str, f: impl FnOnce() -> Result<(), Failure>) -> c_int {
    let failure = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => return NANOAPI_OK,
        Ok(Err(failure)) => failure,
        Err(panic) => Failure {
            code: NANOAPI_ERR_PANIC,
            message: format!("{name} panicked: {}", panic_message(&*panic)),
        },
    };
    log::debug!("{name}: {}", failure.message);
    let code = failure.code;
    LAST_ERROR.with(|last| *last.borrow_mut() = failure.message.into_bytes());
    code
}

/// Runs `f` for an entry point that returns a value: a panic gives `fallback` (and is logged)
/// instead of unwinding into the host.
pub(crate) fn guard_value<T>(name: &str, fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let message = format!("{name} panicked: {}", panic_message(&*panic));
        log::error!("{message}");
        LAST_ERROR.with(|last| *last.borrow_mut() = message.into_bytes());
        fallback
    })
}

/// The text of a panic payload, when it has one.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    nanoapi::executor::future::panic_message(panic).unwrap_or("(no message)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_error() -> String {
        // SAFETY: the message is valid until the next failure on this thread.
        String::from_utf8_lossy(unsafe { nanoapi_last_error().as_bytes() }).into_owned()
    }

    #[test]
    fn a_failure_sets_its_code_and_message() {
        let code = guard("test", || Err(Failure::invalid("bad thing")));
        assert_eq!(code, NANOAPI_ERR_INVALID);
        assert_eq!(last_error(), "bad thing");
    }

    #[test]
    fn a_panic_is_caught_and_named() {
        let code = guard("nanoapi_test", || panic!("boom"));
        assert_eq!(code, NANOAPI_ERR_PANIC);
        assert_eq!(last_error(), "nanoapi_test panicked: boom");
        assert_eq!(guard_value("nanoapi_test", 7, || panic!("bang")), 7);
        assert_eq!(last_error(), "nanoapi_test panicked: bang");
    }

    #[test]
    fn success_leaves_the_last_error_alone() {
        guard("test", || Err(Failure::state("earlier")));
        assert_eq!(guard("test", || Ok(())), NANOAPI_OK);
        assert_eq!(last_error(), "earlier");
    }
}
