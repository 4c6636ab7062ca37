//! Downloads: into memory (bounded), as a stream, and to a file through a
//! temporary file, in parallel ranges for large objects.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_s3::primitives::ByteStream;
use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt, TryStreamExt, stream};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio::sync::OwnedSemaphorePermit;

use super::error::{S3Error, Target, io_error};
use super::handle::{ObjectStream, S3, Shared};
use super::options::GetOptions;
use crate::metrics::Direction;

fn size_of(length: Option<i64>) -> u64 {
    length.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

async fn get_object(
    shared: &Shared,
    target: &Target<'_>,
    range: Option<(u64, u64)>,
    if_match: Option<&str>,
) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, S3Error> {
    shared
        .client
        .get_object()
        .bucket(target.bucket)
        .key(target.key)
        .set_range(range.map(|(start, end)| format!("bytes={start}-{end}")))
        .set_if_match(if_match.map(str::to_owned))
        .send()
        .await
        .map_err(|e| target.map(e))
}

pub(crate) async fn get_bytes(shared: &Shared, bucket: &str, key: &str) -> Result<Bytes, S3Error> {
    let target = Target::new("GetObject", bucket, key, &shared.endpoint);
    let limit = shared.options.max_in_memory;
    let out = get_object(shared, &target, None, None).await?;
    let size = size_of(out.content_length());
    if size > limit {
        return Err(S3Error::TooLarge {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            size,
            limit,
        });
    }
    let mut body = out.body;
    let mut buf = BytesMut::with_capacity(usize::try_from(size).unwrap_or(0));
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| target.interrupted(e))?;
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(S3Error::TooLarge {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                size: (buf.len() + chunk.len()) as u64,
                limit,
            });
        }
        buf.extend_from_slice(&chunk);
    }
    check_size(&target, size, buf.len() as u64)?;
    Ok(buf.freeze())
}

fn check_size(target: &Target<'_>, expected: u64, found: u64) -> Result<(), S3Error> {
    if expected == found {
        return Ok(());
    }
    Err(S3Error::Integrity {
        bucket: target.bucket.to_owned(),
        key: target.key.to_owned(),
        what: "size",
        expected: expected.to_string(),
    })
}

pub(crate) async fn get_stream(
    shared: &Shared,
    bucket: &str,
    key: &str,
    permit: OwnedSemaphorePermit,
) -> Result<ObjectStream, S3Error> {
    let target = Target::new("GetObject", bucket, key, &shared.endpoint);
    let out = get_object(shared, &target, None, None).await?;
    let size = size_of(out.content_length());
    let content_type = out.content_type().map(str::to_owned);
    let (bucket, key) = (bucket.to_owned(), key.to_owned());
    let chunks = stream::unfold(
        (out.body, permit),
        move |(mut body, permit): (ByteStream, OwnedSemaphorePermit)| {
            let (bucket, key) = (bucket.clone(), key.clone());
            async move {
                let chunk = body.next().await?.map_err(|e| S3Error::Interrupted {
                    bucket,
                    key,
                    source: Box::new(e),
                });
                Some((chunk, (body, permit)))
            }
        },
    );
    Ok(ObjectStream {
        size,
        content_type,
        chunks: Box::pin(chunks),
    })
}

