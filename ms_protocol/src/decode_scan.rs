//! A one-pass reader of a frame's top-level object, for the frames peers
//! send every day: members whose keys and string values need no escapes.
//!
//! It finds each member's raw JSON text as serde_json's `RawValue` would,
//! without serde's per-field machinery. Anything it does not read itself
//! (an escape, a duplicate field, a malformed number, a value nested deeper
//! than it cares to follow, trailing text) makes it give up: the serde path
//! then reads the frame and decides every error, so the decoder's answers
//! do not depend on which path read the frame. Nested values (`payload`,
//! `headers`, unknown fields) are delimited here and checked to be JSON by
//! serde_json.

use super::raw_frame::RawFrame;

/// The longest frame worth reading here: past it, scanning the payload
/// dominates and serde_json's scan is the faster.
pub(crate) const MAX_SCANNED: usize = 4 * 1024;

/// The frame's fields, or `None` when the serde path must read it.
pub(crate) fn scan(text: &str) -> Option<RawFrame<'_>> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let mut raw = RawFrame::default();
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return only_ws(b, i + 1).then_some(raw);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = plain_string_end(b, i)?;
        let key = &text[i + 1..key_end - 1];
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let end = value_end(text, i)?;
        if !raw.set(key, &text[i..end]) {
            return None;
        }
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return only_ws(b, i + 1).then_some(raw),
            _ => return None,
        }
    }
}

fn is_ws(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| is_ws(c)) {
        i += 1;
    }
    i
}

fn only_ws(b: &[u8], from: usize) -> bool {
    b.get(from..)
        .is_some_and(|rest| rest.iter().all(|&c| is_ws(c)))
}

/// The end (past the closing quote) of the string opening at `i`, if it
/// holds no escape and no control character.
fn plain_string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = skip_chunks(b, i + 1, |x| {
        (below_mask(x, 0x20) | byte_mask(x, b'"') | byte_mask(x, b'\\')) != 0
    });
    loop {
        match *b.get(j)? {
            b'"' => return Some(j + 1),
            b'\\' | 0..=0x1f => return None,
            _ => j += 1,
        }
    }
}

/// From `j`, skips whole 8-byte chunks for which `stop` is false: text is
/// scanned a word at a time, and the byte loops only look at the chunk that
/// holds what they look for.
fn skip_chunks(b: &[u8], j: usize, stop: impl Fn(u64) -> bool) -> usize {
    let Some(rest) = b.get(j..) else {
        return j;
    };
    let mut skipped = 0;
    for chunk in rest.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if stop(u64::from_le_bytes(word)) {
            break;
        }
        skipped += 8;
    }
    j + skipped
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Non-zero when a byte of `x` is below `n` (`n` at most 0x80): exact as a
/// yes or no, and cheap to combine with `|` before one test.
fn below_mask(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS
}

/// Non-zero when a byte of `x` is `byte`.
fn byte_mask(x: u64, byte: u8) -> u64 {
    below_mask(x ^ (ONES * u64::from(byte)), 1)
}

/// The end of the value starting at `i`, checked to be JSON.
fn value_end(text: &str, i: usize) -> Option<usize> {
    let b = text.as_bytes();
    let end = match *b.get(i)? {
        b'"' => plain_string_end(b, i)?,
        b'-' | b'0'..=b'9' => number_end(b, i)?,
        b't' => literal_end(b, i, b"true")?,
        b'f' => literal_end(b, i, b"false")?,
        b'n' => literal_end(b, i, b"null")?,
        b'{' | b'[' => {
            let end = nested_end(b, i)?;
            // the scan only delimits: serde_json checks the value itself
            serde_json::from_str::<serde::de::IgnoredAny>(&text[i..end]).ok()?;
            end
        }
        _ => return None,
    };
    // a value ends at white space, a comma or the closing brace
    match b.get(end) {
        Some(&c) if is_ws(c) || c == b',' || c == b'}' => Some(end),
        _ => None,
    }
}

/// JSON's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn number_end(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |b: &[u8], i: usize| b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => i += digits(b, i),
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        let n = digits(b, i + 1);
        if n == 0 {
            return None;
        }
        i += 1 + n;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(b, i);
        if n == 0 {
            return None;
        }
        i += n;
    }
    Some(i)
}

fn literal_end(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (b.get(i..i + word.len())? == word).then_some(i + word.len())
}

/// How deep this scan follows nested values; deeper ones go to serde, which
/// has its own limit.
const MAX_DEPTH: usize = 64;

/// The end of the object or array opening at `i`: brackets counted outside
/// strings, escapes inside strings skipped. Only delimits, never validates.
fn nested_end(b: &[u8], i: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = i;
    while j < b.len() {
        match b[j] {
            b'"' => {
                j += 1;
                loop {
                    j = skip_chunks(b, j, |x| (byte_mask(x, b'"') | byte_mask(x, b'\\')) != 0);
                    match *b.get(j)? {
                        b'"' => break,
                        b'\\' => j += 2,
                        _ => j += 1,
                    }
                }
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return None;
                }
            }
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(j + 1);
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_request_is_read_in_one_pass() {
        let text = r#"{"v":1,"kind":"request","id":"q1","to":"echo","route":"echo","from":"bench","payload":{"a":[1,"x\"y"]}}"#;
        let raw = scan(text).expect("the fast path reads it");
        assert_eq!(raw.kind, Some("\"request\""));
        assert_eq!(raw.payload, Some(r#"{"a":[1,"x\"y"]}"#));
        assert_eq!(raw.v, Some("1"));
    }

    #[test]
    fn word_tests_find_every_byte_they_look_for() {
        for at in 0..8 {
            for byte in [0u8, 0x1f, b'"', b'\\'] {
                let mut word = *b"abcdefgh";
                word[at] = byte;
                let x = u64::from_le_bytes(word);
                assert_ne!(
                    below_mask(x, 0x20) | byte_mask(x, b'"') | byte_mask(x, b'\\'),
                    0
                );
            }
        }
        let plain = u64::from_le_bytes(*b"a~ \x7f\xc3\xa9zZ");
        assert_eq!(
            below_mask(plain, 0x20) | byte_mask(plain, b'"') | byte_mask(plain, b'\\'),
            0
        );
        // long strings end where they end, whatever the chunking
        for n in 0..40 {
            let text = format!("\"{}\"", "x".repeat(n));
            assert_eq!(plain_string_end(text.as_bytes(), 0), Some(n + 2));
            let broken = format!("\"{}\\n\"", "x".repeat(n));
            assert_eq!(plain_string_end(broken.as_bytes(), 0), None);
        }
    }

    #[test]
    fn what_the_fast_path_does_not_read_goes_to_serde() {
        for text in [
            r#"{"v":1,"v":1}"#,      // duplicate field
            r#"{"\u0076":1}"#,       // escaped key
            r#"{"id":"a\nb"}"#,      // escape in a value
            r#"{"v":01}"#,           // leading zero
            r#"{"v":1}x"#,           // trailing text
            r#"{"payload":{"a":}}"#, // nested value that is not JSON
            r#"{"v":1,}"#,           // trailing comma
            r#"[1]"#,                // not an object
            r#"{"v":tru}"#,          // broken literal
            r#"{"payload":[1,2}"#,   // unbalanced
        ] {
            assert_eq!(scan(text), None, "{text}");
        }
    }
}
