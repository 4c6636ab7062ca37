//! `S3`: the public handle of the S3 actor, and the types its operations
//! return.
//!
//! The operations themselves sit beside their code, each module adding its
//! own `impl S3` block (`upload`, `download`, `list`, `ops`): they depend on
//! this handle, never the reverse.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use actix::Addr;
use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::actor::{self, Job, S3Actor};
use super::client;
use super::error::S3Error;
use super::options::S3Options;
use crate::config::S3Config;
use crate::metrics::{Direction, S3Metrics};

/// What operations share: the SDK client and the settings.
pub(crate) struct Shared {
    pub client: aws_sdk_s3::Client,
    /// Client whose endpoint is the public one, for presigned URLs.
    pub presigner: aws_sdk_s3::Client,
    pub options: S3Options,
    pub endpoint: String,
    pub region: String,
}

/// Handle to the S3 actor: every object storage operation, as async methods.
///
/// Cheap to clone; all clones share one actor, one connection pool and one
/// bound on concurrent operations ([`S3Options::max_concurrent`]: further
/// calls wait their turn, in order). The actor runs on its own arbiter, so
/// transfers never hold up the caller's thread; it stops when the last
/// handle is dropped and its running operations have finished.
///
/// Operations name their bucket; [`S3::bucket`] gives the configured default.
///
/// # Examples
///
/// ```no_run
/// use ms_runtime::s3::{PutOptions, S3};
/// use ms_runtime::Config;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let config = Config::from_env()?;
/// let s3 = S3::connect(config.s3.as_ref().ok_or("no MS_S3_* settings")?)?;
/// let bucket = s3.bucket()?.to_owned();
/// s3.put_bytes(&bucket, "hello.txt", "hi".into(), PutOptions::new().content_type("text/plain")).await?;
/// assert_eq!(&s3.get_bytes(&bucket, "hello.txt").await?[..], b"hi");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct S3 {
    addr: Addr<S3Actor>,
    permits: Arc<Semaphore>,
    shared: Arc<Shared>,
    bucket: Option<String>,
    /// Where operations are counted: the service's metrics for the handles
    /// the runtime makes, nowhere for handles made with `connect`.
    metrics: Option<S3Metrics>,
}

impl fmt::Debug for S3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3")
            .field("endpoint", &self.shared.endpoint)
            .field("region", &self.shared.region)
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

/// What an upload stored.
///
/// ```no_run
/// use ms_runtime::s3::{PutOptions, S3};
///
/// # async fn demo(s3: S3) -> Result<(), ms_runtime::s3::S3Error> {
/// let uploaded = s3.put_file("scans", "2024/big.tiff", "big.tiff", PutOptions::new()).await?;
/// println!("stored {} bytes in {} parts, etag {:?}", uploaded.size, uploaded.parts, uploaded.etag);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// Bytes stored.
    pub size: u64,
    /// The object's ETag, as the store sent it (quoted).
    pub etag: Option<String>,
    /// Parts of a multipart upload; 0 for a single `PUT`.
    pub parts: u32,
}

/// What `head` knows about an object.
///
/// ```no_run
/// use ms_runtime::s3::S3;
///
/// # async fn demo(s3: S3) -> Result<(), ms_runtime::s3::S3Error> {
/// let info = s3.head("scans", "2024/a.pdf").await?;
/// println!("{} bytes of {:?}", info.size, info.content_type);
/// if let Some(origin) = info.metadata.get("origin") {
///     println!("scanned by {origin}");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Size in bytes.
    pub size: u64,
    /// ETag, quoted.
    pub etag: Option<String>,
    /// Content type stored with the object.
    pub content_type: Option<String>,
    /// Last modification.
    pub last_modified: Option<SystemTime>,
    /// User metadata (`x-amz-meta-*`), keys lowercase.
    pub metadata: BTreeMap<String, String>,
}

/// An object's body as a stream of chunks, with its size.
///
/// Holds one of the handle's operation slots until dropped.
///
/// ```no_run
/// use futures_util::TryStreamExt;
/// use ms_runtime::s3::S3;
///
/// # async fn demo(s3: S3) -> Result<(), ms_runtime::s3::S3Error> {
/// let mut object = s3.get_stream("logs", "2024-06-01.jsonl").await?;
/// let mut lines = 0;
/// while let Some(chunk) = object.try_next().await? {
///     lines += chunk.iter().filter(|&&byte| byte == b'\n').count();
/// }
/// println!("{lines} lines in {} bytes", object.size);
/// # Ok(()) }
/// ```
pub struct ObjectStream {
    /// Size of the object, from `Content-Length`.
    pub size: u64,
    /// Content type stored with the object.
    pub content_type: Option<String>,
    pub(crate) chunks: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, S3Error>> + Send>>,
}

impl fmt::Debug for ObjectStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStream")
            .field("size", &self.size)
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

impl Stream for ObjectStream {
    type Item = Result<Bytes, S3Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.chunks.as_mut().poll_next(cx)
    }
}

