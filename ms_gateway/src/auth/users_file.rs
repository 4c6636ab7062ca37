//! The users file (TOML): users with a password in one of three forms,
//! bearer tokens, and what each may do.

use serde::Deserialize;

use super::acl::{Acl, check_pattern};
use super::password::{Credential, Sha256Digest};
use super::{Token, User};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    users: Vec<UserEntry>,
    #[serde(default)]
    tokens: Vec<TokenEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    name: String,
    password: Option<String>,
    password_sha256: Option<String>,
    password_hash: Option<String>,
    services: Option<Vec<String>>,
    call: Option<Vec<String>>,
    publish: Option<Vec<String>>,
    subscribe: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    name: String,
    token: Option<String>,
    token_sha256: Option<String>,
    services: Option<Vec<String>>,
    call: Option<Vec<String>>,
    publish: Option<Vec<String>>,
    subscribe: Option<Vec<String>>,
}

/// The users and tokens of a users file's text (the caller adds them to
/// its `Users`: this module only parses, so it depends on nothing that
/// depends on it).
///
/// # Errors
/// What is wrong, naming the entry, never a secret.
pub(crate) fn parse(text: &str) -> Result<(Vec<User>, Vec<Token>), String> {
    let file: UsersFile = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    let mut users = Vec::new();
    let mut tokens = Vec::new();
    for entry in file.users {
        let name = entry.name;
        if name.is_empty() || name.contains(':') {
            return Err(format!("user {name:?}: a name is not empty and has no `:`"));
        }
        let credential = match (entry.password, entry.password_sha256, entry.password_hash) {
            (Some(clear), None, None) if !clear.is_empty() => Credential::from_clear(&clear),
            (None, Some(hex), None) => Sha256Digest::from_hex(&hex)
                .map(Credential::Sha256)
                .ok_or_else(|| format!("user {name:?}: password_sha256 must be 64 hex digits"))?,
            (None, None, Some(hash)) => Credential::parse_hash(&hash)
                .map_err(|reason| format!("user {name:?}: password_hash: {reason}"))?,
            _ => {
                return Err(format!(
                    "user {name:?}: give exactly one of password, password_sha256 or password_hash"
                ));
            }
        };
        let acl = acl(
            &name,
            entry.services,
            entry.call,
            entry.publish,
            entry.subscribe,
        )?;
        users.push(User {
            name,
            credential,
            acl,
        });
    }
    for entry in file.tokens {
        let name = entry.name;
        let digest = match (entry.token, entry.token_sha256) {
            (Some(clear), None) if !clear.is_empty() => Sha256Digest::of(clear.as_bytes()),
            (None, Some(hex)) => Sha256Digest::from_hex(&hex)
                .ok_or_else(|| format!("token {name:?}: token_sha256 must be 64 hex digits"))?,
            _ => {
                return Err(format!(
                    "token {name:?}: give exactly one of token or token_sha256"
                ));
            }
        };
        let acl = acl(
            &name,
            entry.services,
            entry.call,
            entry.publish,
            entry.subscribe,
        )?;
        tokens.push(Token { name, digest, acl });
    }
    Ok((users, tokens))
}

/// The entry's lists, each pattern checked.
fn acl(
    name: &str,
    services: Option<Vec<String>>,
    call: Option<Vec<String>>,
    publish: Option<Vec<String>>,
    subscribe: Option<Vec<String>>,
) -> Result<Acl, String> {
    for (key, list) in [
        ("services", &services),
        ("call", &call),
        ("publish", &publish),
        ("subscribe", &subscribe),
    ] {
        for pattern in list.iter().flatten() {
            check_pattern(pattern).map_err(|reason| format!("{name:?}: {key}: {reason}"))?;
        }
    }
    Ok(Acl {
        services,
        call,
        publish,
        subscribe,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Users;
    use super::super::password::tests::{cheap_argon2id, cheap_bcrypt};
    use super::super::tests::basic;
    use super::*;

    #[test]
    fn reads_every_password_form_tokens_and_lists() {
        let sha = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"; // "password"
        let text = format!(
            r#"
[[users]]
name = "a"
password_sha256 = "{sha}"
services = ["ocr"]

[[users]]
name = "b"
password_hash = "{bcrypt}"
call = ["billing.*"]
publish = []

[[users]]
name = "c"
password_hash = "{argon2}"
subscribe = ["*"]

[[tokens]]
name = "ci"
token = "t0k"
call = ["ocr"]
"#,
            bcrypt = cheap_bcrypt("bpw"),
            argon2 = cheap_argon2id("apw"),
        );
        let mut users = Users::new();
        users.add_parsed(parse(&text).unwrap());
        let a = users.authenticate(Some(&basic("a:password"))).unwrap();
        assert!(a.may_register("ocr") && !a.may_register("billing"));
        let b = users.authenticate(Some(&basic("b:bpw"))).unwrap();
        assert!(b.may_call("billing.x") && !b.may_call("ocr") && !b.may_publish("t"));
        assert!(b.may_register("anything"));
        assert!(users.authenticate(Some(&basic("b:apw"))).is_none());
        let c = users.authenticate(Some(&basic("c:apw"))).unwrap();
        assert!(c.may_subscribe("t"));
        assert!(users.authenticate(Some(&basic("c:bpw"))).is_none());
        let ci = users.authenticate(Some("Bearer t0k")).unwrap();
        assert!(ci.may_call("ocr") && !ci.may_call("billing") && ci.may_register("x"));
    }

    #[test]
    fn refuses_bad_entries_naming_them_without_secrets() {
        for (text, expected) in [
            ("[[users]]\nname = \"x\"\n", "exactly one"),
            (
                "[[users]]\nname = \"x\"\npassword = \"s3cret\"\npassword_hash = \"$2y$\"\n",
                "exactly one",
            ),
            (
                "[[users]]\nname = \"x\"\npassword_hash = \"s3cret\"\n",
                "password_hash",
            ),
            (
                "[[users]]\nname = \"x\"\npassword = \"s3cret\"\ncall = [\"a*b\"]\n",
                "call",
            ),
            (
                "[[users]]\nname = \"x:y\"\npassword = \"s3cret\"\n",
                "no `:`",
            ),
            (
                "[[tokens]]\nname = \"x\"\ntoken_sha256 = \"s3cret\"\n",
                "64 hex",
            ),
            (
                "[[users]]\nname = \"x\"\npassword = \"s3cret\"\nadmin = true\n",
                "admin",
            ),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
    }
}
