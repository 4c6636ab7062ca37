//! Unit and property tests of the W3C trace context rules.

use proptest::prelude::*;

use super::*;

const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[test]
fn version_00_round_trips() {
    let parent = TraceParent::parse(GOOD).unwrap();
    assert_eq!(parent.to_string(), GOOD);
    assert!(parent.is_sampled());
    let unsampled = TraceParent::parse(&GOOD.replace("-01", "-00")).unwrap();
    assert!(!unsampled.is_sampled());
}

#[test]
fn malformed_traceparents_are_refused_by_rule() {
    let cases = [
        ("", TraceParentError::Length),
        (&GOOD[..54], TraceParentError::Length),
        (&format!("{GOOD}-"), TraceParentError::Length),
        (&GOOD.replacen("00", "ff", 1), TraceParentError::Version),
        (&GOOD.replacen("00", "0G", 1), TraceParentError::Version),
        (&GOOD.replace("4bf92f", "4BF92F"), TraceParentError::TraceId),
        (
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            TraceParentError::TraceId,
        ),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            TraceParentError::ParentId,
        ),
        (&GOOD.replace("-01", "-0x"), TraceParentError::Flags),
        (&GOOD.replacen('-', "_", 1), TraceParentError::Separator),
    ];
    for (text, rule) in cases {
        assert_eq!(TraceParent::parse(text), Err(rule), "{text:?}");
    }
}

#[test]
fn future_versions_are_read_by_their_first_55_characters() {
    let future = GOOD.replacen("00", "cc", 1);
    let parent = TraceParent::parse(&format!("{future}-what-comes-next")).unwrap();
    assert_eq!(parent.to_string(), GOOD, "sent on as version 00");
    assert_eq!(TraceParent::parse(&future).unwrap().to_string(), GOOD);
    assert_eq!(
        TraceParent::parse(&format!("{future}x")),
        Err(TraceParentError::Separator)
    );
    let huge = format!("{future}-{}", "a".repeat(MAX_TRACEPARENT_BYTES));
    assert_eq!(TraceParent::parse(&huge), Err(TraceParentError::Length));
}

#[test]
fn unknown_flags_are_dropped() {
    let parent = TraceParent::parse(&GOOD.replace("-01", "-ff")).unwrap();
    assert_eq!(
        parent.flags,
        TraceParent::SAMPLED | TraceParent::RANDOM_TRACE_ID
    );
}

#[test]
fn tracestate_rules() {
    assert!(is_valid_tracestate(""));
    assert!(is_valid_tracestate("a=1 , ,b=2\t"));
    assert!(is_valid_tracestate("0tenant@sys=v"));
    assert!(!is_valid_tracestate("a"));
    assert!(!is_valid_tracestate("a=b=c"));
    assert!(!is_valid_tracestate("a= "));
    assert!(!is_valid_tracestate("a=\u{e9}"));
    assert!(!is_valid_tracestate("t@=v"));
    let members: Vec<String> = (0..MAX_TRACESTATE_MEMBERS)
        .map(|i| format!("k{i}=v"))
        .collect();
    assert!(is_valid_tracestate(&members.join(",")));
    let too_many: Vec<String> = (0..=MAX_TRACESTATE_MEMBERS)
        .map(|i| format!("k{i}=v"))
        .collect();
    assert!(!is_valid_tracestate(&too_many.join(",")));
    assert!(!is_valid_tracestate(&format!(
        "a={}",
        "b".repeat(MAX_TRACESTATE_BYTES)
    )));
}

