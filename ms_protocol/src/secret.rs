//! A string that must never be printed.

use std::fmt;

/// A password, token or secret key: `Debug` and `Display` print `***`.
///
/// The value is reachable only through [`Secret::expose`], so every place
/// that uses it is easy to find, and an accidental `{:?}` of a config, an
/// error or a log field cannot leak it. The runtime and the gateway both
/// hold their credentials in it (`ms_runtime::Secret`, `ms_gateway::Secret`
/// are this type).
///
/// ```
/// use ms_protocol::Secret;
///
/// let password = Secret::new("hunter2");
/// assert_eq!(format!("{password} {password:?}"), "*** ***");
/// assert_eq!(password.expose(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must check or send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neither_debug_nor_display_shows_the_value() {
        let secret = Secret::from(String::from("pa55word-value"));
        let shown = format!("{secret} {secret:?} {:?}", Some(&secret));
        assert_eq!(shown, "*** *** Some(***)");
        assert_eq!(Secret::from("pa55word-value"), secret);
    }
}
