//! W3C Trace Context: the `traceparent` and `tracestate` headers, parsed and
//! formatted without I/O, and how a hop reads its trace from an envelope's
//! headers (with the legacy `trace_id` as a fallback).
//!
//! Parsing follows the W3C rules: lowercase hex only, version `ff` and
//! all-zero ids refused, version `00` exactly 55 characters, a future
//! version read by its first 55 characters when a `-` or the end follows.
//! Anything else is malformed, and a malformed header is never echoed: the
//! hop starts a new trace instead (see [`IncomingTrace`]).

use std::fmt;

use crate::Headers;

/// Longest `traceparent` value looked at; longer ones (only a future version
/// could be longer than 55) are malformed.
pub const MAX_TRACEPARENT_BYTES: usize = 256;
/// Longest `tracestate` value propagated; a longer one is dropped.
pub const MAX_TRACESTATE_BYTES: usize = 512;
/// Most `tracestate` list members propagated; more and it is dropped.
pub const MAX_TRACESTATE_MEMBERS: usize = 32;

/// The 16-byte id shared by every span of one trace; never all zero.
///
/// ```
/// use ms_protocol::TraceId;
///
/// let id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
/// assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!(TraceId::from_hex("00000000000000000000000000000000").is_none());
/// assert!(TraceId::from_hex("4BF92F3577B34DA6A3CE929D0E0E4736").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId(pub [u8; 16]);

/// The 8-byte id of one span (the `parent-id` of a `traceparent`); never all zero.
///
/// ```
/// use ms_protocol::SpanId;
///
/// let id = SpanId::from_hex("00f067aa0ba902b7").unwrap();
/// assert_eq!(id.to_string(), "00f067aa0ba902b7");
/// assert_ne!(SpanId::random(), SpanId::random());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanId(pub [u8; 8]);

macro_rules! hex_id {
    ($ty:ident, $n:literal) => {
        impl $ty {
            /// A random id, never all zero.
            ///
            /// From a fast generator (wyrand, seeded per thread), not a
            /// cryptographic one: trace ids must be unique, not secret
            /// (W3C Trace Context), and one is made for every message
            /// that arrives without a trace.
            pub fn random() -> Self {
                loop {
                    let mut bytes = [0u8; $n];
                    fastrand::fill(&mut bytes);
                    if bytes != [0; $n] {
                        return Self(bytes);
                    }
                }
            }

            /// Reads exactly the lowercase hex form; `None` for any other
            /// length, uppercase, non-hex, or all zeros.
            pub fn from_hex(text: &str) -> Option<Self> {
                let bytes = decode_hex::<$n>(text.as_bytes())?;
                (bytes != [0; $n]).then_some(Self(bytes))
            }
        }

        impl $ty {
            /// The lowercase hex form, written by table into `text`.
            fn hex<'a>(&self, text: &'a mut [u8; 2 * $n]) -> &'a str {
                hex_into(&self.0, text);
                as_ascii(text)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // by table, not `{:02x}` per byte: this runs for every message
                f.write_str(self.hex(&mut [0u8; 2 * $n]))
            }
        }
    };
}

hex_id!(TraceId, 16);
hex_id!(SpanId, 8);

/// A valid `traceparent`: the trace, the sender's span, and the flags.
///
/// Always formatted as version `00`, whatever version it was read from.
///
/// ```
/// use ms_protocol::TraceParent;
///
/// let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// let parent = TraceParent::parse(header)?;
/// assert!(parent.is_sampled());
/// assert_eq!(parent.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(parent.to_string(), header);
///
/// // the same trace, one span further
/// let child = parent.child(ms_protocol::SpanId::random());
/// assert_eq!(child.trace_id, parent.trace_id);
/// assert_ne!(child.parent_id, parent.parent_id);
/// # Ok::<(), ms_protocol::TraceParentError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    /// The trace every span of this request tree shares.
    pub trace_id: TraceId,
    /// The span of the sender: the parent of what the receiver records.
    pub parent_id: SpanId,
    /// `trace-flags`; only the bits this version knows are kept.
    pub flags: u8,
}

