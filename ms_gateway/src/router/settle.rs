//! Ending work: settlements from services, deadlines, answers to callers,
//! and forgetting what nobody needs any more.

use ms_protocol::{Body, Envelope, ErrorCode, Headers, MessageId, Payload, WireError};

use super::job::{JobKind, JobState, weight};
use super::{ConnId, Effect, Failure, JobId, Origin, Outcome, Peer, RemoteDone, Router};

impl Router {
    /// A `reply` or `error` arrived on `conn`. It settles a request only
    /// when that request is delivered to this very connection; one for a
    /// request delivered elsewhere settles nothing and is answered
    /// `bad_request`; one for no live request is a duplicate (or a late
    /// answer) and is dropped. All three are acknowledged, so the sender
    /// stops sending them again.
    pub(super) fn settlement(
        &mut self,
        conn: ConnId,
        envelope: Envelope,
        now: u64,
        effects: &mut Vec<Effect>,
    ) {
        effects.push(Effect::Ack {
            conn,
            id: envelope.id.clone(),
        });
        let Some(correlation_id) = envelope.correlation_id().cloned() else {
            return;
        };
        let delivered_here = self
            .conns
            .get(&conn)
            .and_then(|c| c.in_flight.get(&correlation_id).copied())
            .filter(|job_id| {
                self.jobs
                    .get(job_id)
                    .is_some_and(|j| matches!(j.kind, JobKind::Request { .. }))
            });
        if let Some(job_id) = delivered_here {
            self.settle_request(job_id, envelope, now, effects);
        } else if let Some(jobs) = self.live_requests.get(&correlation_id) {
            self.counters.settlements_refused += 1;
            let (service, route) = jobs
                .first()
                .and_then(|j| self.jobs.get(j))
                .map(|j| (j.target.clone(), j.route().to_owned()))
                .unwrap_or_default();
            let error = WireError::new(
                ErrorCode::BadRequest,
                format!(
                    "request {correlation_id} is not delivered to this connection; \
                     only the connection holding it can settle it"
                ),
            );
            effects.push(Effect::Failed(Failure {
                peer: Peer::Conn(conn),
                id: envelope.id.clone(),
                trace_id: envelope.headers.trace_id().map(str::to_owned),
                service,
                route,
                error: error.clone(),
            }));
            effects.push(Effect::Send {
                conn,
                envelope: Envelope::error(Some(&envelope.id), error),
            });
        }
    }

    fn settle_request(
        &mut self,
        job_id: JobId,
        answer: Envelope,
        now: u64,
        effects: &mut Vec<Effect>,
    ) {
        let Some(job) = self.jobs.get(&job_id) else {
            return;
        };
        let target = job.target.clone();
        if let (JobState::InFlight(_), JobKind::Request { origin, route }) = (&job.state, &job.kind)
        {
            let latency = now.saturating_sub(job.accepted_at);
            let origin = origin.clone();
            let route = route.clone();
            let request = job.envelope.clone();
            self.observe_latency(&target, &route, latency);
            let result = match answer.body {
                Body::Reply(reply) => Ok((reply.payload, answer.headers, answer.id)),
                Body::Error(report) => {
                    self.count_error(&target, &route, &report.error.code);
                    Err(report.error)
                }
                _ => return,
            };
            self.answer_with(&origin, &request, result, effects);
        }
        self.remove_job(job_id);
        self.pump(&target, effects);
    }

    pub(super) fn expire(&mut self, job_id: JobId, effects: &mut Vec<Effect>) {
        let Some(job) = self.jobs.get(&job_id) else {
            return;
        };
        match (&job.kind, job.state) {
            (JobKind::Event, JobState::InFlight(conn)) => {
                // The subscriber holds it: let its ack or its drop settle it,
                // but do not deliver it again.
                if let Some(job) = self.jobs.get_mut(&job_id) {
                    job.state = JobState::Expired(conn);
                }
            }
            (JobKind::Event, _) => {
                if let Some(ticket) = job.remote {
                    // Nobody waits for it: the backplane may forget it too.
                    effects.push(Effect::RemoteDone {
                        ticket,
                        done: RemoteDone::Settled,
                    });
                }
                self.remove_job(job_id);
            }
            (JobKind::Request { .. }, JobState::Expired(_)) => {}
            (JobKind::Request { origin, route }, state) => {
                let error = if self.is_never_seen(&job.target) {
                    unknown_service(&job.target, "before the deadline")
                } else {
                    WireError::new(ErrorCode::Timeout, "the deadline passed before a reply")
                };
                if error.code == ErrorCode::Timeout {
                    self.counters.timeouts += 1;
                }
                if let JobState::InFlight(conn) = state {
                    // The slot stays taken until the service settles it or drops:
                    // the service is still working on it.
                    let origin = origin.clone();
                    let request = job.envelope.clone();
                    let (target, route) = (job.target.clone(), route.clone());
                    self.count_error(&target, &route, &error.code);
                    self.answer(&origin, &request, Err(error), effects);
                    if let Some(job) = self.jobs.get_mut(&job_id) {
                        job.state = JobState::Expired(conn);
                    }
                } else {
                    self.fail(job_id, error, effects);
                }
            }
        }
    }

