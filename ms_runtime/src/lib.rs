//! `ms_runtime`: write a microservice's logic, let the runtime run it.
//!
//! A service implements a handler; the runtime connects it to the
//! communication gateway over a websocket, dispatches every incoming message,
//! keeps every accepted message until it is settled, and gives the service
//! object storage and structured logs. It replaces the Python `ms_utils`
//! library the services used to share.
//!
//! # Architecture
//!
//! Each behaviour and the file that holds it (under `ms_runtime/src/`);
//! dependencies point one way, from the I/O shells to the pure cores.
//!
//! - [`protocol`] (the `ms_protocol` crate): the wire contract
//!   (`docs/protocol.md`) as types, a decoder that never panics, ids, the
//!   name rule, the timing rules (ack delay, the 3-heartbeat rule), the
//!   Unix-milliseconds clock, [`Secret`]. Pure code.
//! - [`config`] (`config/`): one [`Config`] from `MS_*` variables
//!   (`env.rs`), a TOML file (`file.rs`) or a builder (`builder.rs`);
//!   [`Tuning`] and its variables (`tuning.rs`); errors (`error.rs`).
//! - The protocol session (`gateway/session/`): a pure state machine with
//!   time passed in: connection life, heartbeats and backoff (`link.rs`),
//!   requests, dedup and refusals (`inbound.rs`), the outbox, calls and acks
//!   (`outbound.rs`), shutdown (`drain.rs`). Unit-tested without sockets.
//! - The supervisor actor (`gateway/supervisor.rs`): the session's I/O
//!   shell: websocket (`connect.rs`, frame limit and read-buffer room in `frame_limit.rs`,
//!   fragments in `frames.rs`), writer task, one timer, call waiters.
//!   [`Gateway`] (`gateway/mod.rs`) is its handle; `gateway/port.rs` the
//!   types it hands to the dispatcher.
//! - Dispatch (`dispatch/`, `placement.rs`): each message runs under its
//!   deadline and `catch_unwind`; proven-light routes run on the
//!   connection's thread (settled within the delivery when the handler does
//!   not wait), the rest on a pool of threads; per-route state in
//!   `dispatch/routes.rs` (`docs/runtime.md`, "Where handlers run").
//! - [`Handler`], [`Request`], [`Event`], [`HandlerError`] (`handler.rs`):
//!   what a service author writes; [`Context`] (`context.rs`): what each
//!   call gets (logger, deadline, `request`, `publish`, `spawn_blocking`).
//! - Tracing (`trace.rs`): the W3C trace context of each message, read,
//!   recorded as spans (feature `otel`, through the `ms_otel` crate, parents
//!   passed explicitly in [`Context`]) and sent on with every call
//!   (`docs/tracing.md`).
//! - [`run`] / [`Service`] (`service.rs`): start-up (the shared steps,
//!   logging, storage, `hello`, supervisor, in `boot.rs`; then probes,
//!   pool) and graceful shutdown; health probes and `/metrics` in
//!   `health.rs`.
//! - Metrics (`metrics/`): the Prometheus registry (`docs/observability.md`):
//!   handled messages and handler time recorded by the dispatcher
//!   (`handled.rs`), S3 operations by the S3 handles (`s3.rs`), session
//!   figures published by the session after each step (`metrics/stats.rs`)
//!   and read at scrape time (`session.rs`).
//! - [`GatewayClient`] (`client.rs`): the same machinery under a raw
//!   receive loop.
//! - [`S3`] (`s3/`): the S3 actor's handle, one file per operation; claim
//!   checks for large payloads (`claim_check/`, `s3/claim.rs`).
//! - [`logging`] (`logging/`): `setup_logger`, the log sink actor (bounded,
//!   never blocks a handler), filters, term and JSON formats, redaction, the
//!   bridge for `log` and `tracing` records.
//! - [`encoding`]: base64 for strings, files (bounded memory) and serde fields.
//! - [`Error`] (`error.rs`): one error type for start-up and I/O.
//! - [`ms_service`]: the attribute that writes the `Handler` for an `impl`
//!   block of typed routes (`docs/macro.md`).
//! - `testing` (feature `testing`, `testing/`): the test kit, a real
//!   gateway and S3 store in the test process (`docs/testing.md`).
//!
//! `docs/runtime.md` draws the actors and says what is guaranteed and what
//! is not.
//!
//! # Guides
//!
//! The repository's `docs/` folder (also an mdBook, `mdbook build docs`):
//!
//! | guide | for |
//! |---|---|
//! | `docs/getting-started.md` | from a clone to a running service of your own (`cargo ms new`) |
//! | `docs/concepts.md` | the actors, how a message flows, delivery guarantees (with a diagram) |
//! | `docs/configuration.md` | every setting: env name, file key, default |
//! | `docs/runtime.md`, `docs/macro.md` | handlers, contexts, services; `#[ms_service]` |
//! | `docs/testing.md` | testing a service with the test kit |
//! | `docs/logging.md`, `docs/s3.md` | structured logs; object storage and claim checks |
//! | `docs/tracing.md` | W3C trace context and OpenTelemetry spans (feature `otel`) |
//! | `docs/protocol.md`, `docs/gateway.md` | the wire contract; the reference gateway |
//! | `docs/deployment.md` | TLS, Kubernetes probes, scaling out |
//! | `docs/migrating-from-python.md` | the Python `ms_utils`, call by call |
//! | `docs/benchmarks.md` | what the runtime costs, against a no-framework floor |
//!
//! # Examples
//!
//! ```
//! use ms_runtime::Config;
//!
//! let config = Config::from_vars([("MS_SERVICE_NAME", "ocr"), ("MS_LOG_FORMAT", "json")])?;
//! assert_eq!(config.service_name.as_deref(), Some("ocr"));
//! assert_eq!(config.gateway_url.as_str(), "ws://127.0.0.1:8080/v1/ws");
//! # Ok::<(), ms_runtime::ConfigError>(())
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `s3` | yes | [`s3`], `Context::s3`, claim checks (aws-sdk-s3: about 50 crates, half a release build). Without it S3 settings are a start-up error ([`ConfigError::FeatureDisabled`]) and a received `payload_ref` is answered with a non-retryable error |
//! | `aws-chain` | no | S3 credentials from the standard AWS chain (web identity / IRSA, ECS and instance roles, profiles) when no static keys are set (aws-config) |
//! | `testing` | no | `testing`: a gateway and S3 store in the test process |

