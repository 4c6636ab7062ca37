//! `S3`: the public handle of the S3 actor.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use actix::Addr;
use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use url::Url;

use super::actor::{self, Job, S3Actor};
use super::client;
use super::error::S3Error;
use super::list;
use super::options::{GetOptions, PutOptions, S3Options};
use super::{download, ops, upload};
use crate::config::S3Config;

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
    /// `config` nor in `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`), or when
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
        })
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
    pub(crate) async fn run<T, F>(
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

    /// Stores `body` under `key`; multipart above [`S3Options::part_size`].
    ///
    /// # Errors
    /// [`S3Error`] from the store; on a failed multipart upload the upload
    /// is aborted, so no parts stay behind.
    pub async fn put_bytes(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        options: PutOptions,
    ) -> Result<Uploaded, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.run(move |shared, _permit| async move {
            upload::put_bytes(&shared, &bucket, &key, body, &options).await
        })
        .await
    }

    /// Stores the file at `path` under `key`, read from disk part by part
    /// (memory stays bounded whatever the file's size).
    ///
    /// # Errors
    /// [`S3Error::Io`] when the file cannot be read, else as [`S3::put_bytes`].
    pub async fn put_file(
        &self,
        bucket: &str,
        key: &str,
        path: impl AsRef<Path>,
        options: PutOptions,
    ) -> Result<Uploaded, S3Error> {
        let (bucket, key, path) = (bucket.to_owned(), key.to_owned(), path.as_ref().to_owned());
        self.run(move |shared, _permit| async move {
            upload::put_file(&shared, &bucket, &key, &path, &options).await
        })
        .await
    }

    /// Stores what `body` yields under `key`, its length unknown in advance.
    ///
    /// Memory held: at most [`S3Options::parts_in_flight`] + 1 parts.
    /// Past 10 000 parts (80 GiB with 8 MiB parts) the upload fails.
    ///
    /// # Errors
    /// [`S3Error::Interrupted`] when `body` yields an error, else as [`S3::put_bytes`].
    ///
    /// ```no_run
    /// use bytes::Bytes;
    /// use futures_util::stream;
    /// use ms_runtime::s3::{PutOptions, S3};
    ///
    /// # async fn demo(s3: S3) -> Result<(), ms_runtime::s3::S3Error> {
    /// // rows made on the fly: the size is not known in advance
    /// let rows = (0..1_000_000).map(|i| Ok(Bytes::from(format!("{i},row {i}\n"))));
    /// let options = PutOptions::new().content_type("text/csv");
    /// let uploaded = s3.put_stream("exports", "rows.csv", stream::iter(rows), options).await?;
    /// println!("{} bytes in {} parts", uploaded.size, uploaded.parts);
    /// # Ok(()) }
    /// ```
    pub async fn put_stream<S>(
        &self,
        bucket: &str,
        key: &str,
        body: S,
        options: PutOptions,
    ) -> Result<Uploaded, S3Error>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.run(move |shared, _permit| async move {
            upload::put_stream(&shared, &bucket, &key, Box::pin(body), &options).await
        })
        .await
    }

    /// Reads a whole object into memory.
    ///
    /// # Errors
    /// [`S3Error::NotFound`], [`S3Error::TooLarge`] above
    /// [`S3Options::max_in_memory`], and the others.
    pub async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Bytes, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.run(
            move |shared, _permit| async move { download::get_bytes(&shared, &bucket, &key).await },
        )
        .await
    }

    /// Downloads an object to `path`, atomically: bytes go to a temporary
    /// file beside it, renamed over `path` only once complete and checked
    /// against the object's size. On failure no file is left. Objects larger
    /// than a part are fetched as ranges, [`S3Options::parts_in_flight`] at once.
    ///
    /// Returns the object's size.
    ///
    /// # Errors
    /// [`S3Error::Io`] for the local file, [`S3Error::Interrupted`] when the
    /// connection breaks, and the others.
    pub async fn get_file(
        &self,
        bucket: &str,
        key: &str,
        path: impl AsRef<Path>,
        options: GetOptions,
    ) -> Result<u64, S3Error> {
        let (bucket, key, path) = (bucket.to_owned(), key.to_owned(), path.as_ref().to_owned());
        self.run(move |shared, _permit| async move {
            download::get_file(&shared, &bucket, &key, &path, &options).await
        })
        .await
    }

    /// Opens an object as a stream of chunks. The stream holds one of the
    /// handle's operation slots until it is dropped.
    ///
    /// # Errors
    /// [`S3Error::NotFound`] and the others; chunks fail with
    /// [`S3Error::Interrupted`] when the connection breaks.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// use ms_runtime::s3::S3;
    /// use sha2::{Digest, Sha256};
    ///
    /// # async fn demo(s3: S3) -> Result<(), ms_runtime::s3::S3Error> {
    /// let mut object = s3.get_stream("datasets", "train.parquet").await?;
    /// let mut hasher = Sha256::new();
    /// while let Some(chunk) = object.try_next().await? {
    ///     hasher.update(&chunk);
    /// }
    /// println!("sha256 {:x}", hasher.finalize());
    /// # Ok(()) }
    /// ```
    pub async fn get_stream(&self, bucket: &str, key: &str) -> Result<ObjectStream, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.run(move |shared, permit| async move {
            download::get_stream(&shared, &bucket, &key, permit).await
        })
        .await
    }

    /// An object's size, type and metadata.
    ///
    /// # Errors
    /// [`S3Error::NotFound`] when there is no such object, and the others.
    pub async fn head(&self, bucket: &str, key: &str) -> Result<ObjectInfo, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.run(move |shared, _permit| async move { ops::head(&shared, &bucket, &key).await })
            .await
    }

    /// True when the object exists.
    ///
    /// # Errors
    /// Everything but [`S3Error::NotFound`].
    ///
    /// ```no_run
    /// use ms_runtime::s3::{PutOptions, S3};
    ///
    /// # async fn demo(s3: S3, thumbnail: bytes::Bytes) -> Result<(), ms_runtime::s3::S3Error> {
    /// if !s3.exists("thumbnails", "a.png").await? {
    ///     let options = PutOptions::new().content_type("image/png");
    ///     s3.put_bytes("thumbnails", "a.png", thumbnail, options).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn exists(&self, bucket: &str, key: &str) -> Result<bool, S3Error> {
        match self.head(bucket, key).await {
            Ok(_) => Ok(true),
            Err(S3Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Lists keys under `prefix`, one page (1000 keys) fetched at a time as
    /// the stream is read. With a `delimiter` (usually `"/"`), keys below
    /// the next delimiter are rolled up into [`ListEntry::Prefix`](crate::s3::ListEntry::Prefix) entries.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// use ms_runtime::s3::{ListEntry, S3};
    ///
    /// # async fn demo(s3: S3) -> Result<(), ms_runtime::s3::S3Error> {
    /// let mut entries = s3.list("docs", "2024/", Some("/"));
    /// while let Some(entry) = entries.try_next().await? {
    ///     match entry {
    ///         ListEntry::Object(object) => println!("{} {}", object.key, object.size),
    ///         ListEntry::Prefix(prefix) => println!("{prefix}"),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list(&self, bucket: &str, prefix: &str, delimiter: Option<&str>) -> list::ListStream {
        list::stream(self.clone(), bucket, prefix, delimiter)
    }

    /// Deletes one object; deleting a missing object succeeds (S3's rule).
    ///
    /// # Errors
    /// [`S3Error::NoSuchBucket`], [`S3Error::AccessDenied`] and the others.
    ///
    /// ```no_run
    /// use ms_runtime::s3::S3;
    ///
    /// # async fn demo(s3: S3) -> Result<(), ms_runtime::s3::S3Error> {
    /// s3.delete("scans", "2024/a.pdf").await?;
    /// s3.delete("scans", "2024/a.pdf").await?; // already gone: still Ok
    /// assert!(!s3.exists("scans", "2024/a.pdf").await?);
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.run(move |shared, _permit| async move { ops::delete(&shared, &bucket, &key).await })
            .await
    }

    /// Deletes many objects, 1000 per request. Returns how many were deleted.
    ///
    /// # Errors
    /// The first key the store refused to delete, as [`S3Error::Other`] (or
    /// [`S3Error::AccessDenied`]); batches before it are deleted.
    ///
    /// ```no_run
    /// use ms_runtime::s3::S3;
    ///
    /// # async fn demo(s3: S3) -> Result<(), ms_runtime::s3::S3Error> {
    /// let pages: Vec<String> = (1..=300).map(|n| format!("tmp/page-{n}.png")).collect();
    /// let deleted = s3.delete_many("scans", pages).await?;
    /// println!("{deleted} temporary pages deleted");
    /// # Ok(()) }
    /// ```
    pub async fn delete_many<I>(&self, bucket: &str, keys: I) -> Result<usize, S3Error>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let keys: Vec<String> = keys.into_iter().map(Into::into).collect();
        let mut deleted = 0;
        for batch in keys.chunks(1000) {
            let (bucket, batch) = (bucket.to_owned(), batch.to_vec());
            deleted += self
                .run(move |shared, _permit| async move {
                    ops::delete_batch(&shared, &bucket, batch).await
                })
                .await?;
        }
        Ok(deleted)
    }

    /// Copies an object inside the store (no bytes through this process);
    /// up to 5 GiB, S3's limit for one copy.
    ///
    /// # Errors
    /// [`S3Error::NotFound`] for a missing source, and the others.
    ///
    /// ```no_run
    /// use ms_runtime::s3::S3;
    ///
    /// # async fn demo(s3: S3) -> Result<(), ms_runtime::s3::S3Error> {
    /// // a move: copy inside the store, then delete the original
    /// s3.copy("inbox", "a.pdf", "archive", "2024/a.pdf").await?;
    /// s3.delete("inbox", "a.pdf").await?;
    /// # Ok(()) }
    /// ```
    pub async fn copy(
        &self,
        from_bucket: &str,
        from_key: &str,
        to_bucket: &str,
        to_key: &str,
    ) -> Result<(), S3Error> {
        let names = [from_bucket, from_key, to_bucket, to_key].map(str::to_owned);
        self.run(move |shared, _permit| async move {
            let [fb, fk, tb, tk] = names;
            ops::copy(&shared, &fb, &fk, &tb, &tk).await
        })
        .await
    }

    /// A URL anyone can `GET` the object with until `expires_in` passes (at
    /// most 7 days), on [`S3Options::public_endpoint`] when set.
    ///
    /// # Errors
    /// [`S3Error::InvalidConfig`] for an expiry out of range.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use ms_runtime::s3::S3;
    ///
    /// # async fn demo(s3: S3) -> Result<(), ms_runtime::s3::S3Error> {
    /// let url = s3.presign_get("reports", "2024/q2.pdf", Duration::from_secs(15 * 60)).await?;
    /// println!("download it within 15 minutes: {url}");
    /// # Ok(()) }
    /// ```
    pub async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires_in: Duration,
    ) -> Result<Url, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.run(move |shared, _permit| async move {
            ops::presign(&shared, ops::Presign::Get, &bucket, &key, expires_in).await
        })
        .await
    }

    /// A URL anyone can `PUT` the object's bytes to until `expires_in`
    /// passes, on [`S3Options::public_endpoint`] when set.
    ///
    /// # Errors
    /// [`S3Error::InvalidConfig`] for an expiry out of range.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use ms_runtime::s3::S3;
    ///
    /// # async fn demo(s3: S3) -> Result<(), ms_runtime::s3::S3Error> {
    /// let url = s3.presign_put("uploads", "incoming/scan-17.pdf", Duration::from_secs(600)).await?;
    /// // the client sends the bytes straight to the store: curl -T scan.pdf "$URL"
    /// println!("{url}");
    /// # Ok(()) }
    /// ```
    pub async fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        expires_in: Duration,
    ) -> Result<Url, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.run(move |shared, _permit| async move {
            ops::presign(&shared, ops::Presign::Put, &bucket, &key, expires_in).await
        })
        .await
    }

    /// Creates a bucket (in the configured region).
    ///
    /// # Errors
    /// [`S3Error::Other`] with code `BucketAlreadyExists` or
    /// `BucketAlreadyOwnedByYou` when it exists, and the others.
    ///
    /// ```no_run
    /// use ms_runtime::s3::{S3, S3Error};
    ///
    /// # async fn demo(s3: S3) -> Result<(), S3Error> {
    /// match s3.create_bucket("reports").await {
    ///     Ok(()) => println!("bucket created"),
    ///     Err(S3Error::Other { code: Some(code), .. }) if code.starts_with("BucketAlready") => {}
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn create_bucket(&self, bucket: &str) -> Result<(), S3Error> {
        let bucket = bucket.to_owned();
        self.run(move |shared, _permit| async move { ops::create_bucket(&shared, &bucket).await })
            .await
    }

    /// Creates the bucket unless it exists. Returns true when it was created.
    ///
    /// # Errors
    /// [`S3Error::AccessDenied`], [`S3Error::Unreachable`] and the others.
    ///
    /// ```no_run
    /// use ms_runtime::s3::S3;
    ///
    /// # async fn demo(s3: S3) -> Result<(), ms_runtime::s3::S3Error> {
    /// // at start-up: fails early on a wrong endpoint or key
    /// if s3.ensure_bucket("reports").await? {
    ///     println!("created bucket reports");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn ensure_bucket(&self, bucket: &str) -> Result<bool, S3Error> {
        let bucket = bucket.to_owned();
        self.run(move |shared, _permit| async move { ops::ensure_bucket(&shared, &bucket).await })
            .await
    }
}
