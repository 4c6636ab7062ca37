//! Every user and token, and the check of an `Authorization` header.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use base64::Engine as _;
use tokio::sync::Semaphore;

use super::cache::{VERIFIED_CAPACITY, VERIFIED_TTL, VerifiedCache};
use super::password::Credential;
use super::{Principal, Secret, Token, User, users_file};
use crate::error::{Error, Result};

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
        let parsed = users_file::parse(&text).map_err(|reason| Error::UsersFile {
            path: path.to_owned(),
            reason,
        })?;
        self.add_parsed(parsed);
        Ok(())
    }

    /// Adds what [`users_file::parse`] read.
    pub(super) fn add_parsed(&mut self, (users, tokens): (Vec<User>, Vec<Token>)) {
        for user in users {
            self.add_user(user);
        }
        for token in tokens {
            self.add_token(token);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Acl;
    use super::super::password::tests::cheap_bcrypt;
    use super::super::tests::basic;
    use super::*;

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
