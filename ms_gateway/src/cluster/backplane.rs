//! Connecting to NATS and making sure the streams exist.

use std::time::Duration;

use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::context::{CreateStreamError, CreateStreamErrorKind};
use async_nats::jetstream::{self, stream};
use async_nats::{ConnectError, ConnectErrorKind};
use tokio::time::Instant;

use super::config::{ClusterConfig, NatsAuth};
use super::names::{ANSWER_STREAM, SERVICES_PREFIX, SERVICES_STREAM, WORK_STREAM};
use super::patience::retry_until;
use crate::error::{Error, Result};

/// How long a resent frame counts as a duplicate of the first
/// (JetStream's `duplicate_window`).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(300);

/// What a node opens on the backplane.
pub struct Backplane {
    /// The NATS connection.
    pub client: async_nats::Client,
    /// JetStream on it.
    pub js: jetstream::Context,
}

fn backplane_error(what: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Backplane {
        what,
        reason: e.to_string(),
    }
}

/// Connects and creates (or updates) `MS_WORK`, `MS_ANSWER` and
/// `MS_SERVICES`, trying again for up to [`ClusterConfig::patience_ms`]
/// while NATS is not listening yet or JetStream cannot take the request
/// (still starting, no meta leader): nodes may start before NATS does.
///
/// # Errors
/// [`Error::Backplane`] when NATS refuses (credentials, TLS, a stream
/// setting) or the patience is spent; the reason never holds the credentials.
pub async fn open(
    config: &ClusterConfig,
    service_ttl: Duration,
    max_deadline: Duration,
    hub: std::sync::Arc<crate::hub::Hub>,
) -> Result<Backplane> {
    let give_up = Instant::now() + Duration::from_millis(config.patience_ms);
    let log = hub.logger().new(slog::o!("node" => config.node.clone()));
    // The client reconnects by itself once connected; the first connection is ours to retry.
    let options = connect_options(config, hub).await?;
    let client = retry_until(
        give_up,
        || options.clone().connect(config.servers.clone()),
        |e: &ConnectError| {
            matches!(
                e.kind(),
                ConnectErrorKind::Io
                    | ConnectErrorKind::TimedOut
                    | ConnectErrorKind::Dns
                    | ConnectErrorKind::MaxReconnects
            )
        },
        |e| slog::info!(log, "NATS not reachable yet; trying again"; "error" => %e),
    )
    .await
    .map_err(|e| backplane_error("cannot connect to NATS", e))?;
    let js = jetstream::new(client.clone());
    let replicas = config.replicas.max(1);
    // Work past every deadline is useless, but events have none: keep
    // work as long as a service name is remembered.
    let work_age = service_ttl.max(max_deadline) + Duration::from_secs(60);
    let streams = [
        (
            "cannot create the MS_WORK stream",
            work_queue(WORK_STREAM, "ms.work.>", config.max_work_bytes, work_age),
        ),
        (
            "cannot create the MS_ANSWER stream",
            work_queue(
                ANSWER_STREAM,
                "ms.answer.svc.>",
                config.max_work_bytes,
                service_ttl + Duration::from_secs(60),
            ),
        ),
        // A key-value bucket is this very stream shape; the client's KV API
        // cannot read nats-server 2.9.10's answer to creating one.
        (
            "cannot create the MS_SERVICES stream",
            stream::Config {
                name: SERVICES_STREAM.to_owned(),
                subjects: vec![format!("{SERVICES_PREFIX}.>")],
                retention: stream::RetentionPolicy::Limits,
                storage: stream::StorageType::File,
                max_messages_per_subject: 1,
                max_age: service_ttl,
                max_bytes: 64 << 20,
                ..Default::default()
            },
        ),
    ];
    for (what, stream) in streams {
        let stream = stream::Config {
            num_replicas: replicas,
            ..stream
        };
        retry_until(
            give_up,
            || js.create_or_update_stream(stream.clone()),
            stream_not_ready,
            |e| slog::info!(log, "JetStream not ready yet; trying again"; "error" => %e),
        )
        .await
        .map_err(|e| backplane_error(what, e))?;
    }
    Ok(Backplane { client, js })
}

/// A work-queue stream on `subjects`, in files, deduplicated, refusing
/// new messages past `max_bytes`.
fn work_queue(name: &str, subjects: &str, max_bytes: i64, max_age: Duration) -> stream::Config {
    stream::Config {
        name: name.to_owned(),
        subjects: vec![subjects.to_owned()],
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        duplicate_window: DUPLICATE_WINDOW,
        max_bytes,
        discard: stream::DiscardPolicy::New,
        max_age,
        ..Default::default()
    }
}

/// Whether a failed stream creation is JetStream not ready yet (no
/// responder, no answer in time, "temporarily unavailable" while the
/// servers elect a meta leader) rather than a refusal.
fn stream_not_ready(e: &CreateStreamError) -> bool {
    match e.kind() {
        CreateStreamErrorKind::JetStreamUnavailable | CreateStreamErrorKind::TimedOut => true,
        CreateStreamErrorKind::JetStream(api) => {
            api.error_code() == ErrorCode::CLUSTER_NOT_AVAILABLE || api.code() == 503
        }
        _ => false,
    }
}

/// How the node connects: its name, credentials and TLS; the client
/// tells `hub` when the connection drops and comes back.
async fn connect_options(
    config: &ClusterConfig,
    hub: std::sync::Arc<crate::hub::Hub>,
) -> Result<async_nats::ConnectOptions> {
    let mut options = async_nats::ConnectOptions::new()
        .name(format!("ms-gateway {}", config.node))
        .connection_timeout(Duration::from_secs(5))
        .max_reconnects(None)
        .event_callback(move |event| {
            let hub = hub.clone();
            async move {
                match event {
                    async_nats::Event::Connected => hub.set_backplane_up(true),
                    async_nats::Event::Disconnected => hub.set_backplane_up(false),
                    _ => {}
                }
            }
        });
    options = match &config.auth {
        NatsAuth::None => options,
        NatsAuth::CredsFile(path) => options
            .credentials_file(path)
            .await
            .map_err(|e| backplane_error("cannot read the NATS credentials file", e))?,
        NatsAuth::UserPassword { user, password } => {
            options.user_and_password(user.clone(), password.expose().to_owned())
        }
        NatsAuth::Token(token) => options.token(token.expose().to_owned()),
    };
    if let Some(ca) = &config.tls_ca {
        options = options.add_root_certificates(ca.clone()).require_tls(true);
    }
    Ok(options)
}
