//! Shared by the `s3_*` tests: an in-process s3s-fs server that checks
//! signatures, and handles connected to it.
#![allow(dead_code)] // each test binary uses part of it
#![allow(clippy::unwrap_used)] // test helpers: a failure here is a test failure

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use ms_runtime::S3Config;
use ms_runtime::s3::{S3, S3Options};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

pub const ACCESS_KEY: &str = "test-access";
pub const SECRET_KEY: &str = "test-secret-key-0123";

/// An s3s-fs server on 127.0.0.1, on its own thread and runtime.
pub struct Server {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let fs = s3s_fs::FileSystem::new(dir.path()).unwrap();
        let service = {
            let mut builder = S3ServiceBuilder::new(fs);
            builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
            builder.build()
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let http = ConnBuilder::new(TokioExecutor::new());
                loop {
                    let socket = tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok((socket, _)) => socket,
                            Err(_) => continue,
                        },
                        _ = &mut stop_rx => break,
                    };
                    let _ = socket.set_nodelay(true);
                    let connection = http
                        .serve_connection(TokioIo::new(socket), service.clone())
                        .into_owned();
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                }
            });
            rt.shutdown_timeout(Duration::from_secs(1));
        });
        Self {
            addr,
            dir,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn config(&self) -> S3Config {
        config_for(&self.endpoint(), SECRET_KEY)
    }

    /// A handle with generous timeouts: on a loaded 2-core CI machine a
    /// connect to the in-process server can take seconds, and these tests
    /// are about behaviour, not speed.
    pub fn handle(&self) -> S3 {
        let options = S3Options {
            connect_timeout: std::time::Duration::from_secs(30),
            read_timeout: std::time::Duration::from_secs(60),
            ..S3Options::default()
        };
        S3::connect_with(&self.config(), options).unwrap()
    }

    pub fn handle_with(&self, options: S3Options) -> S3 {
        S3::connect_with(&self.config(), options).unwrap()
    }

    /// Stops the server and waits for its thread: connections are dropped.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub fn config_for(endpoint: &str, secret: &str) -> S3Config {
    ms_runtime::Config::from_vars([
        ("MS_S3_ENDPOINT", endpoint),
        ("MS_S3_ACCESS_KEY_ID", ACCESS_KEY),
        ("MS_S3_SECRET_ACCESS_KEY", secret),
        ("MS_S3_BUCKET", "test-bucket"),
    ])
    .unwrap()
    .s3
    .unwrap()
}

/// Awaits `fut`, failing the test with `what` if it takes over 30 s.
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    within_for(Duration::from_secs(30), what, fut).await
}

/// Awaits `fut`, failing the test with `what` if it takes over `limit`.
pub async fn within_for<T>(limit: Duration, what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, fut).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

/// Deterministic test bytes.
pub fn pattern(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Peak resident memory of this process (VmHWM), in bytes.
pub fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
