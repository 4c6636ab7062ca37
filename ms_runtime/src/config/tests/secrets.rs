//! Secrets and URL credentials never appear in errors or `Debug`.

use super::*;

#[test]
fn no_secret_appears_in_debug_or_errors() {
    let c = vars(&[
        ("MS_USERNAME", "u"),
        ("MS_PASSWORD", "pa55word-value"),
        ("MS_S3_ACCESS_KEY_ID", "AK"),
        ("MS_S3_SECRET_ACCESS_KEY", "s3-secret-value"),
    ])
    .unwrap();
    let shown = format!("{c:?} {:#?}", c);
    assert!(
        !shown.contains("pa55word-value") && !shown.contains("s3-secret-value"),
        "{shown}"
    );
    assert!(shown.contains("***"));

    let builder = Config::builder()
        .credentials("u", "pa55word-value")
        .s3_keys("AK", "s3-secret-value");
    let shown = format!("{builder:?}");
    assert!(
        !shown.contains("pa55word-value") && !shown.contains("s3-secret-value"),
        "{shown}"
    );

    let err = vars(&[("MS_GATEWAY_URL", "ws://u:pa55word-value@gw/v1/ws")]).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("pa55word-value"), "{shown}");
    assert_eq!(invalid_var(err), "MS_GATEWAY_URL");
}

#[test]
fn credentials_in_urls_are_never_echoed() {
    let cases = [
        (
            "MS_GATEWAY_URL",
            "ws://user:pa55word-value@gw:notaport/v1/ws",
        ),
        ("MS_GATEWAY_URL", "http://user:pa55word-value@gw/v1/ws"),
        ("MS_GATEWAY_URL", "user:pa55word-value@gw"),
        ("MS_GATEWAY_HOST", "user:pa55word-value@gw"),
        ("MS_S3_ENDPOINT", "http://ak:pa55word-value@minio:9000"),
        ("MS_S3_ENDPOINT", "ftp://ak:pa55word-value@minio"),
        ("MS_S3_ENDPOINT", "http://ak:pa55word-value@minio:bad"),
    ];
    for (var, value) in cases {
        let err = vars(&[(var, value)]).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("pa55word-value"), "{shown}");
        assert!(shown.contains(var), "{shown}");
        let builder = Config::builder().gateway_url(value).s3_endpoint(value);
        let shown = format!("{builder:?}");
        assert!(!shown.contains("pa55word-value"), "{shown}");
    }
    // a Config whose URLs were given credentials after it was built
    let mut c = vars(&[("MS_S3_ENDPOINT", "http://minio:9000")]).unwrap();
    c.gateway_url = url::Url::parse("ws://user:pa55word-value@gw/v1/ws").unwrap();
    if let Some(s3) = c.s3.as_mut() {
        s3.endpoint = Some(url::Url::parse("http://ak:pa55word-value@minio:9000").unwrap());
    }
    let shown = format!("{c:?} {c:#?}");
    assert!(!shown.contains("pa55word-value"), "{shown}");
    assert!(shown.contains("ws://***@gw/v1/ws"), "{shown}");
}

#[test]
fn secrets_come_from_files_without_one_trailing_newline() {
    let password = file("pa55word-value\n");
    let s3_secret = file("s3-secret-value\r\n\n");
    let c = vars(&[
        ("MS_USERNAME", "u"),
        ("MS_PASSWORD_FILE", password.path().to_str().unwrap()),
        ("MS_S3_ACCESS_KEY_ID", "AK"),
        (
            "MS_S3_SECRET_ACCESS_KEY_FILE",
            s3_secret.path().to_str().unwrap(),
        ),
    ])
    .unwrap();
    assert_eq!(c.credentials.unwrap().password.expose(), "pa55word-value");
    // only one newline goes: the rest is the secret's
    assert_eq!(
        c.s3.unwrap().secret_access_key.unwrap().expose(),
        "s3-secret-value\r\n"
    );
    let bare = file("no-newline");
    let c = vars(&[
        ("MS_USERNAME", "u"),
        ("MS_PASSWORD_FILE", bare.path().to_str().unwrap()),
    ])
    .unwrap();
    assert_eq!(c.credentials.unwrap().password.expose(), "no-newline");
}

#[test]
fn a_secret_and_its_file_together_are_refused() {
    let password = file("pa55word-value\n");
    let err = vars(&[
        ("MS_USERNAME", "u"),
        ("MS_PASSWORD", "other-value"),
        ("MS_PASSWORD_FILE", password.path().to_str().unwrap()),
    ])
    .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Conflict {
                first: "MS_PASSWORD",
                second: "MS_PASSWORD_FILE",
                ..
            }
        ),
        "{err:?}"
    );
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("pa55word-value") && !shown.contains("other-value"));
}

#[test]
fn an_unreadable_secret_file_names_its_variable_and_path() {
    let err = vars(&[("MS_S3_SECRET_ACCESS_KEY_FILE", "/nonexistent/s3-key")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot read the file MS_S3_SECRET_ACCESS_KEY_FILE names, /nonexistent/s3-key"
    );
    assert!(std::error::Error::source(&err).is_some());
}
