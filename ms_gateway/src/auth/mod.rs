//! Users, tokens, the check of an `Authorization` header, and what each
//! principal may do.
//!
//! - `password`: the stored forms of a password (SHA-256, argon2id, bcrypt)
//!   and their constant-time checks.
//! - `cache`: successful slow checks, remembered for a short, bounded time.
//! - `acl`: [`Acl`] and the [`Principal`] checks (`may_call`, ...).
//! - `users`: [`Users`] and the check of an `Authorization` header.
//! - `users_file`: the TOML users file.
//!
//! Secrets never appear in `Debug` or `Display` output, nor do digests or
//! hashes of them.

mod acl;
mod cache;
mod password;
mod users;
mod users_file;

pub use acl::Acl;
/// A secret string (password, token, key) whose `Debug` and `Display`
/// print `***`: the protocol crate's, shared with the runtime.
pub use ms_protocol::Secret;
use password::{Credential, Sha256Digest};
pub use users::Users;

use crate::error::{Error, Result};

/// Hashes a password with argon2id (19 MiB, 2 passes, 1 lane, random salt)
/// into the PHC string that a users file takes as `password_hash`.
///
/// # Errors
/// [`Error::Hashing`] should the library fail.
pub fn hash_password(password: &Secret) -> Result<String> {
    password::hash_argon2id(password.expose().as_bytes()).map_err(Error::Hashing)
}

/// One user allowed to connect.
#[derive(Debug, Clone)]
pub struct User {
    /// The user name of Basic auth.
    pub name: String,
    /// How the password is stored (never in clear; `Debug` prints `***`).
    credential: Credential,
    /// What the user may do; everything by default.
    pub acl: Acl,
}

impl User {
    /// A user with a clear-text password, allowed everything.
    pub fn new(name: impl Into<String>, password: &Secret) -> Self {
        Self {
            name: name.into(),
            credential: Credential::from_clear(password.expose()),
            acl: Acl::default(),
        }
    }

    /// A user whose password is stored as a salted hash: an argon2id PHC
    /// string (`$argon2id$...`, see [`hash_password`]) or a bcrypt hash
    /// (`$2b$`, `$2y$`, `$2a$`, as `htpasswd -B` writes).
    ///
    /// # Errors
    /// [`Error::PasswordHash`] saying what is wrong, without the hash.
    pub fn with_password_hash(name: impl Into<String>, hash: &str) -> Result<Self> {
        let name = name.into();
        match Credential::parse_hash(hash) {
            Ok(credential) => Ok(Self {
                name,
                credential,
                acl: Acl::default(),
            }),
            Err(reason) => Err(Error::PasswordHash { user: name, reason }),
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

    /// The same user, limited to registering these services.
    pub fn with_services(mut self, services: Vec<String>) -> Self {
        self.acl.services = Some(services);
        self
    }

    /// The same user with these permissions.
    pub fn with_acl(mut self, acl: Acl) -> Self {
        self.acl = acl;
        self
    }
}

/// A bearer token.
#[derive(Debug, Clone)]
pub struct Token {
    /// Name for logs.
    pub name: String,
    /// SHA-256 of the token (tokens are long and random: a fast digest is enough).
    digest: Sha256Digest,
    /// What the token may do; everything by default.
    pub acl: Acl,
}

impl Token {
    /// A token allowed everything.
    pub fn new(name: impl Into<String>, token: &Secret) -> Self {
        Self {
            name: name.into(),
            digest: Sha256Digest::of(token.expose().as_bytes()),
            acl: Acl::default(),
        }
    }

    /// The same token with these permissions.
    pub fn with_acl(mut self, acl: Acl) -> Self {
        self.acl = acl;
        self
    }
}

/// Who a request authenticated as, and what it may do (the `may_*` and
/// `check_*` methods).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// User or token name.
    pub name: String,
    acl: Acl,
}

impl Principal {
    /// A principal with these permissions (for tests and embedders; the
    /// gateway makes them from [`Users`]).
    pub fn new(name: impl Into<String>, acl: Acl) -> Self {
        Self {
            name: name.into(),
            acl,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use base64::Engine as _;

    use super::password::tests::cheap_bcrypt;
    use super::*;

    pub(crate) fn basic(pair: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
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
        let hash = cheap_bcrypt("pw");
        let mut users = Users::new();
        users.add_user(User::with_password_hash("bob", &hash).unwrap());
        users.add_token(Token::new("ci", &Secret::new("t0ken")));
        let shown = format!("{users:?}");
        assert!(
            !shown.contains(&hash[7..]) && !shown.contains("t0ken"),
            "{shown}"
        );
    }
}
