//! Access control per user and token: which services it may register and
//! call, which topics it may publish and subscribe to.
//!
//! Each list follows the same rule: absent = everything (what a user could
//! do before lists existed), present = only the names it matches. A pattern
//! is a name (exact match), `*` (every name) or a prefix followed by `*`
//! (`billing.*` matches `billing.invoices`). An empty list allows nothing.

use ms_protocol::{Body, Envelope, ErrorCode, Hello, WireError};

use super::Principal;

/// What a user or token may do once connected; see the module docs for
/// how a list matches.
///
/// ```
/// use ms_gateway::Acl;
///
/// let acl = Acl {
///     call: Some(vec!["billing.*".into(), "ocr".into()]),
///     ..Acl::default() // the other lists absent: everything
/// };
/// assert!(acl.call.is_some() && acl.publish.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    /// Services it may register with `hello`; `None` is any.
    pub services: Option<Vec<String>>,
    /// Services it may send requests to (`POST /v1/invoke`, `request`
    /// frames); `None` is any.
    pub call: Option<Vec<String>>,
    /// Topics it may publish to (`POST /v1/publish`, `event` frames); `None` is any.
    pub publish: Option<Vec<String>>,
    /// Topics it may list in `hello.topics`; `None` is any.
    pub subscribe: Option<Vec<String>>,
}

/// Whether `name` is allowed by `list` (absent = all).
fn allows(list: Option<&Vec<String>>, name: &str) -> bool {
    list.is_none_or(|patterns| patterns.iter().any(|p| pattern_matches(p, name)))
}

/// Whether one pattern matches a name: exact, or a prefix before a final `*`.
fn pattern_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// Checks a pattern from the users file: a protocol name (1..=128 bytes of
/// `[A-Za-z0-9._-]`), `*`, or a name prefix followed by `*`.
pub(crate) fn check_pattern(pattern: &str) -> Result<(), String> {
    let body = pattern.strip_suffix('*').unwrap_or(pattern);
    let is_name_byte = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    let fits = pattern.len() <= 128 && body.bytes().all(|b| is_name_byte(&b));
    if fits && (pattern == "*" || !body.is_empty()) {
        Ok(())
    } else {
        Err(format!(
            "{pattern:?} is not a name, `*`, or a name prefix followed by `*`"
        ))
    }
}

fn forbidden(message: String) -> WireError {
    WireError::new(ErrorCode::Forbidden, message)
}

impl Principal {
    /// Whether this principal may register `service` in a `hello`.
    pub fn may_register(&self, service: &str) -> bool {
        allows(self.acl.services.as_ref(), service)
    }

    /// Whether this principal may send requests to `service`.
    pub fn may_call(&self, service: &str) -> bool {
        allows(self.acl.call.as_ref(), service)
    }

    /// Whether this principal may publish events to `topic`.
    pub fn may_publish(&self, topic: &str) -> bool {
        allows(self.acl.publish.as_ref(), topic)
    }

    /// Whether this principal may subscribe to `topic` (list it in `hello`).
    pub fn may_subscribe(&self, topic: &str) -> bool {
        allows(self.acl.subscribe.as_ref(), topic)
    }

    /// Checks a `hello`: the service it registers and every topic it lists.
    ///
    /// # Errors
    /// The `forbidden` error to send before closing the connection.
    pub fn check_hello(&self, hello: &Hello) -> Result<(), WireError> {
        if !self.may_register(&hello.service) {
            return Err(forbidden(format!(
                "user {:?} may not register service {:?}",
                self.name, hello.service
            )));
        }
        match hello.topics.iter().find(|t| !self.may_subscribe(t)) {
            Some(topic) => Err(forbidden(format!(
                "user {:?} may not subscribe to topic {:?}",
                self.name, topic
            ))),
            None => Ok(()),
        }
    }

    /// Checks a call to `service` (`POST /v1/invoke`, a `request` frame).
    ///
    /// # Errors
    /// The `forbidden` error to answer with (HTTP 403).
    pub fn check_call(&self, service: &str) -> Result<(), WireError> {
        if self.may_call(service) {
            Ok(())
        } else {
            Err(forbidden(format!(
                "user {:?} may not call service {service:?}",
                self.name
            )))
        }
    }

    /// Checks a publish to `topic` (`POST /v1/publish`, an `event` frame).
    ///
    /// # Errors
    /// The `forbidden` error to answer with (HTTP 403).
    pub fn check_publish(&self, topic: &str) -> Result<(), WireError> {
        if self.may_publish(topic) {
            Ok(())
        } else {
            Err(forbidden(format!(
                "user {:?} may not publish to topic {topic:?}",
                self.name
            )))
        }
    }

