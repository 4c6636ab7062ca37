//! Users, tokens, the check of an `Authorization` header, and what each
//! principal may do.
//!
//! - `password`: the stored forms of a password (SHA-256, argon2id, bcrypt)
//!   and their constant-time checks.
//! - `cache`: successful slow checks, remembered for a short, bounded time.
//! - `acl`: [`Acl`] and the [`Principal`] checks (`may_call`, ...).
//! - `users_file`: the TOML users file.
//!
//! Secrets never appear in `Debug` or `Display` output, nor do digests or
//! hashes of them.

mod acl;
mod cache;
mod password;
mod users_file;

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use base64::Engine as _;
use tokio::sync::Semaphore;

pub use acl::Acl;
use cache::{VERIFIED_CAPACITY, VERIFIED_TTL, VerifiedCache};
use password::{Credential, Sha256Digest};

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

/// Every user and token the gateway accepts.
///
/// Clones share one cache of successful slow checks (bounded, see
/// `VerifiedCache`: 1024 entries, 60 s each) and one limit on slow checks
/// running at once (one per core; more wait their turn).
#[derive(Clone)]
pub struct Users {
    users: Vec<User>,
    tokens: Vec<Token>,
    verified: Arc<Mutex<VerifiedCache>>,
    slow_checks: Arc<Semaphore>,
}

impl Default for Users {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self {
            users: Vec::new(),
            tokens: Vec::new(),
            verified: Arc::new(Mutex::new(VerifiedCache::new(
                VERIFIED_CAPACITY,
                VERIFIED_TTL,
            ))),
            slow_checks: Arc::new(Semaphore::new(cores)),
        }
    }
}

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Users")
            .field("users", &self.users)
            .field("tokens", &self.tokens)
            .field("verified", &*self.cache())
            .finish_non_exhaustive()
    }
}

/// A check that needs a slow hash, to run off the async threads.
struct SlowCheck {
    credential: Credential,
    password: Secret,
    /// Who it authenticates as on success; `None` for an unknown user,
    /// checked against a decoy so that the time does not say the user is unknown.
    principal: Option<Principal>,
    fingerprint: [u8; 32],
}

impl SlowCheck {
    fn run(&self) -> bool {
        self.credential.verify(self.password.expose().as_bytes()) && self.principal.is_some()
    }
}

