//! A frame's top-level fields as raw JSON text: what the two readers (the
//! one-pass reader in `decode_scan.rs`, serde_json in `decode.rs`) produce
//! and the decoder checks.

/// Every field of every kind as its raw JSON text (what serde_json's
/// `RawValue` holds); absent fields are `None`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RawFrame<'a> {
    pub(crate) v: Option<&'a str>,
    pub(crate) kind: Option<&'a str>,
    pub(crate) id: Option<&'a str>,
    pub(crate) headers: Option<&'a str>,
    pub(crate) service: Option<&'a str>,
    pub(crate) instance: Option<&'a str>,
    pub(crate) routes: Option<&'a str>,
    pub(crate) topics: Option<&'a str>,
    pub(crate) max_in_flight: Option<&'a str>,
    pub(crate) version: Option<&'a str>,
    pub(crate) session: Option<&'a str>,
    pub(crate) heartbeat_ms: Option<&'a str>,
    pub(crate) max_frame_bytes: Option<&'a str>,
    pub(crate) to: Option<&'a str>,
    pub(crate) route: Option<&'a str>,
    pub(crate) from: Option<&'a str>,
    pub(crate) payload: Option<&'a str>,
    pub(crate) payload_ref: Option<&'a str>,
    pub(crate) correlation_id: Option<&'a str>,
    pub(crate) error: Option<&'a str>,
    pub(crate) topic: Option<&'a str>,
    pub(crate) ids: Option<&'a str>,
}

impl<'a> RawFrame<'a> {
    /// Sets the field called `key` (unknown keys are skipped); false when it
    /// was set already, which serde refuses as a duplicate field.
    pub(crate) fn set(&mut self, key: &str, value: &'a str) -> bool {
        let slot = match key {
            "v" => &mut self.v,
            "kind" => &mut self.kind,
            "id" => &mut self.id,
            "headers" => &mut self.headers,
            "service" => &mut self.service,
            "instance" => &mut self.instance,
            "routes" => &mut self.routes,
            "topics" => &mut self.topics,
            "max_in_flight" => &mut self.max_in_flight,
            "version" => &mut self.version,
            "session" => &mut self.session,
            "heartbeat_ms" => &mut self.heartbeat_ms,
            "max_frame_bytes" => &mut self.max_frame_bytes,
            "to" => &mut self.to,
            "route" => &mut self.route,
            "from" => &mut self.from,
            "payload" => &mut self.payload,
            "payload_ref" => &mut self.payload_ref,
            "correlation_id" => &mut self.correlation_id,
            "error" => &mut self.error,
            "topic" => &mut self.topic,
            "ids" => &mut self.ids,
            _ => return true,
        };
        slot.replace(value).is_none()
    }
}
