//! Claim checks (docs/protocol.md section 6): a large payload goes to the store,
//! the message carries a [`PayloadRef`] with its size and SHA-256.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::error::S3Error;
use super::handle::S3;
use super::options::PutOptions;
use crate::protocol::{Json, PayloadRef};

/// Media type of claim-check objects.
///
/// ```no_run
/// use ms_runtime::protocol::Json;
/// use ms_runtime::s3::{CLAIM_CONTENT_TYPE, S3};
///
/// # async fn demo(s3: S3) -> Result<(), Box<dyn std::error::Error>> {
/// let reference = s3.put_claim("claims", &Json::from_value(&"a large payload")?).await?;
/// assert_eq!(reference.content_type.as_deref(), Some(CLAIM_CONTENT_TYPE));
/// let info = s3.head("claims", &reference.key).await?;
/// assert_eq!(info.content_type.as_deref(), Some(CLAIM_CONTENT_TYPE));
/// # Ok(()) }
/// ```
pub const CLAIM_CONTENT_TYPE: &str = "application/json";

/// SHA-256 of `bytes` as 64 lowercase hex digits.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(b & 0x0f)]));
    }
    hex
}

impl S3 {
    /// Uploads a payload as a claim check: the JSON text under
    /// `<claim_prefix><uuid>.json` with type `application/json`, and returns
    /// the reference to send instead (size and SHA-256 included).
    ///
    /// # Errors
    /// As [`S3::put_bytes`].
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(s3: ms_runtime::s3::S3) -> Result<(), Box<dyn std::error::Error>> {
    /// use ms_runtime::protocol::Json;
    ///
    /// let big = Json::from_value(&vec![0u8; 1_000_000])?;
    /// let reference = s3.put_claim("claims", &big).await?;
    /// assert_eq!(reference.size, big.len() as u64);
    /// assert_eq!(s3.fetch_claim(&reference).await?, big);
    /// # Ok(()) }
    /// ```
    pub async fn put_claim(&self, bucket: &str, json: &Json) -> Result<PayloadRef, S3Error> {
        let body = Bytes::copy_from_slice(json.as_str().as_bytes());
        let sha256 = sha256_hex(&body);
        let key = format!(
            "{}{}.json",
            self.options().claim_prefix,
            uuid::Uuid::new_v4().simple()
        );
        let size = body.len() as u64;
        self.put_bytes(
            bucket,
            &key,
            body,
            PutOptions::new().content_type(CLAIM_CONTENT_TYPE),
        )
        .await?;
        Ok(PayloadRef {
            bucket: bucket.to_owned(),
            key,
            size,
            sha256,
            content_type: Some(CLAIM_CONTENT_TYPE.to_owned()),
        })
    }

    /// Fetches a claim check's payload and verifies it: size, SHA-256
    /// (either case) and that it is JSON. An integrity error names the check
    /// that failed and what the reference promised, never what was found.
    ///
    /// It reads whatever bucket and key the reference names: the runtime
    /// first checks that a received reference is inside the service's claim
    /// locations ([`ClaimLocation`](crate::ClaimLocation)); do the same
    /// before calling this with a reference someone else wrote.
    ///
    /// # Errors
    /// [`S3Error::Integrity`] on any mismatch, [`S3Error::TooLarge`] when
    /// the reference announces more than [`crate::s3::S3Options::max_in_memory`],
    /// and the errors of [`S3::get_bytes`].
    ///
    /// ```no_run
    /// use ms_runtime::protocol::Payload;
    /// use ms_runtime::s3::S3;
    ///
    /// # async fn demo(s3: S3, payload: Payload) -> Result<(), Box<dyn std::error::Error>> {
    /// let json = match payload {
    ///     Payload::Inline(json) => json,
    ///     Payload::Ref(reference) => s3.fetch_claim(&reference).await?, // size and SHA-256 checked
    /// };
    /// let pages: Vec<String> = json.parse()?;
    /// # let _ = pages;
    /// # Ok(()) }
    /// ```
    pub async fn fetch_claim(&self, reference: &PayloadRef) -> Result<Json, S3Error> {
        // what was found is never said: only which check failed
        let integrity = |what, expected: String| S3Error::Integrity {
            bucket: reference.bucket.clone(),
            key: reference.key.clone(),
            what,
            expected,
        };
        let limit = self.options().max_in_memory;
        if reference.size > limit {
            return Err(S3Error::TooLarge {
                bucket: reference.bucket.clone(),
                key: reference.key.clone(),
                size: reference.size,
                limit,
            });
        }
        let body = match self.get_bytes(&reference.bucket, &reference.key).await {
            Ok(body) => body,
            // bigger than the limit, so bigger than announced: a size failure
            // that must not tell the object's real size
            Err(S3Error::TooLarge { .. } | S3Error::Integrity { what: "size", .. }) => {
                return Err(integrity("size", reference.size.to_string()));
            }
            Err(e) => return Err(e),
        };
        if body.len() as u64 != reference.size {
            return Err(integrity("size", reference.size.to_string()));
        }
        let sha256 = sha256_hex(&body);
        if !sha256.eq_ignore_ascii_case(&reference.sha256) {
            return Err(integrity("sha256", reference.sha256.to_ascii_lowercase()));
        }
        let text =
            String::from_utf8(body.to_vec()).map_err(|_| integrity("json", "UTF-8 JSON".into()))?;
        Json::from_text(text).map_err(|_| integrity("json", "one JSON value".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::sha256_hex;

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