/// Why a `traceparent` was refused; the hop starts a new trace instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceParentError {
    /// Shorter than 55 characters, version 00 not exactly 55, or over
    /// [`MAX_TRACEPARENT_BYTES`].
    #[error("traceparent has the wrong length")]
    Length,
    /// Not two lowercase hex digits, or the forbidden `ff`.
    #[error("traceparent version is invalid")]
    Version,
    /// A `-` missing where one must be.
    #[error("traceparent fields are not separated by `-`")]
    Separator,
    /// Not 32 lowercase hex digits, or all zero.
    #[error("traceparent trace-id is invalid")]
    TraceId,
    /// Not 16 lowercase hex digits, or all zero.
    #[error("traceparent parent-id is invalid")]
    ParentId,
    /// Not two lowercase hex digits.
    #[error("traceparent trace-flags are invalid")]
    Flags,
}

impl TraceParent {
    /// The `sampled` flag: the sender may have recorded its span.
    pub const SAMPLED: u8 = 0x01;
    /// The `random-trace-id` flag of Trace Context Level 2.
    pub const RANDOM_TRACE_ID: u8 = 0x02;
    /// Length of a version `00` header.
    pub const LEN: usize = 55;

    /// Reads a `traceparent` header value by the W3C rules.
    ///
    /// # Errors
    /// The first rule the value breaks; see [`TraceParentError`].
    pub fn parse(text: &str) -> Result<Self, TraceParentError> {
        let b = text.as_bytes();
        if b.len() < Self::LEN || b.len() > MAX_TRACEPARENT_BYTES {
            return Err(TraceParentError::Length);
        }
        let version = decode_hex::<1>(&b[0..2]).ok_or(TraceParentError::Version)?;
        match version[0] {
            0xff => return Err(TraceParentError::Version),
            0x00 if b.len() != Self::LEN => return Err(TraceParentError::Length),
            // a future version: its first 55 characters, then `-` or the end
            _ if b.len() > Self::LEN && b[Self::LEN] != b'-' => {
                return Err(TraceParentError::Separator);
            }
            _ => {}
        }
        if b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
            return Err(TraceParentError::Separator);
        }
        let trace_id = decode_hex::<16>(&b[3..35])
            .filter(|id| *id != [0; 16])
            .ok_or(TraceParentError::TraceId)?;
        let parent_id = decode_hex::<8>(&b[36..52])
            .filter(|id| *id != [0; 8])
            .ok_or(TraceParentError::ParentId)?;
        let flags = decode_hex::<1>(&b[53..55]).ok_or(TraceParentError::Flags)?;
        Ok(Self {
            trace_id: TraceId(trace_id),
            parent_id: SpanId(parent_id),
            flags: flags[0] & (Self::SAMPLED | Self::RANDOM_TRACE_ID),
        })
    }

    /// A new trace with random ids, `sampled` and `random-trace-id` set: what
    /// a hop sends when nothing usable came in. `sampled` is set so that a
    /// recording hop further on records (the flag says "may have recorded").
    pub fn start() -> Self {
        Self {
            trace_id: TraceId::random(),
            parent_id: SpanId::random(),
            flags: Self::SAMPLED | Self::RANDOM_TRACE_ID,
        }
    }

    /// The same trace and flags with `span` as the sender's span.
    pub fn child(&self, span: SpanId) -> Self {
        Self {
            parent_id: span,
            ..*self
        }
    }

    /// Whether the `sampled` flag is set.
    pub fn is_sampled(&self) -> bool {
        self.flags & Self::SAMPLED != 0
    }
}

impl TraceParent {
    /// The header text, written into `text`:
    /// 00-<32 hex>-<16 hex>-<2 hex>, built in one buffer (every message).
    fn header<'a>(&self, text: &'a mut [u8; 55]) -> &'a str {
        *text = *b"00-00000000000000000000000000000000-0000000000000000-00";
        hex_into(&self.trace_id.0, &mut text[3..35]);
        hex_into(&self.parent_id.0, &mut text[36..52]);
        hex_into(&[self.flags], &mut text[53..55]);
        as_ascii(text)
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.header(&mut [0u8; 55]))
    }
}

/// Writes `bytes` as lowercase hex into `out` (twice as long).
pub(crate) fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (byte, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
}

