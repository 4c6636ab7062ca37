use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{Body, Envelope, PROTOCOL_VERSION, Payload};

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
    serde_json::to_string(envelope).map_err(EncodeError)
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
                map.serialize_entry("version", &h.version)?;
            }
            Body::Welcome(w) => {
                map.serialize_entry("session", &w.session)?;
                map.serialize_entry("heartbeat_ms", &w.heartbeat_ms)?;
                map.serialize_entry("max_frame_bytes", &w.max_frame_bytes)?;
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
