//! The wire contract between a service and the gateway, as Rust types.
//!
//! Every websocket frame holds one JSON object, the [`Envelope`]. This crate
//! turns text into envelopes ([`decode`]) and envelopes into text
//! ([`encode`]); it does no I/O (it only reads the wall clock, in
//! [`clock`]), so the runtime, the reference gateway and anyone's tests
//! share one implementation of the rules in `docs/protocol.md`: the frames,
//! the timing rules ([`MAX_ACK_DELAY`], [`MISSED_HEARTBEATS`]), deadlines as
//! Unix milliseconds ([`clock`]), and the [`Secret`] type both sides keep
//! credentials in.
//!
//! A frame that breaks a rule never panics the decoder: it yields a
//! [`DecodeError`] that names the rule, carries the frame's `id` when one
//! could be read, and builds the `error` frame to answer with.
//!
//! ```
//! use ms_protocol::{decode, encode, Body, Envelope, Json, Payload};
//!
//! let text = r#"{"v":1,"kind":"request","id":"r1","to":"ocr","route":"extract","payload":{"page":3}}"#;
//! let envelope = decode(text)?;
//! let Body::Request(request) = &envelope.body else { unreachable!() };
//! assert_eq!(request.route, "extract");
//!
//! let reply = Envelope::reply_to(&envelope.id, Payload::Inline(Json::from_value(&"done")?));
//! assert!(encode(&reply)?.contains(r#""correlation_id":"r1""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod clock;
mod decode;
mod decode_error;
mod encode;
mod envelope;
mod error_code;
mod headers;
mod id;
mod name;
mod payload;
mod scan;
mod secret;
mod timing;
mod trace_context;
mod trace_headers;
mod ws_frame;

pub use decode::{decode, decode_limited, decode_shared};
pub use decode_error::{DecodeError, DecodeErrorKind};
pub use encode::{EncodeError, encode};
pub use envelope::{Ack, Body, Envelope, ErrorReport, Event, Hello, Kind, Reply, Request, Welcome};
pub use error_code::{ErrorCode, WireError};
pub use headers::{HeaderError, Headers};
pub use id::{InvalidId, MessageId};
pub use name::{InvalidName, check_name};
pub use payload::{Json, Payload, PayloadRef};
pub use secret::Secret;
pub use timing::{
    DEFAULT_HEARTBEAT, MAX_ACK_DELAY, MISSED_HEARTBEATS, peer_silent_too_long, silence_limit,
};
pub use trace_context::{
    IncomingTrace, MAX_TRACEPARENT_BYTES, MAX_TRACESTATE_BYTES, MAX_TRACESTATE_MEMBERS, SpanId,
    TraceId, TraceOrigin, TraceParent, TraceParentError, is_valid_tracestate,
};
pub use ws_frame::FrameHeader;

/// The shared, immutable UTF-8 buffer frames are held in (from the
/// `bytestring` crate): see [`decode_shared`].
pub use bytestring::ByteString;

/// The protocol version this crate speaks: the `v` of every envelope.
///
/// ```
/// use ms_protocol::{encode, Envelope, PROTOCOL_VERSION};
///
/// let text = encode(&Envelope::ack(vec![]))?;
/// assert!(text.starts_with(&format!(r#"{{"v":{PROTOCOL_VERSION},"#)));
/// # Ok::<(), ms_protocol::EncodeError>(())
/// ```
pub const PROTOCOL_VERSION: u64 = 1;

/// Longest `id` the protocol allows, in bytes.
///
/// ```
/// use ms_protocol::{MessageId, MAX_ID_BYTES};
///
/// assert!(MessageId::new("a".repeat(MAX_ID_BYTES)).is_ok());
/// assert!(MessageId::new("a".repeat(MAX_ID_BYTES + 1)).is_err());
/// ```
pub const MAX_ID_BYTES: usize = 128;

/// Longest name (service, instance, version, route, topic) the protocol
/// allows, in bytes; see [`check_name`].
///
/// ```
/// use ms_protocol::{check_name, MAX_NAME_BYTES};
///
/// assert!(check_name(&"a".repeat(MAX_NAME_BYTES)).is_ok());
/// assert!(check_name(&"a".repeat(MAX_NAME_BYTES + 1)).is_err());
/// ```
pub const MAX_NAME_BYTES: usize = 128;

/// Frame size limit when `welcome.max_frame_bytes` does not set one: 16 MiB.
///
/// ```
/// use ms_protocol::{decode, Body, DEFAULT_MAX_FRAME_BYTES};
///
/// let frame = decode(r#"{"v":1,"kind":"welcome","id":"w1","session":"s-1"}"#)?;
/// let Body::Welcome(welcome) = frame.body else { unreachable!() };
/// assert_eq!(welcome.max_frame_bytes, DEFAULT_MAX_FRAME_BYTES);
/// # Ok::<(), ms_protocol::DecodeError>(())
/// ```
pub const DEFAULT_MAX_FRAME_BYTES: u64 = 16 * 1024 * 1024;

/// Heartbeat interval when `welcome.heartbeat_ms` does not set one.
///
/// ```
/// use ms_protocol::{decode, Body, DEFAULT_HEARTBEAT_MS};
///
/// let frame = decode(r#"{"v":1,"kind":"welcome","id":"w1","session":"s-1"}"#)?;
/// let Body::Welcome(welcome) = frame.body else { unreachable!() };
/// assert_eq!(welcome.heartbeat_ms, DEFAULT_HEARTBEAT_MS);
/// # Ok::<(), ms_protocol::DecodeError>(())
/// ```
pub const DEFAULT_HEARTBEAT_MS: u64 = 5_000;

#[cfg(test)]
mod proptests;
