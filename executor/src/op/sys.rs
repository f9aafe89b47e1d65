//! The socket calls of the readiness backend. On Linux they are made through `syscall(2)`:
//! glibc's `recv`, `send` and `sendmsg` are thread-cancellation points, and in a process with
//! more than one thread each call switches the thread's cancellation type on and off around
//! the system call (two calls into glibc's cancellation code per call, about 90 instructions
//! per request); the executor never cancels a thread. Elsewhere, the libc functions.

#[cfg(target_os = "linux")]
use std::ptr;

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
    #[cfg(target_os = "linux")]
    // SAFETY: `recvfrom` without an address is `recv` (which is how glibc makes it); `buf` is
    // valid for `len` bytes (the caller's contract).
    let res = unsafe {
        libc::syscall(
            libc::SYS_recvfrom,
            fd,
            buf,
            len,
            flags,
            ptr::null_mut::<libc::sockaddr>(),
            ptr::null_mut::<libc::socklen_t>(),
        )
    };
    #[cfg(not(target_os = "linux"))]
    // SAFETY: `buf` is valid for `len` bytes (the caller's contract).
    let res = unsafe { libc::recv(fd, buf, len, flags) };
    res as libc::ssize_t
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
    #[cfg(target_os = "linux")]
    // SAFETY: `sendto` without an address is `send`; `buf` is valid for `len` bytes (the
    // caller's contract).
    let res = unsafe {
        libc::syscall(
            libc::SYS_sendto,
            fd,
            buf,
            len,
            flags,
            ptr::null::<libc::sockaddr>(),
            0 as libc::socklen_t,
        )
    };
    #[cfg(not(target_os = "linux"))]
    // SAFETY: `buf` is valid for `len` bytes (the caller's contract).
    let res = unsafe { libc::send(fd, buf, len, flags) };
    res as libc::ssize_t
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
    #[cfg(target_os = "linux")]
    // SAFETY: `msg` is a valid message header (the caller's contract).
    let res = unsafe { libc::syscall(libc::SYS_sendmsg, fd, msg, flags) };
    #[cfg(not(target_os = "linux"))]
    // SAFETY: `msg` is a valid message header (the caller's contract).
    let res = unsafe { libc::sendmsg(fd, msg, flags) };
    res as libc::ssize_t
}
