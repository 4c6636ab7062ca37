use serde::ser::{Serialize, SerializeMap, Serializer};

use std::fmt::Write as _;

use super::{Body, Envelope, MessageId, PROTOCOL_VERSION, Payload};

/// An envelope could not be written as JSON.
///
/// Envelopes built from this crate's types always serialise; the error exists
/// so that the impossible case is reported, not panicked on.
#[derive(Debug, thiserror::Error)]
#[error("envelope could not be encoded as JSON")]
pub struct EncodeError(#[source] serde_json::Error);

/// Encodes an envelope as the text of one frame.
///
/// Empty headers and absent optional fields are left out; payloads are
/// written exactly as they were received or serialised.
///
/// # Errors
/// [`EncodeError`] if serde_json fails, which this crate's types never make it do.
///
/// ```
/// use ms_protocol::{encode, Envelope, MessageId};
///
/// let ack = Envelope::ack(vec![MessageId::new("r1")?]);
/// let text = encode(&ack)?;
/// assert!(text.starts_with(r#"{"v":1,"kind":"ack","id":""#));
/// assert!(text.ends_with(r#""ids":["r1"]}"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode(envelope: &Envelope) -> Result<String, EncodeError> {
    // Written by hand, the same text serde would write: the frame is sized
    // up front (growing a 64 KiB frame by doubling copies it once more and
    // leaves it holding twice its size, and frames are kept for acks), and
    // payloads are appended as they are, neither re-read nor re-checked.
    let mut out = Out(String::with_capacity(size_hint(envelope)));
    out.0.push_str(r#"{"v":"#);
    out.num(PROTOCOL_VERSION);
    out.field("kind");
    out.str(envelope.kind().as_str());
    out.field("id");
    out.str(envelope.id.as_str());
    if !envelope.headers.is_empty() {
        out.field("headers");
        out.0.push('{');
        for (i, (key, value)) in envelope.headers.iter().enumerate() {
            if i > 0 {
                out.0.push(',');
            }
            out.str(key);
            out.0.push(':');
            out.str(value);
        }
        out.0.push('}');
    }
    match &envelope.body {
        Body::Hello(h) => {
            out.field("service");
            out.str(&h.service);
            out.field("instance");
            out.str(&h.instance);
            out.field("routes");
            out.strs(h.routes.iter().map(String::as_str));
            out.field("topics");
            out.strs(h.topics.iter().map(String::as_str));
            out.field("max_in_flight");
            out.num(u64::from(h.max_in_flight));
            // an empty version is no version: the name rule forbids ""
            if !h.version.is_empty() {
                out.field("version");
                out.str(&h.version);
            }
        }
        Body::Welcome(w) => {
            out.field("session");
            out.str(&w.session);
            out.field("heartbeat_ms");
            out.num(w.heartbeat_ms);
            out.field("max_frame_bytes");
            out.num(w.max_frame_bytes);
            if let Some(granted) = w.max_in_flight {
                out.field("max_in_flight");
                out.num(u64::from(granted));
            }
        }
        Body::Request(r) => {
            out.field("to");
            out.str(&r.to);
            out.field("route");
            out.str(&r.route);
            if let Some(from) = &r.from {
                out.field("from");
                out.str(from);
            }
            out.payload(&r.payload)?;
        }
        Body::Reply(r) => {
            out.field("correlation_id");
            out.str(r.correlation_id.as_str());
            out.payload(&r.payload)?;
        }
        Body::Error(e) => {
            if let Some(id) = &e.correlation_id {
                out.field("correlation_id");
                out.str(id.as_str());
            }
            out.field("error");
            out.serde(&e.error)?;
        }
        Body::Event(e) => {
            out.field("topic");
            out.str(&e.topic);
            out.payload(&e.payload)?;
        }
        Body::Ack(a) => {
            out.field("ids");
            out.strs(a.ids.iter().map(MessageId::as_str));
        }
    }
    out.0.push('}');
    Ok(out.0)
}

/// The frame being written.
struct Out(String);

impl Out {
    /// `,"key":` (keys are this crate's constants: nothing to escape).
    fn field(&mut self, key: &str) {
        self.0.push_str(",\"");
        self.0.push_str(key);
        self.0.push_str("\":");
    }

    fn num(&mut self, n: u64) {
        let _ = write!(self.0, "{n}");
    }

    /// A JSON string, escaped as serde_json escapes it.
    fn str(&mut self, s: &str) {
        self.0.push('"');
        // ids, names and most text need no escape: one quick scan, one copy
        if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
            self.0.push_str(s);
            self.0.push('"');
            return;
        }
        let mut start = 0;
        for (i, byte) in s.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0x00..=0x1f => "",
                _ => continue,
            };
            // every byte escaped is ASCII, so `i` is a char boundary
            self.0.push_str(&s[start..i]);
            if escape.is_empty() {
                let _ = write!(self.0, "\\u{byte:04x}");
            } else {
                self.0.push_str(escape);
            }
            start = i + 1;
        }
        self.0.push_str(&s[start..]);
        self.0.push('"');
    }

    fn strs<'a, I>(&mut self, items: I)
    where
        I: IntoIterator<Item = &'a str>,
    {
        self.0.push('[');
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            self.str(item);
        }
        self.0.push(']');
    }

    fn serde<T: Serialize>(&mut self, value: &T) -> Result<(), EncodeError> {
        let text = serde_json::to_string(value).map_err(EncodeError)?;
        self.0.push_str(&text);
        Ok(())
    }

    fn payload(&mut self, payload: &Payload) -> Result<(), EncodeError> {
        match payload {
            Payload::Inline(json) => {
                self.field("payload");
                self.0.push_str(json.as_str());
                Ok(())
            }
            Payload::Ref(reference) => {
                self.field("payload_ref");
                self.serde(reference)
            }
        }
    }
}

