//! `ms_gateway`: the reference communication gateway of `ms_runtime`, the
//! server side of the gateway protocol (`docs/protocol.md`) with an HTTP edge.
//!
//! # Architecture
//! - [`router`]: the routing state as pure logic (queues, flow control,
//!   round robin, deadlines, redelivery, acks); unit-tested without sockets.
//! - `hub`: the router behind a mutex, with each session's outbox and each
//!   HTTP caller's answer slot; runs the router's effects.
//! - `session`: one websocket session (hello/welcome, frames, batched acks,
//!   heartbeats).
//! - `http_edge`: `/v1/ws` upgrade, `/v1/invoke`, `/v1/publish`, `/healthz`,
//!   `/metrics`, Basic and bearer auth.
//! - [`metrics`]: the router's counters, latency histograms and gauges,
//!   the I/O layer's session stats, build info and process metrics, in
//!   Prometheus text through `prometheus-client`; label values bounded
//!   (see [`router::Series`]).
//! - `refusal_log`: one log line per refused or failed message, with its
//!   trace id, within a budget per peer.
//! - `cluster`: cluster mode (`--nats`), the I/O shell that shares work,
//!   answers and service knowledge with other nodes through NATS
//!   JetStream (docs/cluster.md); absent, the gateway is one process.
//! - `auth`: users and tokens (clear, SHA-256, argon2id or bcrypt
//!   passwords), the check of `Authorization`, and what each [`Principal`]
//!   may register, call, publish and subscribe to ([`Acl`]).
//! - `trace`: W3C trace context through the gateway (malformed
//!   `traceparent` replaced, never echoed) and, with the `otel` feature,
//!   the edge and gateway-hop spans exported over OTLP (docs/tracing.md).
//! - `config`, `tls`, `dev_s3`: settings, rustls, the embedded S3 store of `--dev`.
//! - [`Gateway`]: starts all of it on its own thread; [`RunningGateway`] stops it.
//!
//! ```no_run
//! use ms_gateway::{Gateway, GatewayConfig, User};
//!
//! let mut config = GatewayConfig::new("127.0.0.1:0".parse()?);
//! config.users.add_user(User::parse("svc:secret")?);
//! let gateway = Gateway::start(config)?;
//! println!("services connect to {}", gateway.ws_url());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod auth;
mod cluster;
mod config;
#[cfg(feature = "dev-s3")]
mod dev_s3;
mod error;
mod frame_guard;
mod gateway;
mod http_edge;
mod hub;
pub mod metrics;
mod refusal_log;
pub mod router;
mod session;
mod tls;
mod trace;

pub use auth::{Acl, Principal, Secret, Token, User, Users, hash_password};
pub use cluster::{
    ClusterConfig, DEFAULT_ACK_WAIT_MS, DEFAULT_MAX_WORK_BYTES, DEFAULT_PATIENCE_MS, NatsAuth,
};
pub use config::{DevS3Config, GatewayConfig, TlsFiles};
pub use error::{Error, Result};
pub use gateway::{Gateway, RunningGateway};
pub use http_edge::DEFAULT_INVOKE_TIMEOUT_MS;
pub use tls::install_crypto_provider;

/// Whether this build records and exports spans (the `otel` feature);
/// `ms-gateway --version` says so too.
pub const OTEL_COMPILED: bool = cfg!(feature = "otel");