    /// The answer to a frame this principal's connection may not send, or
    /// `None` when it may: a `request` is checked by `to`, an `event` by
    /// `topic`, every other kind passes. The answer is an `error` with code
    /// `forbidden` and `correlation_id` = the frame's id; the frame itself
    /// must then be dropped, neither routed nor acknowledged.
    pub fn refusal(&self, frame: &Envelope) -> Option<Envelope> {
        let checked = match &frame.body {
            Body::Request(request) => self.check_call(&request.to),
            Body::Event(event) => self.check_publish(&event.topic),
            _ => Ok(()),
        };
        checked
            .err()
            .map(|error| Envelope::error(Some(&frame.id), error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ms_protocol::Payload;

    fn principal(acl: Acl) -> Principal {
        Principal::new("alice", acl)
    }

    fn list(names: &[&str]) -> Option<Vec<String>> {
        Some(names.iter().map(|n| (*n).to_owned()).collect())
    }

    #[test]
    fn absent_lists_allow_everything() {
        let p = principal(Acl::default());
        assert!(
            p.may_register("a") && p.may_call("b") && p.may_publish("c") && p.may_subscribe("d")
        );
    }

    #[test]
    fn present_lists_allow_exact_names_stars_and_prefixes_only() {
        let p = principal(Acl {
            services: list(&["ocr"]),
            call: list(&["billing.*", "ocr"]),
            publish: list(&["*"]),
            subscribe: list(&[]),
        });
        assert!(p.may_register("ocr"));
        assert!(!p.may_register("ocr2") && !p.may_register("oc"));
        assert!(p.may_call("ocr") && p.may_call("billing.invoices"));
        assert!(!p.may_call("billing") && !p.may_call("billingx") && !p.may_call("search"));
        assert!(p.may_publish("anything.at-all"));
        assert!(!p.may_subscribe("news"), "an empty list allows nothing");
    }

    #[test]
    fn hello_is_refused_for_a_service_or_any_topic_not_allowed() {
        let p = principal(Acl {
            services: list(&["ocr"]),
            subscribe: list(&["docs.*"]),
            ..Acl::default()
        });
        let hello = |service: &str, topics: &[&str]| Hello {
            service: service.into(),
            instance: "i1".into(),
            routes: vec![],
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            max_in_flight: 1,
            version: "1".into(),
        };
        assert!(
            p.check_hello(&hello("ocr", &["docs.new", "docs.gone"]))
                .is_ok()
        );
        let error = p.check_hello(&hello("billing", &[])).unwrap_err();
        assert_eq!(error.code, ErrorCode::Forbidden);
        assert!(error.message.contains("billing"), "{}", error.message);
        let error = p
            .check_hello(&hello("ocr", &["docs.new", "payroll"]))
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::Forbidden);
        assert!(error.message.contains("payroll"), "{}", error.message);
    }

    #[test]
    fn frames_are_refused_by_to_and_topic_with_the_frame_id() {
        let p = principal(Acl {
            call: list(&["ocr"]),
            publish: list(&["docs.*"]),
            ..Acl::default()
        });
        let payload = || Payload::inline(&1).unwrap();
        assert!(
            p.refusal(&Envelope::request("ocr", "x", payload()))
                .is_none()
        );
        assert!(p.refusal(&Envelope::event("docs.new", payload())).is_none());
        assert!(p.refusal(&Envelope::ack(vec![])).is_none());
        for frame in [
            Envelope::request("billing", "x", payload()),
            Envelope::event("payroll", payload()),
        ] {
            let answer = p.refusal(&frame).unwrap();
            let Body::Error(report) = answer.body else {
                panic!("expected an error, got {answer:?}");
            };
            assert_eq!(report.correlation_id.as_ref(), Some(&frame.id));
            assert_eq!(report.error.code, ErrorCode::Forbidden);
        }
        assert_eq!(p.check_call("billing").unwrap_err().code.http_status(), 403);
        assert_eq!(
            p.check_publish("payroll").unwrap_err().code.http_status(),
            403
        );
    }

    #[test]
    fn patterns_are_names_stars_or_prefixes() {
        for good in ["ocr", "*", "billing.*", "a-b_c.d*"] {
            assert!(check_pattern(good).is_ok(), "{good}");
        }
        for bad in ["", "bil*ling", "**", "a b", "a\n", "é", &"x".repeat(129)] {
            assert!(check_pattern(bad).is_err(), "{bad:?}");
        }
    }
}
