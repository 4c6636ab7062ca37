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
//! - [`protocol`]: the wire contract (`docs/protocol.md`) as types, with a
//!   decoder that never panics and says which rule a frame broke. Pure code.
//! - [`config`]: one [`Config`] from `MS_*` variables, a TOML file or a builder.
//! - [`encoding`]: base64 for strings, files (bounded memory) and serde fields.
//! - [`logging`]: `setup_logger`, the log sink actor (bounded, never blocks
//!   a handler), levels with per-module filters, term and JSON formats,
//!   redaction, and the bridge for `log` and `tracing` records.
//! - [`Error`]: one error type, mapped to protocol error codes in one place.
//! - [`Handler`], [`Request`], [`Event`], [`HandlerError`]: what a service
//!   author writes; [`Context`]: what each call gets (logger, deadline,
//!   `request`, `publish`, `spawn_blocking`).
//! - [`run`] / [`Service`]: the supervisor actor that owns the websocket to
//!   the gateway (auth, TLS, reconnect with backoff, heartbeats, acks, resend,
//!   dedup) and dispatches each message to a freshly spawned handler actor on
//!   a pool of threads; [`Gateway`] is its handle.
//! - [`GatewayClient`]: the same machinery under a raw receive loop.
//! - [`S3`]: the S3 actor's handle (also in [`Context::s3`]); claim checks
//!   for large payloads ride on it.
//! - [`ms_service`]: the attribute that writes the `Handler` for an `impl`
//!   block of typed routes (`docs/macro.md`).
//! - `testing` (feature `testing`): the test kit, a real gateway and S3
//!   store in the test process (`docs/testing.md`).
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

mod claim_check;
mod client;
mod clock;
pub mod config;
mod context;
mod dispatch;
pub mod encoding;
mod error;
mod gateway;
mod handler;
mod health;
pub mod logging;
pub use ms_protocol as protocol;
pub mod s3;
mod secret;
mod service;
#[cfg(feature = "testing")]
pub mod testing;

#[doc(hidden)]
#[path = "macro_support.rs"]
pub mod __private;

#[cfg(feature = "bench")]
#[doc(hidden)]
#[path = "bench_support.rs"]
pub mod __bench;

pub use ms_macros::ms_service;

pub use claim_check::ClaimLocation;
pub use client::{GatewayClient, Received, Registration};
pub use config::{Config, ConfigBuilder, ConfigError, Credentials, S3Config, Tuning};
pub use context::Context;
pub use error::{Error, Result};
pub use gateway::{CallError, ConnectionState, Gateway};
pub use handler::{Event, Handler, HandlerError, Request, reply};
pub use s3::{S3, S3Error};
pub use secret::Secret;
pub use service::{Service, run, run_from_env, shutdown_signal};
/// The structured logging crate the runtime logs with (`ctx.log()` is a
/// `slog::Logger`), re-exported so services need not pin their own.
pub use slog;
