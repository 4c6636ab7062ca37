//! Connecting to NATS and making sure the streams and the bucket exist.

use std::time::Duration;

use async_nats::jetstream::{self, stream};

use super::config::{ClusterConfig, NatsAuth};
use super::names::{ANSWER_STREAM, SERVICES_PREFIX, SERVICES_STREAM, WORK_STREAM};
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

/// Connects and creates (or updates) `MS_WORK`, `MS_ANSWER` and `MS_SERVICES`.
///
/// # Errors
/// [`Error::Backplane`] when NATS cannot be reached in 10 s or refuses a
/// stream; the reason never holds the credentials.
pub async fn open(
    config: &ClusterConfig,
    service_ttl: Duration,
    max_deadline: Duration,
    hub: std::sync::Arc<crate::hub::Hub>,
) -> Result<Backplane> {
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
    let client = tokio::time::timeout(
        Duration::from_secs(10),
        options.connect(config.servers.clone()),
    )
    .await
    .map_err(|e| backplane_error("cannot reach NATS", e))?
    .map_err(|e| backplane_error("cannot connect to NATS", e))?;
    let js = jetstream::new(client.clone());
    let replicas = config.replicas.max(1);
    // Work past every deadline is useless, but events have none: keep
    // work as long as a service name is remembered.
    let work_age = service_ttl.max(max_deadline) + Duration::from_secs(60);
    js.create_or_update_stream(stream::Config {
        name: WORK_STREAM.to_owned(),
        subjects: vec!["ms.work.>".to_owned()],
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        num_replicas: replicas,
        duplicate_window: DUPLICATE_WINDOW,
        max_bytes: config.max_work_bytes,
        discard: stream::DiscardPolicy::New,
        max_age: work_age,
        ..Default::default()
    })
    .await
    .map_err(|e| backplane_error("cannot create the MS_WORK stream", e))?;
    js.create_or_update_stream(stream::Config {
        name: ANSWER_STREAM.to_owned(),
        subjects: vec!["ms.answer.svc.>".to_owned()],
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        num_replicas: replicas,
        duplicate_window: DUPLICATE_WINDOW,
        max_bytes: config.max_work_bytes,
        discard: stream::DiscardPolicy::New,
        max_age: service_ttl + Duration::from_secs(60),
        ..Default::default()
    })
    .await
    .map_err(|e| backplane_error("cannot create the MS_ANSWER stream", e))?;
    // A key-value bucket is this very stream shape; the client's KV API
    // cannot read nats-server 2.9.10's answer to creating one.
    js.create_or_update_stream(stream::Config {
        name: SERVICES_STREAM.to_owned(),
        subjects: vec![format!("{SERVICES_PREFIX}.>")],
        retention: stream::RetentionPolicy::Limits,
        storage: stream::StorageType::File,
        num_replicas: replicas,
        max_messages_per_subject: 1,
        max_age: service_ttl,
        max_bytes: 64 << 20,
        ..Default::default()
    })
    .await
    .map_err(|e| backplane_error("cannot create the MS_SERVICES stream", e))?;
    Ok(Backplane { client, js })
}
