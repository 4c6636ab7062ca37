//! A string that must never be printed.

use std::fmt;

/// A password, token or secret key: `Debug` and `Display` print `***`.
///
/// The value is reachable only through [`Secret::expose`], so every place
/// that uses it is easy to find, and an accidental `{:?}` of a config, an
/// error or a log field cannot leak it.
///
/// ```
/// use ms_runtime::Secret;
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

    /// The secret itself, for the one place that must send it.
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

/// `text` with whatever could be the `user:password@` of a URL replaced by
/// `***@`: everything between the scheme's `://` (or the start) and the
/// last `@`. Works on text that does not parse as a URL too, which is when
/// an error message would otherwise quote it whole; it may hide more than
/// the credentials, never less.
pub(crate) fn redact_userinfo(text: &str) -> String {
    let Some(at) = text.rfind('@') else {
        return text.to_owned();
    };
    let start = text
        .find("://")
        .map(|i| i + 3)
        .filter(|start| *start <= at)
        .unwrap_or(0);
    format!("{}***{}", &text[..start], &text[at..])
}

/// Shows a URL with its user name and password, if any, replaced by `***`.
pub(crate) struct RedactedUrl<'a>(pub(crate) &'a url::Url);

impl fmt::Debug for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&redact_userinfo(self.0.as_str()), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_hidden_whether_or_not_the_url_parses() {
        for (text, shown) in [
            ("ws://u:pw@gw:8080/v1/ws", "ws://***@gw:8080/v1/ws"),
            ("http://u:p@ss@minio:9000", "http://***@minio:9000"),
            ("ws://u:pw/x@gw:notaport", "ws://***@gw:notaport"),
            ("u:pw@gw", "***@gw"),
            ("ws://gw:8080/v1/ws", "ws://gw:8080/v1/ws"),
        ] {
            assert_eq!(redact_userinfo(text), shown, "{text}");
        }
        let url = url::Url::parse("ws://user:pw-value@gw/v1/ws").unwrap();
        assert_eq!(format!("{:?}", RedactedUrl(&url)), r#""ws://***@gw/v1/ws""#);
    }
}
