//! Property tests: encode -> decode is the identity, and no text panics the decoder.

use proptest::prelude::*;

use super::*;

const CASES: u32 = 10_000;

fn id() -> impl Strategy<Value = MessageId> {
    prop_oneof![
        "[A-Za-z0-9_-]{1,40}",
        // any unicode, cut to the byte rule
        ".{1,60}".prop_filter("1..=128 bytes", |s| (1..=MAX_ID_BYTES).contains(&s.len())),
    ]
    .prop_map(|s| MessageId::new(s).expect("strategy respects the length rule"))
}

/// Any non-empty text: sessions, `from`, trace ids, claim keys.
fn name() -> impl Strategy<Value = String> {
    ".{1,20}"
}

/// A name under the protocol's rule: service, instance, version, route, topic.
fn wire_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._-]{1,128}"
}

/// Any JSON value, nested up to 3 levels (also used by `scan_tests.rs`).
pub(crate) fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        ".{0,20}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        4 => json_value().prop_map(|v| Payload::Inline(Json::from_value(&v).expect("values serialise"))),
        1 => (name(), name(), any::<u64>(), "[0-9a-f]{64}", proptest::option::of("[a-z]+/[a-z]+")).prop_map(
            |(bucket, key, size, sha256, content_type)| Payload::Ref(PayloadRef { bucket, key, size, sha256, content_type })
        ),
    ]
}

fn headers() -> impl Strategy<Value = Headers> {
    (
        prop::collection::btree_map("x-[a-z]{1,6}", ".{0,10}", 0..3),
        proptest::option::of(name()),
        proptest::option::of(any::<u64>()),
        proptest::option::of(1..=u32::MAX),
    )
        .prop_map(|(extra, trace, deadline, attempt)| {
            let mut h: Headers = extra.into_iter().collect();
            if let Some(t) = trace {
                h.set_trace_id(t);
            }
            if let Some(d) = deadline {
                h.set_deadline_ms(d);
            }
            if let Some(a) = attempt {
                h.set_attempt(a);
            }
            h
        })
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    prop_oneof![
        prop::sample::select(ErrorCode::ALL.to_vec()),
        "[a-z_]{1,12}".prop_map(|c| ErrorCode::parse(&c)),
    ]
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        (
            wire_name(),
            wire_name(),
            prop::collection::vec(wire_name(), 0..4),
            prop::collection::vec(wire_name(), 0..3),
            1..=u32::MAX,
            prop_oneof![Just(String::new()), wire_name()]
        )
            .prop_map(
                |(service, instance, routes, topics, max_in_flight, version)| Body::Hello(Hello {
                    service,
                    instance,
                    routes,
                    topics,
                    max_in_flight,
                    version
                })
            ),
        (
            name(),
            1..=u64::MAX,
            1..=u64::MAX,
            proptest::option::of(1..=u32::MAX)
        )
            .prop_map(|(session, heartbeat_ms, max_frame_bytes, max_in_flight)| {
                Body::Welcome(Welcome {
                    session,
                    heartbeat_ms,
                    max_frame_bytes,
                    max_in_flight,
                })
            }),
        (
            wire_name(),
            wire_name(),
            proptest::option::of(name()),
            payload()
        )
            .prop_map(|(to, route, from, payload)| Body::Request(Request {
                to,
                route,
                from,
                payload
            })),
        (id(), payload()).prop_map(|(correlation_id, payload)| Body::Reply(Reply {
            correlation_id,
            payload
        })),
        (
            proptest::option::of(id()),
            error_code(),
            ".{0,30}",
            any::<bool>()
        )
            .prop_map(|(correlation_id, code, message, retryable)| {
                Body::Error(ErrorReport {
                    correlation_id,
                    error: WireError {
                        code,
                        message,
                        retryable,
                    },
                })
            }),
        (wire_name(), payload()).prop_map(|(topic, payload)| Body::Event(Event { topic, payload })),
        prop::collection::vec(id(), 0..5).prop_map(|ids| Body::Ack(Ack { ids })),
    ]
}

fn envelope() -> impl Strategy<Value = Envelope> {
    (id(), headers(), body()).prop_map(|(id, headers, body)| Envelope { id, headers, body })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn encode_then_decode_is_the_identity(env in envelope()) {
        let text = encode(&env).unwrap();
        let back = decode(&text).unwrap();
        prop_assert_eq!(back, env);
    }

    #[test]
    fn the_hand_written_encoder_writes_what_serde_writes(env in envelope()) {
        prop_assert_eq!(encode(&env).unwrap(), serde_json::to_string(&env).unwrap());
    }

    #[test]
    fn a_name_off_the_rule_is_refused_in_every_field(
        env in envelope(),
        bad in prop_oneof![
            Just(String::new()),
            "[A-Za-z0-9._-]{129,140}",
            "[a-z]{0,4}[^A-Za-z0-9._-][a-z]{0,4}",
        ],
    ) {
        let mut env = env;
        let field = match &mut env.body {
            Body::Hello(h) => { h.instance = bad.clone(); "instance" }
            Body::Request(r) => { r.route = bad.clone(); "route" }
            Body::Event(e) => { e.topic = bad.clone(); "topic" }
            _ => return Ok(()),
        };
        let e = decode(&encode(&env).unwrap()).unwrap_err();
        prop_assert_eq!(e.code(), ErrorCode::BadRequest);
        let named = matches!(e.kind(), DecodeErrorKind::InvalidField { field: f, .. } if *f == field);
        prop_assert!(named, "{:?}", e);
    }

    #[test]
    fn no_string_panics_the_decoder(text in ".{0,200}") {
        let _ = decode(&text);
    }

    #[test]
    fn no_mutation_of_a_valid_frame_panics_the_decoder(
        env in envelope(),
        cut in any::<prop::sample::Index>(),
        insert in ".{0,4}",
    ) {
        let text = encode(&env).unwrap();
        let at = cut.index(text.len() + 1);
        let at = (0..=at).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        let mutated = format!("{}{}{}", &text[..at], insert, &text[at..]);
        if let Err(e) = decode(&mutated) {
            // whatever the error, its answer must itself be a valid frame
            let answer = encode(&e.to_envelope()).unwrap();
            prop_assert!(decode(&answer).is_ok());
        }
    }
}
