//! Running out of descriptors on accept: the error reaches the caller and the listener keeps
//! serving once descriptors are free again. The descriptor limit is process-wide, so the
//! scenario runs in a child process (this test binary, re-executed).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use std::time::Duration;

use nanoapi_executor::net::TcpListener;
use nanoapi_executor::time::timeout;
use nanoapi_executor::{Backend, Runtime};

const CHILD_ENV: &str = "NANOAPI_EMFILE_CHILD";
const TEST_NAME: &str = "emfile_on_accept_keeps_the_listener_alive";
const PORT_MARKER: &str = "child-listening-on-port=";
/// Bounds every wait, so that a broken backend fails the test instead of hanging it.
const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn emfile_on_accept_keeps_the_listener_alive() {
    if let Ok(backend) = std::env::var(CHILD_ENV) {
        child(backend.parse().unwrap());
        return;
    }
    for backend in common::backends() {
        let name = if backend == Backend::IoUring {
            "uring"
        } else {
            "poll"
        };
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, name)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let port = loop {
            let mut line = String::new();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "{name}: child exited before listening"
            );
            // The harness prints "test <name> ... " without a newline before the test's output.
            if let Some((_, port)) = line.trim().split_once(PORT_MARKER) {
                break port.parse::<u16>().unwrap();
            }
        };
        let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        client.set_read_timeout(Some(LIMIT)).unwrap();
        let mut reply = String::new();
        client.read_to_string(&mut reply).unwrap();
        assert_eq!(reply, "accepted after EMFILE", "{name}");
        assert!(child.wait().unwrap().success(), "{name}: child failed");
    }
}

fn child(backend: Backend) {
    Runtime::builder()
        .backend(backend)
        .block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            // Lower the limit to what is open now plus a few, then use those up.
            let open = common::open_fds() as libc::rlim_t;
            let limit = libc::rlimit {
                rlim_cur: open + 8,
                rlim_max: open + 64,
            };
            // SAFETY: `limit` is a valid rlimit.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
            let mut hogs = Vec::new();
            let exhausted = loop {
                match std::fs::File::open("/dev/null") {
                    Ok(file) => hogs.push(file),
                    Err(err) => break err,
                }
            };
            assert_eq!(exhausted.raw_os_error(), Some(libc::EMFILE));
            println!("{PORT_MARKER}{port}");

            let err = timeout(LIMIT, listener.accept())
                .await
                .unwrap()
                .unwrap_err();
            assert_eq!(
                err.raw_os_error(),
                Some(libc::EMFILE),
                "accept reports EMFILE"
            );
            drop(hogs);
            let (stream, _) = timeout(LIMIT, listener.accept())
                .await
                .unwrap()
                .expect("the listener serves again");
            stream
                .write_all(&b"accepted after EMFILE"[..])
                .await
                .0
                .unwrap();
        })
        .unwrap();
}
