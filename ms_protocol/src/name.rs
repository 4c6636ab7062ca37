//! The rule for names: services, instances, versions, routes and topics.

use super::MAX_NAME_BYTES;

/// Why a string cannot be a name (docs/protocol.md section 2).
///
/// Names end up in log lines, metric labels and the gateway's HTTP paths,
/// so they are restricted to 1 to [`MAX_NAME_BYTES`] bytes of
/// `[A-Za-z0-9._-]`: nothing that could forge a log line, split a path or
/// look like another name.
///
/// ```
/// use ms_protocol::{check_name, InvalidName};
///
/// assert_eq!(check_name("documents.uploaded"), Ok(()));
/// assert_eq!(check_name(""), Err(InvalidName::Empty));
/// assert!(matches!(check_name("ocr\nFAKE LOG LINE"), Err(InvalidName::Forbidden { found: '\n', at: 3 })));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidName {
    /// The name is the empty string.
    #[error(
        "name is empty; it must hold 1 to {MAX_NAME_BYTES} bytes of A-Z, a-z, 0-9, '.', '_', '-'"
    )]
    Empty,
    /// The name is longer than [`MAX_NAME_BYTES`].
    #[error("name is {0} bytes long; at most {MAX_NAME_BYTES} are allowed")]
    TooLong(usize),
    /// The name holds a character outside `[A-Za-z0-9._-]`.
    #[error("name holds {found:?} at byte {at}; only A-Z, a-z, 0-9, '.', '_' and '-' are allowed")]
    Forbidden {
        /// The first character that is not allowed (printed escaped).
        found: char,
        /// Its byte offset in the name.
        at: usize,
    },
}

/// Checks the name rule: 1 to [`MAX_NAME_BYTES`] bytes of `[A-Za-z0-9._-]`.
///
/// The decoder applies it to `hello.service`, `hello.instance`,
/// `hello.version`, `hello.routes`, `hello.topics`, `to`, `route` and
/// `topic`; the runtime applies it to its own names before it says hello.
///
/// # Errors
/// [`InvalidName`] saying which part of the rule the name breaks.
///
/// ```
/// use ms_protocol::{check_name, InvalidName, MAX_NAME_BYTES};
///
/// assert!(check_name("ocr-2.v1_beta").is_ok());
/// assert_eq!(check_name(&"a".repeat(MAX_NAME_BYTES + 1)), Err(InvalidName::TooLong(MAX_NAME_BYTES + 1)));
/// assert!(check_name("ocr/extract").is_err());
/// ```
pub fn check_name(name: &str) -> Result<(), InvalidName> {
    if name.is_empty() {
        return Err(InvalidName::Empty);
    }
    if let Some((at, found)) = name.char_indices().find(|(_, c)| !is_name_char(*c)) {
        return Err(InvalidName::Forbidden { found, at });
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(InvalidName::TooLong(name.len()));
    }
    Ok(())
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_bytes_and_lengths() {
        assert_eq!(check_name("A-Za-z0-9._"), Ok(()));
        assert_eq!(check_name(&"x".repeat(128)), Ok(()));
        assert_eq!(check_name(&"x".repeat(129)), Err(InvalidName::TooLong(129)));
        assert_eq!(check_name(""), Err(InvalidName::Empty));
    }

    #[test]
    fn everything_else_is_forbidden_and_shown_escaped() {
        for (name, found, at) in [
            ("a b", ' ', 1),
            ("a\nb", '\n', 1),
            ("a/b", '/', 1),
            ("a:b", ':', 1),
            ("a\"", '"', 1),
            ("é", 'é', 0),
            ("a\u{0}", '\u{0}', 1),
        ] {
            assert_eq!(
                check_name(name),
                Err(InvalidName::Forbidden { found, at }),
                "{name:?}"
            );
        }
        let message = check_name("x\ny").unwrap_err().to_string();
        assert!(
            message.contains(r"'\n'") && !message.contains('\n'),
            "{message}"
        );
    }
}
