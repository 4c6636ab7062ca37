//! The decoder: text frames to [`Envelope`]s, never panicking; each refusal
//! names the rule broken ([`DecodeError`], in `decode_error.rs`).

use std::borrow::Cow;

use bytestring::ByteString;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::{
    Ack, Body, DEFAULT_HEARTBEAT_MS, DEFAULT_MAX_FRAME_BYTES, DecodeError, DecodeErrorKind,
    Envelope, ErrorReport, Event, Headers, Hello, Json, Kind, MessageId, PROTOCOL_VERSION, Payload,
    PayloadRef, Reply, Request, Welcome, WireError,
};

/// Declares the frame's fields once for the two readers: `RawFrame`, each
/// field's JSON text (unparsed), and `SerdeFrame`, serde_json's reading of
/// the same, which decides whatever the fast path (`scan.rs`) gives up on.
macro_rules! frame_fields {
    ($($field:ident),* $(,)?) => {
        /// Every field of every kind, as its JSON text; unknown fields are
        /// skipped.
        #[derive(Default)]
        #[cfg_attr(test, derive(Debug, PartialEq))]
        struct RawFrame<'a> {
            $($field: Option<&'a str>,)*
        }

        impl<'a> RawFrame<'a> {
            /// Where a known key's value goes; `None` for unknown keys.
            fn slot(&mut self, key: &str) -> Option<&mut Option<&'a str>> {
                match key {
                    $(stringify!($field) => Some(&mut self.$field),)*
                    _ => None,
                }
            }
        }

        #[derive(Deserialize)]
        struct SerdeFrame<'a> {
            $(
                #[serde(default, borrow, deserialize_with = "present")]
                $field: Option<&'a RawValue>,
            )*
        }

        /// The keys the fast path matches, to test against serde's names.
        #[cfg(test)]
        const FIELD_NAMES: &[&str] = &[$(stringify!($field)),*];

        impl<'a> From<SerdeFrame<'a>> for RawFrame<'a> {
            fn from(frame: SerdeFrame<'a>) -> Self {
                Self {
                    $($field: frame.$field.map(RawValue::get),)*
                }
            }
        }
    };
}

frame_fields!(
    v,
    kind,
    id,
    headers,
    service,
    instance,
    routes,
    topics,
    max_in_flight,
    version,
    session,
    heartbeat_ms,
    max_frame_bytes,
    to,
    route,
    from,
    payload,
    payload_ref,
    correlation_id,
    error,
    topic,
    ids,
);

/// A present field, `null` included: `null` is a valid payload, and for other
/// fields it is a type error rather than an absence.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&'de RawValue>::deserialize(d).map(Some)
}

impl<'a> RawFrame<'a> {
    /// The fast path: `None` when `scan` gives up, and for a duplicate
    /// known field (serde_json names it in its refusal).
    fn scan(text: &'a str) -> Option<Self> {
        let mut frame = Self::default();
        crate::scan::members(text, |key, value| {
            match frame.slot(key) {
                Some(Some(_)) => return None,
                Some(slot) => *slot = Some(value),
                None => {}
            }
            Some(())
        })?;
        Some(frame)
    }
}

/// Decodes one text frame into an envelope, checking every rule of the
/// protocol's sections 1 and 2.
///
/// # Errors
/// A [`DecodeError`] naming the broken rule and carrying the frame's id when
/// one could be read.
///
/// ```
/// use ms_protocol::{decode, DecodeErrorKind, ErrorCode};
///
/// let err = decode(r#"{"v":2,"kind":"ack","id":"a1","ids":[]}"#).unwrap_err();
/// assert!(matches!(err.kind(), DecodeErrorKind::UnsupportedVersion { .. }));
/// assert_eq!(err.id().map(|id| id.as_str()), Some("a1"));
/// assert_eq!(err.code(), ErrorCode::BadRequest);
/// ```
pub fn decode(text: &str) -> Result<Envelope, DecodeError> {
    decode_text(text, None)
}

fn decode_text(text: &str, frame: Option<&ByteString>) -> Result<Envelope, DecodeError> {
    let raw = read_frame(text)?;
    decode_frame(&raw, frame).map_err(|kind| DecodeError {
        id: readable_id(&raw),
        kind,
    })
}

/// Like [`decode`], and refuses frames longer than `limit` bytes with
/// [`DecodeErrorKind::TooLarge`] (answered with `payload_too_large`).
///
/// # Errors
/// As [`decode`], plus the size rule.
pub fn decode_limited(text: &str, limit: u64) -> Result<Envelope, DecodeError> {
    let size = text.len() as u64;
    if size > limit {
        let id = read_frame(text).ok().and_then(|raw| readable_id(&raw));
        return Err(DecodeError {
            id,
            kind: DecodeErrorKind::TooLarge { size, limit },
        });
    }
    decode(text)
}

