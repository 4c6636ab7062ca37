//! Secret values inside free text: a dependency's message may print request
//! headers (`"authorization": "AWS4-HMAC-SHA256 Credential=..."`) or
//! `token=...`, where field-name redaction cannot see them.
//!
//! A value is hidden when a secret-looking name ([`Redaction`]) is followed
//! right away (after an optional closing quote and spaces) by `:` or `=`:
//! a quoted value up to its closing quote; an authorization scheme
//! (`AWS4-HMAC-SHA256 ...`, `Bearer ...`, `Basic ...`) up to the end of
//! the line, quote or bracket; any other value up to the next space, comma,
//! `;`, `&`, quote or bracket.

use super::record::Redaction;

/// What a hidden value is replaced with.
const HIDDEN: &str = "***";

/// Schemes of an `Authorization` value whose parameters follow after a space.
const SCHEMES: &[&str] = &["aws4-hmac-sha256", "bearer", "basic", "digest", "negotiate"];

/// `text` with the values of secret-looking names replaced by `***`;
/// `None` when there is nothing to hide (the common case, no allocation).
pub(crate) fn scrub(text: &str, redaction: &Redaction) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let mut out = String::new();
    let mut copied = 0;
    let mut at = 0;
    while let Some((start, len)) = redaction.find_in(&lower[at..]) {
        let name_end = at + start + len;
        at = name_end;
        let Some(range) = value_after(text, name_end) else {
            continue;
        };
        out.push_str(&text[copied..range.0]);
        out.push_str(HIDDEN);
        copied = range.1;
        at = range.1;
    }
    (copied > 0).then(|| {
        out.push_str(&text[copied..]);
        out
    })
}

/// The byte range of the value assigned to the name ending at `from`, if
/// one is (`name: value`, `"name": "value"`, `name=value`).
fn value_after(text: &str, from: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut i = from;
    // the rest of the name (`authorization_header`, `x-amz-security-token`)
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'-')) {
        i += 1;
    }
    if i < bytes.len() && matches!(bytes[i], b'"' | b'\'') {
        i += 1;
    }
    while i < bytes.len() && bytes[i] == b' ' {
        i += 1;
    }
    if i >= bytes.len() || !matches!(bytes[i], b':' | b'=') {
        return None;
    }
    i += 1;
    while i < bytes.len() && bytes[i] == b' ' {
        i += 1;
    }
    let start = i;
    let end = match bytes.get(i) {
        None => return None,
        Some(&quote @ (b'"' | b'\'')) => {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != quote {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            // keep the quotes, hide what is between them
            return (j > i + 1).then_some((i + 1, j.min(bytes.len())));
        }
        Some(_) if starts_with_scheme(&text[i..]) => {
            let stop = |b: &u8| matches!(b, b'\n' | b'"' | b'\'' | b'}' | b']' | b')');
            bytes[i..]
                .iter()
                .position(stop)
                .map_or(bytes.len(), |n| i + n)
        }
        Some(_) => {
            let stop = |b: &u8| {
                b.is_ascii_whitespace()
                    || matches!(b, b',' | b';' | b'&' | b'"' | b'\'' | b'}' | b']' | b')')
            };
            bytes[i..]
                .iter()
                .position(stop)
                .map_or(bytes.len(), |n| i + n)
        }
    };
    (end > start).then_some((start, end))
}

fn starts_with_scheme(value: &str) -> bool {
    let word = value.split(' ').next().unwrap_or_default();
    value.len() > word.len() && SCHEMES.iter().any(|s| word.eq_ignore_ascii_case(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubbed(text: &str) -> String {
        scrub(text, &Redaction::default()).unwrap_or_else(|| text.to_owned())
    }

    #[test]
    fn header_maps_lose_their_authorization_value() {
        let line = r#"headers: {"host": "127.0.0.1:9000", "authorization": "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261203/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=abc123", "x-amz-security-token": "FQoGZXIvYXdzEXAMPLE"}"#;
        let out = scrubbed(line);
        for secret in [
            "AKIAEXAMPLE",
            "abc123",
            "FQoGZXIvYXdzEXAMPLE",
            "Credential=",
        ] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains(r#""host": "127.0.0.1:9000""#), "{out}");
        assert!(out.contains(r#""authorization": "***""#), "{out}");
    }

    #[test]
    fn unquoted_authorization_values_are_hidden_to_the_end_of_the_line() {
        let out = scrubbed(
            "authorization: AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/x, Signature=abc\nnext line",
        );
        assert_eq!(out, "authorization: ***\nnext line");
        assert_eq!(
            scrubbed("Authorization: Bearer eyJhbGci"),
            "Authorization: ***"
        );
    }

    #[test]
    fn key_value_pairs_hide_only_the_secret() {
        assert_eq!(
            scrubbed("user=ocr password=hunter2 status=200"),
            "user=ocr password=*** status=200"
        );
        assert_eq!(
            scrubbed("GET /x?api_key=k3y&page=2"),
            "GET /x?api_key=***&page=2"
        );
    }

    #[test]
    fn text_without_assigned_secrets_is_left_alone() {
        for text in [
            "token bucket refilled",
            "the authorization header is missing",
            "",
            "password",
        ] {
            assert_eq!(scrub(text, &Redaction::default()), None, "{text}");
        }
    }
}
