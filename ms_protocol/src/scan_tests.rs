//! The fast path against serde_json: whatever `members` accepts, serde_json
//! accepts and cuts into the same members; ordinary frames take the fast
//! path; the cases it leaves to serde_json are left.

use std::fmt;

use proptest::prelude::*;
use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;

use super::{MAX_DEPTH, members, plain_run};
use crate::proptests::json_value;

/// The members as the fast path hands them out: key, value text, and the
/// value's offset in the frame (a view, not a copy).
fn fast(text: &str) -> Option<Vec<(String, String, usize)>> {
    let mut out = Vec::new();
    members(text, |key, value| {
        out.push((key.to_owned(), value.to_owned(), offset(text, value)));
        Some(())
    })?;
    Some(out)
}

fn offset(whole: &str, part: &str) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

/// The members as serde_json reads them, in order, duplicates kept.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Collect;
        impl<'de> Visitor<'de> for Collect {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(Collect)
    }
}

fn slow(text: &str) -> Result<Vec<(String, String, usize)>, serde_json::Error> {
    let Entries(entries) = serde_json::from_str(text)?;
    Ok(entries
        .into_iter()
        .map(|(key, value)| (key, value.get().to_owned(), offset(text, value.get())))
        .collect())
}

/// The property every test below leans on.
fn agrees(text: &str) -> Result<(), TestCaseError> {
    if let Some(members) = fast(text) {
        match slow(text) {
            Ok(expected) => prop_assert_eq!(members, expected, "frame {:?}", text),
            Err(e) => prop_assert!(false, "fast path accepted {text:?}, serde_json: {e}"),
        }
    }
    Ok(())
}

