//! The values inside the attributes: names and durations.

/// A service, route, topic or version name, under the protocol's rule
/// (docs/protocol.md section 2: 1 to 128 bytes of `[A-Za-z0-9._-]`). The gateway
/// refuses a `hello` that breaks it, so the macro says so at compile time.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    const ALLOWED: &str = "it may hold only A-Z, a-z, 0-9, '.', '_' and '-'";
    if name.is_empty() {
        Err("it must not be empty".to_owned())
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        Err(format!("{ALLOWED}, found {c:?}"))
    } else if name.len() > 128 {
        Err(format!(
            "it must be at most 128 bytes long, found {}",
            name.len()
        ))
    } else {
        Ok(())
    }
}

/// `"500ms"`, `"5s"`, `"2m"` to milliseconds.
pub(super) fn parse_duration(text: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "bad duration `{text}`: write a whole number followed by `ms`, `s` or `m`, like \"500ms\", \"5s\" or \"2m\""
        )
    };
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        _ => return Err(bad()),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let millis = n
        .checked_mul(per_unit)
        .ok_or_else(|| format!("duration `{text}` is too long"))?;
    if millis == 0 {
        return Err(format!(
            "a timeout of `{text}` would fail every call: give more than zero, like \"5s\""
        ));
    }
    Ok(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_ms_s_and_m() {
        assert_eq!(parse_duration("250ms"), Ok(250));
        assert_eq!(parse_duration("5s"), Ok(5_000));
        assert_eq!(parse_duration("2m"), Ok(120_000));
    }

    #[test]
    fn bad_durations_say_how_to_write_one() {
        for text in ["", "5", "s", "5 s", "1.5s", "-1s", "5h", "5sec", "ms5"] {
            let e = parse_duration(text).unwrap_err();
            assert!(e.contains("like \"500ms\""), "{text}: {e}");
        }
        assert!(parse_duration("0s").unwrap_err().contains("more than zero"));
        assert!(
            parse_duration("99999999999999999m")
                .unwrap_err()
                .contains("too long")
        );
    }

    #[test]
    fn names_are_one_path_segment() {
        assert!(check_name("documents.uploaded").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name("a/b").is_err());
        assert!(check_name("ocr\nline").is_err());
        assert!(check_name(&"a".repeat(128)).is_ok());
        assert!(check_name(&"a".repeat(129)).is_err());
    }
}
