//! What a gateway is started with.

use std::net::SocketAddr;
use std::path::PathBuf;

use ms_protocol::{DEFAULT_HEARTBEAT_MS, DEFAULT_MAX_FRAME_BYTES};

use crate::auth::{Secret, Users};

/// Everything [`crate::Gateway::start`] needs.
///
/// ```
/// use ms_gateway::{GatewayConfig, User};
///
/// let mut config = GatewayConfig::new("127.0.0.1:0".parse()?);
/// config.users.add_user(User::parse("svc:secret")?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Where to listen; port 0 picks a free port ([`crate::RunningGateway::addr`] tells which).
    pub bind: SocketAddr,
    /// Who may connect, over websocket and HTTP.
    pub users: Users,
    /// Certificate and key (PEM) to serve `wss://` and `https://`.
    pub tls: Option<TlsFiles>,
    /// Sent in `welcome`: idle time before a ping; 3 silent intervals drop a peer.
    pub heartbeat_ms: u64,
    /// Sent in `welcome`: the largest frame accepted and sent.
    pub max_frame_bytes: u64,
    /// Most requests and events waiting per service; past it callers get `overloaded`.
    pub queue_limit: usize,
    /// Deadline of a service's request that carries no `deadline_ms`.
    pub default_timeout_ms: u64,
    /// How long a shutdown waits for requests in flight before answering them `overloaded`.
    pub shutdown_grace_ms: u64,
    /// Most unsettled deliveries on one connection whatever its hello asks
    /// (sent in `welcome.max_in_flight`).
    pub max_in_flight: u32,
    /// Furthest deadline a caller may ask for, in ms (`X-Timeout-Ms`,
    /// `deadline_ms`); larger asks are refused with `bad_request`.
    pub max_deadline_ms: u64,
    /// Most bytes of work held over all services (queued, in flight,
    /// unacknowledged answers); past it new work gets `overloaded`.
    pub max_held_bytes: u64,
    /// Most service names known at once (callers create names with `to`).
    pub max_services: usize,
    /// How long a service name without instances is kept, with its
    /// subscriptions and queued events.
    pub service_ttl_ms: u64,
    /// How long a request for a service that never registered waits for a
    /// first instance before `unknown_service`.
    pub unknown_service_wait_ms: u64,
    /// Most bytes queued for one session's socket; a peer that does not
    /// read past it is disconnected and its work delivered elsewhere.
    pub max_outbound_bytes: u64,
    /// Longest an HTTP body may take to arrive.
    pub body_timeout_ms: u64,
    /// HTTP worker threads.
    pub workers: usize,
    /// The embedded S3 store of `--dev`.
    pub dev_s3: Option<DevS3Config>,
    /// Cluster mode: the node shares its work with other nodes through
    /// NATS JetStream; `None` (the default) is a single node.
    pub cluster: Option<crate::cluster::ClusterConfig>,
    /// Whether `GET /metrics` answers without credentials (off: the
    /// scrape needs a user or token like every other endpoint).
    pub metrics_public: bool,
    /// Most (service, route) label sets in `/metrics`; past it new ones
    /// are counted under `service="(other)", route="(other)"`.
    pub metrics_max_series: usize,
    /// Where logs go; discarded by default.
    pub logger: slog::Logger,
}

impl GatewayConfig {
    /// Defaults from the protocol (heartbeat 5000 ms, frames 16 MiB), no users.
    pub fn new(bind: SocketAddr) -> Self {
        Self {
            bind,
            users: Users::new(),
            tls: None,
            heartbeat_ms: DEFAULT_HEARTBEAT_MS,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            queue_limit: 1024,
            default_timeout_ms: 30_000,
            shutdown_grace_ms: 5_000,
            max_in_flight: crate::router::DEFAULT_MAX_IN_FLIGHT,
            max_deadline_ms: crate::router::DEFAULT_MAX_DEADLINE_MS,
            max_held_bytes: crate::router::DEFAULT_MAX_HELD_BYTES,
            max_services: 10_000,
            service_ttl_ms: 600_000,
            unknown_service_wait_ms: crate::router::DEFAULT_UNKNOWN_SERVICE_WAIT_MS,
            max_outbound_bytes: 64 << 20,
            body_timeout_ms: 30_000,
            workers: 2,
            dev_s3: None,
            cluster: None,
            metrics_public: false,
            metrics_max_series: crate::router::DEFAULT_MAX_SERIES,
            logger: slog::Logger::root(slog::Discard, slog::o!()),
        }
    }
}

/// A PEM certificate chain and its private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain, PEM.
    pub cert: PathBuf,
    /// Private key, PEM.
    pub key: PathBuf,
}

/// The embedded S3-compatible store of dev mode.
#[derive(Debug, Clone)]
pub struct DevS3Config {
    /// Where it listens.
    pub bind: SocketAddr,
    /// The folder holding buckets and objects.
    pub data_dir: PathBuf,
    /// Access key id clients sign with.
    pub access_key: String,
    /// Secret key clients sign with.
    pub secret_key: Secret,
}
