//! The decoder's fast path: one pass over a frame's top-level object that
//! hands out each member's key and the text of its value, checking the JSON
//! grammar on the way.
//!
//! It is deliberately partial. Whatever it does not read plainly (a key
//! with escapes, nesting deeper than [`MAX_DEPTH`], a frame that is not
//! valid JSON) makes it give up with `None`, and the decoder asks
//! serde_json instead, which then gives the verdict and its message. So it
//! must never accept what serde_json refuses, nor cut a value differently;
//! `scan_tests.rs` compares the two on generated and mangled frames, and
//! `decode_tests.rs` the decoder's two readers field by field.
//!
//! Why it exists: serde_json checks a string eight bytes at a time; a large
//! inline payload (a 64 KiB string) cost about 150,000 instructions to read.
//! Here plain runs are checked 32 bytes at a time in a loop the compiler
//! turns into vector instructions.

/// Nesting (the frame's own object counts 1) beyond which the fast path
/// gives up, which bounds its recursion; serde_json skips the values it
/// does not read without recursing, so deeper frames are still decided by
/// it, as they were before this fast path.
const MAX_DEPTH: usize = 64;

/// Bytes checked at once when looking for the end of a string.
const LANES: usize = 32;

/// Calls `member(key, value)` for each member of the JSON object that is
/// `text` (whitespace around it allowed), in order, `value` being the
/// member's JSON text without the whitespace around it.
///
/// `None` when `text` is not plainly a valid JSON object (see the module
/// documentation) or when `member` returns `None`; members already handed
/// out are then to be forgotten.
pub(crate) fn members<'a>(
    text: &'a str,
    mut member: impl FnMut(&str, &'a str) -> Option<()>,
) -> Option<()> {
    let bytes = text.as_bytes();
    let mut at = whitespace(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at = whitespace(bytes, at + 1);
    if bytes.get(at) == Some(&b'}') {
        at += 1;
    } else {
        loop {
            if bytes.get(at) != Some(&b'"') {
                return None;
            }
            let key_end = string(bytes, at + 1)?;
            let key = text.get(at + 1..key_end)?;
            if key.contains('\\') {
                return None;
            }
            at = whitespace(bytes, key_end + 1);
            if bytes.get(at) != Some(&b':') {
                return None;
            }
            let start = whitespace(bytes, at + 1);
            let end = value(bytes, start, 1)?;
            member(key, text.get(start..end)?)?;
            at = whitespace(bytes, end);
            match bytes.get(at) {
                Some(b',') => at = whitespace(bytes, at + 1),
                Some(b'}') => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (whitespace(bytes, at) == bytes.len()).then_some(())
}

/// The end of the value starting at `at`, inside `depth` levels of nesting.
fn value(bytes: &[u8], at: usize, depth: usize) -> Option<usize> {
    match *bytes.get(at)? {
        b'"' => string(bytes, at + 1).map(|end| end + 1),
        b'{' => container(bytes, at, depth, b'}'),
        b'[' => container(bytes, at, depth, b']'),
        b't' => literal(bytes, at, b"true"),
        b'f' => literal(bytes, at, b"false"),
        b'n' => literal(bytes, at, b"null"),
        b'-' | b'0'..=b'9' => number(bytes, at),
        _ => None,
    }
}

/// An object (`close` is `}`) or an array (`]`) opening at `at`.
fn container(bytes: &[u8], at: usize, depth: usize, close: u8) -> Option<usize> {
    if depth >= MAX_DEPTH {
        return None;
    }
    let mut at = whitespace(bytes, at + 1);
    if bytes.get(at) == Some(&close) {
        return Some(at + 1);
    }
    loop {
        if close == b'}' {
            if bytes.get(at) != Some(&b'"') {
                return None;
            }
            at = whitespace(bytes, string(bytes, at + 1)? + 1);
            if bytes.get(at) != Some(&b':') {
                return None;
            }
            at = whitespace(bytes, at + 1);
        }
        at = whitespace(bytes, value(bytes, at, depth + 1)?);
        match bytes.get(at) {
            Some(b',') => at = whitespace(bytes, at + 1),
            Some(&b) if b == close => return Some(at + 1),
            _ => return None,
        }
    }
}

/// The index of the quote that closes the string whose text starts at `at`.
fn string(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        at = plain_run(bytes, at);
        match *bytes.get(at)? {
            b'"' => return Some(at),
            b'\\' => at = escape(bytes, at + 1)?,
            // a control character, which JSON strings may not hold raw
            _ => return None,
        }
    }
}

/// Past the escape whose letter is at `at` (the backslash is before it).
/// Like serde_json when it skips a value, `\u` needs four hex digits and
/// nothing more (a lone surrogate is refused only where text is decoded).
fn escape(bytes: &[u8], at: usize) -> Option<usize> {
    match *bytes.get(at)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(at + 1),
        b'u' => {
            let hex = bytes.get(at + 1..at + 5)?;
            hex.iter().all(u8::is_ascii_hexdigit).then_some(at + 5)
        }
        _ => None,
    }
}

/// The first index from `at` that holds a quote, a backslash or a control
/// character, or the end of `bytes`.
fn plain_run(bytes: &[u8], at: usize) -> usize {
    let Some(rest) = bytes.get(at..) else {
        return bytes.len();
    };
    // right after an escape the next one often follows at once: no lanes
    if rest.first().is_some_and(|&b| special(b)) {
        return at;
    }
    let mut skipped = 0;
    for chunk in rest.chunks_exact(LANES) {
        // no early exit inside the chunk: this is what vectorises
        if chunk.iter().fold(false, |hit, &b| hit | special(b)) {
            break;
        }
        skipped += LANES;
    }
    let tail = rest.get(skipped..).unwrap_or_default();
    at + skipped + tail.iter().position(|&b| special(b)).unwrap_or(tail.len())
}

/// A byte that ends a plain run inside a JSON string.
fn special(b: u8) -> bool {
    (b == b'"') | (b == b'\\') | (b < 0x20)
}

fn literal(bytes: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    let end = at + word.len();
    (bytes.get(at..end)? == word).then_some(end)
}

/// JSON's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
/// A digit right after a leading `0` is left for the caller, which refuses it.
fn number(bytes: &[u8], mut at: usize) -> Option<usize> {
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    match *bytes.get(at)? {
        b'0' => at += 1,
        b'1'..=b'9' => at = digits(bytes, at + 1),
        _ => return None,
    }
    if bytes.get(at) == Some(&b'.') {
        let end = digits(bytes, at + 1);
        if end == at + 1 {
            return None;
        }
        at = end;
    }
    if let Some(b'e' | b'E') = bytes.get(at) {
        at += 1;
        if let Some(b'+' | b'-') = bytes.get(at) {
            at += 1;
        }
        let end = digits(bytes, at);
        if end == at {
            return None;
        }
        at = end;
    }
    Some(at)
}

fn digits(bytes: &[u8], at: usize) -> usize {
    let rest = bytes.get(at..).unwrap_or_default();
    at + rest
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len())
}

fn whitespace(bytes: &[u8], at: usize) -> usize {
    let rest = bytes.get(at..).unwrap_or_default();
    at + rest
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .unwrap_or(rest.len())
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