#[test]
fn a_valid_traceparent_wins_and_derives_trace_id() {
    let headers: Headers = [
        ("traceparent", GOOD),
        ("tracestate", "congo=t61rcWkgMzE"),
        ("trace_id", "0123456789abcdef0123456789abcdef"),
    ]
    .into_iter()
    .collect();
    let incoming = IncomingTrace::read(&headers);
    assert_eq!(incoming.origin, TraceOrigin::Traceparent);
    let mut out = Headers::new();
    let child = incoming.parent.child(SpanId::random());
    incoming.write(&mut out, &child);
    assert_eq!(out.trace_id(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    assert_eq!(out.traceparent(), Some(child));
    assert_eq!(out.get("tracestate"), Some("congo=t61rcWkgMzE"));
}

#[test]
fn a_legacy_label_is_kept_beside_a_traceparent() {
    let headers: Headers = [("traceparent", GOOD), ("trace_id", "order-1234")]
        .into_iter()
        .collect();
    let incoming = IncomingTrace::read(&headers);
    assert_eq!(incoming.origin, TraceOrigin::Traceparent);
    assert_eq!(incoming.trace_id(&incoming.parent), "order-1234");
}

#[test]
fn a_hex_legacy_trace_id_becomes_the_trace_id() {
    let headers: Headers = [("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")]
        .into_iter()
        .collect();
    let incoming = IncomingTrace::read(&headers);
    assert_eq!(incoming.origin, TraceOrigin::LegacyTraceId);
    assert_eq!(
        incoming.parent.trace_id.to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(
        incoming.trace_id(&incoming.parent),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
}

#[test]
fn malformed_input_starts_a_trace_and_drops_tracestate() {
    let headers: Headers = [
        ("traceparent", "x".repeat(100_000).as_str()),
        ("tracestate", "a=1"),
    ]
    .into_iter()
    .collect();
    let incoming = IncomingTrace::read(&headers);
    assert_eq!(incoming.origin, TraceOrigin::Started);
    assert_eq!(incoming.state, None);
    let mut out = headers.clone();
    incoming.write(&mut out, &incoming.parent);
    assert_eq!(out.get("traceparent").map(str::len), Some(TraceParent::LEN));
    assert_eq!(out.get("tracestate"), None);
    assert_eq!(out.trace_id().map(str::len), Some(32));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5_000))]

    #[test]
    fn any_text_parses_or_is_refused_without_panic(text in ".{0,120}") {
        if let Ok(parent) = TraceParent::parse(&text) {
            // what is accepted is sent on well formed and bounded
            let sent = parent.to_string();
            prop_assert_eq!(sent.len(), TraceParent::LEN);
            prop_assert_eq!(TraceParent::parse(&sent), Ok(parent));
        }
        let _ = is_valid_tracestate(&text);
    }

    #[test]
    fn near_misses_never_panic(
        version in "[0-9a-fA-F]{2}",
        trace in "[0-9a-fA-F]{30,34}",
        span in "[0-9a-fA-F]{14,18}",
        flags in "[0-9a-fA-Z]{1,3}",
        tail in "(-.{0,10})?",
    ) {
        let text = format!("{version}-{trace}-{span}-{flags}{tail}");
        if let Ok(parent) = TraceParent::parse(&text) {
            prop_assert_eq!(parent.trace_id.to_string(), trace);
            prop_assert_eq!(parent.parent_id.to_string(), span);
        }
    }

    #[test]
    fn written_headers_are_always_bounded_and_valid(
        parent in ".{0,300}",
        state in ".{0,700}",
        legacy in proptest::option::of("[a-z0-9-]{1,40}"),
    ) {
        let incoming = IncomingTrace::from_parts(Some(&parent), Some(&state), legacy.as_deref());
        let mut out = Headers::new();
        incoming.write(&mut out, &incoming.parent);
        prop_assert!(out.traceparent().is_some());
        let kept = out.get("tracestate").unwrap_or("");
        prop_assert!(kept.len() <= MAX_TRACESTATE_BYTES && is_valid_tracestate(kept));
    }

    #[test]
    fn valid_traceparents_round_trip(trace in any::<[u8; 16]>(), span in any::<[u8; 8]>(), flags in 0u8..4) {
        prop_assume!(trace != [0; 16] && span != [0; 8]);
        let parent = TraceParent { trace_id: TraceId(trace), parent_id: SpanId(span), flags };
        prop_assert_eq!(TraceParent::parse(&parent.to_string()), Ok(parent));
    }
}