/// `text`, which holds only ASCII, as a `str`.
pub(crate) fn as_ascii(text: &[u8]) -> &str {
    // only hex digits and '-' are ever written: never the empty fallback
    std::str::from_utf8(text).unwrap_or_default()
}

/// Whether `text` is a `tracestate` this hop propagates: at most
/// [`MAX_TRACESTATE_BYTES`] bytes and [`MAX_TRACESTATE_MEMBERS`] members,
/// each `key=value` by the W3C grammar, no key twice.
///
/// ```
/// use ms_protocol::is_valid_tracestate;
///
/// assert!(is_valid_tracestate("congo=t61rcWkgMzE, rojo=00f067aa0ba902b7"));
/// assert!(is_valid_tracestate("tenant@vendor=x"));
/// assert!(!is_valid_tracestate("Upper=x"));
/// assert!(!is_valid_tracestate("a=1,a=2"));
/// assert!(!is_valid_tracestate(&"a=b,".repeat(200)));
/// ```
pub fn is_valid_tracestate(text: &str) -> bool {
    if text.len() > MAX_TRACESTATE_BYTES {
        return false;
    }
    let mut keys: Vec<&str> = Vec::new();
    for member in text.split(',') {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() {
            continue;
        }
        let Some((key, value)) = member.split_once('=') else {
            return false;
        };
        if !is_tracestate_key(key) || !is_tracestate_value(value) || keys.contains(&key) {
            return false;
        }
        keys.push(key);
        if keys.len() > MAX_TRACESTATE_MEMBERS {
            return false;
        }
    }
    true
}

fn is_key_char(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'*' | b'/')
}

fn is_tracestate_key(key: &str) -> bool {
    let b = key.as_bytes();
    match key.split_once('@') {
        None => {
            b.len() <= 256
                && b.first().is_some_and(u8::is_ascii_lowercase)
                && b.iter().all(|&c| is_key_char(c))
        }
        Some((tenant, system)) => {
            let (t, s) = (tenant.as_bytes(), system.as_bytes());
            (1..=241).contains(&t.len())
                && t.first()
                    .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && t.iter().all(|&c| is_key_char(c))
                && (1..=14).contains(&s.len())
                && s.first().is_some_and(u8::is_ascii_lowercase)
                && s.iter().all(|&c| is_key_char(c))
        }
    }
}

fn is_tracestate_value(value: &str) -> bool {
    let b = value.as_bytes();
    let printable = |c: u8| (0x20..=0x7e).contains(&c) && c != b',' && c != b'=';
    (1..=256).contains(&b.len()) && b.iter().all(|&c| printable(c)) && !b.ends_with(b" ")
}

fn decode_hex<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    if text.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0; N];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        *byte = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

/// Where a hop's trace came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceOrigin {
    /// A valid `traceparent`: the hop continues the sender's trace.
    Traceparent,
    /// No valid `traceparent`, but a legacy `trace_id` of 32 lowercase hex
    /// digits: the trace id is kept, the parent span is made up.
    LegacyTraceId,
    /// Nothing usable: a new trace starts here.
    Started,
}

/// The trace a hop reads from incoming headers: always usable, whatever
/// came in.
///
/// Reading: a valid `traceparent` wins, and a `trace_id` in W3C form is then
/// derived from it (replaced should the two differ). Without one, a
/// `trace_id` of 32 lowercase hex digits (not all zero) becomes the trace id.
/// A `trace_id` in any other form is a label the origin chose: it is kept
/// for logs and sent on as it came, beside the W3C trace. `tracestate` is kept only beside a valid `traceparent`, and only
/// when [`is_valid_tracestate`].
///
/// ```
/// use ms_protocol::{Headers, IncomingTrace, TraceOrigin};
///
/// let mut headers = Headers::new();
/// headers.set_trace_id("order-1234");
/// headers.insert(Headers::TRACEPARENT, "00-not-a-traceparent");
/// let incoming = IncomingTrace::read(&headers);
/// assert_eq!(incoming.origin, TraceOrigin::Started);
///
/// // what the hop sends on: a well-formed traceparent, the legacy id for logs
/// let mut out = Headers::new();
/// incoming.write(&mut out, &incoming.parent);
/// assert_eq!(out.trace_id(), Some("order-1234"));
/// assert_eq!(out.traceparent(), Some(incoming.parent));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingTrace {
    /// The remote parent (or a made-up one, see [`TraceOrigin`]).
    pub parent: TraceParent,
    /// A valid `tracestate` that came with a valid `traceparent`.
    pub state: Option<String>,
    /// Where [`parent`](Self::parent) came from.
    pub origin: TraceOrigin,
    /// A legacy `trace_id` that is not a W3C trace id, kept for logs and
    /// sent on unchanged.
    pub legacy_trace_id: Option<String>,
}

