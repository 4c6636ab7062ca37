//! Subjects, stream, consumer and key names of the backplane, and the
//! headers nodes put on its messages. Pure functions, unit-tested.
//!
//! Protocol names are `[A-Za-z0-9._-]`; a `.` would split a NATS subject
//! token, so a name holding one is written `=` + lowercase hex of its
//! bytes (`=` is in no protocol name, so the mapping is one-to-one).

use sha2::{Digest as _, Sha256};

use crate::router::InstanceKey;

/// The stream holding accepted requests and events, one subject per
/// target service; retention work-queue, file storage.
pub const WORK_STREAM: &str = "MS_WORK";
/// The stream holding answers for service callers, one subject per
/// instance; retention work-queue, file storage.
pub const ANSWER_STREAM: &str = "MS_ANSWER";
/// The stream of what each node knows of each service: the last message
/// per subject `ms.services.<service>.<node>` (a key-value bucket in all
/// but name), expiring after the service TTL.
pub const SERVICES_STREAM: &str = "MS_SERVICES";
/// Subject prefix of [`SERVICES_STREAM`].
pub const SERVICES_PREFIX: &str = "ms.services";

/// Header naming where a request's answer goes (`http/NODE/CALLER` or
/// `svc/SERVICE/INSTANCE`); written by the accepting node only.
pub const ORIGIN_HEADER: &str = "Ms-Origin";
/// Header naming the HTTP caller on its node, on core answer messages.
pub const CALLER_HEADER: &str = "Ms-Caller";
/// JetStream's deduplication header.
pub const MSG_ID_HEADER: &str = "Nats-Msg-Id";

/// A protocol name as one subject token.
pub fn token(name: &str) -> String {
    if name.contains('.') {
        let mut out = String::with_capacity(1 + name.len() * 2);
        out.push('=');
        for b in name.bytes() {
            out.push_str(&format!("{b:02x}"));
        }
        out
    } else {
        name.to_owned()
    }
}

/// `ms.work.<service>`: work for `service`.
pub fn work_subject(service: &str) -> String {
    format!("ms.work.{}", token(service))
}

/// The durable pull consumer every node shares for `service`'s work (a
/// work-queue stream allows one consumer per filter).
pub fn work_durable(service: &str) -> String {
    format!("work-{}", token(service))
}

/// `ms.answer.http.<node>`: answers for HTTP callers waiting on `node` (core NATS).
pub fn http_answer_subject(node: &str) -> String {
    format!("ms.answer.http.{}", token(node))
}

/// `ms.answer.svc.<service>.<instance>`: answers for one service instance.
pub fn service_answer_subject(key: &InstanceKey) -> String {
    format!(
        "ms.answer.svc.{}.{}",
        token(&key.service),
        token(&key.instance)
    )
}

/// The durable pull consumer of one instance's answers, pulled by the
/// node the instance is connected to (a digest: names may be long).
pub fn answer_durable(key: &InstanceKey) -> String {
    format!("ans-{}", digest(&[&key.service, &key.instance]))
}

/// The subject of what node `node` knows of `service` in
/// [`SERVICES_STREAM`]: one per (service, node), so nodes never overwrite
/// each other.
pub fn service_key(service: &str, node: &str) -> String {
    format!("{SERVICES_PREFIX}.{}.{}", token(service), token(node))
}

/// The service named by a [`service_key`].
pub fn service_of_key(key: &str) -> Option<String> {
    let rest = key.strip_prefix(SERVICES_PREFIX)?.strip_prefix('.')?;
    let first = rest.split('.').next()?;
    match first.strip_prefix('=') {
        Some(hex) => {
            let bytes: Option<Vec<u8>> = (0..hex.len())
                .step_by(2)
                .map(|i| {
                    hex.get(i..i + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                })
                .collect();
            String::from_utf8(bytes?).ok()
        }
        None => Some(first.to_owned()),
    }
}

/// The `Nats-Msg-Id` of one copy of accepted work: the same frame sent
/// again by the same sender (after a lost ack, to any node) is the same
/// message within the stream's duplicate window.
pub fn work_msg_id(sender: &str, frame_id: &str, target: &str) -> String {
    digest(&["work", sender, frame_id, target])
}

/// The `Nats-Msg-Id` of an answer: one per (request, caller instance).
pub fn answer_msg_id(key: &InstanceKey, request_id: &str) -> String {
    digest(&["answer", &key.service, &key.instance, request_id])
}

/// 128 bits of SHA-256 over the parts, NUL-separated, in hex.
fn digest(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where the answer to a forwarded request goes, as carried in [`ORIGIN_HEADER`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerTo {
    /// An HTTP caller waiting on a node.
    Http {
        /// The node.
        node: String,
        /// The caller's id there.
        caller: u64,
    },
    /// A service instance, wherever it is connected.
    Service(InstanceKey),
}

impl AnswerTo {
    /// The header value.
    pub fn header(&self) -> String {
        match self {
            Self::Http { node, caller } => format!("http/{node}/{caller}"),
            Self::Service(key) => format!("svc/{}/{}", key.service, key.instance),
        }
    }

    /// Reads a header value written by [`AnswerTo::header`].
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.splitn(3, '/');
        match (parts.next()?, parts.next()?, parts.next()?) {
            ("http", node, caller) => Some(Self::Http {
                node: node.to_owned(),
                caller: caller.parse().ok()?,
            }),
            ("svc", service, instance) => Some(Self::Service(InstanceKey {
                service: service.to_owned(),
                instance: instance.to_owned(),
            })),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_names_become_one_token_and_come_back() {
        assert_eq!(token("echo"), "echo");
        assert_eq!(token("a.b"), "=612e62");
        assert_eq!(work_subject("a.b"), "ms.work.=612e62");
        assert_eq!(
            service_of_key(&service_key("a.b", "n1")),
            Some("a.b".to_owned())
        );
        assert_eq!(service_key("echo", "n1"), "ms.services.echo.n1");
        assert_eq!(
            service_of_key(&service_key("echo", "n1")),
            Some("echo".to_owned())
        );
    }

    #[test]
    fn message_ids_separate_senders_and_targets() {
        let a = work_msg_id("svc/1", "x", "echo");
        assert_eq!(a, work_msg_id("svc/1", "x", "echo"));
        assert_ne!(a, work_msg_id("svc/2", "x", "echo"));
        assert_ne!(a, work_msg_id("svc/1", "x", "other"));
        assert_ne!(work_msg_id("a", "bc", "t"), work_msg_id("ab", "c", "t"));
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn origins_round_trip() {
        let http = AnswerTo::Http {
            node: "n1".into(),
            caller: 7,
        };
        assert_eq!(AnswerTo::parse(&http.header()), Some(http));
        let svc = AnswerTo::Service(InstanceKey {
            service: "s".into(),
            instance: "i-1".into(),
        });
        assert_eq!(AnswerTo::parse(&svc.header()), Some(svc));
        assert_eq!(AnswerTo::parse("nope/x/y"), None);
        assert_eq!(AnswerTo::parse("http/n1/x"), None);
    }
}