#[test]
fn an_ordinary_request_takes_the_fast_path_and_every_member_is_a_view() {
    let text = r#" {"v":1, "kind" : "request","id":"q1","to":"echo","route":"echo",
        "headers":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
        "payload":{"n":[1,-2.5e+3,0,true,false,null],"s":"a\"b\\c\u00e9\n"}} "#;
    let members = fast(text).expect("an ordinary frame is read by the fast path");
    let keys: Vec<&str> = members.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        ["v", "kind", "id", "to", "route", "headers", "payload"]
    );
    assert_eq!(members[0].1, "1");
    assert_eq!(members[1].1, r#""request""#);
    assert!(members[6].1.starts_with(r#"{"n":[1,"#));
    assert!(agrees(text).is_ok());
}

#[test]
fn a_large_string_payload_is_handed_out_whole() {
    for size in [0, 1, 31, 32, 33, 63, 64, 65_536, 65_537] {
        let payload = format!("\"{}\"", "x".repeat(size));
        let text = format!(r#"{{"v":1,"payload":{payload},"id":"q"}}"#);
        let members = fast(&text).expect("plain text");
        assert_eq!(members[1].1, payload, "size {size}");
        assert_eq!(members[2].1, r#""q""#, "size {size}");
    }
}

#[test]
fn the_end_of_a_plain_run_is_found_at_every_position_around_the_lanes() {
    for len in 0..100 {
        for stop in [b'"', b'\\', 0x00, 0x1f] {
            let mut bytes = vec![b'a'; len];
            bytes.push(stop);
            bytes.extend_from_slice(b"tail\"");
            assert_eq!(plain_run(&bytes, 0), len, "length {len}, byte {stop:#x}");
            assert_eq!(plain_run(&bytes, len.min(3)), len, "from 3, length {len}");
        }
        assert_eq!(plain_run(&vec![b'a'; len], 0), len, "no stop, length {len}");
    }
    // bytes of multi-byte characters are plain
    assert_eq!(plain_run("é€😀\"".as_bytes(), 0), "é€😀".len());
}

#[test]
fn what_it_leaves_to_serde_json_is_left() {
    let nested_ok = format!(
        r#"{{"p":{}1{}}}"#,
        "[".repeat(MAX_DEPTH - 1),
        "]".repeat(MAX_DEPTH - 1)
    );
    assert!(
        fast(&nested_ok).is_some(),
        "{MAX_DEPTH} levels, the object's own included"
    );
    let too_deep = format!(
        r#"{{"p":{}1{}}}"#,
        "[".repeat(MAX_DEPTH),
        "]".repeat(MAX_DEPTH)
    );
    assert!(fast(&too_deep).is_none(), "nesting beyond the limit");
    assert!(slow(&too_deep).is_ok(), "serde_json still reads it");
    let objects_too_deep = format!(
        r#"{{"p":{}1{}}}"#,
        r#"{"a":"#.repeat(MAX_DEPTH),
        "}".repeat(MAX_DEPTH)
    );
    assert!(
        fast(&objects_too_deep).is_none(),
        "objects nested beyond the limit"
    );
    assert!(
        slow(&objects_too_deep).is_ok(),
        "serde_json still reads them"
    );

    for text in [
        "",
        "   ",
        "[]",
        "null",
        r#"{"p\u0061yload":1}"#, // an escaped key: serde_json matches it to a field
        r#"{"a":1,}"#,
        r#"{"a":01}"#,
        r#"{"a":1.}"#,
        r#"{"a":1e}"#,
        r#"{"a":-}"#,
        r#"{"a":+1}"#,
        r#"{"a":.5}"#,
        r#"{"a":tru}"#,
        r#"{"a":"x\qy"}"#,
        r#"{"a":"\u12"}"#,
        r#"{"a":"\u12G4"}"#,
        "{\"a\":\"tab\there\"}",
        r#"{"a":1}x"#,
        r#"{"a":1}{}"#,
        r#"{"a" 1}"#,
        r#"{"a":[1 2]}"#,
        r#"{"a":{"b"}}"#,
        r#"{"a":{1:2}}"#,
        r#"{"a":1"#,
        r#"{"a":"unterminated}"#,
        "{\u{feff}}",
        "\u{feff}{}",
        "\u{b}{}",
    ] {
        assert!(fast(text).is_none(), "fast path accepted {text:?}");
    }
}

#[test]
fn a_refusal_from_the_caller_is_a_refusal() {
    let text = r#"{"a":1,"b":2}"#;
    let mut seen = 0;
    let verdict = members(text, |_, _| {
        seen += 1;
        None
    });
    assert_eq!((verdict, seen), (None, 1));
}

#[test]
fn serde_json_agrees_on_hand_picked_frames() {
    for text in [
        "{}",
        " { } ",
        "{\"a\":\"\\u00e9\\ud800\"}", // a lone surrogate is fine when skipped
        r#"{"a":-0,"b":0.0e-0,"c":1E+99,"d":-12.5}"#,
        r#"{"a":{"":[[],{},""]},"a":2}"#, // duplicates are the caller's to judge
        "{\"a\":\r\n\t1\r\n}",
    ] {
        assert!(fast(text).is_some(), "fast path refused {text:?}");
        agrees(text).unwrap_or_else(|e| panic!("{e}"));
    }
}

fn frame() -> impl Strategy<Value = (String, bool)> {
    (
        prop::collection::btree_map("[a-z_]{1,8}|.{0,6}", json_value(), 0..6),
        any::<bool>(),
    )
        .prop_map(|(object, pretty)| {
            let plain_keys = object
                .keys()
                .all(|k| !k.chars().any(|c| c == '"' || c == '\\' || c < ' '));
            let value = serde_json::Value::Object(object.into_iter().collect());
            let text = if pretty {
                serde_json::to_string_pretty(&value)
            } else {
                serde_json::to_string(&value)
            };
            (text.unwrap_or_default(), plain_keys)
        })
}

/// A character that matters to the grammar, or a control character.
fn significant() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select(
            "{}[]\",:\\ 0123456789eE.+-tfnrulsau/bx\u{7f}é"
                .chars()
                .collect::<Vec<_>>()
        ),
        (0u8..0x20).prop_map(char::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    #[test]
    fn frames_serde_json_writes_take_the_fast_path_and_read_the_same((text, plain_keys) in frame()) {
        if plain_keys {
            prop_assert!(fast(&text).is_some(), "fast path refused {:?}", text);
        }
        agrees(&text)?;
    }

    #[test]
    fn mangled_frames_are_never_accepted_against_serde_json(
        (text, _) in frame(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, significant()), 1..4),
    ) {
        let mut chars: Vec<char> = text.chars().collect();
        for (at, how, c) in edits {
            let i = if chars.is_empty() { 0 } else { at.index(chars.len()) };
            match how {
                0 => chars.insert(i, c),
                1 if !chars.is_empty() => { chars.remove(i); }
                _ if !chars.is_empty() => chars[i] = c,
                _ => chars.push(c),
            }
        }
        agrees(&chars.into_iter().collect::<String>())?;
    }

    #[test]
    fn numbers_and_near_numbers_are_read_as_serde_json_reads_them(
        n in "-?0?[0-9]{0,2}[.]?[0-9]{0,2}([eE][+-]?)?[0-9]{0,2}[.eE+-]?",
    ) {
        agrees(&format!("{{\"a\":{n}}}"))?;
        agrees(&format!("{{\"a\":[{n},{n}]}}"))?;
    }

    #[test]
    fn grammar_soup_is_never_accepted_against_serde_json(
        inner in prop::collection::vec(significant(), 0..40),
    ) {
        let inner: String = inner.into_iter().collect();
        agrees(&inner)?;
        agrees(&format!("{{\"a\":{inner}}}"))?;
        agrees(&format!("{{\"a\":\"{inner}\"}}"))?;
    }
}
