//! Remembered successful checks of slow password hashes.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

/// How many successful slow checks are remembered.
pub(crate) const VERIFIED_CAPACITY: usize = 1024;

/// How long a successful slow check is remembered.
pub(crate) const VERIFIED_TTL: Duration = Duration::from_secs(60);

/// Successful argon2/bcrypt checks, so that a client presenting the same
/// credentials on every HTTP request does not cost ~50 ms of CPU each time
/// (which would make every account a denial-of-service lever).
///
/// Keyed by a fingerprint: SHA-256 of a random per-process key, the user name
/// and the presented password, so neither a password nor a fast unsalted
/// digest of one is held. Only successes are stored; a wrong password is
/// never remembered, so it is checked (slowly) every time.
///
/// Bounded: at most [`VERIFIED_CAPACITY`] entries, each forgotten
/// [`VERIFIED_TTL`] after its check. When full, expired entries go first,
/// then the oldest one.
pub(crate) struct VerifiedCache {
    /// Mixed into every fingerprint: without it, the map would be a table
    /// of fast digests of (user, password).
    key: [u8; 32],
    /// Fingerprint -> when the slow check succeeded.
    entries: HashMap<[u8; 32], Instant>,
    capacity: usize,
    ttl: Duration,
}

impl VerifiedCache {
    /// An empty cache with a fresh random key.
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        // uuid's v4 comes from the OS CSPRNG; two give 244 random bits.
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self {
            key,
            entries: HashMap::new(),
            capacity,
            ttl,
        }
    }

    /// The key under which (`user`, `password`) is remembered.
    pub(crate) fn fingerprint(&self, user: &str, password: &[u8]) -> [u8; 32] {
        Sha256::new()
            .chain_update(self.key)
            .chain_update((user.len() as u64).to_le_bytes())
            .chain_update(user.as_bytes())
            .chain_update(password)
            .finalize()
            .into()
    }

    /// Whether this fingerprint was checked successfully less than the TTL ago.
    pub(crate) fn contains(&self, fingerprint: &[u8; 32], now: Instant) -> bool {
        self.entries
            .get(fingerprint)
            .is_some_and(|at| now.saturating_duration_since(*at) < self.ttl)
    }

    /// Remembers a successful check.
    pub(crate) fn insert(&mut self, fingerprint: [u8; 32], now: Instant) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&fingerprint) {
            let ttl = self.ttl;
            self.entries
                .retain(|_, at| now.saturating_duration_since(*at) < ttl);
            if self.entries.len() >= self.capacity {
                let oldest = self
                    .entries
                    .iter()
                    .min_by_key(|(_, at)| **at)
                    .map(|(key, _)| *key);
                if let Some(oldest) = oldest {
                    self.entries.remove(&oldest);
                }
            }
        }
        self.entries.insert(fingerprint, now);
    }

    /// Forgets everything (the users changed).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    /// How many checks are remembered.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

impl fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedCache")
            .field("entries", &self.len())
            .field("capacity", &self.capacity)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_ttl() {
        let mut cache = VerifiedCache::new(4, Duration::from_secs(60));
        let start = Instant::now();
        let fp = cache.fingerprint("alice", b"pw");
        assert!(!cache.contains(&fp, start));
        cache.insert(fp, start);
        assert!(cache.contains(&fp, start + Duration::from_secs(59)));
        assert!(!cache.contains(&fp, start + Duration::from_secs(60)));
    }

    #[test]
    fn the_bound_holds_and_the_oldest_goes_first() {
        let mut cache = VerifiedCache::new(3, Duration::from_secs(60));
        let start = Instant::now();
        let fps: Vec<_> = (0..5u8).map(|i| cache.fingerprint("alice", &[i])).collect();
        for (i, fp) in fps.iter().enumerate() {
            cache.insert(*fp, start + Duration::from_secs(i as u64));
            assert!(cache.len() <= 3);
        }
        let now = start + Duration::from_secs(5);
        assert!(!cache.contains(&fps[0], now));
        assert!(!cache.contains(&fps[1], now));
        assert!(fps[2..].iter().all(|fp| cache.contains(fp, now)));
    }

    #[test]
    fn fingerprints_separate_users_passwords_and_processes() {
        let cache = VerifiedCache::new(4, VERIFIED_TTL);
        let other = VerifiedCache::new(4, VERIFIED_TTL);
        let fp = cache.fingerprint("ab", b"c");
        assert_ne!(fp, cache.fingerprint("a", b"bc"));
        assert_ne!(fp, cache.fingerprint("ab", b"d"));
        assert_ne!(fp, other.fingerprint("ab", b"c"));
        assert!(!format!("{cache:?}").contains("key"));
    }
}
