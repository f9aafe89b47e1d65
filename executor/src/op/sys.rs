//! The socket calls of the readiness backend, with `recv(2)`'s, `send(2)`'s and `sendmsg(2)`'s
//! signatures. On Linux they are made through `syscall(2)`: glibc's functions are
//! thread-cancellation points, and in a process with more than one thread each call switches
//! the thread's cancellation type on and off around the system call (two calls into glibc's
//! cancellation code, about 90 instructions per request); the executor never cancels a
//! thread. Elsewhere they are libc's.

#[cfg(not(target_os = "linux"))]
pub(crate) use libc::{recv, send, sendmsg};
#[cfg(target_os = "linux")]
pub(crate) use linux::{recv, send, sendmsg};

#[cfg(target_os = "linux")]
mod linux {
    /// `recv(2)`: `len` bytes at most into `buf`.
    ///
    /// # Safety
    ///
    /// `buf` must be valid for writes of `len` bytes.
    pub(crate) unsafe fn recv(
        fd: libc::c_int,
        buf: *mut libc::c_void,
        len: usize,
        flags: libc::c_int,
    ) -> libc::ssize_t {
        // SAFETY: `recvfrom` without an address is `recv` (which is how glibc makes it);
        // `buf` is valid for writes of `len` bytes (the caller's contract).
        unsafe { without_address(libc::SYS_recvfrom, fd, buf, len, flags) }
    }

    /// `send(2)`: `len` bytes at most from `buf`.
    ///
    /// # Safety
    ///
    /// `buf` must be valid for reads of `len` bytes.
    pub(crate) unsafe fn send(
        fd: libc::c_int,
        buf: *const libc::c_void,
        len: usize,
        flags: libc::c_int,
    ) -> libc::ssize_t {
        // SAFETY: `sendto` without an address is `send`; the kernel only reads `buf`, which
        // is valid for reads of `len` bytes (the caller's contract).
        unsafe { without_address(libc::SYS_sendto, fd, buf.cast_mut(), len, flags) }
    }

    /// `sendmsg(2)`.
    ///
    /// # Safety
    ///
    /// `msg` must point to a valid `msghdr` whose buffers are valid for reads.
    pub(crate) unsafe fn sendmsg(
        fd: libc::c_int,
        msg: *const libc::msghdr,
        flags: libc::c_int,
    ) -> libc::ssize_t {
        // SAFETY: `msg` is a valid message header (the caller's contract).
        unsafe { libc::syscall(libc::SYS_sendmsg, fd, msg, flags) as libc::ssize_t }
    }

    /// `recvfrom(2)` or `sendto(2)` (`call`) with no peer address: a null address and a null
    /// (zero) length as the two last arguments.
    ///
    /// # Safety
    ///
    /// `buf` must be valid for `len` bytes in the direction of `call`.
    unsafe fn without_address(
        call: libc::c_long,
        fd: libc::c_int,
        buf: *mut libc::c_void,
        len: usize,
        flags: libc::c_int,
    ) -> libc::ssize_t {
        let none = std::ptr::null_mut::<libc::c_void>();
        // SAFETY: the arguments are those of `call` (the caller's contract for `buf`); a null
        // pointer is both `recvfrom`'s absent length pointer and `sendto`'s zero length.
        unsafe { libc::syscall(call, fd, buf, len, flags, none, none) as libc::ssize_t }
    }
}
