//! [`DecodeError`]: the rule a frame broke, and the answer it earns.

use std::fmt;

use super::{
    Envelope, ErrorCode, HeaderError, InvalidId, Kind, MessageId, PROTOCOL_VERSION, WireError,
};

/// Why a frame is not a valid envelope, with the frame's `id` when one could
/// be read so the answer can name it in `correlation_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub(crate) id: Option<MessageId>,
    pub(crate) kind: DecodeErrorKind,
}

/// The rule a frame broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The text is not JSON.
    #[error("frame is not JSON: {reason}")]
    NotJson {
        /// The parser's message, with line and column.
        reason: String,
    },
    /// The JSON is not an object.
    #[error("frame is not a JSON object")]
    NotAnObject,
    /// The object names a field twice.
    #[error("frame is malformed: {reason}")]
    Malformed {
        /// The parser's message.
        reason: String,
    },
    /// A required field is absent.
    #[error("missing field `{field}`{}", in_kind(*.kind))]
    MissingField {
        /// The frame's kind, once known.
        kind: Option<Kind>,
        /// The absent field.
        field: &'static str,
    },
    /// A field has the wrong type or breaks its rule.
    #[error("invalid field `{field}`: {reason}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `v` is not 1.
    #[error("unsupported protocol version {found}; this peer speaks version {PROTOCOL_VERSION}")]
    UnsupportedVersion {
        /// The `v` found, as JSON text.
        found: String,
    },
    /// `kind` is not one of the seven kinds.
    #[error("unknown kind {found:?}")]
    UnknownKind {
        /// The kind found.
        found: String,
    },
    /// `id` breaks the length rule.
    #[error("invalid field `id`: {0}")]
    InvalidId(#[source] InvalidId),
    /// Both `payload` and `payload_ref` are present.
    #[error("a {kind} frame carries both `payload` and `payload_ref`; send exactly one")]
    PayloadConflict {
        /// The frame's kind.
        kind: Kind,
    },
    /// Neither `payload` nor `payload_ref` is present.
    #[error("a {kind} frame carries neither `payload` nor `payload_ref`; send exactly one")]
    PayloadMissing {
        /// The frame's kind.
        kind: Kind,
    },
    /// A defined header breaks its rule.
    #[error("invalid header: {0}")]
    InvalidHeader(#[source] HeaderError),
    /// The frame is bigger than the connection allows.
    #[error(
        "frame of {size} bytes is over the {limit}-byte limit; send large payloads by claim check"
    )]
    TooLarge {
        /// The frame's size in bytes.
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// A binary frame, reserved in version 1.
    #[error("binary frames are reserved in protocol version 1; send text frames")]
    BinaryFrame,
}

fn in_kind(kind: Option<Kind>) -> String {
    kind.map(|k| format!(" in a {k} frame")).unwrap_or_default()
}

impl DecodeError {
    /// The error for a binary frame (answered with `bad_frame`).
    pub fn binary_frame() -> Self {
        Self {
            id: None,
            kind: DecodeErrorKind::BinaryFrame,
        }
    }

    /// The broken rule.
    pub fn kind(&self) -> &DecodeErrorKind {
        &self.kind
    }

    /// The frame's `id`, when it could be read.
    pub fn id(&self) -> Option<&MessageId> {
        self.id.as_ref()
    }

    /// The protocol code to answer with: `bad_request`, or `bad_frame` for a
    /// binary frame, or `payload_too_large`.
    pub fn code(&self) -> ErrorCode {
        match self.kind {
            DecodeErrorKind::BinaryFrame => ErrorCode::BadFrame,
            DecodeErrorKind::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            _ => ErrorCode::BadRequest,
        }
    }

    /// The `error` object to answer with.
    pub fn to_wire_error(&self) -> WireError {
        WireError::new(self.code(), self.kind.to_string())
    }

    /// The whole `error` frame to answer with, its `correlation_id` set to the
    /// offending frame's id when one could be read.
    pub fn to_envelope(&self) -> Envelope {
        Envelope::error(self.id.as_ref(), self.to_wire_error())
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.kind.source()
    }
}
