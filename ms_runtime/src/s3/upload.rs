//! Uploads: a single `PUT` up to the part size, multipart above it, with a
//! bounded number of parts in flight and an abort on any failure.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt, TryStreamExt, stream};

use super::error::{S3Error, Target, io_error};
use super::handle::{S3, Shared, Uploaded};
use super::options::PutOptions;
use crate::metrics::Direction;

/// Most parts S3 accepts in one upload.
const MAX_PARTS: u64 = 10_000;

/// A boxed source of bytes.
pub(crate) type Source = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// One part's bytes: in memory, or a range of a file read when sent (and
/// read again on a retry).
enum PartBody {
    Bytes(Bytes),
    File {
        path: PathBuf,
        offset: u64,
        len: u64,
    },
}

impl PartBody {
    fn len(&self) -> u64 {
        match self {
            Self::Bytes(b) => b.len() as u64,
            Self::File { len, .. } => *len,
        }
    }

    async fn stream(&self) -> Result<ByteStream, S3Error> {
        match self {
            Self::Bytes(b) => Ok(ByteStream::from(b.clone())),
            Self::File { path, offset, len } => ByteStream::read_from()
                .path(path)
                .offset(*offset)
                .length(Length::Exact(*len))
                .build()
                .await
                .map_err(|e| io_error(path, std::io::Error::other(e))),
        }
    }
}

fn metadata(options: &PutOptions) -> Option<HashMap<String, String>> {
    (!options.metadata.is_empty()).then(|| {
        options
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    })
}

/// The part size for an object of `size` bytes: the configured one, grown so
/// that the object fits in 10 000 parts.
fn part_size_for(configured: u64, size: u64) -> u64 {
    configured.max(size.div_ceil(MAX_PARTS))
}

pub(crate) async fn put_bytes(
    shared: &Shared,
    bucket: &str,
    key: &str,
    body: Bytes,
    options: &PutOptions,
) -> Result<Uploaded, S3Error> {
    let size = body.len() as u64;
    let part = part_size_for(shared.options.part_size, size);
    if size <= shared.options.part_size {
        return put_single(shared, bucket, key, PartBody::Bytes(body), options).await;
    }
    let parts = (0..size.div_ceil(part)).map(move |i| {
        let start = usize::try_from(i * part).unwrap_or(usize::MAX);
        let end = usize::try_from(((i + 1) * part).min(size)).unwrap_or(usize::MAX);
        Ok(PartBody::Bytes(body.slice(start..end)))
    });
    multipart(
        shared,
        bucket,
        key,
        options,
        Some(size),
        stream::iter(parts),
    )
    .await
}

pub(crate) async fn put_file(
    shared: &Shared,
    bucket: &str,
    key: &str,
    path: &Path,
    options: &PutOptions,
) -> Result<Uploaded, S3Error> {
    let size = tokio::fs::metadata(path)
        .await
        .map_err(|e| io_error(path, e))?
        .len();
    let whole = PartBody::File {
        path: path.to_owned(),
        offset: 0,
        len: size,
    };
    if size <= shared.options.part_size {
        return put_single(shared, bucket, key, whole, options).await;
    }
    let part = part_size_for(shared.options.part_size, size);
    let path = path.to_owned();
    let parts = (0..size.div_ceil(part)).map(move |i| {
        Ok(PartBody::File {
            path: path.clone(),
            offset: i * part,
            len: part.min(size - i * part),
        })
    });
    multipart(
        shared,
        bucket,
        key,
        options,
        Some(size),
        stream::iter(parts),
    )
    .await
}

/// Cuts a stream into parts of `part` bytes (the last may be shorter).
fn chunked(
    source: Source,
    part: usize,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    stream::try_unfold(
        (source, BytesMut::new(), false),
        move |(mut source, mut buf, mut ended)| async move {
            while buf.len() < part && !ended {
                match source.next().await {
                    Some(chunk) => buf.extend_from_slice(&chunk?),
                    None => ended = true,
                }
            }
            if buf.is_empty() {
                return Ok(None);
            }
            let chunk = buf.split_to(part.min(buf.len())).freeze();
            Ok(Some((chunk, (source, buf, ended))))
        },
    )
}

