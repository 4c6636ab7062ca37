//! `S3Error`: what went wrong with object storage, in terms a caller can act on.
//!
//! Every SDK error is mapped here, in one place, so no bare SDK string ever
//! reaches a user. Nothing in these errors holds the secret key.

use std::path::PathBuf;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// A boxed cause, kept as the `source` of an error.
///
/// ```
/// use std::io::{Error, ErrorKind};
/// use ms_runtime::s3::{BoxError, S3Error};
///
/// let cause: BoxError = Error::from(ErrorKind::ConnectionReset).into();
/// let err = S3Error::Interrupted { bucket: "scans".into(), key: "a.pdf".into(), source: cause };
/// assert_eq!(err.to_string(), "transfer of scans/a.pdf was interrupted");
/// assert!(std::error::Error::source(&err).is_some());
/// ```
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An object storage operation that failed.
///
/// Match on the variant to decide what to do: [`S3Error::NotFound`] is
/// usually an answer, [`S3Error::Unreachable`], [`S3Error::Timeout`] and
/// [`S3Error::Interrupted`] are worth a retry later, [`S3Error::AccessDenied`]
/// and [`S3Error::InvalidConfig`] need a person.
///
/// ```
/// use ms_runtime::s3::S3Error;
///
/// let err = S3Error::NotFound { bucket: "docs".into(), key: "a.pdf".into() };
/// assert_eq!(err.to_string(), "object docs/a.pdf not found");
/// assert!(err.is_not_found());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum S3Error {
    /// The object does not exist (`NoSuchKey`, or a 404 on `HEAD`).
    #[error("object {bucket}/{key} not found")]
    NotFound {
        /// The bucket asked for.
        bucket: String,
        /// The key asked for.
        key: String,
    },
    /// The bucket does not exist.
    #[error("bucket {bucket} does not exist")]
    NoSuchBucket {
        /// The bucket asked for.
        bucket: String,
    },
    /// The store refused the credentials or the request (403).
    #[error("access denied to {bucket}{}{key} ({code}); check the access key, the secret key and the bucket policy", if key.is_empty() { "" } else { "/" })]
    AccessDenied {
        /// The bucket asked for.
        bucket: String,
        /// The key asked for; empty for bucket operations.
        key: String,
        /// The store's error code, such as `SignatureDoesNotMatch`.
        code: String,
    },
    /// The endpoint could not be reached (refused, reset, DNS, TLS), after retries.
    #[error("cannot reach the S3 endpoint {endpoint}")]
    Unreachable {
        /// The endpoint tried.
        endpoint: String,
        /// The transport's error.
        #[source]
        source: BoxError,
    },
    /// The operation did not finish within its timeout.
    #[error("{operation} on {bucket}{}{key} timed out (endpoint {endpoint})", if key.is_empty() { "" } else { "/" })]
    Timeout {
        /// The operation, such as `GetObject`.
        operation: &'static str,
        /// The bucket asked for.
        bucket: String,
        /// The key asked for; may be empty.
        key: String,
        /// The endpoint tried.
        endpoint: String,
    },
    /// The configuration cannot be used; the text says what to change.
    #[error("invalid S3 configuration: {reason}")]
    InvalidConfig {
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A local file could not be read or written.
    #[error("i/o error on {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The connection broke while an object's bytes were moving.
    #[error("transfer of {bucket}/{key} was interrupted")]
    Interrupted {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The transport's or the source stream's error.
        #[source]
        source: BoxError,
    },
    /// Downloaded bytes do not match what was promised (size or SHA-256),
    /// or a claim's body is not JSON. What was found is not kept: an error
    /// that travels back to a sender must not reveal an object's real size
    /// or digest (docs/protocol.md section 6).
    #[error(
        "{bucket}/{key} failed its integrity check: {what} does not match, expected {expected}"
    )]
    Integrity {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// What was checked: `size`, `sha256` or `json`.
        what: &'static str,
        /// The promised value.
        expected: String,
    },
    /// An in-memory read of an object larger than the configured limit
    /// ([`crate::s3::S3Options::max_in_memory`]); read it to a file or as a stream.
    #[error(
        "{bucket}/{key} is {size} bytes, over the limit of {limit} bytes for reads into memory"
    )]
    TooLarge {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The object's size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Any other refusal by the store, with its status and error code.
    #[error("{operation} on {bucket}{}{key} failed: {}{}{}", if key.is_empty() { "" } else { "/" }, status.map(|s| format!("HTTP {s}")).unwrap_or_else(|| "no HTTP status".into()), code.as_deref().map(|c| format!(" {c}")).unwrap_or_default(), message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Other {
        /// The operation, such as `CopyObject`.
        operation: &'static str,
        /// The bucket asked for.
        bucket: String,
        /// The key asked for; may be empty.
        key: String,
        /// The HTTP status, when a response came.
        status: Option<u16>,
        /// The store's error code, such as `InvalidPart`.
        code: Option<String>,
        /// The store's message.
        message: Option<String>,
    },
    /// The S3 actor has stopped (its actix system is shutting down).
    #[error("the S3 actor has stopped")]
    Stopped,
}

