//! [`HandlerError`]: a handler's failure as the caller sees it, and where
//! the runtime's other errors (serde, S3, calls) become protocol codes.

use std::fmt;

use serde::Serialize;

use crate::protocol::{ErrorCode, Json, WireError};

/// A handler's failure, as the caller will see it: a protocol error code, a
/// message, and whether retrying may help.
///
/// ```
/// use ms_runtime::HandlerError;
/// use ms_runtime::protocol::ErrorCode;
///
/// let e = HandlerError::new("page 7 is unreadable");
/// assert_eq!(e.code(), &ErrorCode::HandlerError);
/// assert!(!e.is_retryable());
/// assert!(HandlerError::overloaded("model busy").is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    error: WireError,
}

impl HandlerError {
    /// A `handler_error`: the request was understood but could not be served.
    pub fn new(message: impl Into<String>) -> Self {
        Self::with_code(ErrorCode::HandlerError, message)
    }

    /// An error with any protocol code; `retryable` follows the code.
    ///
    /// ```
    /// use ms_runtime::HandlerError;
    /// use ms_runtime::protocol::ErrorCode;
    ///
    /// let e = HandlerError::with_code(ErrorCode::Forbidden, "tenant acme may not read this bucket");
    /// assert_eq!(e.code(), &ErrorCode::Forbidden);
    /// assert_eq!(e.message(), "tenant acme may not read this bucket");
    /// assert!(!e.is_retryable());
    /// ```
    pub fn with_code(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: WireError::new(code, message),
        }
    }

    /// A `bad_request`: the payload is not what the route takes.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::with_code(ErrorCode::BadRequest, message)
    }

    /// An `overloaded` (retryable): try again later or elsewhere.
    pub fn overloaded(message: impl Into<String>) -> Self {
        Self::with_code(ErrorCode::Overloaded, message)
    }

    /// An `internal` (retryable): something broke that is not the caller's fault.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::with_code(ErrorCode::Internal, message)
    }

    /// A `timeout` (retryable).
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::with_code(ErrorCode::Timeout, message)
    }

    /// The same error with `retryable` set explicitly.
    ///
    /// ```
    /// use ms_runtime::HandlerError;
    ///
    /// // the model is still loading: worth trying again, although `handler_error` is not by default
    /// let e = HandlerError::new("model still loading").retryable(true);
    /// assert!(e.is_retryable());
    /// assert!(!HandlerError::internal("disk full").retryable(false).is_retryable());
    /// ```
    pub fn retryable(mut self, retryable: bool) -> Self {
        self.error.retryable = retryable;
        self
    }

    /// The protocol code.
    pub fn code(&self) -> &ErrorCode {
        &self.error.code
    }

    /// The message the caller sees.
    pub fn message(&self) -> &str {
        &self.error.message
    }

    /// Whether the caller may try again.
    pub fn is_retryable(&self) -> bool {
        self.error.retryable
    }

    /// The error object sent on the wire.
    ///
    /// ```
    /// use ms_runtime::HandlerError;
    /// use ms_runtime::protocol::{Envelope, ErrorCode, MessageId};
    ///
    /// let wire = HandlerError::bad_request("page must be a number").into_wire();
    /// assert_eq!(wire.code, ErrorCode::BadRequest);
    /// let frame = Envelope::error(Some(&MessageId::new("r1")?), wire);
    /// assert!(frame.correlation_id().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_wire(self) -> WireError {
        self.error
    }

    /// Wraps a reply payload: `Ok(Json)` from any serialisable value.
    ///
    /// # Errors
    /// An `internal` error when the value cannot be serialised.
    #[deprecated(
        since = "0.2.0",
        note = "a success value does not belong on the error type: use `ms_runtime::reply`"
    )]
    pub fn reply<T: Serialize + ?Sized>(value: &T) -> Result<Json, Self> {
        reply(value)
    }
}

/// A handler's answer from any serialisable value: `Ok(Json)`, the `reply`
/// payload.
///
/// # Errors
/// An `internal` error (not retryable: trying again gives the same value)
/// when the value cannot be serialised, e.g. a map with non-string keys.
///
/// ```
/// let json = ms_runtime::reply(&serde_json::json!({"pages": 3}))?;
/// assert_eq!(json.as_str(), r#"{"pages":3}"#);
/// # Ok::<(), ms_runtime::HandlerError>(())
/// ```
pub fn reply<T: Serialize + ?Sized>(value: &T) -> Result<Json, HandlerError> {
    Json::from_value(value).map_err(|e| {
        HandlerError::internal(format!("reply could not be serialised: {e}")).retryable(false)
    })
}

impl From<WireError> for HandlerError {
    fn from(error: WireError) -> Self {
        Self { error }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for HandlerError {}