/// A temporary file beside the destination, removed on drop unless renamed.
struct TempFile {
    path: PathBuf,
    kept: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.kept {
            // Small and local; the only blocking call of the actor, on the
            // failure path.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn temp_path_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".to_owned());
    let id = uuid::Uuid::new_v4().simple().to_string();
    path.with_file_name(format!(".{name}.{}.part", &id[..12]))
}

pub(crate) async fn get_file(
    shared: &Shared,
    bucket: &str,
    key: &str,
    path: &Path,
    options: &GetOptions,
) -> Result<u64, S3Error> {
    let info = super::ops::head(shared, bucket, key).await?;
    let size = info.size;
    let temp = TempFile {
        path: temp_path_for(path),
        kept: false,
    };
    let file = tokio::fs::File::create(&temp.path)
        .await
        .map_err(|e| io_error(&temp.path, e))?;
    file.set_len(size)
        .await
        .map_err(|e| io_error(&temp.path, e))?;
    drop(file);
    let target = Target::new("GetObject", bucket, key, &shared.endpoint);
    let part = shared.options.part_size;
    let done = AtomicU64::new(0);
    let etag = info.etag.as_deref();
    let ranges: Vec<Option<(u64, u64)>> = if size <= part {
        vec![None]
    } else {
        (0..size.div_ceil(part))
            .map(|i| Some((i * part, ((i + 1) * part).min(size) - 1)))
            .collect()
    };
    stream::iter(ranges)
        .map(|range| {
            fetch_range(
                shared, &target, &temp.path, range, size, etag, &done, options,
            )
        })
        .buffer_unordered(shared.options.parts_in_flight)
        .try_collect::<Vec<()>>()
        .await?;
    check_size(&target, size, done.load(Ordering::Relaxed))?;
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .open(&temp.path)
        .await
        .map_err(|e| io_error(&temp.path, e))?;
    file.sync_all().await.map_err(|e| io_error(&temp.path, e))?;
    drop(file);
    tokio::fs::rename(&temp.path, path)
        .await
        .map_err(|e| io_error(path, e))?;
    let mut temp = temp;
    temp.kept = true;
    Ok(size)
}

/// Writes one range (or the whole object) into the temporary file at its offset.
#[allow(clippy::too_many_arguments)] // private, called from one place
async fn fetch_range(
    shared: &Shared,
    target: &Target<'_>,
    path: &Path,
    range: Option<(u64, u64)>,
    total: u64,
    etag: Option<&str>,
    done: &AtomicU64,
    options: &GetOptions,
) -> Result<(), S3Error> {
    // The ETag from `head` pins every range to the same version of the object.
    let out = get_object(shared, target, range, etag).await?;
    let (start, expected) = match range {
        Some((start, end)) => (start, end - start + 1),
        None => (0, total),
    };
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .await
        .map_err(|e| io_error(path, e))?;
    file.seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(|e| io_error(path, e))?;
    let mut body = out.body;
    let mut received = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| target.interrupted(e))?;
        received += chunk.len() as u64;
        if received > expected {
            break;
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| io_error(path, e))?;
        let now = done.fetch_add(chunk.len() as u64, Ordering::Relaxed) + chunk.len() as u64;
        if let Some(progress) = &options.progress {
            progress.report(now, Some(total));
        }
    }
    file.flush().await.map_err(|e| io_error(path, e))?;
    check_size(target, expected, received)
}

/// Downloads: into memory, to a file (atomically), or as a stream.
impl S3 {
    /// Reads a whole object into memory.
    ///
    /// # Errors
    /// [`S3Error::NotFound`], [`S3Error::TooLarge`] above
    /// [`S3Options::max_in_memory`](crate::s3::S3Options::max_in_memory), and the others.
    pub async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Bytes, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        let body = self
            .run("get_bytes", move |shared, _permit| async move {
                get_bytes(&shared, &bucket, &key).await
            })
            .await?;
        self.count_bytes(Direction::In, body.len() as u64);
        Ok(body)
    }

    /// Downloads an object to `path`, atomically: bytes go to a temporary
    /// file beside it, renamed over `path` only once complete and checked
    /// against the object's size. On failure no file is left. Objects larger
    /// than a part are fetched as ranges, [`S3Options::parts_in_flight`](crate::s3::S3Options::parts_in_flight) at once.
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
        let size = self
            .run("get_file", move |shared, _permit| async move {
                get_file(&shared, &bucket, &key, &path, &options).await
            })
            .await?;
        self.count_bytes(Direction::In, size);
        Ok(size)
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
    /// let hex: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    /// println!("sha256 {hex}");
    /// # Ok(()) }
    /// ```
    pub async fn get_stream(&self, bucket: &str, key: &str) -> Result<ObjectStream, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.run("get_stream", move |shared, permit| async move {
            get_stream(&shared, &bucket, &key, permit).await
        })
        .await
    }
}