pub(crate) async fn put_stream(
    shared: &Shared,
    bucket: &str,
    key: &str,
    source: Source,
    options: &PutOptions,
) -> Result<Uploaded, S3Error> {
    let target = Target::new("PutObject", bucket, key, &shared.endpoint);
    let part = usize::try_from(shared.options.part_size).unwrap_or(usize::MAX);
    let mut chunks = Box::pin(chunked(source, part));
    let first = chunks.try_next().await.map_err(|e| target.interrupted(e))?;
    let second = match &first {
        Some(_) => chunks.try_next().await.map_err(|e| target.interrupted(e))?,
        None => None,
    };
    match (first, second) {
        (None, _) => put_single(shared, bucket, key, PartBody::Bytes(Bytes::new()), options).await,
        (Some(only), None) => put_single(shared, bucket, key, PartBody::Bytes(only), options).await,
        (Some(a), Some(b)) => {
            let parts = stream::iter([Ok(a), Ok(b)])
                .chain(chunks)
                .map(move |chunk| {
                    chunk
                        .map(PartBody::Bytes)
                        .map_err(|e| target_interrupted(bucket, key, e))
                });
            multipart(shared, bucket, key, options, None, parts).await
        }
    }
}

fn target_interrupted(bucket: &str, key: &str, e: std::io::Error) -> S3Error {
    S3Error::Interrupted {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        source: Box::new(e),
    }
}

async fn put_single(
    shared: &Shared,
    bucket: &str,
    key: &str,
    body: PartBody,
    options: &PutOptions,
) -> Result<Uploaded, S3Error> {
    let target = Target::new("PutObject", bucket, key, &shared.endpoint);
    let size = body.len();
    let out = shared
        .client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.stream().await?)
        .content_length(i64::try_from(size).unwrap_or(i64::MAX))
        .set_content_type(options.content_type.clone())
        .set_metadata(metadata(options))
        .send()
        .await
        .map_err(|e| target.map(e))?;
    if let Some(progress) = &options.progress {
        progress.report(size, Some(size));
    }
    Ok(Uploaded {
        size,
        etag: out.e_tag().map(str::to_owned),
        parts: 0,
    })
}

async fn multipart<P>(
    shared: &Shared,
    bucket: &str,
    key: &str,
    options: &PutOptions,
    total: Option<u64>,
    parts: P,
) -> Result<Uploaded, S3Error>
where
    P: Stream<Item = Result<PartBody, S3Error>> + Send,
{
    let target = Target::new("CreateMultipartUpload", bucket, key, &shared.endpoint);
    let created = shared
        .client
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .set_content_type(options.content_type.clone())
        .set_metadata(metadata(options))
        .send()
        .await
        .map_err(|e| target.map(e))?;
    let upload_id = created
        .upload_id()
        .ok_or_else(|| target.malformed("upload id"))?
        .to_owned();
    let outcome = async {
        let (size, completed) =
            upload_parts(shared, bucket, key, &upload_id, options, total, parts).await?;
        let target = Target::new("CompleteMultipartUpload", bucket, key, &shared.endpoint);
        let count = u32::try_from(completed.len()).unwrap_or(u32::MAX);
        let out = shared
            .client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| target.map(e))?;
        Ok(Uploaded {
            size,
            etag: out.e_tag().map(str::to_owned),
            parts: count,
        })
    }
    .await;
    if outcome.is_err() {
        // No orphaned parts: they would be billed and never listed.
        let aborted = shared
            .client
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .send()
            .await;
        if let Err(e) = aborted {
            let target = Target::new("AbortMultipartUpload", bucket, key, &shared.endpoint);
            log::warn!(
                "s3: could not abort multipart upload {upload_id} of {bucket}/{key}: {}",
                target.map(e)
            );
        }
    }
    outcome
}

