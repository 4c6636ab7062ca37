//! What a node needs to join a cluster.

use std::path::PathBuf;

use crate::auth::Secret;

/// Default of [`ClusterConfig::ack_wait_ms`]: a dead node's work is given
/// to another node this long after its last progress report.
pub const DEFAULT_ACK_WAIT_MS: u64 = 10_000;
/// Default of [`ClusterConfig::max_work_bytes`]: 256 MiB of accepted work
/// (and as much for answers).
pub const DEFAULT_MAX_WORK_BYTES: i64 = 256 << 20;
/// Default of [`ClusterConfig::patience_ms`]: longer than an R3 stream's
/// leader election (about 8 s measured after a SIGKILL).
pub const DEFAULT_PATIENCE_MS: u64 = 20_000;

/// Cluster mode (`--nats`): the node shares its work, answers and service
/// knowledge with the other nodes through NATS JetStream (docs/cluster.md).
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// NATS server URLs (`nats://host:port`, `tls://host:port`).
    pub servers: Vec<String>,
    /// This node's name, unique in the cluster (HTTP answers are addressed to it).
    pub node: String,
    /// How the node authenticates to NATS: the nodes' only shared secret.
    pub auth: NatsAuth,
    /// A PEM CA file to verify the NATS servers' certificates.
    pub tls_ca: Option<PathBuf>,
    /// Replicas of the streams and the bucket (1, or 3 on a 3-server NATS cluster).
    pub replicas: usize,
    /// JetStream `ack_wait` of the work consumers, in ms: how long a node
    /// may be silent about work it took before another node gets it.
    pub ack_wait_ms: u64,
    /// Most bytes of accepted work in the stream; past it new work gets `overloaded`.
    pub max_work_bytes: i64,
    /// How long, in ms, the node keeps trying what JetStream cannot take
    /// yet (no stream leader during an election, a server still starting):
    /// publishing accepted work or an answer (then the sender gets
    /// `overloaded`, or the answered request goes back), and connecting
    /// and creating the streams at start (then the node fails to start).
    pub patience_ms: u64,
}

impl ClusterConfig {
    /// A node named `node` on these NATS servers, with defaults for the rest.
    pub fn new(servers: Vec<String>, node: impl Into<String>) -> Self {
        Self {
            servers,
            node: node.into(),
            auth: NatsAuth::None,
            tls_ca: None,
            replicas: 1,
            ack_wait_ms: DEFAULT_ACK_WAIT_MS,
            max_work_bytes: DEFAULT_MAX_WORK_BYTES,
            patience_ms: DEFAULT_PATIENCE_MS,
        }
    }
}

/// How a node authenticates to NATS. Secrets print as `***`.
#[derive(Debug, Clone)]
pub enum NatsAuth {
    /// No credentials (a server without authorization, tests).
    None,
    /// A `.creds` file (JWT and NKey seed).
    CredsFile(PathBuf),
    /// A user and password.
    UserPassword {
        /// The user.
        user: String,
        /// Its password.
        password: Secret,
    },
    /// A token.
    Token(Secret),
}