/// The first step of a check: decided at once, or a slow hash to compute.
enum Attempt {
    Decided(Option<Principal>),
    Slow(SlowCheck),
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
        self.cache().clear();
    }

    /// Adds a bearer token.
    pub fn add_token(&mut self, token: Token) {
        self.tokens.push(token);
    }

    /// Whether nobody could authenticate.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.tokens.is_empty()
    }

    /// Checks an `Authorization` header value (`Basic ...` or `Bearer ...`)
    /// on this thread; an argon2 or bcrypt check not remembered blocks it for
    /// the hash's cost. Async code uses [`Users::authenticate_async`].
    pub fn authenticate(&self, header: Option<&str>) -> Option<Principal> {
        match self.begin(header, Instant::now()) {
            Attempt::Decided(principal) => principal,
            Attempt::Slow(check) => {
                let ok = check.run();
                self.finish(check, ok)
            }
        }
    }

    /// The same answer as [`Users::authenticate`], with argon2 and bcrypt
    /// checks on tokio's blocking pool, at most one per core at once (more
    /// wait their turn), so that wrong passwords cannot stall the threads
    /// serving websockets.
    pub async fn authenticate_async(&self, header: Option<&str>) -> Option<Principal> {
        match self.begin(header, Instant::now()) {
            Attempt::Decided(principal) => principal,
            Attempt::Slow(check) => {
                let _permit = self.slow_checks.clone().acquire_owned().await.ok()?;
                let (check, ok) = tokio::task::spawn_blocking(move || {
                    let ok = check.run();
                    (check, ok)
                })
                .await
                .ok()?;
                self.finish(check, ok)
            }
        }
    }

    fn begin(&self, header: Option<&str>, now: Instant) -> Attempt {
        let Some((scheme, rest)) = header.map(str::trim).and_then(|h| h.split_once(' ')) else {
            return Attempt::Decided(None);
        };
        if scheme.eq_ignore_ascii_case("basic") {
            self.begin_basic(rest.trim(), now)
        } else if scheme.eq_ignore_ascii_case("bearer") {
            let token = rest.trim().as_bytes();
            // Every token is compared, so the time does not say which matched.
            let mut found = None;
            for candidate in &self.tokens {
                if candidate.digest.matches(token) && found.is_none() {
                    found = Some(Principal::new(&candidate.name, candidate.acl.clone()));
                }
            }
            Attempt::Decided(found)
        } else {
            Attempt::Decided(None)
        }
    }

    fn begin_basic(&self, encoded: &str, now: Instant) -> Attempt {
        let Some(decoded) = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
        else {
            return Attempt::Decided(None);
        };
        let Some((name, password)) = decoded.split_once(':') else {
            return Attempt::Decided(None);
        };
        let user = self.users.iter().find(|u| u.name == name);
        let credential = match user {
            Some(user) => &user.credential,
            // An unknown name costs what a known one with a slow hash costs.
            None => match self.users.iter().find(|u| u.credential.is_slow()) {
                Some(decoy) => &decoy.credential,
                None => return Attempt::Decided(None),
            },
        };
        let principal = user.map(|u| Principal::new(&u.name, u.acl.clone()));
        if !credential.is_slow() {
            let ok = credential.verify(password.as_bytes());
            return Attempt::Decided(principal.filter(|_| ok));
        }
        let fingerprint = self.cache().fingerprint(name, password.as_bytes());
        if principal.is_some() && self.cache().contains(&fingerprint, now) {
            return Attempt::Decided(principal);
        }
        Attempt::Slow(SlowCheck {
            credential: credential.clone(),
            password: Secret::new(password),
            principal,
            fingerprint,
        })
    }

    fn finish(&self, check: SlowCheck, ok: bool) -> Option<Principal> {
        if !ok {
            return None;
        }
        self.cache().insert(check.fingerprint, Instant::now());
        check.principal
    }

    /// The cache, whoever panicked while holding it (it holds no invariant
    /// a panic could break).
    fn cache(&self) -> MutexGuard<'_, VerifiedCache> {
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reads a users file (TOML), adding its users and tokens.
    ///
    /// ```toml
    /// [[users]]
    /// name = "billing"
    /// password_hash = "$argon2id$v=19$..."  # or $2y$... (bcrypt), password, password_sha256
    /// services = ["billing"]                # optional: services it may register
    /// call = ["ocr", "billing.*"]           # optional: services it may call
    /// publish = ["invoices.*"]              # optional: topics it may publish to
    /// subscribe = []                        # optional: topics it may subscribe to
    ///
    /// [[tokens]]
    /// name = "ci"
    /// token = "secret"                      # or token_sha256
    /// ```
    ///
    /// An absent list allows everything, a present one only the names it
    /// matches (exact, `*`, or a prefix ending in `*`).
    ///
    /// # Errors
    /// [`Error::ReadFile`] or [`Error::UsersFile`].
    pub fn load_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadFile {
            path: path.to_owned(),
            source,
        })?;
        users_file::load(self, &text).map_err(|reason| Error::UsersFile {
            path: path.to_owned(),
            reason,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::password::tests::cheap_bcrypt;
    use super::*;

    pub(crate) fn basic(pair: &str) -> String {
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

    #[test]
    fn only_successful_slow_checks_are_remembered() {
        let mut users = Users::new();
        users.add_user(User::with_password_hash("bob", &cheap_bcrypt("pw")).unwrap());
        assert!(users.authenticate(Some(&basic("bob:wrong"))).is_none());
        assert!(users.authenticate(Some(&basic("nobody:pw"))).is_none());
        assert_eq!(users.cache().len(), 0, "failures are never remembered");
        assert!(users.authenticate(Some(&basic("bob:pw"))).is_some());
        assert_eq!(users.cache().len(), 1);
        // A remembered success is not a pass for a wrong password or another user.
        assert!(users.authenticate(Some(&basic("bob:wrong"))).is_none());
        assert!(users.authenticate(Some(&basic("nobody:pw"))).is_none());
        let Attempt::Decided(Some(bob)) = users.begin(Some(&basic("bob:pw")), Instant::now())
        else {
            panic!("a remembered success is decided without hashing");
        };
        assert_eq!(bob.name, "bob");
    }

    #[tokio::test]
    async fn the_async_check_agrees() {
        let mut users = Users::new();
        users.add_user(User::with_password_hash("bob", &cheap_bcrypt("pw")).unwrap());
        users.add_user(User::parse("alice:pw").unwrap());
        for (pair, ok) in [
            ("bob:pw", true),
            ("bob:px", false),
            ("alice:pw", true),
            ("x:pw", false),
        ] {
            let header = basic(pair);
            assert_eq!(
                users.authenticate_async(Some(&header)).await.is_some(),
                ok,
                "{pair}"
            );
        }
    }

    #[test]
    fn tokens_carry_their_acl() {
        let mut users = Users::new();
        let acl = Acl {
            call: Some(vec!["ocr".into()]),
            ..Acl::default()
        };
        users.add_token(Token::new("ci", &Secret::new("t0k")).with_acl(acl));
        let ci = users.authenticate(Some("Bearer t0k")).unwrap();
        assert!(ci.may_call("ocr") && !ci.may_call("billing"));
        assert!(users.authenticate(Some("Bearer nope")).is_none());
    }
}
