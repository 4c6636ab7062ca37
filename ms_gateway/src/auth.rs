//! Users, tokens and the check of an `Authorization` header.
//!
//! Passwords are compared in constant time: the supplied password and the
//! stored one are both reduced to SHA-256 digests, and the digests are
//! compared byte by byte without an early exit. Secrets never appear in
//! `Debug` or `Display` output.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A secret string (password, token, key) whose `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself; only for checking it or handing it to a client.
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

/// One user allowed to connect.
#[derive(Debug, Clone)]
pub struct User {
    /// The user name of Basic auth.
    pub name: String,
    /// SHA-256 of the password.
    digest: [u8; 32],
    /// Services this user may register with `hello`; `None` is any.
    pub services: Option<Vec<String>>,
}

impl User {
    /// A user with a clear-text password, allowed every service.
    pub fn new(name: impl Into<String>, password: &Secret) -> Self {
        Self {
            name: name.into(),
            digest: sha256(password.expose().as_bytes()),
            services: None,
        }
    }

    /// Reads `NAME:PASSWORD`.
    ///
    /// # Errors
    /// [`Error::InvalidCredential`] (without the password) when either part is empty.
    pub fn parse(pair: &str) -> Result<Self> {
        match pair.split_once(':') {
            Some((name, password)) if !name.is_empty() && !password.is_empty() => {
                Ok(Self::new(name, &Secret::new(password)))
            }
            _ => Err(Error::InvalidCredential(pair.split_once(':').map_or_else(
                || "<no colon>".to_owned(),
                |(n, _)| format!("{n}:***"),
            ))),
        }
    }

    /// The same user, limited to these services.
    pub fn with_services(mut self, services: Vec<String>) -> Self {
        self.services = Some(services);
        self
    }
}

/// A bearer token.
#[derive(Debug, Clone)]
pub struct Token {
    /// Name for logs.
    pub name: String,
    digest: [u8; 32],
    /// Services this token may register; `None` is any.
    pub services: Option<Vec<String>>,
}

impl Token {
    /// A token allowed every service.
    pub fn new(name: impl Into<String>, token: &Secret) -> Self {
        Self {
            name: name.into(),
            digest: sha256(token.expose().as_bytes()),
            services: None,
        }
    }
}

/// Who a request authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// User or token name.
    pub name: String,
    services: Option<Vec<String>>,
}

impl Principal {
    /// Whether this principal may register `service` in a `hello`.
    pub fn may_register(&self, service: &str) -> bool {
        self.services
            .as_ref()
            .is_none_or(|list| list.iter().any(|s| s == service))
    }
}

/// Every user and token the gateway accepts.
#[derive(Debug, Clone, Default)]
pub struct Users {
    users: Vec<User>,
    tokens: Vec<Token>,
}

impl Users {
    /// No users.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a user (a later user with the same name wins).
    pub fn add_user(&mut self, user: User) {
        self.users.retain(|u| u.name != user.name);
        self.users.push(user);
    }

    /// Adds a bearer token.
    pub fn add_token(&mut self, token: Token) {
        self.tokens.push(token);
    }

