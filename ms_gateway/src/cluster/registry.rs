//! What each node's instances serve, shared through the `MS_SERVICES`
//! stream: the last message per (service, node) subject, refreshed while
//! the node has an instance of the service, expired by the stream's
//! `max_age` (the service TTL) after the last refresh.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

use async_nats::jetstream::consumer::{DeliverPolicy, pull};

use super::names::{SERVICES_PREFIX, SERVICES_STREAM, service_key, service_of_key};
use super::shell::{Shell, lock};

/// The value of a key of the bucket.
#[derive(Debug, Serialize, Deserialize)]
struct Knowledge {
    routes: Vec<String>,
    topics: Vec<String>,
}

impl Shell {
    /// Adds what a local instance serves to what this node announces.
    pub fn remember(&self, service: &str, routes: Vec<String>, topics: Vec<String>) {
        let mut announced = lock(&self.announced);
        let entry = announced.entry(service.to_owned()).or_default();
        entry.0.extend(routes);
        entry.1.extend(topics);
    }

    /// Writes this node's knowledge of `service` to the bucket.
    pub async fn announce_one(self: Arc<Self>, service: String) {
        let value = {
            let announced = lock(&self.announced);
            let Some((routes, topics)) = announced.get(&service) else {
                return;
            };
            Knowledge {
                routes: routes.iter().cloned().collect(),
                topics: topics.iter().cloned().collect(),
            }
        };
        let Ok(bytes) = serde_json::to_vec(&value) else {
            return;
        };
        let published = match self
            .js
            .publish(service_key(&service, &self.config.node), Bytes::from(bytes))
            .await
        {
            Ok(ack) => ack.await.map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = published {
            slog::warn!(self.log, "cannot announce a service"; "service" => &service, "error" => %e);
        }
    }

    /// Every third of the service TTL, announces again the services with
    /// an instance here; the others are let expire.
    pub async fn announce(self: Arc<Self>) {
        let every = (self.service_ttl / 3).max(Duration::from_secs(1));
        loop {
            tokio::time::sleep(every).await;
            let services: Vec<String> = {
                let mut announced = lock(&self.announced);
                announced.retain(|service, _| self.hub.has_instances(service));
                announced.keys().cloned().collect()
            };
            for service in services {
                self.clone().announce_one(service).await;
            }
        }
    }

    /// Feeds every node's announcements to the router: the last one of
    /// each (service, node), then every new one.
    pub async fn watch_services(self: Arc<Self>) {
        loop {
            let watch = async {
                let stream = self
                    .js
                    .get_stream(SERVICES_STREAM)
                    .await
                    .map_err(|e| e.to_string())?;
                let consumer = stream
                    .create_consumer(pull::OrderedConfig {
                        filter_subject: format!("{SERVICES_PREFIX}.>"),
                        deliver_policy: DeliverPolicy::LastPerSubject,
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                consumer.messages().await.map_err(|e| e.to_string())
            };
            let mut messages = match watch.await {
                Ok(messages) => messages,
                Err(reason) => {
                    slog::warn!(self.log, "cannot watch the services stream"; "reason" => reason);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            while let Some(message) = messages.next().await {
                let Ok(message) = message else {
                    break;
                };
                let Some(service) = service_of_key(message.subject.as_str()) else {
                    continue;
                };
                if let Ok(knowledge) = serde_json::from_slice::<Knowledge>(&message.payload) {
                    self.hub
                        .learn_service(&service, &knowledge.routes, &knowledge.topics);
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
