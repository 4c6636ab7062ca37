//! Tuning of the S3 handle, and per-transfer options (content type, user
//! metadata, progress).

pub use crate::config::DEFAULT_CLAIM_PREFIX;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

/// Default size of a multipart part, and the size above which uploads go multipart.
///
/// ```
/// use ms_runtime::s3::{DEFAULT_PART_SIZE, S3Options};
///
/// assert_eq!(S3Options::default().part_size, DEFAULT_PART_SIZE);
/// // fewer, larger parts on a fast link
/// let options = S3Options { part_size: 4 * DEFAULT_PART_SIZE, ..S3Options::default() };
/// # let _ = options;
/// ```
pub const DEFAULT_PART_SIZE: u64 = 8 * 1024 * 1024;
/// Default number of parts (or download ranges) of one transfer in flight at once.
///
/// ```
/// use ms_runtime::s3::{DEFAULT_PARTS_IN_FLIGHT, S3Options};
///
/// assert_eq!(S3Options::default().parts_in_flight, DEFAULT_PARTS_IN_FLIGHT);
/// // less memory per transfer: at most (2 + 1) parts held
/// let options = S3Options { parts_in_flight: 2, ..S3Options::default() };
/// # let _ = options;
/// ```
pub const DEFAULT_PARTS_IN_FLIGHT: usize = 4;
/// Default number of operations the handle runs at once.
///
/// ```
/// use ms_runtime::s3::{DEFAULT_MAX_CONCURRENT, S3Options};
///
/// assert_eq!(S3Options::default().max_concurrent, DEFAULT_MAX_CONCURRENT);
/// let options = S3Options { max_concurrent: 2 * DEFAULT_MAX_CONCURRENT, ..S3Options::default() };
/// # let _ = options;
/// ```
pub const DEFAULT_MAX_CONCURRENT: usize = 16;
/// Default largest object read into memory by `get_bytes` and `fetch_claim`.
///
/// ```
/// use ms_runtime::s3::{DEFAULT_MAX_IN_MEMORY, S3Options};
///
/// assert_eq!(S3Options::default().max_in_memory, DEFAULT_MAX_IN_MEMORY);
/// // a small container: refuse in-memory reads above 32 MiB
/// let options = S3Options { max_in_memory: 32 * 1024 * 1024, ..S3Options::default() };
/// # let _ = options;
/// ```
pub const DEFAULT_MAX_IN_MEMORY: u64 = 256 * 1024 * 1024;

/// How the handle talks to the store: timeouts, retries and bounds.
///
/// Build it with `..S3Options::default()` so new fields keep their defaults.
///
/// ```
/// use std::time::Duration;
/// use ms_runtime::s3::S3Options;
///
/// let options = S3Options { max_attempts: 5, connect_timeout: Duration::from_secs(2), ..S3Options::default() };
/// assert_eq!(options.part_size, 8 * 1024 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Options {
    /// Time allowed to open a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Time allowed between sending a request and the first byte of its answer.
    pub read_timeout: Duration,
    /// Time allowed for one attempt of an operation whose body is not
    /// streamed to the caller (a put, a part, a list, a head). Large objects
    /// move in parts, so this bounds one part, not the whole object.
    pub attempt_timeout: Duration,
    /// Attempts per operation, the first included (standard retry mode:
    /// exponential backoff with jitter, only for retryable failures).
    pub max_attempts: u32,
    /// First retry delay bound.
    pub initial_backoff: Duration,
    /// Operations the handle runs at once; further calls wait (in order) for
    /// a free slot. A transfer counts once, whatever its parts.
    pub max_concurrent: usize,
    /// Size of a multipart part and of a download range. Uploads larger than
    /// this go multipart; S3 wants at least 5 MiB and at most 10 000 parts,
    /// so the part size grows for objects over 10 000 parts.
    pub part_size: u64,
    /// Parts of one upload (or ranges of one download) in flight at once.
    /// Memory used by a streamed upload is at most `part_size` times this
    /// plus one part being filled.
    pub parts_in_flight: usize,
    /// Largest object `get_bytes` and `fetch_claim` read into memory.
    pub max_in_memory: u64,
    /// Endpoint written into presigned URLs, when clients reach the store by
    /// another address than the service does (a public name, a proxy).
    pub public_endpoint: Option<Url>,
    /// Prefix of the keys `put_claim` creates.
    pub claim_prefix: String,
}