    /// Whether nobody could authenticate.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.tokens.is_empty()
    }

    /// Checks an `Authorization` header value (`Basic ...` or `Bearer ...`).
    pub fn authenticate(&self, header: Option<&str>) -> Option<Principal> {
        let header = header?.trim();
        let (scheme, rest) = header.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (name, password) = decoded.split_once(':')?;
            let digest = sha256(password.as_bytes());
            let user = self.users.iter().find(|u| u.name == name)?;
            constant_time_eq(&digest, &user.digest).then(|| Principal {
                name: user.name.clone(),
                services: user.services.clone(),
            })
        } else if scheme.eq_ignore_ascii_case("bearer") {
            let digest = sha256(rest.trim().as_bytes());
            // Every token is compared, so the time does not say which matched.
            let mut found = None;
            for token in &self.tokens {
                if constant_time_eq(&digest, &token.digest) && found.is_none() {
                    found = Some(Principal {
                        name: token.name.clone(),
                        services: token.services.clone(),
                    });
                }
            }
            found
        } else {
            None
        }
    }

    /// Reads a users file (TOML), adding its users and tokens.
    ///
    /// ```toml
    /// [[users]]
    /// name = "billing"
    /// password = "clear text"        # or password_sha256 = "64 hex digits"
    /// services = ["billing"]         # optional: services it may register
    ///
    /// [[tokens]]
    /// name = "ci"
    /// token = "secret"               # or token_sha256
    /// ```
    ///
    /// # Errors
    /// [`Error::ReadFile`] or [`Error::UsersFile`].
    pub fn load_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadFile {
            path: path.to_owned(),
            source,
        })?;
        self.load_toml(&text).map_err(|reason| Error::UsersFile {
            path: path.to_owned(),
            reason,
        })
    }

    fn load_toml(&mut self, text: &str) -> std::result::Result<(), String> {
        let file: UsersFile = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        for entry in file.users {
            let digest = secret_digest(&entry.name, entry.password, entry.password_sha256)?;
            self.add_user(User {
                name: entry.name,
                digest,
                services: entry.services,
            });
        }
        for entry in file.tokens {
            let digest = secret_digest(&entry.name, entry.token, entry.token_sha256)?;
            self.add_token(Token {
                name: entry.name,
                digest,
                services: entry.services,
            });
        }
        Ok(())
    }
}

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
    services: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    name: String,
    token: Option<String>,
    token_sha256: Option<String>,
    services: Option<Vec<String>>,
}

fn secret_digest(
    name: &str,
    clear: Option<String>,
    hex: Option<String>,
) -> std::result::Result<[u8; 32], String> {
    match (clear, hex) {
        (Some(clear), None) if !clear.is_empty() => Ok(sha256(clear.as_bytes())),
        (None, Some(hex)) => parse_hex_digest(&hex)
            .ok_or_else(|| format!("{name}: the sha256 must be 64 hex digits")),
        _ => Err(format!(
            "{name}: give exactly one of the clear secret or its sha256"
        )),
    }
}

fn parse_hex_digest(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Compares two digests without stopping at the first difference.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(pair: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    #[test]
    fn basic_auth_accepts_the_right_password_only() {
        let mut users = Users::new();
        users.add_user(User::parse("alice:pw").unwrap());
        assert_eq!(
            users.authenticate(Some(&basic("alice:pw"))).unwrap().name,
            "alice"
        );
        assert!(users.authenticate(Some(&basic("alice:pX"))).is_none());
        assert!(users.authenticate(Some(&basic("bob:pw"))).is_none());
        assert!(users.authenticate(Some("Basic !!!")).is_none());
        assert!(users.authenticate(None).is_none());
    }

    #[test]
    fn secrets_never_print() {
        let user = User::new("alice", &Secret::new("hunter2"));
        assert!(!format!("{user:?}").contains("hunter2"));
        assert_eq!(
            format!("{:?} {}", Secret::new("x"), Secret::new("x")),
            "*** ***"
        );
        let err = User::parse("alice:").unwrap_err().to_string();
        assert!(err.contains("alice:***"), "{err}");
    }

    #[test]
    fn users_file_reads_hashes_tokens_and_service_lists() {
        let hash = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"; // "password"
        let text = format!(
            "[[users]]\nname = \"a\"\npassword_sha256 = \"{hash}\"\nservices = [\"ocr\"]\n\n[[tokens]]\nname = \"ci\"\ntoken = \"t0k\"\n"
        );
        let mut users = Users::new();
        users.load_toml(&text).unwrap();
        let a = users.authenticate(Some(&basic("a:password"))).unwrap();
        assert!(a.may_register("ocr"));
        assert!(!a.may_register("billing"));
        let ci = users.authenticate(Some("Bearer t0k")).unwrap();
        assert!(ci.may_register("billing"));
        assert!(users.authenticate(Some("Bearer nope")).is_none());
        assert!(users.load_toml("[[users]]\nname = \"x\"\n").is_err());
    }
}