    /// Answers a request still queued for a service no instance has ever
    /// registered with `unknown_service`; one whose service has appeared
    /// meanwhile goes on to its deadline.
    pub(super) fn refuse_if_still_unknown(&mut self, job_id: JobId, effects: &mut Vec<Effect>) {
        let Some(job) = self.jobs.get(&job_id) else {
            return;
        };
        if matches!(job.kind, JobKind::Request { .. })
            && job.state == JobState::Queued
            && self.is_never_seen(&job.target)
        {
            let wait = format!("within {} ms", self.limits.unknown_service_wait_ms);
            let error = unknown_service(&job.target, &wait);
            self.fail(job_id, error, effects);
        }
    }

    fn is_never_seen(&self, service: &str) -> bool {
        !self.services.get(service).is_some_and(|s| s.ever_connected)
    }

    /// Answers a queued or in-flight request with `error` (or drops an
    /// event) and forgets it.
    pub(super) fn fail(&mut self, job_id: JobId, error: WireError, effects: &mut Vec<Effect>) {
        let Some(job) = self.jobs.get(&job_id) else {
            return;
        };
        if let JobKind::Request { origin, route } = &job.kind {
            let origin = origin.clone();
            let request = job.envelope.clone();
            let (target, route) = (job.target.clone(), route.clone());
            self.count_error(&target, &route, &error.code);
            self.answer(&origin, &request, Err(error), effects);
        }
        self.remove_job(job_id);
    }

    pub(super) fn answer(
        &mut self,
        origin: &Origin,
        request: &Envelope,
        result: Result<Payload, WireError>,
        effects: &mut Vec<Effect>,
    ) {
        let result = result.map(|payload| (payload, Headers::new(), MessageId::random()));
        self.answer_with(origin, request, result, effects);
    }

    pub(super) fn answer_with(
        &mut self,
        origin: &Origin,
        request: &Envelope,
        result: Result<(Payload, Headers, MessageId), WireError>,
        effects: &mut Vec<Effect>,
    ) {
        let mut headers = Headers::new();
        if let Some(trace_id) = request.headers.trace_id() {
            headers.set_trace_id(trace_id);
        }
        if let Err(error) = &result {
            let peer = match origin {
                Origin::Http(_) => None,
                Origin::Service(key) => Some(Peer::Instance(key.clone())),
                Origin::Remote(_) => Some(Peer::Backplane),
            };
            if let (Some(peer), Body::Request(r)) = (peer, &request.body) {
                effects.push(Effect::Failed(Failure {
                    peer,
                    id: request.id.clone(),
                    trace_id: request.headers.trace_id().map(str::to_owned),
                    service: r.to.clone(),
                    route: r.route.clone(),
                    error: error.clone(),
                }));
            }
        }
        match origin {
            Origin::Remote(ticket) => {
                let envelope = match result {
                    Ok((payload, reply_headers, reply_id)) => {
                        let mut reply = Envelope::reply_to(&request.id, payload);
                        reply.id = reply_id;
                        for (k, v) in reply_headers.iter() {
                            headers.insert(k, v);
                        }
                        reply.with_headers(headers)
                    }
                    Err(error) => Envelope::error(Some(&request.id), error).with_headers(headers),
                };
                effects.push(Effect::RemoteAnswer {
                    ticket: *ticket,
                    envelope,
                });
            }
            Origin::Http(caller) => {
                let outcome = match result {
                    Ok((payload, reply_headers, _)) => Outcome::Reply {
                        payload,
                        headers: reply_headers,
                    },
                    Err(error) => Outcome::Failed(error),
                };
                effects.push(Effect::Answer {
                    caller: *caller,
                    outcome,
                });
            }
            Origin::Service(key) => {
                let envelope = match result {
                    Ok((payload, reply_headers, reply_id)) => {
                        let mut reply = Envelope::reply_to(&request.id, payload);
                        reply.id = reply_id;
                        for (k, v) in reply_headers.iter() {
                            headers.insert(k, v);
                        }
                        reply.with_headers(headers)
                    }
                    Err(error) => Envelope::error(Some(&request.id), error).with_headers(headers),
                };
                let answer_weight = weight(&envelope);
                self.held_bytes = self.held_bytes.saturating_add(answer_weight);
                let answers = self.unacked_answers.entry(key.clone()).or_default();
                answers.push_back((envelope.clone(), answer_weight, None));
                let mut freed = 0u64;
                while answers.len() > self.limits.max_unacked_per_instance {
                    if let Some((_, w, _)) = answers.pop_front() {
                        freed = freed.saturating_add(w);
                    }
                }
                self.held_bytes = self.held_bytes.saturating_sub(freed);
                if let Some(&conn) = self.instances.get(key) {
                    effects.push(Effect::Send { conn, envelope });
                }
            }
        }
    }