/// Like [`decode_limited`] for a frame held in a shared buffer: inline
/// payloads become views of `frame` instead of copies, so a large payload
/// is not copied on its way to the handler.
///
/// # Errors
/// As [`decode_limited`].
///
/// ```
/// use ms_protocol::{decode_shared, Body, ByteString};
///
/// let frame = ByteString::from(r#"{"v":1,"kind":"event","id":"e1","topic":"t","payload":[1,2]}"#);
/// let envelope = decode_shared(&frame, 1024)?;
/// let Body::Event(event) = &envelope.body else { unreachable!() };
/// assert_eq!(event.payload.as_inline().map(|p| p.as_str()), Some("[1,2]"));
/// # Ok::<(), ms_protocol::DecodeError>(())
/// ```
pub fn decode_shared(frame: &ByteString, limit: u64) -> Result<Envelope, DecodeError> {
    if frame.len() as u64 > limit {
        return decode_limited(frame, limit);
    }
    decode_text(frame, Some(frame))
}

fn read_frame(text: &str) -> Result<RawFrame<'_>, DecodeError> {
    if let Some(frame) = RawFrame::scan(text) {
        return Ok(frame);
    }
    let refuse = |kind| DecodeError { id: None, kind };
    let not_json = |e: serde_json::Error| {
        refuse(DecodeErrorKind::NotJson {
            reason: e.to_string(),
        })
    };
    // serde would read a struct from an array too: insist on an object first.
    if !text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
    {
        return Err(match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) => refuse(DecodeErrorKind::NotAnObject),
            Err(e) => not_json(e),
        });
    }
    serde_json::from_str::<SerdeFrame<'_>>(text)
        .map(RawFrame::from)
        .map_err(|e| match e.classify() {
            serde_json::error::Category::Data => refuse(DecodeErrorKind::Malformed {
                reason: without_position(&e),
            }),
            _ => not_json(e),
        })
}

/// The id, if it is a string that obeys the length rule.
fn readable_id(raw: &RawFrame<'_>) -> Option<MessageId> {
    MessageId::checked(&text(raw.id?, "id").ok()?).ok()
}

fn decode_frame(
    raw: &RawFrame<'_>,
    frame: Option<&ByteString>,
) -> Result<Envelope, DecodeErrorKind> {
    let v = required(raw.v, None, "v")?;
    if serde_json::from_str::<u64>(v).ok() != Some(PROTOCOL_VERSION) {
        return Err(DecodeErrorKind::UnsupportedVersion {
            found: v.to_owned(),
        });
    }
    let kind_text = text(required(raw.kind, None, "kind")?, "kind")?;
    let kind = Kind::parse(&kind_text).ok_or_else(|| DecodeErrorKind::UnknownKind {
        found: kind_text.into_owned(),
    })?;
    let id_text = text(required(raw.id, Some(kind), "id")?, "id")?;
    let id = MessageId::checked(&id_text).map_err(DecodeErrorKind::InvalidId)?;
    let headers: Headers = match raw.headers {
        Some(h) => parse(h, "headers")?,
        None => Headers::new(),
    };
    headers.validate().map_err(DecodeErrorKind::InvalidHeader)?;

    let k = Some(kind);
    let body = match kind {
        Kind::Hello => {
            let max_in_flight = in_flight_limit(required(raw.max_in_flight, k, "max_in_flight")?)?;
            Body::Hello(Hello {
                service: name(raw.service, k, "service")?,
                instance: name(raw.instance, k, "instance")?,
                routes: names(raw.routes, "routes")?,
                topics: names(raw.topics, "topics")?,
                max_in_flight,
                // absent, or the empty string that revision-1 runtimes send
                // by default: no version (nothing to forge in an empty
                // string); the encoder leaves it out again
                version: match raw.version {
                    Some("\"\"") => String::new(),
                    Some(_) => name(raw.version, k, "version")?,
                    None => String::new(),
                },
            })
        }
        Kind::Welcome => Body::Welcome(Welcome {
            session: parse(required(raw.session, k, "session")?, "session")?,
            heartbeat_ms: positive(raw.heartbeat_ms, "heartbeat_ms", DEFAULT_HEARTBEAT_MS)?,
            max_frame_bytes: positive(
                raw.max_frame_bytes,
                "max_frame_bytes",
                DEFAULT_MAX_FRAME_BYTES,
            )?,
            max_in_flight: raw.max_in_flight.map(in_flight_limit).transpose()?,
        }),
        Kind::Request => Body::Request(Request {
            to: name(raw.to, k, "to")?,
            route: name(raw.route, k, "route")?,
            from: match raw.from {
                Some(f) => Some(text(f, "from")?.into_owned()),
                None => None,
            },
            payload: payload(raw, kind, frame)?,
        }),
        Kind::Reply => Body::Reply(Reply {
            correlation_id: message_id(
                required(raw.correlation_id, k, "correlation_id")?,
                "correlation_id",
            )?,
            payload: payload(raw, kind, frame)?,
        }),
        Kind::Error => {
            let error: WireError = parse(required(raw.error, k, "error")?, "error")?;
            Body::Error(ErrorReport {
                correlation_id: match raw.correlation_id {
                    Some(c) => Some(message_id(c, "correlation_id")?),
                    None => None,
                },
                error,
            })
        }
        Kind::Event => Body::Event(Event {
            topic: name(raw.topic, k, "topic")?,
            payload: payload(raw, kind, frame)?,
        }),
        Kind::Ack => {
            let ids: Vec<MessageId> = parse(required(raw.ids, k, "ids")?, "ids")?;
            Body::Ack(Ack { ids })
        }
    };
    Ok(Envelope { id, headers, body })
}