impl Default for S3Options {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(30),
            attempt_timeout: Duration::from_secs(120),
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            part_size: DEFAULT_PART_SIZE,
            parts_in_flight: DEFAULT_PARTS_IN_FLIGHT,
            max_in_memory: DEFAULT_MAX_IN_MEMORY,
            public_endpoint: None,
            claim_prefix: DEFAULT_CLAIM_PREFIX.to_owned(),
        }
    }
}

/// How far a transfer has come.
///
/// ```
/// use ms_runtime::s3::{Progress, TransferProgress};
///
/// fn percent(progress: TransferProgress) -> Option<u64> {
///     progress.total.filter(|&total| total > 0).map(|total| progress.done * 100 / total)
/// }
///
/// assert_eq!(percent(TransferProgress { done: 4, total: Some(16) }), Some(25));
/// assert_eq!(percent(TransferProgress { done: 4, total: None }), None);
/// let progress = Progress::new(|p| if let Some(pc) = percent(p) { eprintln!("{pc}%") });
/// # let _ = progress;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferProgress {
    /// Bytes moved so far.
    pub done: u64,
    /// Size of the object, when known (always for files and downloads).
    pub total: Option<u64>,
}

/// A callback told of a transfer's progress: after each part of an upload,
/// after each chunk of a download. It runs on the S3 actor's thread, so it
/// must be quick (update a bar, send on a channel with `try_send`).
///
/// ```no_run
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use ms_runtime::s3::{Progress, PutOptions, S3};
///
/// # async fn demo(s3: S3) -> Result<(), ms_runtime::s3::S3Error> {
/// let sent = Arc::new(AtomicU64::new(0));
/// let counter = sent.clone();
/// let progress = Progress::new(move |p| counter.store(p.done, Ordering::Relaxed));
/// s3.put_file("scans", "big.tiff", "big.tiff", PutOptions::new().progress(progress)).await?;
/// assert_eq!(sent.load(Ordering::Relaxed), s3.head("scans", "big.tiff").await?.size);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Progress(Arc<dyn Fn(TransferProgress) + Send + Sync>);

impl Progress {
    /// Wraps a callback.
    ///
    /// ```
    /// use ms_runtime::s3::Progress;
    ///
    /// let progress = Progress::new(|p| eprintln!("{} of {:?} bytes", p.done, p.total));
    /// # let _ = progress;
    /// ```
    pub fn new(callback: impl Fn(TransferProgress) + Send + Sync + 'static) -> Self {
        Self(Arc::new(callback))
    }

    pub(crate) fn report(&self, done: u64, total: Option<u64>) {
        (self.0)(TransferProgress { done, total });
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Progress(..)")
    }
}

/// Options of one upload: content type, user metadata, progress.
///
/// ```
/// use ms_runtime::s3::PutOptions;
///
/// let options = PutOptions::new()
///     .content_type("application/pdf")
///     .metadata("origin", "scanner-3");
/// assert_eq!(options.metadata["origin"], "scanner-3");
/// ```
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// `Content-Type` stored with the object; S3 uses
    /// `application/octet-stream` when it is `None`.
    pub content_type: Option<String>,
    /// User metadata (`x-amz-meta-*`); keys are lowercased by S3.
    pub metadata: BTreeMap<String, String>,
    /// Told after each part.
    pub progress: Option<Progress>,
}

impl PutOptions {
    /// No content type, no metadata, no progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the content type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Adds one user metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Sets the progress callback.
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }
}

/// Options of one download.
///
/// ```no_run
/// use ms_runtime::s3::{GetOptions, Progress, S3};
///
/// # async fn demo(s3: S3) -> Result<(), ms_runtime::s3::S3Error> {
/// let progress = Progress::new(|p| eprintln!("{} of {:?} bytes", p.done, p.total));
/// let options = GetOptions::new().progress(progress);
/// let size = s3.get_file("datasets", "train.parquet", "train.parquet", options).await?;
/// println!("downloaded {size} bytes");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct GetOptions {
    /// Told after each chunk received.
    pub progress: Option<Progress>,
}

impl GetOptions {
    /// No progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the progress callback.
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }
}
