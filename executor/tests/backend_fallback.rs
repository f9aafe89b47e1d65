//! `Backend::Auto` falls back to poll where io_uring is refused (as container seccomp profiles
//! do); an explicit `IoUring` errors instead. The refusal is a seccomp filter installed in a
//! child process (this test binary, re-executed).
#![cfg(target_os = "linux")]

use std::process::Command;

use nanoapi_executor::{Backend, Runtime};

const CHILD_ENV: &str = "NANOAPI_SECCOMP_CHILD";
const TEST_NAME: &str = "auto_falls_back_to_poll_when_io_uring_is_refused";

#[test]
fn auto_falls_back_to_poll_when_io_uring_is_refused() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
        return;
    }
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .env_remove("NANOAPI_BACKEND")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the child's checks failed");
}

fn child() {
    refuse_io_uring_setup();
    let auto = Runtime::builder()
        .workers(1)
        .build()
        .expect("Auto builds on poll");
    assert_eq!(auto.backend(), Backend::Poll);
    assert_eq!(auto.block_on(async { 1 }), 1);

    let err = Runtime::builder()
        .workers(1)
        .backend(Backend::IoUring)
        .build()
        .unwrap_err();
    assert_eq!(
        err.raw_os_error(),
        Some(libc::EPERM),
        "an explicit backend never falls back"
    );

    // SAFETY: no other thread of this child reads the environment concurrently.
    unsafe { std::env::set_var("NANOAPI_BACKEND", "uring") };
    assert!(
        Runtime::builder().workers(1).build().is_err(),
        "NANOAPI_BACKEND=uring is explicit"
    );
}

/// Makes `io_uring_setup` fail with `EPERM` for this thread and the threads it starts.
fn refuse_io_uring_setup() {
    let filter = [
        // Load the syscall number (offset 0 of `struct seccomp_data`).
        bpf_stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0),
        bpf_jump(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            libc::SYS_io_uring_setup as u32,
            0,
            1,
        ),
        bpf_stmt(
            libc::BPF_RET | libc::BPF_K,
            libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        ),
        bpf_stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: plain prctl calls; `prog` points at `filter`, both alive during the call (the
    // kernel copies the program).
    unsafe {
        assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        assert_eq!(
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &raw const prog
            ),
            0
        );
    }
}

fn bpf_stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

fn bpf_jump(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}