/// `max_in_flight` (in `hello`, and as granted in `welcome`): 1 to `u32::MAX`.
fn in_flight_limit(raw: &str) -> Result<u32, DecodeErrorKind> {
    let max_in_flight: u64 = parse(raw, "max_in_flight")?;
    u32::try_from(max_in_flight)
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            invalid(
                "max_in_flight",
                format!("must be from 1 to {}, found {max_in_flight}", u32::MAX),
            )
        })
}

fn required<'a>(
    field: Option<&'a str>,
    kind: Option<Kind>,
    name: &'static str,
) -> Result<&'a str, DecodeErrorKind> {
    field.ok_or(DecodeErrorKind::MissingField { kind, field: name })
}

fn parse<'a, T: Deserialize<'a>>(raw: &'a str, field: &'static str) -> Result<T, DecodeErrorKind> {
    serde_json::from_str(raw).map_err(|e| invalid(field, without_position(&e)))
}

/// A JSON string's text: borrowed from the frame when it has no escapes
/// (the frame was checked to be JSON, so the quotes hold exactly the text).
fn text<'a>(raw: &'a str, field: &'static str) -> Result<Cow<'a, str>, DecodeErrorKind> {
    match raw
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        Some(inner) if !inner.contains('\\') => Ok(Cow::Borrowed(inner)),
        _ => parse::<String>(raw, field).map(Cow::Owned),
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> DecodeErrorKind {
    DecodeErrorKind::InvalidField {
        field,
        reason: reason.into(),
    }
}

/// A required name (service, instance, version, route, topic): the rule of
/// [`check_name`](crate::check_name).
fn name(
    raw: Option<&str>,
    kind: Option<Kind>,
    field: &'static str,
) -> Result<String, DecodeErrorKind> {
    let text = text(required(raw, kind, field)?, field)?;
    crate::check_name(&text).map_err(|e| invalid(field, e.to_string()))?;
    Ok(text.into_owned())
}

/// An optional list of names; absent means none.
fn names(raw: Option<&str>, field: &'static str) -> Result<Vec<String>, DecodeErrorKind> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let list: Vec<String> = parse(raw, field)?;
    for (i, text) in list.iter().enumerate() {
        crate::check_name(text).map_err(|e| invalid(field, format!("entry {i}: {e}")))?;
    }
    Ok(list)
}

fn positive(raw: Option<&str>, field: &'static str, default: u64) -> Result<u64, DecodeErrorKind> {
    let Some(raw) = raw else { return Ok(default) };
    let n: u64 = parse(raw, field)?;
    if n == 0 {
        return Err(invalid(field, "must be at least 1"));
    }
    Ok(n)
}

fn message_id(raw: &str, field: &'static str) -> Result<MessageId, DecodeErrorKind> {
    MessageId::checked(&text(raw, field)?).map_err(|e| invalid(field, e.to_string()))
}

fn payload(
    raw: &RawFrame<'_>,
    kind: Kind,
    frame: Option<&ByteString>,
) -> Result<Payload, DecodeErrorKind> {
    match (raw.payload, raw.payload_ref) {
        (Some(_), Some(_)) => Err(DecodeErrorKind::PayloadConflict { kind }),
        (None, None) => Err(DecodeErrorKind::PayloadMissing { kind }),
        (Some(inline), None) => Ok(Payload::Inline(Json::shared(frame, inline))),
        (None, Some(reference)) => {
            let reference: PayloadRef = parse(reference, "payload_ref")?;
            reference
                .normalise()
                .map(Payload::Ref)
                .map_err(|reason| invalid("payload_ref", reason))
        }
    }
}

/// serde_json's message without its " at line L column C" tail, which would
/// point into the field's own text rather than the frame.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