    pub(super) fn remove_job(&mut self, job_id: JobId) {
        let Some(job) = self.jobs.remove(&job_id) else {
            return;
        };
        self.held_bytes = self.held_bytes.saturating_sub(job.weight);
        if let Some(ticket) = job.remote {
            self.remote_jobs.remove(&ticket);
        }
        if let Some(deadline) = job.deadline {
            self.deadlines.remove(&(deadline, job_id));
        }
        if matches!(job.kind, JobKind::Request { .. })
            && let Some(jobs) = self.live_requests.get_mut(&job.envelope.id)
        {
            jobs.retain(|j| *j != job_id);
            if jobs.is_empty() {
                self.live_requests.remove(&job.envelope.id);
            }
        }
        match job.state {
            JobState::InFlight(conn) | JobState::Expired(conn) => {
                if let Some(c) = self.conns.get_mut(&conn)
                    && c.in_flight.get(&job.envelope.id) == Some(&job_id)
                {
                    c.in_flight.remove(&job.envelope.id);
                    c.in_flight_bytes = c.in_flight_bytes.saturating_sub(job.weight);
                }
            }
            JobState::Forwarded => {}
            JobState::Queued => {
                if let Some(service) = self.services.get_mut(&job.target) {
                    service.queue.retain(|j| *j != job_id);
                }
            }
        }
    }

    /// Forgets service names without an instance for longer than the TTL,
    /// with their subscriptions and the work still queued for them (events
    /// are dropped and counted; requests are answered as at their deadline),
    /// and the unacknowledged answers of their instances.
    pub(super) fn forget_idle_services(&mut self, now: u64, effects: &mut Vec<Effect>) {
        let ttl = self.limits.service_ttl_ms;
        let idle: Vec<String> = self
            .services
            .iter()
            .filter(|(_, s)| {
                s.conns.is_empty() && s.idle_since.is_some_and(|t| now.saturating_sub(t) >= ttl)
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in idle {
            let queued: Vec<JobId> = self
                .services
                .get_mut(&name)
                .map(|s| s.queue.drain(..).collect())
                .unwrap_or_default();
            for job_id in queued {
                if let Some(job) = self.jobs.get_mut(&job_id) {
                    job.state = JobState::Queued;
                    if matches!(job.kind, JobKind::Event) {
                        self.counters.events_dropped += 1;
                    }
                }
                self.expire_now(job_id, effects);
            }
            self.services.remove(&name);
            let mut freed = 0u64;
            self.unacked_answers.retain(|key, answers| {
                let keep = key.service != name;
                if !keep {
                    freed = answers
                        .iter()
                        .fold(freed, |f, (_, w, _)| f.saturating_add(*w));
                }
                keep
            });
            self.held_bytes = self.held_bytes.saturating_sub(freed);
            self.counters.services_forgotten += 1;
        }
    }

    /// Ends a queued job as if its deadline had passed.
    fn expire_now(&mut self, job_id: JobId, effects: &mut Vec<Effect>) {
        // Out of the queue already: `expire` on a queued request fails it,
        // whose `remove_job` finds nothing more to take out of the queue.
        self.expire(job_id, effects);
        self.remove_job(job_id);
    }
}

/// The answer for a request whose service never registered `when`.
fn unknown_service(service: &str, when: &str) -> WireError {
    WireError::new(
        ErrorCode::UnknownService,
        format!("no instance of service {service:?} connected {when}"),
    )
}
