//! Stored password forms and how a presented password is checked against them.
//!
//! Three forms: a SHA-256 digest (from a clear-text password or
//! `password_sha256`; fast, unsalted), an argon2id PHC string and a bcrypt
//! hash (salted and deliberately slow, about 50 ms of CPU each). Every
//! comparison is constant-time: the digest by our own loop, argon2 and bcrypt
//! by their libraries (`ctutils` and `subtle`).

use std::fmt;
use std::sync::Arc;

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use sha2::{Digest as _, Sha256};

/// The SHA-256 digest of a secret; its `Debug` prints `***` (a fast digest of
/// a weak password is as good as the password to whoever reads it).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Sha256Digest([u8; 32]);

impl Sha256Digest {
    /// The digest of `secret`.
    pub(crate) fn of(secret: &[u8]) -> Self {
        Self(sha256(secret))
    }

    /// Reads 64 hex digits.
    pub(crate) fn from_hex(hex: &str) -> Option<Self> {
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (slot, pair) in out.iter_mut().zip(bytes.chunks(2)) {
            let text = std::str::from_utf8(pair).ok()?;
            *slot = u8::from_str_radix(text, 16).ok()?;
        }
        Some(Self(out))
    }

    /// Whether `secret` has this digest, compared without an early exit.
    pub(crate) fn matches(&self, secret: &[u8]) -> bool {
        constant_time_eq(&sha256(secret), &self.0)
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How a user's password is stored: never the clear text.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Credential {
    /// SHA-256 of the password.
    Sha256(Sha256Digest),
    /// An argon2id PHC string, `$argon2id$v=19$m=..,t=..,p=..$SALT$HASH`,
    /// checked when it was read.
    Argon2id(Arc<str>),
    /// A bcrypt hash, `$2b$`, `$2y$` or `$2a$` (the htpasswd convention),
    /// checked when it was read.
    Bcrypt(Arc<str>),
}

impl Credential {
    /// The stored form of a clear-text password.
    pub(crate) fn from_clear(password: &str) -> Self {
        Self::Sha256(Sha256Digest::of(password.as_bytes()))
    }

    /// Reads a salted hash: argon2id (PHC string) or bcrypt.
    ///
    /// # Errors
    /// What is wrong with it, without the hash itself.
    pub(crate) fn parse_hash(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.starts_with("$argon2id$") {
            let hash = argon2::PasswordHash::new(text)
                .map_err(|e| format!("not a valid argon2id PHC string ({e})"))?;
            argon2::Params::try_from(&hash)
                .map_err(|e| format!("argon2id parameters out of range ({e})"))?;
            if hash.salt.is_none() || hash.hash.is_none() {
                return Err("the argon2id string lacks its salt or its hash".to_owned());
            }
            Ok(Self::Argon2id(text.into()))
        } else if text.starts_with("$argon2") {
            Err("only argon2id is accepted, not argon2i or argon2d".to_owned())
        } else if ["$2a$", "$2b$", "$2y$"].iter().any(|p| text.starts_with(p)) {
            text.parse::<bcrypt::HashParts>()
                .map_err(|e| format!("not a valid bcrypt hash ({e})"))?;
            Ok(Self::Bcrypt(text.into()))
        } else {
            Err("a password hash starts with $argon2id$, $2b$, $2y$ or $2a$".to_owned())
        }
    }

    /// Whether checking costs a deliberately slow hash (argon2, bcrypt).
    pub(crate) fn is_slow(&self) -> bool {
        !matches!(self, Self::Sha256(_))
    }

    /// Whether `password` is the one stored, in constant time for its form.
    ///
    /// Slow for argon2 and bcrypt (the cost their hash says); bcrypt reads
    /// only the first 72 bytes of a password, as every bcrypt does.
    pub(crate) fn verify(&self, password: &[u8]) -> bool {
        match self {
            Self::Sha256(digest) => digest.matches(password),
            Self::Argon2id(phc) => Argon2::default()
                .verify_password(password, phc.as_ref())
                .is_ok(),
            Self::Bcrypt(hash) => bcrypt::verify(password, hash).unwrap_or(false),
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let form = match self {
            Self::Sha256(_) => "sha256",
            Self::Argon2id(_) => "argon2id",
            Self::Bcrypt(_) => "bcrypt",
        };
        write!(f, "{form}(***)")
    }
}

/// Hashes a password with argon2id and the library's default parameters
/// (the OWASP recommendation: 19 MiB, 2 passes, 1 lane) and a random salt.
///
/// # Errors
/// The library's reason, should hashing fail.
pub(crate) fn hash_argon2id(password: &[u8]) -> Result<String, String> {
    // uuid's v4 comes from the OS CSPRNG: 122 random bits of salt.
    let salt = uuid::Uuid::new_v4().into_bytes();
    Argon2::default()
        .hash_password_with_salt(password, &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Compares two digests without stopping at the first difference.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A cheap argon2id hash (8 KiB, 1 pass): tests run unoptimised.
    pub(crate) fn cheap_argon2id(password: &str) -> String {
        let params = argon2::Params::new(8, 1, 1, None).unwrap();
        Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password_with_salt(password.as_bytes(), b"0123456789abcdef")
            .unwrap()
            .to_string()
    }

    /// A cheap bcrypt hash (cost 4, the minimum), `$2y$` as htpasswd writes.
    pub(crate) fn cheap_bcrypt(password: &str) -> String {
        bcrypt::hash_with_result(password, 4)
            .unwrap()
            .format_for_version(bcrypt::Version::TwoY)
    }

    #[test]
    fn argon2id_and_bcrypt_verify_the_right_password_only() {
        for hash in [cheap_argon2id("pw"), cheap_bcrypt("pw")] {
            let credential = Credential::parse_hash(&hash).unwrap();
            assert!(credential.is_slow());
            assert!(credential.verify(b"pw"), "{hash}");
            assert!(!credential.verify(b"pX"), "{hash}");
            assert!(!credential.verify(b""), "{hash}");
        }
    }

    #[test]
    fn the_hash_password_output_verifies() {
        let phc = hash_argon2id(b"s3cret").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let credential = Credential::parse_hash(&phc).unwrap();
        assert!(credential.verify(b"s3cret"));
    }

    #[test]
    fn bad_hashes_are_refused_with_a_reason_and_without_the_hash() {
        let argon2i = cheap_argon2id("pw").replace("$argon2id$", "$argon2i$");
        for (text, reason) in [
            ("$argon2id$v=19$m=8,t=1,p=1$garbage", "argon2id"),
            (argon2i.as_str(), "only argon2id"),
            ("$2b$04$tooshort", "bcrypt"),
            (
                "$2x$04$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyzABCDE",
                "starts with",
            ),
            (
                "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
                "starts with",
            ),
        ] {
            let error = Credential::parse_hash(text).unwrap_err();
            assert!(error.contains(reason), "{text}: {error}");
            assert!(!error.contains(text), "{error}");
        }
    }

    #[test]
    fn debug_never_shows_digests_or_hashes() {
        let hash = cheap_bcrypt("pw");
        let shown = format!(
            "{:?} {:?}",
            Credential::from_clear("pw"),
            Credential::parse_hash(&hash).unwrap()
        );
        assert_eq!(shown, "sha256(***) bcrypt(***)");
    }

    #[test]
    fn hex_digests_need_64_hex_digits() {
        let hex = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
        assert!(Sha256Digest::from_hex(hex).unwrap().matches(b"password"));
        assert!(Sha256Digest::from_hex(&hex[1..]).is_none());
        assert!(Sha256Digest::from_hex(&hex.replace('e', "g")).is_none());
    }
}
