//! Cluster mode, the router's side: work accepted here is forwarded to the
//! backplane, work taken from the backplane runs on local connections, and
//! answers travel back by ticket. Still pure: a [`Ticket`] is a number the
//! I/O layer chose for one backplane message; no NATS type comes in here.

use std::collections::HashSet;

use ms_protocol::{Body, Envelope, ErrorCode, Json, MessageId, Payload, WireError};

use super::job::{Job, JobKind, JobState, weight};
use super::service::Service;
use super::{Confirm, ConnId, Effect, Forward, InstanceKey, JobId, Origin, RemoteDone, Router};

/// One backplane message this node holds, named by the I/O layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub u64);

impl Router {
    /// Switches to cluster mode: accepted requests and events leave as
    /// [`Effect::Forward`], the queues hold only work taken with
    /// [`Router::take_remote`], and a dropped connection hands its work
    /// back ([`RemoteDone::HandBack`]) instead of queueing it again.
    pub fn forward_to_backplane(&mut self) {
        self.forwarding = true;
    }

    /// What another node said about service `name` (its instances' routes
    /// and topics): requests to it are admitted, events for its topics are
    /// forwarded to it, and it counts as seen until `service_ttl_ms` after
    /// the last word about it.
    pub fn learn_service(&mut self, name: &str, routes: &[String], topics: &[String], now: u64) {
        if !self.services.contains_key(name) && self.services.len() >= self.limits.max_services {
            return;
        }
        let service = self
            .services
            .entry(name.to_owned())
            .or_insert_with(|| Service::idle(now));
        service.ever_connected = true;
        service.known_routes.extend(routes.iter().cloned());
        service.topics.extend(topics.iter().cloned());
        if service.conns.is_empty() {
            service.idle_since = Some(now);
        }
    }

    /// Records a request accepted in cluster mode and forwards it; the
    /// record (without its payload) answers the caller at the deadline if
    /// no answer came back by then.
    pub(super) fn forward_request(
        &mut self,
        origin: Origin,
        envelope: Envelope,
        deadline: u64,
        now: u64,
        confirm: Option<ConnId>,
        effects: &mut Vec<Effect>,
    ) {
        let Body::Request(request) = &envelope.body else {
            return;
        };
        let target = request.to.clone();
        let mut kept = envelope.clone();
        if let Body::Request(r) = &mut kept.body {
            r.payload = Payload::Inline(Json::null());
        }
        let job_weight = weight(&kept);
        self.hold(Job {
            envelope: kept,
            target: target.clone(),
            kind: JobKind::Request {
                origin: origin.clone(),
                route: request.route.clone(),
            },
            deadline: Some(deadline),
            accepted_at: now,
            deliveries: 0,
            state: JobState::Forwarded,
            weight: job_weight,
            remote: None,
        });
        self.services
            .entry(target.clone())
            .or_insert_with(|| Service::idle(now));
        self.count_request(&target, &request.route);
        let sender = match &origin {
            Origin::Service(key) => format!("{}/{}", key.service, key.instance),
            Origin::Http(_) | Origin::Remote(_) => "http".to_owned(),
        };
        effects.push(Effect::Forward(Forward {
            envelope,
            sender,
            targets: vec![target],
            origin: Some(origin),
            confirm: confirm.map(Confirm::Conn),
        }));
    }

    /// The backplane refused a forwarded request: its caller gets `error`.
    pub fn forward_failed(
        &mut self,
        origin: &Origin,
        id: &MessageId,
        error: WireError,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        if let Some(job_id) = self.forwarded(origin, id) {
            self.fail(job_id, error, &mut effects);
        }
        effects
    }

