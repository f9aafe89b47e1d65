//! Asynchronous reads of regular files: io_uring operations on the io_uring backend, the
//! blocking pool on the poll backend, so that a file never blocks a worker.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use crate::buf::{BufResult, IoBufMut};
use crate::op;

/// A file opened for reading.
///
/// # Examples
///
/// ```
/// use nanoapi_executor::fs::File;
///
/// let path = std::env::temp_dir().join("nanoapi-fs-doctest.txt");
/// std::fs::write(&path, b"hello file").unwrap();
/// nanoapi_executor::block_on(async {
///     let file = File::open(&path).await.unwrap();
///     let (res, buf) = file.read_at(Vec::with_capacity(5), 6).await;
///     assert_eq!(res.unwrap(), 4);
///     assert_eq!(buf, b"file");
///     assert_eq!(file.metadata().await.unwrap().len(), 10);
/// });
/// ```
pub struct File {
    file: Arc<std::fs::File>,
}

impl File {
    /// Opens `path` read-only.
    ///
    /// # Errors
    ///
    /// As `open` fails (`NotFound`, `PermissionDenied`, ...).
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        Ok(File {
            file: Arc::new(op::file::open(path.as_ref()).await?),
        })
    }

    /// Serves a std file (already open) through the worker.
    pub fn from_std(file: std::fs::File) -> File {
        File {
            file: Arc::new(file),
        }
    }

    /// Reads from `offset` into `buf` after its initialised bytes, up to its capacity; `Ok(0)`
    /// at end of file.
    ///
    /// # Errors
    ///
    /// As `pread` fails.
    pub async fn read_at<B: IoBufMut + Send>(&self, buf: B, offset: u64) -> BufResult<usize, B> {
        op::file::read_at(&self.file, buf, offset).await
    }

    /// The file's size, type and modification time.
    ///
    /// # Errors
    ///
    /// As `statx`/`fstat` fails.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let stat = op::file::stat(&self.file).await?;
        Ok(Metadata {
            len: stat.len,
            mode: stat.mode,
            modified: stat.modified,
        })
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File").field("file", &self.file).finish()
    }
}

/// What [`File::metadata`] reports.
#[derive(Debug, Clone)]
pub struct Metadata {
    len: u64,
    mode: u32,
    modified: Option<SystemTime>,
}

impl Metadata {
    /// The size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether it is a regular file.
    #[allow(clippy::useless_conversion, reason = "mode_t is u16 on Apple systems")]
    pub fn is_file(&self) -> bool {
        self.mode & u32::from(libc::S_IFMT) == u32::from(libc::S_IFREG)
    }

    /// Whether it is a directory.
    #[allow(clippy::useless_conversion, reason = "mode_t is u16 on Apple systems")]
    pub fn is_dir(&self) -> bool {
        self.mode & u32::from(libc::S_IFMT) == u32::from(libc::S_IFDIR)
    }

    /// The last modification time, where the system reports it.
    pub fn modified(&self) -> Option<SystemTime> {
        self.modified
    }
}
