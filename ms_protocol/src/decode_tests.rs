//! One test per rule of the protocol's sections 1 and 2.

use super::*;
use crate::{ErrorCode, InvalidId, encode};

fn err(text: &str) -> DecodeError {
    match decode(text) {
        Ok(env) => panic!("decoded {text} into {env:?}"),
        Err(e) => e,
    }
}

fn id(e: &DecodeError) -> Option<&str> {
    e.id().map(MessageId::as_str)
}

const REQUEST: &str =
    r#"{"v":1,"kind":"request","id":"r1","to":"ocr","route":"extract","payload":{"a":1}}"#;

#[test]
fn valid_request_decodes() {
    let env = decode(REQUEST).unwrap();
    assert_eq!(env.id.as_str(), "r1");
    let Body::Request(r) = env.body else {
        panic!("not a request")
    };
    assert_eq!(
        (r.to.as_str(), r.route.as_str(), r.from),
        ("ocr", "extract", None)
    );
    assert_eq!(
        r.payload,
        Payload::Inline(Json::from_text(r#"{"a":1}"#).unwrap())
    );
}

#[test]
fn not_json_is_refused_without_id() {
    let e = err("{\"v\":1,");
    assert!(matches!(e.kind(), DecodeErrorKind::NotJson { .. }), "{e:?}");
    assert_eq!(e.id(), None);
    assert_eq!(e.code(), ErrorCode::BadRequest);
    let e = err("hello");
    assert!(matches!(e.kind(), DecodeErrorKind::NotJson { .. }), "{e:?}");
    let e = err("");
    assert!(matches!(e.kind(), DecodeErrorKind::NotJson { .. }), "{e:?}");
}

#[test]
fn non_object_json_is_refused() {
    for text in ["[1,2]", "42", "\"x\"", "null", "true"] {
        assert_eq!(err(text).kind(), &DecodeErrorKind::NotAnObject, "{text}");
    }
}

#[test]
fn duplicate_fields_are_malformed() {
    let e = err(r#"{"v":1,"v":1,"kind":"ack","id":"a","ids":[]}"#);
    assert!(
        matches!(e.kind(), DecodeErrorKind::Malformed { reason } if reason.contains("duplicate field `v`")),
        "{e:?}"
    );
}

#[test]
fn missing_v_kind_or_id_is_named() {
    let e = err(r#"{"kind":"ack","id":"a1","ids":[]}"#);
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::MissingField {
            kind: None,
            field: "v"
        }
    );
    assert_eq!(id(&e), Some("a1"), "the id is carried for correlation");
    let e = err(r#"{"v":1,"id":"a1","ids":[]}"#);
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::MissingField {
            kind: None,
            field: "kind"
        }
    );
    assert_eq!(id(&e), Some("a1"));
    let e = err(r#"{"v":1,"kind":"ack","ids":[]}"#);
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::MissingField {
            kind: Some(Kind::Ack),
            field: "id"
        }
    );
    assert_eq!(e.id(), None);
}

#[test]
fn other_versions_are_refused() {
    for v in ["2", "0", "1.0", "\"1\"", "null", "-1"] {
        let e = err(&format!(r#"{{"v":{v},"kind":"ack","id":"a1","ids":[]}}"#));
        assert_eq!(
            e.kind(),
            &DecodeErrorKind::UnsupportedVersion {
                found: v.to_owned()
            },
            "v = {v}"
        );
        assert_eq!(id(&e), Some("a1"));
    }
}

#[test]
fn unknown_kind_is_refused_with_id() {
    let e = err(r#"{"v":1,"kind":"subscribe","id":"s1"}"#);
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::UnknownKind {
            found: "subscribe".into()
        }
    );
    assert_eq!(id(&e), Some("s1"));
    let e = err(r#"{"v":1,"kind":7,"id":"s1"}"#);
    assert!(
        matches!(
            e.kind(),
            DecodeErrorKind::InvalidField { field: "kind", .. }
        ),
        "{e:?}"
    );
}

#[test]
fn id_length_rule() {
    let long = "x".repeat(129);
    let e = err(&format!(r#"{{"v":1,"kind":"ack","id":"{long}","ids":[]}}"#));
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::InvalidId(InvalidId::TooLong(129))
    );
    assert_eq!(
        e.id(),
        None,
        "an id that breaks the rule cannot be a correlation id"
    );
    let e = err(r#"{"v":1,"kind":"ack","id":"","ids":[]}"#);
    assert_eq!(e.kind(), &DecodeErrorKind::InvalidId(InvalidId::Empty));
    let e = err(r#"{"v":1,"kind":"ack","id":17,"ids":[]}"#);
    assert!(
        matches!(e.kind(), DecodeErrorKind::InvalidField { field: "id", .. }),
        "{e:?}"
    );
    let max = "y".repeat(128);
    assert!(decode(&format!(r#"{{"v":1,"kind":"ack","id":"{max}","ids":[]}}"#)).is_ok());
}

#[test]
fn unknown_fields_are_ignored() {
    let env = decode(
        r#"{"v":1,"kind":"ack","id":"a1","ids":["x"],"future":{"deep":[1,2]},"priority":9}"#,
    )
    .unwrap();
    assert_eq!(
        env.body,
        Body::Ack(Ack {
            ids: vec![MessageId::new("x").unwrap()]
        })
    );
}

#[test]
fn every_kind_names_its_missing_required_fields() {
    let cases: [(&str, &str, &str); 10] = [
        ("hello", r#""instance":"i","max_in_flight":1"#, "service"),
        ("hello", r#""service":"s","max_in_flight":1"#, "instance"),
        ("hello", r#""service":"s","instance":"i""#, "max_in_flight"),
        ("welcome", r#""heartbeat_ms":5000"#, "session"),
        ("request", r#""route":"r","payload":1"#, "to"),
        ("request", r#""to":"s","payload":1"#, "route"),
        ("reply", r#""payload":1"#, "correlation_id"),
        ("error", r#""correlation_id":"r1""#, "error"),
        ("event", r#""payload":1"#, "topic"),
        ("ack", "", "ids"),
    ];
    for (kind, fields, missing) in cases {
        let sep = if fields.is_empty() { "" } else { "," };
        let text = format!(r#"{{"v":1,"kind":"{kind}","id":"m1"{sep}{fields}}}"#);
        let e = err(&text);
        assert_eq!(
            e.kind(),
            &DecodeErrorKind::MissingField {
                kind: Kind::parse(kind),
                field: missing
            },
            "{text}"
        );
        assert_eq!(id(&e), Some("m1"));
    }
}

#[test]
fn payload_must_be_exactly_one_of_inline_or_ref() {
    let e = err(r#"{"v":1,"kind":"event","id":"e1","topic":"t"}"#);
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::PayloadMissing { kind: Kind::Event }
    );
    let r = r#"{"bucket":"b","key":"k","size":3,"sha256":"00000000000000000000000000000000000000000000000000000000000000ff"}"#;
    let e = err(&format!(
        r#"{{"v":1,"kind":"reply","id":"p1","correlation_id":"r1","payload":1,"payload_ref":{r}}}"#
    ));
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::PayloadConflict { kind: Kind::Reply }
    );
    let env = decode(&format!(
        r#"{{"v":1,"kind":"reply","id":"p1","correlation_id":"r1","payload_ref":{r}}}"#
    ))
    .unwrap();
    let Body::Reply(reply) = env.body else {
        panic!("not a reply")
    };
    let Payload::Ref(r) = reply.payload else {
        panic!("not a ref")
    };
    assert_eq!(
        (r.bucket.as_str(), r.key.as_str(), r.size, r.content_type),
        ("b", "k", 3, None)
    );
}

#[test]
fn null_is_a_payload_not_an_absence() {
    let env = decode(r#"{"v":1,"kind":"event","id":"e1","topic":"t","payload":null}"#).unwrap();
    let Body::Event(ev) = env.body else {
        panic!("not an event")
    };
    assert_eq!(ev.payload, Payload::Inline(Json::null()));
}

#[test]
fn bad_payload_ref_is_refused() {
    let e = err(
        r#"{"v":1,"kind":"event","id":"e1","topic":"t","payload_ref":{"bucket":"b","key":"k","size":3,"sha256":"xyz"}}"#,
    );
    assert!(
        matches!(e.kind(), DecodeErrorKind::InvalidField { field: "payload_ref", reason } if reason.contains("64 hex")),
        "{e:?}"
    );
    let e = err(
        r#"{"v":1,"kind":"event","id":"e1","topic":"t","payload_ref":{"bucket":"b","key":"k"}}"#,
    );
    assert!(
        matches!(e.kind(), DecodeErrorKind::InvalidField { field: "payload_ref", reason } if reason.contains("missing field `size`")),
        "{e:?}"
    );
}

#[test]
fn wrong_field_types_are_named() {
    let cases = [
        (
            r#"{"v":1,"kind":"request","id":"m","to":5,"route":"r","payload":1}"#,
            "to",
        ),
        (
            r#"{"v":1,"kind":"request","id":"m","to":null,"route":"r","payload":1}"#,
            "to",
        ),
        (
            r#"{"v":1,"kind":"request","id":"m","to":"s","route":"r","from":1,"payload":1}"#,
            "from",
        ),
        (
            r#"{"v":1,"kind":"hello","id":"m","service":"s","instance":"i","max_in_flight":"8"}"#,
            "max_in_flight",
        ),
        (
            r#"{"v":1,"kind":"hello","id":"m","service":"s","instance":"i","max_in_flight":1,"routes":"a"}"#,
            "routes",
        ),
        (
            r#"{"v":1,"kind":"hello","id":"m","service":"s","instance":"i","max_in_flight":1,"topics":[1]}"#,
            "topics",
        ),
        (
            r#"{"v":1,"kind":"welcome","id":"m","session":"x","heartbeat_ms":-5}"#,
            "heartbeat_ms",
        ),
        (r#"{"v":1,"kind":"ack","id":"m","ids":"a"}"#, "ids"),
        (r#"{"v":1,"kind":"ack","id":"m","ids":[""]}"#, "ids"),
        (
            r#"{"v":1,"kind":"reply","id":"m","correlation_id":"","payload":1}"#,
            "correlation_id",
        ),
        (
            r#"{"v":1,"kind":"error","id":"m","error":{"code":"timeout"}}"#,
            "error",
        ),
        (
            r#"{"v":1,"kind":"ack","id":"m","ids":[],"headers":{"trace_id":5}}"#,
            "headers",
        ),
        (
            r#"{"v":1,"kind":"ack","id":"m","ids":[],"headers":[]}"#,
            "headers",
        ),
    ];
    for (text, field) in cases {
        let e = err(text);
        assert!(
            matches!(e.kind(), DecodeErrorKind::InvalidField { field: f, .. } if *f == field),
            "{text}: {e:?}"
        );
        assert_eq!(id(&e), Some("m"));
    }
}

#[test]
fn hello_rules() {
    let e =
        err(r#"{"v":1,"kind":"hello","id":"h","service":"s","instance":"i","max_in_flight":0}"#);
    assert!(
        matches!(
            e.kind(),
            DecodeErrorKind::InvalidField {
                field: "max_in_flight",
                ..
            }
        ),
        "{e:?}"
    );
    let e = err(r#"{"v":1,"kind":"hello","id":"h","service":"","instance":"i","max_in_flight":1}"#);
    assert!(
        matches!(
            e.kind(),
            DecodeErrorKind::InvalidField {
                field: "service",
                ..
            }
        ),
        "{e:?}"
    );
    let env =
        decode(r#"{"v":1,"kind":"hello","id":"h","service":"s","instance":"i","max_in_flight":4}"#)
            .unwrap();
    let Body::Hello(h) = env.body else {
        panic!("not a hello")
    };
    assert!(h.routes.is_empty() && h.topics.is_empty() && h.version.is_empty());
    assert_eq!(h.max_in_flight, 4);
}

#[test]
fn welcome_defaults_follow_the_protocol() {
    let env = decode(r#"{"v":1,"kind":"welcome","id":"w","session":"s1"}"#).unwrap();
    let Body::Welcome(w) = env.body else {
        panic!("not a welcome")
    };
    assert_eq!(
        (w.heartbeat_ms, w.max_frame_bytes),
        (5_000, 16 * 1024 * 1024)
    );
    let e = err(r#"{"v":1,"kind":"welcome","id":"w","session":"s1","max_frame_bytes":0}"#);
    assert!(
        matches!(
            e.kind(),
            DecodeErrorKind::InvalidField {
                field: "max_frame_bytes",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn error_retryable_defaults_from_code_and_unknown_codes_are_kept() {
    let env =
        decode(r#"{"v":1,"kind":"error","id":"e","error":{"code":"overloaded","message":"full"}}"#)
            .unwrap();
    let Body::Error(report) = env.body else {
        panic!("not an error")
    };
    assert!(report.error.retryable);
    assert_eq!(report.correlation_id, None);
    let env = decode(r#"{"v":1,"kind":"error","id":"e","correlation_id":"r","error":{"code":"quota","message":"m","retryable":true}}"#).unwrap();
    let Body::Error(report) = env.body else {
        panic!("not an error")
    };
    assert_eq!(report.error.code, ErrorCode::Other("quota".into()));
    assert!(report.error.retryable);
}

#[test]
fn defined_headers_are_checked() {
    let e = err(r#"{"v":1,"kind":"ack","id":"a","ids":[],"headers":{"deadline_ms":"soon"}}"#);
    assert!(
        matches!(e.kind(), DecodeErrorKind::InvalidHeader(h) if h.key == "deadline_ms"),
        "{e:?}"
    );
    assert_eq!(id(&e), Some("a"));
    let e = err(r#"{"v":1,"kind":"ack","id":"a","ids":[],"headers":{"attempt":"0"}}"#);
    assert!(
        matches!(e.kind(), DecodeErrorKind::InvalidHeader(h) if h.key == "attempt"),
        "{e:?}"
    );
    let env = decode(r#"{"v":1,"kind":"ack","id":"a","ids":[],"headers":{"trace_id":"t","attempt":"2","deadline_ms":"1700000000000","x":"y"}}"#).unwrap();
    assert_eq!(env.headers.trace_id(), Some("t"));
    assert_eq!(env.headers.attempt(), 2);
    assert_eq!(env.headers.deadline_ms(), Some(1_700_000_000_000));
    assert_eq!(env.headers.get("x"), Some("y"));
}

#[test]
fn oversized_frames_are_payload_too_large_with_id() {
    let e = decode_limited(REQUEST, 10).unwrap_err();
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::TooLarge {
            size: REQUEST.len() as u64,
            limit: 10
        }
    );
    assert_eq!(e.code(), ErrorCode::PayloadTooLarge);
    assert_eq!(id(&e), Some("r1"));
    assert!(decode_limited(REQUEST, REQUEST.len() as u64).is_ok());
}

#[test]
fn binary_frames_answer_bad_frame() {
    let e = DecodeError::binary_frame();
    assert_eq!(e.code(), ErrorCode::BadFrame);
    let answer = e.to_envelope();
    let Body::Error(report) = answer.body else {
        panic!("not an error")
    };
    assert_eq!(report.error.code, ErrorCode::BadFrame);
    assert!(!report.error.retryable);
}

#[test]
fn the_answer_to_a_bad_frame_is_a_valid_error_frame_naming_it() {
    let e = err(r#"{"v":1,"kind":"nope","id":"q7"}"#);
    let text = encode(&e.to_envelope()).unwrap();
    let answer = decode(&text).unwrap();
    assert_eq!(answer.correlation_id().map(MessageId::as_str), Some("q7"));
    let Body::Error(report) = answer.body else {
        panic!("not an error")
    };
    assert_eq!(report.error.code, ErrorCode::BadRequest);
    assert_eq!(report.error.message, r#"unknown kind "nope""#);
}

#[test]
fn messages_name_the_rule() {
    assert_eq!(
        err(r#"{"v":1,"kind":"request","id":"m","route":"r","payload":1}"#).to_string(),
        "missing field `to` in a request frame"
    );
    assert_eq!(
        err(r#"{"v":3,"kind":"ack","id":"m","ids":[]}"#).to_string(),
        "unsupported protocol version 3; this peer speaks version 1"
    );
    assert_eq!(
        err(r#"{"v":1,"kind":"request","id":"m","to":5,"route":"r","payload":1}"#).to_string(),
        "invalid field `to`: invalid type: integer `5`, expected a string"
    );
}

/// `template` with `@` replaced by each bad name is refused `bad_request`
/// naming `field` and keeping the frame's id; with a good name it decodes.
fn name_rule(template: &str, field: &str) {
    let long = "n".repeat(129);
    for bad in [
        "",
        "a b",
        "ocr\\nFAKE level=ERROR",
        "a/b",
        "é",
        "a\\u0000",
        &long,
    ] {
        let text = template.replace('@', bad);
        let e = err(&text);
        assert!(
            matches!(e.kind(), DecodeErrorKind::InvalidField { field: f, .. } if *f == field),
            "{text}: {e:?}"
        );
        assert_eq!(
            (e.code(), id(&e)),
            (ErrorCode::BadRequest, Some("m")),
            "{text}"
        );
    }
    let good = "n".repeat(128);
    for ok in ["A-z.0_9", good.as_str()] {
        assert!(decode(&template.replace('@', ok)).is_ok(), "{ok}");
    }
}

const HELLO_AT: &str = r#"{"v":1,"kind":"hello","id":"m","max_in_flight":1,"#;

#[test]
fn hello_service_follows_the_name_rule() {
    name_rule(
        &format!(r#"{HELLO_AT}"service":"@","instance":"i"}}"#),
        "service",
    );
}

#[test]
fn hello_instance_follows_the_name_rule() {
    name_rule(
        &format!(r#"{HELLO_AT}"service":"s","instance":"@"}}"#),
        "instance",
    );
}

#[test]
fn hello_version_follows_the_name_rule() {
    // the empty string is the exception: no version (revision-1 runtimes
    // send it), see the test below
    let long = "n".repeat(129);
    for bad in ["a b", "ocr\\nFAKE level=ERROR", "a/b", "é", &long] {
        let text = format!(r#"{HELLO_AT}"service":"s","instance":"i","version":"{bad}"}}"#);
        let e = err(&text);
        assert!(
            matches!(
                e.kind(),
                DecodeErrorKind::InvalidField {
                    field: "version",
                    ..
                }
            ),
            "{bad:?}: {e}"
        );
    }
}

#[test]
fn hello_routes_and_topics_follow_the_name_rule() {
    let base = format!(r#"{HELLO_AT}"service":"s","instance":"i","#);
    name_rule(&format!(r#"{base}"routes":["ok","@"]}}"#), "routes");
    name_rule(&format!(r#"{base}"topics":["@"]}}"#), "topics");
}

#[test]
fn request_to_follows_the_name_rule() {
    name_rule(
        r#"{"v":1,"kind":"request","id":"m","to":"@","route":"r","payload":1}"#,
        "to",
    );
}

#[test]
fn request_route_follows_the_name_rule() {
    name_rule(
        r#"{"v":1,"kind":"request","id":"m","to":"s","route":"@","payload":1}"#,
        "route",
    );
}

#[test]
fn event_topic_follows_the_name_rule() {
    name_rule(
        r#"{"v":1,"kind":"event","id":"m","topic":"@","payload":1}"#,
        "topic",
    );
}

#[test]
fn an_empty_version_is_left_out_and_reads_back_empty() {
    let hello = Envelope::new(Body::Hello(Hello {
        service: "s".into(),
        instance: "i".into(),
        routes: vec![],
        topics: vec![],
        max_in_flight: 1,
        version: String::new(),
    }));
    let text = encode(&hello).unwrap();
    assert!(!text.contains("version"), "{text}");
    assert_eq!(decode(&text).unwrap(), hello);
}

#[test]
fn an_empty_version_from_a_revision_1_runtime_is_no_version() {
    let env = decode(&format!(
        r#"{HELLO_AT}"service":"s","instance":"i","version":""}}"#
    ))
    .unwrap();
    let Body::Hello(h) = env.body else {
        panic!("{env:?}")
    };
    assert!(h.version.is_empty());
}

#[test]
fn the_fast_path_reads_every_kind_as_serde_json_does() {
    let frames = [
        REQUEST,
        r#"{"v":1,"kind":"hello","id":"h","service":"s","instance":"i","routes":["a","b"],"topics":[],"max_in_flight":8,"version":"1.2"}"#,
        r#"{"v":1,"kind":"welcome","id":"w","session":"x","heartbeat_ms":5000,"max_frame_bytes":1048576,"max_in_flight":4}"#,
        r#"{"v":1,"kind":"reply","id":"p","correlation_id":"r1","headers":{"x-a":"b"},"payload":"\u00e9\n"}"#,
        r#"{"v":1,"kind":"error","id":"e","correlation_id":"r1","error":{"code":"internal","message":"m","retryable":false}}"#,
        r#"{"v":1,"kind":"event","id":"e","topic":"t","payload_ref":{"bucket":"b","key":"k","size":1,"sha256":"00"}}"#,
        r#" { "v" : 1 , "kind" : "ack" , "id" : "a" , "ids" : [ "x" , "y" ] , "unknown" : [ 1 , { } ] } "#,
    ];
    for text in frames {
        let fast = RawFrame::scan(text).unwrap_or_else(|| panic!("fast path refused {text}"));
        let slow: RawFrame<'_> = serde_json::from_str::<SerdeFrame<'_>>(text)
            .map(RawFrame::from)
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(fast, slow, "{text}");
    }
    // a duplicate known field is left to serde_json, which names it
    assert!(RawFrame::scan(r#"{"v":1,"v":1}"#).is_none());
    assert!(
        RawFrame::scan(r#"{"x":1,"x":1}"#).is_some(),
        "unknown fields are skipped"
    );
}

/// How the decoder's two readers judge `text`: the fast path's members,
/// or `None` when it gives up; serde_json's members or its refusal.
fn both_readers(text: &str) -> (Option<RawFrame<'_>>, Result<RawFrame<'_>, String>) {
    let slow = serde_json::from_str::<SerdeFrame<'_>>(text)
        .map(RawFrame::from)
        .map_err(|e| e.to_string());
    (RawFrame::scan(text), slow)
}

#[test]
fn every_field_is_matched_by_the_name_serde_gives_it() {
    for field in FIELD_NAMES {
        let once = format!(r#"{{"{field}":[0, null]}}"#);
        let (fast, slow) = both_readers(&once);
        let fast = fast.unwrap_or_else(|| panic!("fast path refused {once}"));
        assert_eq!(Ok(&fast), slow.as_ref(), "{once}");
        assert_ne!(fast, RawFrame::default(), "{field} is not a known field");

        let twice = format!(r#"{{"{field}":0,"{field}":0}}"#);
        let (fast, slow) = both_readers(&twice);
        assert!(fast.is_none(), "fast path accepted {twice}");
        assert!(
            slow.as_ref().is_err_and(|e| e.contains("duplicate field")),
            "{twice}: {slow:?}"
        );
    }
}

mod readers {
    use proptest::prelude::*;

    use super::{FIELD_NAMES, both_readers};
    use crate::proptests::json_value;

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::sample::select(FIELD_NAMES).prop_map(str::to_owned),
            1 => "[a-z_]{1,6}",
            1 => Just("p\\u0061yload".to_owned()),
        ]
    }

    fn gap() -> impl Strategy<Value = &'static str> {
        prop::sample::select(&["", " ", "\t", "\r\n", " \n  "][..])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4_000))]

        /// Known fields, unknown ones, escaped keys and repeats: whatever
        /// the fast path accepts, serde_json reads into the same frame.
        #[test]
        fn the_fast_path_never_disagrees_with_serde_json(
            members in prop::collection::vec((key(), json_value(), gap(), gap()), 0..8),
        ) {
            let body: Vec<String> = members
                .iter()
                .map(|(k, v, a, b)| format!("{a}\"{k}\"{b}:{a}{v}{b}"))
                .collect();
            let text = format!("{{{}}}", body.join(","));
            let (fast, slow) = both_readers(&text);
            if let Some(fast) = fast {
                prop_assert_eq!(Ok(fast), slow, "{}", text);
            } else {
                let mut keys: Vec<&str> = members.iter().map(|(k, ..)| k.as_str()).collect();
                let escaped = keys.iter().any(|k| k.contains('\\'));
                keys.sort_unstable();
                let repeated = keys.windows(2).any(|w| w[0] == w[1] && FIELD_NAMES.contains(&w[0]));
                prop_assert!(escaped || repeated, "fast path gave up on {}", text);
            }
        }
    }
}