async fn upload_parts<P>(
    shared: &Shared,
    bucket: &str,
    key: &str,
    upload_id: &str,
    options: &PutOptions,
    total: Option<u64>,
    parts: P,
) -> Result<(u64, Vec<CompletedPart>), S3Error>
where
    P: Stream<Item = Result<PartBody, S3Error>> + Send,
{
    let target = Target::new("UploadPart", bucket, key, &shared.endpoint);
    // `buffered` pulls the next part from the source only when fewer than
    // `parts_in_flight` are being sent: this is the memory bound.
    let sent = parts
        .enumerate()
        .map(|(index, part)| async move {
            let part = part?;
            let number = i32::try_from(index + 1).unwrap_or(i32::MAX);
            if u64::try_from(number).unwrap_or(u64::MAX) > MAX_PARTS {
                return Err(S3Error::Other {
                    operation: "UploadPart",
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                    status: None,
                    code: Some("TooManyParts".to_owned()),
                    message: Some("S3 accepts at most 10000 parts; raise part_size".to_owned()),
                });
            }
            let len = part.len();
            let out = shared
                .client
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .content_length(i64::try_from(len).unwrap_or(i64::MAX))
                .body(part.stream().await?)
                .send()
                .await
                .map_err(|e| target.map(e))?;
            let etag = out.e_tag().ok_or_else(|| target.malformed("ETag"))?;
            Ok((
                len,
                CompletedPart::builder()
                    .part_number(number)
                    .e_tag(etag)
                    .build(),
            ))
        })
        .buffer_unordered(shared.options.parts_in_flight);
    let mut sent = std::pin::pin!(sent);
    let mut done = 0;
    let mut completed = Vec::new();
    while let Some(result) = sent.next().await {
        let (len, part) = result?;
        done += len;
        completed.push(part);
        if let Some(progress) = &options.progress {
            progress.report(done, total);
        }
    }
    completed.sort_by_key(|p| p.part_number());
    Ok((done, completed))
}

/// Uploads: bytes, files and streams, multipart above a part.
impl S3 {
    /// Stores `body` under `key`; multipart above [`S3Options::part_size`](crate::s3::S3Options::part_size).
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
        let uploaded = self
            .run("put_bytes", move |shared, _permit| async move {
                put_bytes(&shared, &bucket, &key, body, &options).await
            })
            .await?;
        self.count_bytes(Direction::Out, uploaded.size);
        Ok(uploaded)
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
        let uploaded = self
            .run("put_file", move |shared, _permit| async move {
                put_file(&shared, &bucket, &key, &path, &options).await
            })
            .await?;
        self.count_bytes(Direction::Out, uploaded.size);
        Ok(uploaded)
    }

    /// Stores what `body` yields under `key`, its length unknown in advance.
    ///
    /// Memory held: at most [`S3Options::parts_in_flight`](crate::s3::S3Options::parts_in_flight) + 1 parts.
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
        let uploaded = self
            .run("put_stream", move |shared, _permit| async move {
                put_stream(&shared, &bucket, &key, Box::pin(body), &options).await
            })
            .await?;
        self.count_bytes(Direction::Out, uploaded.size);
        Ok(uploaded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_grow_to_fit_ten_thousand() {
        let mib = 1024 * 1024;
        assert_eq!(part_size_for(8 * mib, 100 * mib), 8 * mib);
        assert_eq!(part_size_for(8 * mib, 200_000 * mib), 20 * mib);
    }

    #[actix_rt::test]
    async fn streams_are_cut_into_whole_parts() {
        let source: Source = Box::pin(stream::iter(
            [b"abc".as_slice(), b"defg", b"h"].map(|b| Ok(Bytes::from_static(b))),
        ));
        let parts: Vec<Bytes> = chunked(source, 3).try_collect().await.unwrap();
        assert_eq!(parts, [&b"abc"[..], b"def", b"gh"]);
    }
}
