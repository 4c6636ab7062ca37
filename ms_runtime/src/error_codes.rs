//! The one place where the runtime's errors become protocol error codes:
//! calls to other services ([`CallError`]), claim checks, serde, S3, and
//! what a handler's `?` turns them into ([`HandlerError`]).

use crate::claim_check::ClaimError;
use crate::gateway::CallError;
use crate::handler_error::HandlerError;
use crate::protocol::{ErrorCode, WireError};
#[cfg(feature = "s3")]
use crate::s3::S3Error;

impl CallError {
    /// The protocol code that best describes this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Remote(wire) => wire.code.clone(),
            Self::Timeout(_) => ErrorCode::Timeout,
            Self::Overloaded => ErrorCode::Overloaded,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::Payload(_) => ErrorCode::BadRequest,
            Self::Stopped => ErrorCode::Internal,
        }
    }
}

impl ClaimError {
    /// The answer to a request whose payload this is.
    pub(crate) fn to_wire(&self) -> WireError {
        let code = match self {
            #[cfg(feature = "s3")]
            Self::Outside | Self::Rejected(_) => ErrorCode::BadRequest,
            #[cfg(feature = "s3")]
            Self::NoStore | Self::Unavailable(_) => ErrorCode::Internal,
            #[cfg(not(feature = "s3"))]
            Self::Disabled => ErrorCode::Internal,
        };
        let mut error = WireError::new(code, self.to_string());
        error.retryable = self.is_transient();
        error
    }
}

impl From<serde_json::Error> for HandlerError {
    /// `?` on `serde_json::from_*` in a handler: the input did not parse,
    /// which is the caller's fault, so `bad_request` (not retryable).
    /// Serialising an answer goes through [`reply`](crate::reply), which reports its own
    /// failures as `internal`.
    ///
    /// ```
    /// use ms_runtime::HandlerError;
    /// use ms_runtime::protocol::ErrorCode;
    ///
    /// let parsed: Result<u32, _> = serde_json::from_str("\"three\"");
    /// let e = HandlerError::from(parsed.unwrap_err());
    /// assert_eq!(e.code(), &ErrorCode::BadRequest);
    /// assert!(!e.is_retryable());
    /// ```
    fn from(e: serde_json::Error) -> Self {
        Self::bad_request(format!("json: {e}"))
    }
}

#[cfg(feature = "s3")]
impl From<S3Error> for HandlerError {
    /// A failed storage operation fails the handler with `internal`,
    /// retryable when the store was unreachable or slow
    /// ([`S3Error::is_transient`](S3Error::is_transient)), so
    /// `?` on an S3 call inside a handler does the right thing.
    fn from(e: S3Error) -> Self {
        let transient = e.is_transient();
        Self::internal(format!("storage: {e}")).retryable(transient)
    }
}

impl From<CallError> for HandlerError {
    /// A failed call to another service fails this handler with the same code
    /// when the other side answered, or `internal` when the call never got an answer.
    fn from(e: CallError) -> Self {
        match e {
            CallError::Remote(wire) => wire.into(),
            other => Self::with_code(other.code(), other.to_string()),
        }
    }
}
