//! The small operations: head, delete, copy, presign, buckets.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier,
};
use url::Url;

use super::error::{S3Error, Target};
use super::handle::{ObjectInfo, Shared};

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

#[cfg(test)]
mod tests {
    use super::encode_key;

    #[test]
    fn copy_source_keys_are_percent_encoded_but_keep_slashes() {
        assert_eq!(encode_key("a b/ü+c.txt"), "a%20b/%C3%BC%2Bc.txt");
    }
}