impl S3Error {
    /// A short, fixed name of the variant: the `outcome` label of the S3
    /// metrics.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::NoSuchBucket { .. } => "no_such_bucket",
            Self::AccessDenied { .. } => "access_denied",
            Self::Unreachable { .. } => "unreachable",
            Self::Timeout { .. } => "timeout",
            Self::InvalidConfig { .. } => "invalid_config",
            Self::Io { .. } => "io",
            Self::Interrupted { .. } => "interrupted",
            Self::Integrity { .. } => "integrity",
            Self::TooLarge { .. } => "too_large",
            Self::Other { .. } => "other",
            Self::Stopped => "stopped",
        }
    }

    /// True when the object (or its bucket) does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. } | Self::NoSuchBucket { .. })
    }

    /// True for failures worth retrying later without changing anything:
    /// unreachable endpoint, timeout, interrupted transfer, 5xx answers.
    ///
    /// ```
    /// use ms_runtime::s3::S3Error;
    ///
    /// let slow_down = S3Error::Other {
    ///     operation: "PutObject",
    ///     bucket: "scans".into(),
    ///     key: "a.pdf".into(),
    ///     status: Some(503),
    ///     code: Some("SlowDown".into()),
    ///     message: None,
    /// };
    /// assert!(slow_down.is_transient());
    /// assert!(!S3Error::NoSuchBucket { bucket: "scans".into() }.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Timeout { .. } | Self::Interrupted { .. } => true,
            Self::Other { status, .. } => status.is_some_and(|s| s >= 500),
            _ => false,
        }
    }
}

/// What an operation was about, to name it in errors.
#[derive(Clone, Copy)]
pub(crate) struct Target<'a> {
    pub operation: &'static str,
    pub bucket: &'a str,
    pub key: &'a str,
    pub endpoint: &'a str,
}

impl<'a> Target<'a> {
    pub(crate) fn new(
        operation: &'static str,
        bucket: &'a str,
        key: &'a str,
        endpoint: &'a str,
    ) -> Self {
        Self {
            operation,
            bucket,
            key,
            endpoint,
        }
    }

