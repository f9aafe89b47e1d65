//! Regular-file operations: open, positional read, metadata. io_uring runs them in the kernel;
//! the poll backend (files are always "ready" to readiness APIs, yet block) runs them on the
//! blocking pool.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::buf::{BufResult, IoBufMut};
use crate::runtime::{Handle, lock, with_current};

/// Whether this worker runs file operations as io_uring operations.
fn on_uring() -> bool {
    #[cfg(target_os = "linux")]
    return with_current(|ctx| matches!(*ctx.driver.borrow(), crate::driver::Driver::Uring(_)));
    #[cfg(not(target_os = "linux"))]
    return with_current(|_| false);
}

pub(crate) async fn open(path: &Path) -> io::Result<File> {
    #[cfg(target_os = "linux")]
    if on_uring() {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
        return crate::driver::uring::op::Op::submit(uring::OpenAt { path }).await;
    }
    let path = path.to_owned();
    Handle::current()
        .spawn_blocking(move || File::open(path))
        .await?
}

pub(crate) async fn read_at<B: IoBufMut + Send>(
    file: &Arc<File>,
    buf: B,
    offset: u64,
) -> BufResult<usize, B> {
    #[cfg(target_os = "linux")]
    if on_uring() {
        return crate::driver::uring::op::Op::submit(uring::ReadAt {
            file: file.clone(),
            buf,
            offset,
        })
        .await;
    }
    // The buffer waits in a slot the blocking job borrows it from, so that it comes back even
    // if the job never runs (the pool was shut down).
    let slot = Arc::new(Mutex::new(Some(buf)));
    let job_slot = slot.clone();
    let file = file.clone();
    let res = Handle::current()
        .spawn_blocking(move || {
            let mut guard = lock(&job_slot);
            let buf = guard
                .as_mut()
                .expect("the buffer is in its slot while the job runs");
            pread_into(&file, buf, offset)
        })
        .await;
    let buf = lock(&slot)
        .take()
        .expect("the blocking job gives the buffer back");
    match res {
        Ok(res) => (res, buf),
        Err(err) => (Err(err.into()), buf),
    }
}

fn pread_into<B: IoBufMut>(file: &File, buf: &mut B, offset: u64) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let init = buf.bytes_init();
    let spare = buf.bytes_total() - init;
    let offset =
        libc::off_t::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    loop {
        // SAFETY: the buffer is valid for writes of `bytes_total` bytes, so `spare` from `init`.
        let n = unsafe {
            libc::pread(
                file.as_raw_fd(),
                buf.stable_mut_ptr().add(init).cast(),
                spare,
                offset,
            )
        };
        match super::cvt(n) {
            Ok(n) => {
                // SAFETY: the kernel initialised `n <= spare` bytes after `init`.
                unsafe { buf.set_init(init + n) };
                return Ok(n);
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}

/// A file's size, type and modification time.
pub(crate) struct Stat {
    pub(crate) len: u64,
    pub(crate) mode: u32,
    pub(crate) modified: Option<std::time::SystemTime>,
}

pub(crate) async fn stat(file: &Arc<File>) -> io::Result<Stat> {
    #[cfg(target_os = "linux")]
    if on_uring() {
        return crate::driver::uring::op::Op::submit(uring::Statx::new(file.clone())).await;
    }
    let file = file.clone();
    let meta = Handle::current()
        .spawn_blocking(move || file.metadata())
        .await??;
    use std::os::unix::fs::MetadataExt;
    Ok(Stat {
        len: meta.len(),
        mode: meta.mode(),
        modified: meta.modified().ok(),
    })
}

#[cfg(target_os = "linux")]
mod uring {
    use std::ffi::CString;
    use std::fs::File;
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use io_uring::opcode;
    use io_uring::squeue::Entry;
    use io_uring::types::{self, Fd};

    use super::Stat;
    use crate::buf::{BufResult, IoBufMut};
    use crate::driver::uring::op::UringOp;

    pub(super) struct OpenAt {
        pub(super) path: CString,
    }

    // SAFETY: the SQE points at the `CString`'s heap bytes, which do not move with `self`.
    unsafe impl UringOp for OpenAt {
        type Output = io::Result<File>;
        const RESULT_IS_FD: bool = true;

        fn sqe(&mut self) -> Entry {
            opcode::OpenAt::new(Fd(libc::AT_FDCWD), self.path.as_ptr())
                .flags(libc::O_RDONLY | libc::O_CLOEXEC)
                .build()
        }

        fn complete(self, res: io::Result<u32>, _flags: u32) -> Self::Output {
            // SAFETY: a successful openat completion carries a new fd nothing else owns.
            res.map(|fd| unsafe { File::from_raw_fd(fd as i32) })
        }
    }

    pub(super) struct ReadAt<B> {
        pub(super) file: Arc<File>,
        pub(super) buf: B,
        pub(super) offset: u64,
    }

    // SAFETY: the SQE points into `buf`'s stable memory (IoBufMut); the `Arc` keeps the fd open.
    unsafe impl<B: IoBufMut> UringOp for ReadAt<B> {
        type Output = BufResult<usize, B>;

        fn sqe(&mut self) -> Entry {
            let init = self.buf.bytes_init();
            let spare = u32::try_from(self.buf.bytes_total() - init).unwrap_or(u32::MAX);
            // SAFETY: `init <= bytes_total`, inside the buffer.
            let ptr = unsafe { self.buf.stable_mut_ptr().add(init) };
            opcode::Read::new(Fd(self.file.as_raw_fd()), ptr, spare)
                .offset(self.offset)
                .build()
        }

        fn complete(mut self, res: io::Result<u32>, _flags: u32) -> Self::Output {
            let res = res.map(|n| {
                let n = n as usize;
                let init = self.buf.bytes_init();
                // SAFETY: the kernel wrote `n` bytes after the first `init`.
                unsafe { self.buf.set_init(init + n) };
                n
            });
            (res, self.buf)
        }
    }

    pub(super) struct Statx {
        file: Arc<File>,
        /// `types::statx` is an opaque stand-in; the kernel writes a `libc::statx`.
        buf: Box<libc::statx>,
    }

    impl Statx {
        pub(super) fn new(file: Arc<File>) -> Statx {
            // SAFETY: `statx` is plain integers; all-zero is a valid value.
            let zeroed: libc::statx = unsafe { std::mem::zeroed() };
            Statx {
                file,
                buf: Box::new(zeroed),
            }
        }
    }

    // SAFETY: the SQE points at the boxed statx buffer and a static empty path.
    unsafe impl UringOp for Statx {
        type Output = io::Result<Stat>;

        fn sqe(&mut self) -> Entry {
            opcode::Statx::new(
                Fd(self.file.as_raw_fd()),
                c"".as_ptr(),
                (&raw mut *self.buf).cast::<types::statx>(),
            )
            .flags(libc::AT_EMPTY_PATH)
            .mask(libc::STATX_BASIC_STATS)
            .build()
        }

        fn complete(self, res: io::Result<u32>, _flags: u32) -> Self::Output {
            res?;
            let stx = &*self.buf;
            let mtime = &stx.stx_mtime;
            let modified = u64::try_from(mtime.tv_sec).ok().and_then(|secs| {
                SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, mtime.tv_nsec))
            });
            Ok(Stat {
                len: stx.stx_size,
                mode: u32::from(stx.stx_mode),
                modified,
            })
        }
    }
}
