//! Optional SIGINT/SIGTERM handling for a server whose host asked for it
//! (`nanoapi_options.handle_signals`): the handler writes a byte to the server's stop pipe,
//! which is async-signal-safe, and the previous handlers come back when the guard drops.

use std::ffi::c_int;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};

use crate::error::Failure;

/// The stop pipe's write end of the one server that handles signals, or -1.
static STOP_FD: AtomicI32 = AtomicI32::new(-1);

/// The signals that stop a server.
const SIGNALS: [c_int; 2] = [libc::SIGINT, libc::SIGTERM];

/// Signal handlers installed for one server; dropping it restores the previous ones.
#[derive(Debug)]
pub(crate) struct SignalGuard {
    previous: [libc::sigaction; 2],
}

impl SignalGuard {
    /// Makes SIGINT and SIGTERM write a byte to `stop_fd` (a non-blocking descriptor).
    ///
    /// # Errors
    ///
    /// Another server already handles signals; `sigaction` failed.
    pub(crate) fn install(stop_fd: RawFd) -> Result<SignalGuard, Failure> {
        if STOP_FD
            .compare_exchange(-1, stop_fd, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Err(Failure::state("another server already handles signals"));
        }
        // SAFETY: an all-zero `sigaction` is a valid value to be overwritten by `sigaction`.
        let mut previous: [libc::sigaction; 2] = unsafe { std::mem::zeroed() };
        for (signal, previous) in SIGNALS.iter().zip(previous.iter_mut()) {
            // SAFETY: `action` is fully initialised below (zeroed, empty mask, handler,
            // flags) and `previous` is a valid out-pointer; `on_signal` only does
            // async-signal-safe work.
            let rc = unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                libc::sigemptyset(&mut action.sa_mask);
                action.sa_sigaction = on_signal as extern "C" fn(c_int) as libc::sighandler_t;
                action.sa_flags = libc::SA_RESTART;
                libc::sigaction(*signal, &action, previous)
            };
            if rc != 0 {
                let err = std::io::Error::last_os_error();
                STOP_FD.store(-1, Ordering::SeqCst);
                return Err(Failure::io(&err));
            }
        }
        Ok(SignalGuard { previous })
    }
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        for (signal, previous) in SIGNALS.iter().zip(self.previous.iter()) {
            // SAFETY: `previous` is what `sigaction` returned for this signal at install.
            unsafe { libc::sigaction(*signal, previous, std::ptr::null_mut()) };
        }
        STOP_FD.store(-1, Ordering::SeqCst);
    }
}

/// The handler: asks the server to stop. Only async-signal-safe calls (an atomic load and
/// `write`), and `errno` is preserved for the interrupted code.
extern "C" fn on_signal(_signal: c_int) {
    let fd = STOP_FD.load(Ordering::SeqCst);
    if fd < 0 {
        return;
    }
    let errno = errno_location();
    // SAFETY: `errno` is this thread's, readable and writable from a signal handler.
    let saved = unsafe { *errno };
    let byte = 1u8;
    // SAFETY: `write` is async-signal-safe; `byte` is a readable byte. A full pipe (EAGAIN)
    // means a stop is already pending.
    unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    // SAFETY: as above.
    unsafe { *errno = saved };
}

/// This thread's `errno`.
fn errno_location() -> *mut c_int {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: returns this thread's errno address; no preconditions.
    return unsafe { libc::__errno_location() };
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    // SAFETY: as above.
    return unsafe { libc::__error() };
    #[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
    // SAFETY: as above.
    return unsafe { libc::__errno() };
}