impl IncomingTrace {
    /// Reads an envelope's headers.
    pub fn read(headers: &Headers) -> Self {
        Self::from_parts(
            headers.get(Headers::TRACEPARENT),
            headers.get(Headers::TRACESTATE),
            headers.trace_id(),
        )
    }

    /// Reads the three values from anywhere (the HTTP edge: `traceparent`,
    /// `tracestate`, `X-Trace-Id`).
    pub fn from_parts(
        traceparent: Option<&str>,
        tracestate: Option<&str>,
        trace_id: Option<&str>,
    ) -> Self {
        let trace_id = trace_id.filter(|t| !t.is_empty());
        // a label that is not a W3C trace id: kept for logs whatever else came
        let label = trace_id
            .filter(|t| TraceId::from_hex(t).is_none())
            .map(str::to_owned);
        if let Some(parent) = traceparent.and_then(|t| TraceParent::parse(t).ok()) {
            return Self {
                parent,
                state: tracestate
                    .filter(|s| is_valid_tracestate(s))
                    .map(str::to_owned),
                origin: TraceOrigin::Traceparent,
                legacy_trace_id: label,
            };
        }
        if let Some(id) = trace_id.and_then(TraceId::from_hex) {
            return Self {
                parent: TraceParent {
                    trace_id: id,
                    ..TraceParent::start()
                },
                state: None,
                origin: TraceOrigin::LegacyTraceId,
                legacy_trace_id: None,
            };
        }
        Self {
            parent: TraceParent::start(),
            state: None,
            origin: TraceOrigin::Started,
            legacy_trace_id: label,
        }
    }

    /// The `trace_id` a hop logs and sends when `current` is its trace: the
    /// kept legacy string, else the hex trace id.
    pub fn trace_id(&self, current: &TraceParent) -> String {
        self.trace_id_in(current, &mut [0u8; 32]).to_owned()
    }

    /// [`Self::trace_id`], the hex form written into `hex`.
    fn trace_id_in<'a>(&'a self, current: &TraceParent, hex: &'a mut [u8; 32]) -> &'a str {
        match &self.legacy_trace_id {
            Some(label) => label,
            None => current.trace_id.hex(hex),
        }
    }

    /// Writes the trace a hop sends on: `traceparent` = `current` (the hop's
    /// own span, or the received parent when it records none),
    /// `tracestate` as received, and `trace_id` (see [`Self::trace_id`]).
    ///
    /// A header that already holds the value to write is left as it is (a
    /// hop that records no span of its own sends on what it received).
    pub fn write(&self, headers: &mut Headers, current: &TraceParent) {
        let mut text = [0u8; 55];
        let parent = current.header(&mut text);
        if headers.get(Headers::TRACEPARENT) != Some(parent) {
            headers.set(Headers::TRACEPARENT, parent.to_owned());
        }
        match &self.state {
            Some(state) if headers.get(Headers::TRACESTATE) != Some(state.as_str()) => {
                headers.set(Headers::TRACESTATE, state.clone());
            }
            Some(_) => {}
            None => {
                headers.remove(Headers::TRACESTATE);
            }
        };
        let mut hex = [0u8; 32];
        let trace_id = self.trace_id_in(current, &mut hex);
        if headers.trace_id() != Some(trace_id) {
            headers.set(Headers::TRACE_ID, trace_id.to_owned());
        }
    }
}

#[cfg(test)]
#[path = "trace_context_tests.rs"]
mod tests;
