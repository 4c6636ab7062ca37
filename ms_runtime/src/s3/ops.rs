//! The small operations: head, delete, copy, presign, buckets.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier,
};
use url::Url;

use super::error::{S3Error, Target};
use super::handle::{ObjectInfo, S3, Shared};

/// Longest expiry S3 accepts for a presigned URL.
const MAX_PRESIGN: Duration = Duration::from_secs(7 * 24 * 3600);

pub(crate) async fn head(shared: &Shared, bucket: &str, key: &str) -> Result<ObjectInfo, S3Error> {
    let target = Target::new("HeadObject", bucket, key, &shared.endpoint);
    let out = shared
        .client
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| target.map(e))?;
    Ok(ObjectInfo {
        size: out
            .content_length()
            .map_or(0, |n| u64::try_from(n).unwrap_or(0)),
        etag: out.e_tag().map(str::to_owned),
        content_type: out.content_type().map(str::to_owned),
        last_modified: out
            .last_modified()
            .and_then(|t| std::time::SystemTime::try_from(*t).ok()),
        metadata: out
            .metadata()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    })
}

pub(crate) async fn delete(shared: &Shared, bucket: &str, key: &str) -> Result<(), S3Error> {
    let target = Target::new("DeleteObject", bucket, key, &shared.endpoint);
    shared
        .client
        .delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| target.map(e))?;
    Ok(())
}

/// Deletes at most 1000 keys in one `DeleteObjects` request.
pub(crate) async fn delete_batch(
    shared: &Shared,
    bucket: &str,
    keys: Vec<String>,
) -> Result<usize, S3Error> {
    if keys.is_empty() {
        return Ok(0);
    }
    let target = Target::new("DeleteObjects", bucket, "", &shared.endpoint);
    let count = keys.len();
    let mut objects = Vec::with_capacity(count);
    for key in keys {
        objects.push(
            ObjectIdentifier::builder()
                .key(key)
                .build()
                .map_err(|_| target.malformed("key"))?,
        );
    }
    let delete = Delete::builder()
        .set_objects(Some(objects))
        .quiet(true)
        .build()
        .map_err(|_| target.malformed("objects"))?;
    let out = shared
        .client
        .delete_objects()
        .bucket(bucket)
        .delete(delete)
        .send()
        .await
        .map_err(|e| target.map(e))?;
    if let Some(first) = out.errors().first() {
        let key = first.key().unwrap_or_default();
        let target = Target::new("DeleteObjects", bucket, key, &shared.endpoint);
        return Err(target.map_status(
            if first.code() == Some("AccessDenied") {
                403
            } else {
                200
            },
            first.code().map(str::to_owned),
            first.message().map(str::to_owned),
        ));
    }
    Ok(count)
}

/// Percent-encodes a key for `x-amz-copy-source`, keeping `/`.
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) async fn copy(
    shared: &Shared,
    from_bucket: &str,
    from_key: &str,
    to_bucket: &str,
    to_key: &str,
) -> Result<(), S3Error> {
    let target = Target::new("CopyObject", from_bucket, from_key, &shared.endpoint);
    shared
        .client
        .copy_object()
        .copy_source(format!("{from_bucket}/{}", encode_key(from_key)))
        .bucket(to_bucket)
        .key(to_key)
        .send()
        .await
        .map_err(|e| target.map(e))?;
    Ok(())
}

/// The method a presigned URL allows.
#[derive(Clone, Copy)]
pub(crate) enum Presign {
    Get,
    Put,
}

pub(crate) async fn presign(
    shared: &Shared,
    method: Presign,
    bucket: &str,
    key: &str,
    expires_in: Duration,
) -> Result<Url, S3Error> {
    if expires_in.is_zero() || expires_in > MAX_PRESIGN {
        return Err(S3Error::InvalidConfig {
            reason: format!("a presigned URL expires after 1 second to 7 days, not {expires_in:?}"),
        });
    }
    let config = PresigningConfig::expires_in(expires_in).map_err(|_| S3Error::InvalidConfig {
        reason: format!("a presigned URL cannot expire after {expires_in:?}"),
    })?;
    let request = match method {
        Presign::Get => {
            let target = Target::new("GetObject", bucket, key, &shared.endpoint);
            shared
                .presigner
                .get_object()
                .bucket(bucket)
                .key(key)
                .presigned(config)
                .await
                .map_err(|e| target.map(e))?
        }
        Presign::Put => {
            let target = Target::new("PutObject", bucket, key, &shared.endpoint);
            shared
                .presigner
                .put_object()
                .bucket(bucket)
                .key(key)
                .presigned(config)
                .await
                .map_err(|e| target.map(e))?
        }
    };
    Url::parse(request.uri()).map_err(|_| S3Error::InvalidConfig {
        reason: "the presigned URL is not a valid URL: check the endpoint".to_owned(),
    })
}

