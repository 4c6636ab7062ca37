//! Where claim checks may be read from: [`ClaimLocation`], a setting
//! (`MS_CLAIM_ACCEPT`, the claim bucket and prefix), and its parse error.

use std::fmt;
use std::str::FromStr;

use crate::protocol::PayloadRef;

/// Default prefix of claim-check keys.
///
/// ```
/// use ms_runtime::s3::{DEFAULT_CLAIM_PREFIX, S3Options};
///
/// assert_eq!(S3Options::default().claim_prefix, DEFAULT_CLAIM_PREFIX);
/// // one prefix per service, so a lifecycle rule can expire each on its own
/// let options = S3Options { claim_prefix: "claims/ocr/".into(), ..S3Options::default() };
/// # let _ = options;
/// ```
pub const DEFAULT_CLAIM_PREFIX: &str = "claims/";

/// A place a service reads claim checks from: a bucket and a key prefix.
///
/// Written `bucket/prefix` in `MS_CLAIM_ACCEPT`; the prefix may be empty
/// (`bucket/`: the whole bucket). A key matches when it starts with the
/// prefix and has no `.` or `..` segment, no backslash and no control
/// character, so that no store that maps keys to paths can be walked out of
/// the prefix.
///
/// ```
/// use ms_runtime::ClaimLocation;
/// use ms_runtime::protocol::PayloadRef;
///
/// let location: ClaimLocation = "claims-eu/claims/ocr/".parse()?;
/// assert_eq!((location.bucket.as_str(), location.prefix.as_str()), ("claims-eu", "claims/ocr/"));
/// let reference = |bucket: &str, key: &str| PayloadRef {
///     bucket: bucket.into(),
///     key: key.into(),
///     size: 1,
///     sha256: "0".repeat(64),
///     content_type: None,
/// };
/// assert!(location.contains(&reference("claims-eu", "claims/ocr/1.json")));
/// assert!(!location.contains(&reference("claims-eu", "private/config.json")));
/// assert!(!location.contains(&reference("claims-eu", "claims/ocr/../../private/config.json")));
/// assert!(!location.contains(&reference("private", "claims/ocr/1.json")));
/// # Ok::<(), ms_runtime::config::InvalidClaimLocation>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimLocation {
    /// The bucket.
    pub bucket: String,
    /// The key prefix; empty means the whole bucket.
    pub prefix: String,
}

impl ClaimLocation {
    /// The location `prefix` in `bucket`.
    pub fn new(bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            prefix: prefix.into(),
        }
    }

    /// True when `reference` names an object inside this location.
    pub fn contains(&self, reference: &PayloadRef) -> bool {
        reference.bucket == self.bucket
            && reference.key.starts_with(&self.prefix)
            && is_plain_key(&reference.key)
    }
}

/// No segment that a path-mapping store would resolve upwards.
pub(crate) fn is_plain_key(key: &str) -> bool {
    !key.split('/')
        .any(|segment| segment == "." || segment == "..")
        && !key.chars().any(|c| c == '\\' || c.is_control())
}

impl fmt::Display for ClaimLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.bucket, self.prefix)
    }
}

impl FromStr for ClaimLocation {
    type Err = InvalidClaimLocation;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let Some((bucket, prefix)) = text.split_once('/') else {
            return Err(invalid(text));
        };
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'));
        let prefix_ok = prefix.is_empty() || is_plain_key(prefix);
        if !bucket_ok || !prefix_ok {
            return Err(invalid(text));
        }
        Ok(Self::new(bucket, prefix))
    }
}

fn invalid(text: &str) -> InvalidClaimLocation {
    InvalidClaimLocation {
        found: text.to_owned(),
    }
}

/// A claim location that is not `bucket/prefix` (`MS_CLAIM_ACCEPT`).
///
/// ```
/// use ms_runtime::ClaimLocation;
///
/// let err = "private".parse::<ClaimLocation>().unwrap_err();
/// assert_eq!(err.found, "private");
/// assert!(err.to_string().contains("bucket/prefix"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "claim location {found:?} must be bucket/prefix: a bucket name of 3 to 63 characters from a-z, 0-9, '.', '-', a '/', then a key prefix (may be empty) without '.' or '..' segments"
)]
#[non_exhaustive]
pub struct InvalidClaimLocation {
    /// The text that is not a location.
    pub found: String,
}
