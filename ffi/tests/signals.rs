//! `handle_signals`: SIGTERM stops a running server, and the previous handler comes back. Its
//! own test binary, as signal dispositions belong to the whole process.

use std::ffi::{c_int, c_void};
use std::ptr;

use nanoapi_ffi::*;

unsafe extern "C" fn ok(
    _: *mut c_void,
    _: *const nanoapi_request,
    w: *mut nanoapi_writer,
) -> c_int {
    let empty = nanoapi_str {
        ptr: ptr::null(),
        len: 0,
    };
    // SAFETY: `w` is this callback's writer.
    unsafe { nanoapi_writer_send(w, 204, empty, ptr::null(), 0, empty) }
}

fn handler_of(signal: c_int) -> libc::sighandler_t {
    // SAFETY: a query: no new action, a valid out-pointer.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, ptr::null(), &mut current);
        current.sa_sigaction
    }
}

#[derive(Clone, Copy)]
struct Server(*mut nanoapi_server);
// SAFETY: `nanoapi_server_run` may be called from another thread; the test frees the server only
// after joining that thread.
unsafe impl Send for Server {}

#[test]
fn sigterm_stops_a_server_that_asked_for_signals_and_the_old_handler_returns() {
    let before = handler_of(libc::SIGTERM);
    let mut options = std::mem::MaybeUninit::uninit();
    let mut server = ptr::null_mut();
    // SAFETY: valid pointers; the options are initialised before use.
    unsafe {
        assert_eq!(nanoapi_options_init(options.as_mut_ptr()), NANOAPI_OK);
        let mut options = options.assume_init();
        options.port = 0;
        options.workers = 1;
        options.handle_signals = 1;
        assert_eq!(nanoapi_server_new(&options, &mut server), NANOAPI_OK);
        assert_eq!(
            nanoapi_server_set_dispatch(server, Some(ok), ptr::null_mut()),
            NANOAPI_OK
        );
        assert_eq!(nanoapi_server_start(server), NANOAPI_OK);
    }
    // Installed at start, so a signal from now on stops the server.
    assert_ne!(handler_of(libc::SIGTERM), before);
    let handle = Server(server);
    let runner = std::thread::spawn(move || {
        let handle = handle;
        // SAFETY: the server outlives this thread (joined below).
        unsafe { nanoapi_server_run(handle.0) }
    });
    // SAFETY: our handler is installed; it writes to the stop pipe and returns.
    assert_eq!(unsafe { libc::raise(libc::SIGTERM) }, 0);
    assert_eq!(runner.join().unwrap(), NANOAPI_OK);
    assert_eq!(
        handler_of(libc::SIGTERM),
        before,
        "the previous handler is restored"
    );
    // SAFETY: run returned; nothing else uses the server.
    unsafe { nanoapi_server_free(server) };
}
