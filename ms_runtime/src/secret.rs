//! Keeping secrets out of text: [`Secret`] (the protocol crate's, shared
//! with the gateway) and the redaction of credentials written into URLs.

use std::fmt;

pub use ms_protocol::Secret;

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