/// Bytes the frame will take, a little over when nothing needs escaping.
fn size_hint(envelope: &Envelope) -> usize {
    const FIXED: usize = 96; // keys, quotes, version, kind
    let payload = |p: &Payload| match p {
        Payload::Inline(json) => json.len(),
        Payload::Ref(_) => 256,
    };
    let headers = envelope
        .headers
        .iter()
        .map(|(k, v)| k.len() + v.len() + 6)
        .sum::<usize>();
    let body = match &envelope.body {
        Body::Request(r) => {
            r.to.len()
                + r.route.len()
                + r.from.as_ref().map_or(0, String::len)
                + payload(&r.payload)
        }
        Body::Reply(r) => r.correlation_id.as_str().len() + payload(&r.payload),
        Body::Event(e) => e.topic.len() + payload(&e.payload),
        Body::Error(e) => e.error.message.len() + 128,
        Body::Ack(a) => a.ids.iter().map(|id| id.as_str().len() + 3).sum(),
        Body::Hello(_) | Body::Welcome(_) => 512,
    };
    FIXED + envelope.id.as_str().len() + headers + body
}

impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("v", &PROTOCOL_VERSION)?;
        map.serialize_entry("kind", self.kind().as_str())?;
        map.serialize_entry("id", &self.id)?;
        if !self.headers.is_empty() {
            map.serialize_entry("headers", &self.headers)?;
        }
        match &self.body {
            Body::Hello(h) => {
                map.serialize_entry("service", &h.service)?;
                map.serialize_entry("instance", &h.instance)?;
                map.serialize_entry("routes", &h.routes)?;
                map.serialize_entry("topics", &h.topics)?;
                map.serialize_entry("max_in_flight", &h.max_in_flight)?;
                if !h.version.is_empty() {
                    map.serialize_entry("version", &h.version)?;
                }
            }
            Body::Welcome(w) => {
                map.serialize_entry("session", &w.session)?;
                map.serialize_entry("heartbeat_ms", &w.heartbeat_ms)?;
                map.serialize_entry("max_frame_bytes", &w.max_frame_bytes)?;
                if let Some(granted) = w.max_in_flight {
                    map.serialize_entry("max_in_flight", &granted)?;
                }
            }
            Body::Request(r) => {
                map.serialize_entry("to", &r.to)?;
                map.serialize_entry("route", &r.route)?;
                if let Some(from) = &r.from {
                    map.serialize_entry("from", from)?;
                }
                payload_entry(&mut map, &r.payload)?;
            }
            Body::Reply(r) => {
                map.serialize_entry("correlation_id", &r.correlation_id)?;
                payload_entry(&mut map, &r.payload)?;
            }
            Body::Error(e) => {
                if let Some(id) = &e.correlation_id {
                    map.serialize_entry("correlation_id", id)?;
                }
                map.serialize_entry("error", &e.error)?;
            }
            Body::Event(e) => {
                map.serialize_entry("topic", &e.topic)?;
                payload_entry(&mut map, &e.payload)?;
            }
            Body::Ack(a) => {
                map.serialize_entry("ids", &a.ids)?;
            }
        }
        map.end()
    }
}

fn payload_entry<M: SerializeMap>(map: &mut M, payload: &Payload) -> Result<(), M::Error> {
    match payload {
        Payload::Inline(json) => map.serialize_entry("payload", json),
        Payload::Ref(reference) => map.serialize_entry("payload_ref", reference),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Headers, Json};

    #[test]
    fn strings_are_escaped_exactly_as_serde_escapes_them() {
        let nasty: String = (0u8..0x20)
            .map(char::from)
            .chain("\"\\/€ \u{7f}\u{2028}".chars())
            .collect();
        let mut headers = Headers::new();
        headers.set_trace_id(nasty.as_str());
        headers.insert(nasty.clone(), nasty.clone());
        // names may not hold such characters: headers and payloads may
        let payload = Json::from_value(&nasty).expect("json");
        let envelope = Envelope::event("t", Payload::Inline(payload)).with_headers(headers);
        let text = encode(&envelope).expect("encodes");
        assert_eq!(
            text,
            serde_json::to_string(&envelope).expect("serde encodes")
        );
        assert_eq!(crate::decode(&text).expect("decodes"), envelope);
    }

    #[test]
    fn frames_are_sized_up_front() {
        let payload = Json::from_value(&"x".repeat(64 * 1024)).expect("json");
        let id = MessageId::new("r1").expect("id");
        let text = encode(&Envelope::reply_to(&id, Payload::Inline(payload))).expect("encodes");
        assert!(text.capacity() >= text.len());
        assert!(
            text.capacity() < text.len() + 512,
            "a 64 KiB reply holds {} bytes for {}",
            text.capacity(),
            text.len()
        );
    }
}