    /// Maps an SDK error to the variant a caller can act on.
    pub(crate) fn map<E>(&self, err: SdkError<E>) -> S3Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let timeout = || S3Error::Timeout {
            operation: self.operation,
            bucket: self.bucket.to_owned(),
            key: self.key.to_owned(),
            endpoint: self.endpoint.to_owned(),
        };
        match err {
            SdkError::TimeoutError(_) => timeout(),
            SdkError::DispatchFailure(failure) => {
                if failure.is_timeout() {
                    return timeout();
                }
                let source: BoxError = match failure.as_connector_error() {
                    Some(connector) => connector.to_string().into(),
                    None => "the request could not be sent".into(),
                };
                // The connector's text names the cause (refused, reset, DNS),
                // with no credentials in it.
                S3Error::Unreachable {
                    endpoint: self.endpoint.to_owned(),
                    source: source_chain(failure.as_connector_error(), source),
                }
            }
            SdkError::ConstructionFailure(_) => S3Error::InvalidConfig {
                reason: format!(
                    "{} on {}/{} could not be built: check the bucket name, the key and the endpoint",
                    self.operation, self.bucket, self.key
                ),
            },
            SdkError::ResponseError(response) => {
                let status = response.raw().status().as_u16();
                self.map_status(status, None, None)
            }
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                let err = service.err();
                self.map_status(
                    status,
                    err.code().map(str::to_owned),
                    err.message().map(str::to_owned),
                )
            }
            other => S3Error::Other {
                operation: self.operation,
                bucket: self.bucket.to_owned(),
                key: self.key.to_owned(),
                status: other.raw_response().map(|r| r.status().as_u16()),
                code: other.code().map(str::to_owned),
                message: other.message().map(str::to_owned),
            },
        }
    }

    /// Maps a status and an S3 error code.
    pub(crate) fn map_status(
        &self,
        status: u16,
        code: Option<String>,
        message: Option<String>,
    ) -> S3Error {
        match code.as_deref() {
            Some("NoSuchBucket") => {
                return S3Error::NoSuchBucket {
                    bucket: self.bucket.to_owned(),
                };
            }
            Some("NoSuchKey") => return self.not_found(),
            Some("NotFound") | None if status == 404 => {
                return if self.key.is_empty() {
                    S3Error::NoSuchBucket {
                        bucket: self.bucket.to_owned(),
                    }
                } else {
                    self.not_found()
                };
            }
            Some(
                "AccessDenied"
                | "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "AllAccessDisabled"
                | "AccountProblem"
                | "ExpiredToken"
                | "InvalidToken",
            ) => return self.access_denied(code.unwrap_or_default()),
            None | Some("Forbidden") if status == 403 => {
                return self.access_denied("Forbidden".to_owned());
            }
            Some("RequestTimeout") => {
                return S3Error::Timeout {
                    operation: self.operation,
                    bucket: self.bucket.to_owned(),
                    key: self.key.to_owned(),
                    endpoint: self.endpoint.to_owned(),
                };
            }
            _ => {}
        }
        S3Error::Other {
            operation: self.operation,
            bucket: self.bucket.to_owned(),
            key: self.key.to_owned(),
            status: Some(status),
            code,
            message,
        }
    }

    pub(crate) fn not_found(&self) -> S3Error {
        S3Error::NotFound {
            bucket: self.bucket.to_owned(),
            key: self.key.to_owned(),
        }
    }

    fn access_denied(&self, code: String) -> S3Error {
        S3Error::AccessDenied {
            bucket: self.bucket.to_owned(),
            key: self.key.to_owned(),
            code,
        }
    }

    /// A body that stopped midway.
    pub(crate) fn interrupted(&self, source: impl Into<BoxError>) -> S3Error {
        S3Error::Interrupted {
            bucket: self.bucket.to_owned(),
            key: self.key.to_owned(),
            source: source.into(),
        }
    }

    /// A reply that broke the protocol (a field S3 always sends is missing).
    pub(crate) fn malformed(&self, what: &str) -> S3Error {
        S3Error::Other {
            operation: self.operation,
            bucket: self.bucket.to_owned(),
            key: self.key.to_owned(),
            status: None,
            code: None,
            message: Some(format!("the store's reply has no {what}")),
        }
    }
}

/// The connector's own error text plus its innermost cause, which says
/// "Connection refused" where the outer text only says "io error".
fn source_chain(
    connector: Option<&aws_sdk_s3::error::ConnectorError>,
    fallback: BoxError,
) -> BoxError {
    let Some(connector) = connector else {
        return fallback;
    };
    let mut text = connector.to_string();
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(connector);
    let mut last = None;
    while let Some(err) = cause {
        last = Some(err.to_string());
        cause = err.source();
    }
    if let Some(last) = last.filter(|l| !text.contains(l.as_str())) {
        text.push_str(": ");
        text.push_str(&last);
    }
    text.into()
}

/// An I/O error on a local file.
pub(crate) fn io_error(path: &std::path::Path, source: std::io::Error) -> S3Error {
    S3Error::Io {
        path: path.to_owned(),
        source,
    }
}
