//! Taking work and answers from the backplane for local instances: only
//! as much work as their free slots, only while they are connected here.

use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::{AckKind, Message};
use futures_util::StreamExt as _;
use ms_protocol::decode;

use super::names::{
    ANSWER_STREAM, AnswerTo, ORIGIN_HEADER, WORK_STREAM, answer_durable, service_answer_subject,
    work_durable, work_subject,
};
use super::shell::{Shell, lock};
use crate::router::InstanceKey;

/// Most messages asked for in one pull.
const MAX_BATCH: usize = 256;
/// Most answers held for one instance before it acks some.
const MAX_ANSWERS_HELD: usize = 64;
/// How long one pull waits for messages.
const PULL_EXPIRES: Duration = Duration::from_millis(500);
/// How long an answer consumer of an instance gone from every node is kept.
const ANSWER_CONSUMER_IDLE: Duration = Duration::from_secs(3600);
/// Pause after a failed pull or consumer creation.
const RETRY: Duration = Duration::from_millis(500);

impl Shell {
    /// An instance connected here: start taking its service's work and
    /// its answers (unless already running), and announce what it serves.
    pub fn instance_up(
        self: &Arc<Self>,
        key: InstanceKey,
        routes: Vec<String>,
        topics: Vec<String>,
    ) {
        let service = key.service.clone();
        match lock(&self.work_loops).entry(service.clone()) {
            Entry::Occupied(mut e) if e.get().is_finished() => {
                e.insert(actix_rt::spawn(self.clone().take_work(service.clone())));
            }
            Entry::Occupied(_) => {}
            Entry::Vacant(e) => {
                e.insert(actix_rt::spawn(self.clone().take_work(service.clone())));
            }
        }
        match lock(&self.answer_loops).entry(key.clone()) {
            Entry::Occupied(mut e) if e.get().is_finished() => {
                e.insert(actix_rt::spawn(self.clone().take_answers(key.clone())));
            }
            Entry::Occupied(_) => {}
            Entry::Vacant(e) => {
                e.insert(actix_rt::spawn(self.clone().take_answers(key.clone())));
            }
        }
        self.remember(&service, routes, topics);
        actix_rt::spawn(self.clone().announce_one(service));
    }

    async fn consumer(
        &self,
        stream: &str,
        durable: String,
        config: pull::Config,
    ) -> Result<PullConsumer, String> {
        let stream = self
            .js
            .get_stream(stream)
            .await
            .map_err(|e| e.to_string())?;
        stream
            .get_or_create_consumer(&durable, config)
            .await
            .map_err(|e| e.to_string())
    }

    /// Takes work for `service` while it has instances here: one durable
    /// shared by every node, pulled only for the free slots.
    async fn take_work(self: Arc<Self>, service: String) {
        let durable = work_durable(&service);
        let config = pull::Config {
            durable_name: Some(durable.clone()),
            filter_subject: work_subject(&service),
            ack_policy: AckPolicy::Explicit,
            ack_wait: Duration::from_millis(self.config.ack_wait_ms),
            max_deliver: -1,
            max_ack_pending: 20_000,
            ..Default::default()
        };
        let consumer = loop {
            if !self.hub.has_instances(&service) {
                return;
            }
            match self
                .consumer(WORK_STREAM, durable.clone(), config.clone())
                .await
            {
                Ok(consumer) => break consumer,
                Err(reason) => {
                    slog::warn!(self.log, "cannot open a work consumer";
                        "service" => &service, "reason" => reason);
                    tokio::time::sleep(RETRY).await;
                }
            }
        };
        while self.hub.has_instances(&service) {
            let notified = self.hub.slots_changed().notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let free = self.hub.free_slots(&service).min(MAX_BATCH);
            if free == 0 {
                tokio::select! {
                    () = notified => {}
                    () = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
                continue;
            }
            let batch = consumer
                .batch()
                .max_messages(free)
                .expires(PULL_EXPIRES)
                .messages()
                .await;
            let mut batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    slog::debug!(self.log, "pull failed"; "service" => &service, "error" => %e);
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            };
            while let Some(message) = batch.next().await {
                match message {
                    Ok(message) => self.take_one(&service, message),
                    Err(e) => {
                        slog::debug!(self.log, "pull ended"; "service" => &service, "error" => %e);
                        break;
                    }
                }
            }
        }
    }

    /// One message of work: held, then handed to the router.
    fn take_one(self: &Arc<Self>, service: &str, message: Message) {
        let delivered = message
            .info()
            .map(|i| u32::try_from(i.delivered).unwrap_or(1))
            .unwrap_or(1);
        let Some(reply) = message.reply.clone() else {
            return;
        };
        let answer_to = message
            .headers
            .as_ref()
            .and_then(|h| h.get(ORIGIN_HEADER))
            .and_then(|v| AnswerTo::parse(v.as_str()));
        let envelope = std::str::from_utf8(&message.payload)
            .ok()
            .and_then(|text| decode(text).ok());
        let Some(envelope) = envelope else {
            slog::warn!(self.log, "a backplane message is not a frame; dropped");
            actix_rt::spawn(self.clone().settle(reply, AckKind::Term));
            return;
        };
        let ticket = self.hold(reply, answer_to);
        self.hub.take_remote(ticket, service, envelope, delivered);
    }

    /// Takes answers for instance `key` while it is connected here.
    async fn take_answers(self: Arc<Self>, key: InstanceKey) {
        let durable = answer_durable(&key);
        let config = pull::Config {
            durable_name: Some(durable.clone()),
            filter_subject: service_answer_subject(&key),
            ack_policy: AckPolicy::Explicit,
            ack_wait: Duration::from_millis(self.config.ack_wait_ms),
            max_deliver: -1,
            inactive_threshold: ANSWER_CONSUMER_IDLE,
            ..Default::default()
        };
        let consumer = loop {
            if !self.hub.is_connected(&key) {
                return;
            }
            match self
                .consumer(ANSWER_STREAM, durable.clone(), config.clone())
                .await
            {
                Ok(consumer) => break consumer,
                Err(reason) => {
                    slog::warn!(self.log, "cannot open an answer consumer";
                        "service" => &key.service, "reason" => reason);
                    tokio::time::sleep(RETRY).await;
                }
            }
        };
        while self.hub.is_connected(&key) {
            let notified = self.hub.slots_changed().notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let room = MAX_ANSWERS_HELD.saturating_sub(self.hub.remote_answers_held(&key));
            if room == 0 {
                tokio::select! {
                    () = notified => {}
                    () = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
                continue;
            }
            let batch = consumer
                .batch()
                .max_messages(room)
                .expires(PULL_EXPIRES)
                .messages()
                .await;
            let mut batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    slog::debug!(self.log, "answer pull failed"; "error" => %e);
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            };
            while let Some(message) = batch.next().await {
                let Ok(message) = message else {
                    break;
                };
                let Some(reply) = message.reply.clone() else {
                    continue;
                };
                let envelope = std::str::from_utf8(&message.payload)
                    .ok()
                    .and_then(|text| decode(text).ok());
                let Some(envelope) = envelope else {
                    actix_rt::spawn(self.clone().settle(reply, AckKind::Term));
                    continue;
                };
                let ticket = self.hold(reply, None);
                self.hub.remote_answer(&key, envelope, ticket);
            }
        }
    }
}