impl S3 {
    /// Starts the S3 actor on a new arbiter of the current actix system,
    /// with default [`S3Options`].
    ///
    /// No request is sent: a wrong endpoint or key shows on the first
    /// operation (use [`S3::ensure_bucket`] at start-up to check early).
    ///
    /// # Errors
    /// [`S3Error::InvalidConfig`] when there are no credentials (neither in
    /// `config` nor in `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`) and the
    /// `aws-chain` feature is off, or when
    /// called outside a running actix system.
    ///
    /// # Examples
    /// ```no_run
    /// use ms_runtime::s3::S3;
    ///
    /// # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = ms_runtime::Config::from_vars([
    ///     ("MS_S3_ENDPOINT", "http://127.0.0.1:9000"),
    ///     ("MS_S3_ACCESS_KEY_ID", "minio"),
    ///     ("MS_S3_SECRET_ACCESS_KEY", "minio-secret"),
    ///     ("MS_S3_BUCKET", "claims"),
    /// ])?;
    /// let s3 = S3::connect(config.s3.as_ref().ok_or("no S3")?)?;
    /// s3.ensure_bucket("claims").await?;
    /// # Ok(()) }
    /// ```
    pub fn connect(config: &S3Config) -> Result<Self, S3Error> {
        Self::connect_with(config, S3Options::default())
    }

    /// Like [`S3::connect`], with explicit timeouts, retries and bounds.
    ///
    /// # Errors
    /// As [`S3::connect`], and for options out of range (a part size under
    /// 5 MiB, a zero bound).
    ///
    /// ```
    /// use ms_runtime::Config;
    /// use ms_runtime::s3::{S3, S3Options};
    ///
    /// # actix_rt::System::new().block_on(async {
    /// let config = Config::from_vars([
    ///     ("MS_S3_ENDPOINT", "http://127.0.0.1:9000"),
    ///     ("MS_S3_ACCESS_KEY_ID", "minio"),
    ///     ("MS_S3_SECRET_ACCESS_KEY", "minio-secret"),
    /// ])?;
    /// let options = S3Options { part_size: 16 * 1024 * 1024, max_attempts: 5, ..S3Options::default() };
    /// let s3 = S3::connect_with(config.s3.as_ref().ok_or("no S3 settings")?, options)?;
    /// assert_eq!(s3.options().part_size, 16 * 1024 * 1024);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connect_with(config: &S3Config, options: S3Options) -> Result<Self, S3Error> {
        let client = client::build(config, &options, None)?;
        let presigner = match &options.public_endpoint {
            Some(url) => client::build(config, &options, Some(url))?,
            None => client.clone(),
        };
        let addr = actor::start(options.max_concurrent).ok_or_else(|| S3Error::InvalidConfig {
            reason: "S3::connect must be called inside a running actix system".to_owned(),
        })?;
        Ok(Self {
            addr,
            permits: Arc::new(Semaphore::new(options.max_concurrent)),
            shared: Arc::new(Shared {
                client,
                presigner,
                endpoint: client::endpoint_label(config),
                region: config.region.clone(),
                options,
            }),
            bucket: config.bucket.clone(),
            metrics: None,
        })
    }

    /// The same handle, counting its operations in `metrics`.
    pub(crate) fn with_metrics(mut self, metrics: S3Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Where this handle counts, if anywhere.
    pub(crate) fn metrics(&self) -> Option<&S3Metrics> {
        self.metrics.as_ref()
    }

    /// Counts `bytes` of object data moved, when this handle counts.
    pub(crate) fn count_bytes(&self, direction: Direction, bytes: u64) {
        if let Some(metrics) = &self.metrics {
            metrics.moved(direction, bytes);
        }
    }

    /// The default bucket (`MS_S3_BUCKET`).
    ///
    /// # Errors
    /// [`S3Error::InvalidConfig`] when none is configured.
    pub fn bucket(&self) -> Result<&str, S3Error> {
        self.bucket
            .as_deref()
            .ok_or_else(|| S3Error::InvalidConfig {
                reason: "no default bucket: set MS_S3_BUCKET".to_owned(),
            })
    }

    /// The options this handle runs with.
    pub fn options(&self) -> &S3Options {
        &self.shared.options
    }

    /// Runs `op` on the actor once a slot is free, and waits for its result.
    /// `operation` names it in the metrics.
    pub(crate) async fn run<T, F>(
        &self,
        operation: &'static str,
        op: impl FnOnce(Arc<Shared>, OwnedSemaphorePermit) -> F,
    ) -> Result<T, S3Error>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, S3Error>> + Send + 'static,
    {
        let started = std::time::Instant::now();
        let result = self.run_unmeasured(op).await;
        if let Some(metrics) = &self.metrics {
            let outcome = result.as_ref().map_or_else(S3Error::kind, |_| "ok");
            metrics.operation(operation, outcome, started.elapsed());
        }
        result
    }

    async fn run_unmeasured<T, F>(
        &self,
        op: impl FnOnce(Arc<Shared>, OwnedSemaphorePermit) -> F,
    ) -> Result<T, S3Error>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, S3Error>> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| S3Error::Stopped)?;
        let (reply_tx, reply_rx) = oneshot::channel();
        let op = op(self.shared.clone(), permit);
        let job = Job(Box::pin(async move {
            let _ = reply_tx.send(op.await);
        }));
        self.addr.send(job).await.map_err(|_| S3Error::Stopped)?;
        reply_rx.await.map_err(|_| S3Error::Stopped)?
    }
}
