//! The crate's error type.

use std::path::PathBuf;

/// Everything that can stop the gateway from starting or running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `NAME:PASSWORD` (or token) argument is malformed.
    #[error("invalid credential {0:?}: expected NAME:PASSWORD with a non-empty name and password")]
    InvalidCredential(String),
    /// Neither users nor tokens are configured, so nobody could connect.
    #[error("no users configured: pass --user NAME:PASSWORD, --users-file FILE or --dev")]
    NoUsers,
    /// A file could not be read.
    #[error("cannot read {path}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The users file is not valid.
    #[error("invalid users file {path}: {reason}")]
    UsersFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A password hash (`password_hash`, [`crate::User::with_password_hash`]) is not usable.
    #[error("invalid password hash of user {user:?}: {reason}")]
    PasswordHash {
        /// The user.
        user: String,
        /// What is wrong (never the hash itself).
        reason: String,
    },
    /// Hashing a password failed.
    #[error("cannot hash the password: {0}")]
    Hashing(String),
    /// The TLS certificate or key is not usable.
    #[error("invalid TLS configuration: {0}")]
    Tls(String),
    /// `--tls-cert` was given without `--tls-key`, or the other way round.
    #[error("--tls-cert and --tls-key go together")]
    TlsPair,
    /// Binding or serving a socket failed.
    #[error("cannot serve on {addr}")]
    Io {
        /// The address.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The gateway's thread could not be started or ended badly.
    #[error("gateway thread failed: {0}")]
    Thread(String),
    /// The embedded S3 store could not start.
    #[error("embedded S3 store failed: {0}")]
    S3(String),
    /// `--node` is missing or not 1..=64 bytes of `[A-Za-z0-9_-]`.
    #[error("invalid node name {0:?}: --nats needs --node NAME, 1 to 64 bytes of [A-Za-z0-9_-]")]
    InvalidNode(String),
    /// Cluster mode: NATS could not be reached, or refused a stream or bucket.
    #[error("{what}: {reason}")]
    Backplane {
        /// What the node was doing.
        what: &'static str,
        /// The NATS client's account of it (never the credentials).
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