    /// The answer to a request this node forwarded for `origin` came back
    /// (an HTTP caller's; a service's arrives by [`Router::remote_answer`]).
    pub fn forwarded_answer(&mut self, origin: &Origin, answer: Envelope, now: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        let Some(id) = answer.correlation_id().cloned() else {
            return effects;
        };
        let Some(job_id) = self.forwarded(origin, &id) else {
            return effects;
        };
        let Some(job) = self.jobs.get(&job_id) else {
            return effects;
        };
        let request = job.envelope.clone();
        let (target, route) = (job.target.clone(), job.route().to_owned());
        let latency = now.saturating_sub(job.accepted_at);
        self.observe_latency(&target, &route, latency);
        let result = match answer.body {
            Body::Reply(reply) => Ok((reply.payload, answer.headers, answer.id)),
            Body::Error(report) => {
                self.count_error(&target, &route, &report.error.code);
                Err(report.error)
            }
            _ => return effects,
        };
        self.answer_with(origin, &request, result, &mut effects);
        self.remove_job(job_id);
        effects
    }

    /// An answer for instance `key` came from the backplane as `ticket`:
    /// it is sent to the instance and kept until the instance acks it
    /// (then [`RemoteDone::Settled`]); the record of the request, if this
    /// node forwarded it, is done.
    pub fn remote_answer(
        &mut self,
        key: &InstanceKey,
        envelope: Envelope,
        ticket: Ticket,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        if let Some(id) = envelope.correlation_id().cloned()
            && let Some(job_id) = self.forwarded(&Origin::Service(key.clone()), &id)
        {
            self.remove_job(job_id);
        }
        let answers = self.unacked_answers.entry(key.clone()).or_default();
        if let Some(entry) = answers.iter_mut().find(|(e, _, _)| e.id == envelope.id) {
            entry.2 = Some(ticket);
        } else {
            let answer_weight = weight(&envelope);
            answers.push_back((envelope.clone(), answer_weight, Some(ticket)));
            self.held_bytes = self.held_bytes.saturating_add(answer_weight);
        }
        if let Some(&conn) = self.instances.get(key) {
            effects.push(Effect::Send { conn, envelope });
        }
        effects
    }

    /// A request or event for service `target` taken from the backplane as
    /// `ticket`, delivered `delivered` times so far (this one included):
    /// queued for a local connection, answered `timeout` (or dropped) past
    /// its deadline, handed back when no local connection serves it.
    pub fn take_remote(
        &mut self,
        ticket: Ticket,
        target: &str,
        envelope: Envelope,
        delivered: u32,
        now: u64,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let (kind, origin) = match &envelope.body {
            Body::Request(request) => (
                JobKind::Request {
                    origin: Origin::Remote(ticket),
                    route: request.route.clone(),
                },
                Some(Origin::Remote(ticket)),
            ),
            Body::Event(_) => (JobKind::Event, None),
            _ => {
                effects.push(Effect::RemoteDone {
                    ticket,
                    done: RemoteDone::Settled,
                });
                return effects;
            }
        };
        let deadline = envelope.headers.deadline_ms();
        if deadline.is_some_and(|d| d <= now) {
            match origin {
                Some(origin) => {
                    self.counters.timeouts += 1;
                    let error =
                        WireError::new(ErrorCode::Timeout, "the deadline passed before a reply");
                    self.answer(&origin, &envelope, Err(error), &mut effects);
                }
                None => effects.push(Effect::RemoteDone {
                    ticket,
                    done: RemoteDone::Settled,
                }),
            }
            return effects;
        }
        let route = match &kind {
            JobKind::Request { route, .. } => Some(route.as_str()),
            JobKind::Event => None,
        };
        let serves = self.services.get(target).is_some_and(|s| {
            s.conns
                .iter()
                .filter_map(|c| self.conns.get(c))
                .any(|c| route.is_none_or(|r| c.routes.contains(r)))
        });
        if !serves {
            effects.push(Effect::RemoteDone {
                ticket,
                done: RemoteDone::HandBack,
            });
            return effects;
        }
        let job_weight = weight(&envelope);
        let job_id = self.hold(Job {
            envelope,
            target: target.to_owned(),
            kind,
            deadline,
            accepted_at: now,
            deliveries: delivered.saturating_sub(1),
            state: JobState::Queued,
            weight: job_weight,
            remote: Some(ticket),
        });
        self.remote_jobs.insert(ticket, job_id);
        if let Some(service) = self.services.get_mut(target) {
            service.queue.push_back(job_id);
        }
        self.pump(target, &mut effects);
        effects
    }

