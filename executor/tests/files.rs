//! File reads on both backends.

mod common;

use std::future::Future;
use std::task::{Context, Waker};

use nanoapi_executor::fs::File;
use nanoapi_executor::yield_now;

fn fixture(name: &str, len: usize) -> (std::path::PathBuf, Vec<u8>) {
    let contents: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    let path = std::env::temp_dir().join(format!("nanoapi-files-{}-{name}", std::process::id()));
    std::fs::write(&path, &contents).unwrap();
    (path, contents)
}

#[test]
fn read_at_reads_the_requested_range() {
    let (path, contents) = fixture("range", 100_000);
    common::on_each_backend(|_| {
        let (path, contents) = (path.clone(), contents.clone());
        async move {
            let file = File::open(&path).await.unwrap();
            let meta = file.metadata().await.unwrap();
            assert_eq!(meta.len(), 100_000);
            assert!(meta.is_file() && !meta.is_dir());
            assert!(meta.modified().is_some());

            let (res, buf) = file.read_at(Vec::with_capacity(1000), 5_000).await;
            assert_eq!(res.unwrap(), 1000);
            assert_eq!(buf, &contents[5_000..6_000]);

            // Reading appends after what the buffer already holds.
            let (res, buf) = file.read_at(buf, 6_000).await;
            assert_eq!(res.unwrap(), 0, "a full buffer has no room");
            let mut buf = buf;
            buf.reserve(10);
            let (res, buf) = file.read_at(buf, 6_000).await;
            let n = res.unwrap();
            assert_eq!(&buf[1000..], &contents[6_000..6_000 + n]);

            let (res, _) = file.read_at(Vec::with_capacity(10), 100_000).await;
            assert_eq!(res.unwrap(), 0, "end of file");
        }
    });
    std::fs::remove_file(path).unwrap();
}

#[test]
fn a_whole_file_reads_back_byte_exact_in_chunks() {
    let (path, contents) = fixture("whole", 1 << 20);
    common::on_each_backend(|_| {
        let (path, contents) = (path.clone(), contents.clone());
        async move {
            let file = File::open(&path).await.unwrap();
            let mut all = Vec::new();
            loop {
                let (res, chunk) = file
                    .read_at(bytes::BytesMut::with_capacity(64 * 1024), all.len() as u64)
                    .await;
                if res.unwrap() == 0 {
                    break;
                }
                all.extend_from_slice(&chunk);
            }
            assert_eq!(all, contents);
        }
    });
    std::fs::remove_file(path).unwrap();
}

#[test]
fn opening_a_missing_file_is_not_found() {
    common::on_each_backend(|_| async {
        let err = File::open("/nonexistent/nanoapi/file").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    });
}

#[test]
fn a_read_dropped_mid_flight_leaves_the_file_usable() {
    let (path, contents) = fixture("dropped", 1 << 20);
    common::on_each_backend(|_| {
        let (path, contents) = (path.clone(), contents.clone());
        async move {
            let file = File::open(&path).await.unwrap();
            for i in 0..100u64 {
                let mut read = Box::pin(file.read_at(Vec::with_capacity(8192), i * 8192));
                let _ = read.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                drop(read);
            }
            yield_now().await;
            let (res, buf) = file.read_at(Vec::with_capacity(4096), 4096).await;
            assert_eq!(res.unwrap(), 4096);
            assert_eq!(buf, &contents[4096..8192]);
        }
    });
    std::fs::remove_file(path).unwrap();
}