#![cfg_attr(docsrs, feature(doc_cfg))]
// the crate docs link to `S3` and `Error::S3`, which a build without `s3`
// leaves out; those links are meant for the default build
#![cfg_attr(not(feature = "s3"), allow(rustdoc::broken_intra_doc_links))]

mod boot;
mod claim_check;
mod client;
pub mod config;
mod context;
mod dispatch;
pub mod encoding;
mod error;
mod error_codes;
mod gateway;
mod handler;
mod handler_error;
mod health;
pub mod logging;
mod metrics;
mod placement;
pub use ms_protocol as protocol;
#[cfg(feature = "s3")]
#[cfg_attr(docsrs, doc(cfg(feature = "s3")))]
pub mod s3;
mod secret;
mod service;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod trace;

#[doc(hidden)]
#[path = "macro_support.rs"]
pub mod __private;

#[cfg(any(test, feature = "bench"))]
#[doc(hidden)]
#[path = "bench_support.rs"]
pub mod __bench;

pub use ms_macros::ms_service;

pub use boot::Registration;
pub use client::{GatewayClient, Received};
pub use config::{
    ClaimLocation, Config, ConfigBuilder, ConfigError, Credentials, S3Config, Tuning,
};
pub use context::Context;
pub use error::{Error, Result};
pub use gateway::{CallError, ConnectionState, Gateway};
pub use handler::{Event, Handler, Request};
pub use handler_error::{HandlerError, reply};
#[cfg(feature = "s3")]
#[cfg_attr(docsrs, doc(cfg(feature = "s3")))]
pub use s3::S3;
pub use secret::Secret;
pub use service::{Service, run, run_from_env, shutdown_signal};
/// The structured logging crate the runtime logs with (`ctx.log()` is a
/// `slog::Logger`), re-exported so services need not pin their own.
pub use slog;
