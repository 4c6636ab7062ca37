//! The crate's error type, and the one place that maps errors to protocol codes.

use crate::config::ConfigError;
use crate::encoding::EncodingError;
use crate::protocol::{DecodeError, EncodeError, ErrorCode};

/// Everything that can go wrong in `ms_runtime`.
///
/// The message says what failed; the cause is in [`std::error::Error::source`].
/// [`Error::code`] says which protocol error code answers it on the wire.
///
/// ```
/// use std::error::Error as _;
/// use ms_runtime::{Config, Error};
///
/// fn load() -> ms_runtime::Result<Config> {
///     Ok(Config::from_vars([("MS_LOG_FORMAT", "xml")])?)
/// }
///
/// let Err(err) = load() else { unreachable!() };
/// assert!(matches!(err, Error::Config(_)));
/// assert_eq!(err.to_string(), "invalid configuration");
/// assert!(err.source().is_some_and(|cause| cause.to_string().starts_with("MS_LOG_FORMAT")));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    #[error("invalid configuration")]
    Config(#[from] ConfigError),
    /// A frame broke the protocol.
    #[error("invalid frame")]
    Decode(#[from] DecodeError),
    /// A frame could not be written.
    #[error("frame could not be encoded")]
    Encode(#[from] EncodeError),
    /// Base64 text or a base64 stream was invalid.
    #[error("base64 conversion failed")]
    Encoding(#[from] EncodingError),
    /// The TLS configuration could not be built; the source says why (the CA
    /// file that cannot be read, or holds no certificate).
    #[error("TLS set-up failed")]
    Tls(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The S3 store could not be set up or used.
    #[cfg(feature = "s3")]
    #[cfg_attr(docsrs, doc(cfg(feature = "s3")))]
    #[error("object storage failed")]
    S3(#[from] crate::s3::S3Error),
    /// The log sink could not start (its thread could not be spawned, or an
    /// earlier attempt in this process failed); the source says why. A
    /// service does not start without its logs.
    #[error("logging could not start")]
    Logging(#[source] crate::logging::LoggingError),
    /// A service was started outside an actix system.
    #[error(
        "a service must be started inside an actix system (use ms_runtime::run, or #[actix_rt::main])"
    )]
    NoSystem,
    /// A name the service would announce in `hello` (its service name,
    /// instance, version, a route or a topic) breaks the protocol's name
    /// rule; the gateway would refuse the session.
    ///
    /// ```
    /// use ms_runtime::Error;
    /// use ms_runtime::protocol::check_name;
    ///
    /// let err = Error::InvalidName { what: "route", name: "a b".into(), source: check_name("a b").unwrap_err() };
    /// assert_eq!(err.to_string(), r#"route "a b" is not a valid protocol name"#);
    /// ```
    #[error("{what} {name:?} is not a valid protocol name")]
    InvalidName {
        /// Which name: `service name`, `instance`, `version`, `route` or `topic`.
        what: &'static str,
        /// The name (printed escaped).
        name: String,
        /// The rule it breaks.
        #[source]
        source: crate::protocol::InvalidName,
    },
    /// The health probe port (`MS_HEALTH_BIND`) could not be opened.
    #[error("cannot listen for health probes on {addr}")]
    HealthBind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The metrics port (`MS_METRICS_BIND`) could not be opened.
    #[error("cannot listen for metrics scrapes on {addr}")]
    MetricsBind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with [`Error`].
///
/// ```
/// use ms_runtime::encoding;
///
/// fn image_size(base64: &str) -> ms_runtime::Result<usize> {
///     let bytes = encoding::decode(base64)?; // an EncodingError becomes an ms_runtime::Error
///     Ok(bytes.len())
/// }
///
/// assert_eq!(image_size("iVBORw==")?, 4);
/// assert!(image_size("iVBOR").is_err());
/// # Ok::<(), ms_runtime::Error>(())
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The protocol error code a peer is answered with when this error ends
    /// the handling of its message.
    ///
    /// ```
    /// use ms_runtime::Error;
    /// use ms_runtime::protocol::{decode, ErrorCode};
    ///
    /// let err = Error::from(decode("not json").unwrap_err());
    /// assert_eq!(err.code(), ErrorCode::BadRequest);
    /// ```
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Decode(e) => e.code(),
            Self::Encoding(EncodingError::Io(_))
            | Self::Config(_)
            | Self::Encode(_)
            | Self::Tls(_)
            | Self::Logging(_)
            | Self::NoSystem
            | Self::InvalidName { .. }
            | Self::HealthBind { .. }
            | Self::MetricsBind { .. } => ErrorCode::Internal,
            #[cfg(feature = "s3")]
            Self::S3(_) => ErrorCode::Internal,
            Self::Encoding(_) => ErrorCode::BadRequest,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn the_cause_is_a_source_not_part_of_the_message() {
        let err = Error::from(crate::encoding::decode("@@@@").unwrap_err());
        assert_eq!(err.to_string(), "base64 conversion failed");
        assert_eq!(
            err.source().map(ToString::to_string).as_deref(),
            Some("invalid base64 byte 0x40 ('@') at offset 0")
        );
        assert_eq!(err.code(), ErrorCode::BadRequest);
    }

    #[test]
    fn oversized_frames_map_to_payload_too_large() {
        let err = Error::from(crate::protocol::decode_limited("{}", 1).unwrap_err());
        assert_eq!(err.code(), ErrorCode::PayloadTooLarge);
    }
}