pub(crate) async fn create_bucket(shared: &Shared, bucket: &str) -> Result<(), S3Error> {
    let target = Target::new("CreateBucket", bucket, "", &shared.endpoint);
    let mut request = shared.client.create_bucket().bucket(bucket);
    // us-east-1 is the one region that must not be named.
    if shared.region != "us-east-1" {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(shared.region.as_str()))
                .build(),
        );
    }
    request.send().await.map_err(|e| target.map(e))?;
    Ok(())
}

pub(crate) async fn ensure_bucket(shared: &Shared, bucket: &str) -> Result<bool, S3Error> {
    let target = Target::new("HeadBucket", bucket, "", &shared.endpoint);
    match shared.client.head_bucket().bucket(bucket).send().await {
        Ok(_) => return Ok(false),
        Err(e) => match target.map(e) {
            S3Error::NoSuchBucket { .. } | S3Error::NotFound { .. } => {}
            other => return Err(other),
        },
    }
    match create_bucket(shared, bucket).await {
        Ok(()) => Ok(true),
        // Created meanwhile by another instance.
        Err(S3Error::Other {
            code: Some(code), ..
        }) if code == "BucketAlreadyOwnedByYou" => Ok(false),
        // Some stores (s3s-fs, older MinIO) answer a concurrent creation
        // with BucketAlreadyExists; on AWS it means someone else's bucket.
        // Either way: usable if we can reach it now.
        Err(e) if matches!(&e, S3Error::Other { code: Some(code), .. } if code == "BucketAlreadyExists") => {
            match shared.client.head_bucket().bucket(bucket).send().await {
                Ok(_) => Ok(false),
                Err(_) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// The one-request operations: head, delete, copy, presign, buckets.
impl S3 {
    /// An object's size, type and metadata.
    ///
    /// # Errors
    /// [`S3Error::NotFound`] when there is no such object, and the others.
    pub async fn head(&self, bucket: &str, key: &str) -> Result<ObjectInfo, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.run("head", move |shared, _permit| async move {
            head(&shared, &bucket, &key).await
        })
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
        self.run("delete", move |shared, _permit| async move {
            delete(&shared, &bucket, &key).await
        })
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
                .run("delete_many", move |shared, _permit| async move {
                    delete_batch(&shared, &bucket, batch).await
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
        self.run("copy", move |shared, _permit| async move {
            let [fb, fk, tb, tk] = names;
            copy(&shared, &fb, &fk, &tb, &tk).await
        })
        .await
    }

    /// A URL anyone can `GET` the object with until `expires_in` passes (at
    /// most 7 days), on [`S3Options::public_endpoint`](crate::s3::S3Options::public_endpoint) when set.
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
        self.presigned(Presign::Get, bucket, key, expires_in).await
    }

    /// A URL anyone can `PUT` the object's bytes to until `expires_in`
    /// passes, on [`S3Options::public_endpoint`](crate::s3::S3Options::public_endpoint) when set.
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
        self.presigned(Presign::Put, bucket, key, expires_in).await
    }

    /// A presigned URL for `method` on the actor.
    async fn presigned(
        &self,
        method: Presign,
        bucket: &str,
        key: &str,
        expires_in: Duration,
    ) -> Result<Url, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.run("presign", move |shared, _permit| async move {
            presign(&shared, method, &bucket, &key, expires_in).await
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
        self.run("create_bucket", move |shared, _permit| async move {
            create_bucket(&shared, &bucket).await
        })
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
        self.run("ensure_bucket", move |shared, _permit| async move {
            ensure_bucket(&shared, &bucket).await
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::encode_key;

    #[test]
    fn copy_source_keys_are_percent_encoded_but_keep_slashes() {
        assert_eq!(encode_key("a b/ü+c.txt"), "a%20b/%C3%BC%2Bc.txt");
    }
}
