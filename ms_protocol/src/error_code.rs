use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The `code` of an `error` frame.
///
/// The protocol lists eleven codes. A code this version does not know (sent by
/// a newer peer) is kept as [`ErrorCode::Other`] rather than refused, so an
/// error always reaches the caller.
///
/// ```
/// use ms_protocol::ErrorCode;
///
/// let code = ErrorCode::parse("overloaded");
/// assert_eq!(code, ErrorCode::Overloaded);
/// assert!(code.is_retryable_by_default());
/// assert_eq!(code.http_status(), 503);
///
/// let newer = ErrorCode::parse("quota_exceeded");
/// assert_eq!(newer, ErrorCode::Other("quota_exceeded".into()));
/// assert_eq!(newer.as_str(), "quota_exceeded");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The frame broke the envelope rules.
    BadRequest,
    /// A binary frame, reserved in version 1.
    BadFrame,
    /// No instance of the named service is connected.
    UnknownService,
    /// The service did not list the route in its `hello`.
    UnknownRoute,
    /// Bad or missing credentials.
    Unauthorized,
    /// The user may not register or call this service.
    Forbidden,
    /// The handler failed; the message says how.
    HandlerError,
    /// The deadline passed before a reply.
    Timeout,
    /// A queue or in-flight bound is full.
    Overloaded,
    /// The frame or payload is bigger than allowed.
    PayloadTooLarge,
    /// An unexpected failure inside the peer.
    Internal,
    /// A code this version does not know.
    Other(String),
}

impl ErrorCode {
    /// Every code the protocol defines, in the order of its list.
    pub const ALL: [ErrorCode; 11] = [
        Self::BadRequest,
        Self::BadFrame,
        Self::UnknownService,
        Self::UnknownRoute,
        Self::Unauthorized,
        Self::Forbidden,
        Self::HandlerError,
        Self::Timeout,
        Self::Overloaded,
        Self::PayloadTooLarge,
        Self::Internal,
    ];

    /// The code as it is written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::BadRequest => "bad_request",
            Self::BadFrame => "bad_frame",
            Self::UnknownService => "unknown_service",
            Self::UnknownRoute => "unknown_route",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::HandlerError => "handler_error",
            Self::Timeout => "timeout",
            Self::Overloaded => "overloaded",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Internal => "internal",
            Self::Other(code) => code,
        }
    }

    /// Reads a wire code; unknown codes become [`ErrorCode::Other`].
    pub fn parse(code: &str) -> Self {
        Self::ALL
            .iter()
            .find(|known| known.as_str() == code)
            .cloned()
            .unwrap_or_else(|| Self::Other(code.to_owned()))
    }

    /// Whether a caller may try again: true for `timeout`, `overloaded` and
    /// `internal`, as the protocol says, unless the sender knows better.
    pub fn is_retryable_by_default(&self) -> bool {
        matches!(self, Self::Timeout | Self::Overloaded | Self::Internal)
    }

    /// The HTTP status the gateway's HTTP edge answers this code with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::BadRequest | Self::BadFrame => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::UnknownService | Self::UnknownRoute => 404,
            Self::PayloadTooLarge => 413,
            Self::HandlerError => 502,
            Self::Overloaded => 503,
            Self::Timeout => 504,
            Self::Internal | Self::Other(_) => 500,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Self::parse(&code))
    }
}

/// The `error` object of an `error` frame: what went wrong, in words the
/// caller sees, and whether trying again may help.
///
/// ```
/// use ms_protocol::{ErrorCode, WireError};
///
/// let e = WireError::new(ErrorCode::Overloaded, "queue full");
/// assert!(e.retryable);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WireError {
    /// One of the protocol's codes.
    pub code: ErrorCode,
    /// A message for the caller; never a secret, never a stack trace.
    pub message: String,
    /// Whether the caller may send the same request again.
    pub retryable: bool,
}

/// The error object as sent; `retryable` may be left out and then follows the code.
#[derive(Deserialize)]
struct WireErrorFields {
    code: ErrorCode,
    message: String,
    #[serde(default)]
    retryable: Option<bool>,
}

impl<'de> Deserialize<'de> for WireError {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fields = WireErrorFields::deserialize(deserializer)?;
        let retryable = fields
            .retryable
            .unwrap_or_else(|| fields.code.is_retryable_by_default());
        Ok(Self {
            code: fields.code,
            message: fields.message,
            retryable,
        })
    }
}

impl WireError {
    /// An error with the protocol's default `retryable` for its code.
    ///
    /// ```
    /// use ms_protocol::{ErrorCode, WireError};
    ///
    /// let e = WireError::new(ErrorCode::BadRequest, "page must be a number");
    /// assert!(!e.retryable);
    /// assert_eq!(e.to_string(), "bad_request: page must be a number");
    /// ```
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        let retryable = code.is_retryable_by_default();
        Self {
            code,
            message: message.into(),
            retryable,
        }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for WireError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_text() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), code);
        }
        assert_eq!(
            ErrorCode::parse("quota_exceeded"),
            ErrorCode::Other("quota_exceeded".into())
        );
    }

    #[test]
    fn retryable_defaults_follow_the_protocol() {
        let retryable: Vec<_> = ErrorCode::ALL
            .into_iter()
            .filter(ErrorCode::is_retryable_by_default)
            .collect();
        assert_eq!(
            retryable,
            [
                ErrorCode::Timeout,
                ErrorCode::Overloaded,
                ErrorCode::Internal
            ]
        );
    }

    #[test]
    fn retryable_may_be_left_out_and_then_follows_the_code() {
        let e: WireError = serde_json::from_str(r#"{"code":"timeout","message":"m"}"#).unwrap();
        assert!(e.retryable);
        let e: WireError =
            serde_json::from_str(r#"{"code":"timeout","message":"m","retryable":false}"#).unwrap();
        assert!(!e.retryable);
    }

    #[test]
    fn http_statuses_follow_the_edge_table() {
        assert_eq!(ErrorCode::BadRequest.http_status(), 400);
        assert_eq!(ErrorCode::Unauthorized.http_status(), 401);
        assert_eq!(ErrorCode::UnknownService.http_status(), 404);
        assert_eq!(ErrorCode::UnknownRoute.http_status(), 404);
        assert_eq!(ErrorCode::PayloadTooLarge.http_status(), 413);
        assert_eq!(ErrorCode::HandlerError.http_status(), 502);
        assert_eq!(ErrorCode::Overloaded.http_status(), 503);
        assert_eq!(ErrorCode::Timeout.http_status(), 504);
    }
}