    /// How many more deliveries the local connections of `service` could
    /// take now, less what already waits for them: how much work to take
    /// from the backplane.
    pub fn free_slots(&self, service: &str) -> usize {
        let Some(s) = self.services.get(service) else {
            return 0;
        };
        let free: usize = s
            .conns
            .iter()
            .filter_map(|c| self.conns.get(c))
            .map(|c| c.max_in_flight.saturating_sub(c.in_flight.len()))
            .sum();
        free.saturating_sub(s.queue.len())
    }

    /// Whether `service` has an instance connected here.
    pub fn has_instances(&self, service: &str) -> bool {
        self.services
            .get(service)
            .is_some_and(|s| !s.conns.is_empty())
    }

    /// Whether instance `key` is connected here.
    pub fn is_connected(&self, key: &InstanceKey) -> bool {
        self.instances.contains_key(key)
    }

    /// The connection instance `key` has now, if any.
    pub fn conn_of(&self, key: &InstanceKey) -> Option<ConnId> {
        self.instances.get(key).copied()
    }

    /// Answers for instance `key` held here, unacked, from the backplane.
    pub fn remote_answers_held(&self, key: &InstanceKey) -> usize {
        self.unacked_answers
            .get(key)
            .map_or(0, |a| a.iter().filter(|(_, _, t)| t.is_some()).count())
    }

    /// Every backplane message still held (jobs and unacked answers): the
    /// I/O layer keeps these alive and gives back any other it holds.
    pub fn held_tickets(&self) -> HashSet<Ticket> {
        let mut held: HashSet<Ticket> = self.remote_jobs.keys().copied().collect();
        for answers in self.unacked_answers.values() {
            held.extend(answers.iter().filter_map(|(_, _, t)| *t));
        }
        held
    }

    /// The forwarded-request record of (`origin`, `id`).
    fn forwarded(&self, origin: &Origin, id: &MessageId) -> Option<JobId> {
        self.live_request(origin, id).filter(|job_id| {
            self.jobs
                .get(job_id)
                .is_some_and(|j| j.state == JobState::Forwarded)
        })
    }

    /// Gives a job taken from the backplane back to it; false (and nothing
    /// done) for any other job.
    pub(super) fn hand_back(&mut self, job_id: JobId, effects: &mut Vec<Effect>) -> bool {
        let Some(ticket) = self.jobs.get(&job_id).and_then(|j| j.remote) else {
            return false;
        };
        effects.push(Effect::RemoteDone {
            ticket,
            done: RemoteDone::HandBack,
        });
        self.remove_job(job_id);
        true
    }

    /// Instance `key` has no connection here any more: answers it has not
    /// acked that came from the backplane go back to it, to reach the
    /// instance wherever it connects next.
    pub(super) fn hand_back_answers(&mut self, key: &InstanceKey, effects: &mut Vec<Effect>) {
        if self.instances.contains_key(key) {
            return;
        }
        let Some(answers) = self.unacked_answers.get_mut(key) else {
            return;
        };
        let mut freed = 0u64;
        answers.retain(|(_, w, ticket)| match ticket {
            Some(ticket) => {
                effects.push(Effect::RemoteDone {
                    ticket: *ticket,
                    done: RemoteDone::HandBack,
                });
                freed = freed.saturating_add(*w);
                false
            }
            None => true,
        });
        if answers.is_empty() {
            self.unacked_answers.remove(key);
        }
        self.held_bytes = self.held_bytes.saturating_sub(freed);
    }

    /// Service `name` lost its last local connection: work taken from the
    /// backplane for it goes back.
    pub(super) fn hand_back_stranded(&mut self, name: &str, effects: &mut Vec<Effect>) {
        let stranded: Vec<JobId> = match self.services.get(name) {
            Some(s) if s.conns.is_empty() => s
                .queue
                .iter()
                .copied()
                .filter(|j| self.jobs.get(j).is_some_and(|j| j.remote.is_some()))
                .collect(),
            _ => return,
        };
        for job_id in stranded {
            self.hand_back(job_id, effects);
        }
    }
}
