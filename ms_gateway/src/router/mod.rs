//! The routing state of the gateway as pure logic: queues, in-flight tables,
//! deadlines, redelivery and acknowledgements, with no I/O and no clock.
//!
//! Every operation takes the current time in milliseconds since the Unix
//! epoch and returns the [`Effect`]s the I/O layer must carry out (frames to
//! send on a connection, acks to send, answers to HTTP callers). The I/O
//! layer (the crate's private `hub`) owns one `Router` behind a mutex and runs those
//! effects in order while it holds the lock, so frames for one connection
//! leave in the order the router decided them.

mod job;
mod outcome;
mod service;

pub use job::JobId;
pub use outcome::{Effect, Outcome};

use std::collections::{BTreeSet, HashMap, VecDeque};

use ms_protocol::{
    Body, Envelope, ErrorCode, Event, Headers, Hello, MessageId, Payload, Request, WireError,
};

use crate::metrics::Counters;
use job::{Job, JobKind, JobState};
use service::{Conn, Service};

/// Identifies one websocket connection for the router's lifetime.
pub type ConnId = u64;

/// Identifies one HTTP caller waiting for an answer.
pub type CallerId = u64;

/// One instance of a service: the pair named in its `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceKey {
    /// `hello.service`.
    pub service: String,
    /// `hello.instance`.
    pub instance: String,
}

/// Who sent a request, so its answer can find the way back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An HTTP caller of `POST /v1/invoke`.
    Http(CallerId),
    /// A service instance; its answer goes to whichever connection that
    /// instance has when the answer is ready.
    Service(InstanceKey),
}

/// The router's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouterLimits {
    /// Most requests and events waiting for one service; past it new work is
    /// refused with `overloaded`. Redeliveries are not counted against it:
    /// they were accepted already.
    pub queue_limit: usize,
    /// Deadline given to a request that carries no `deadline_ms`, in ms from
    /// its arrival.
    pub default_timeout_ms: u64,
    /// Most unacknowledged answers kept for one service instance that is
    /// away; past it the oldest is dropped.
    pub max_unacked_per_instance: usize,
}

impl Default for RouterLimits {
    fn default() -> Self {
        Self {
            queue_limit: 1024,
            default_timeout_ms: 30_000,
            max_unacked_per_instance: 10_000,
        }
    }
}

/// A gauge reading of the router, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gauges {
    /// Connected instances per service name.
    pub connections: Vec<(String, usize)>,
    /// Unsettled requests and unacked events delivered, per service name.
    pub in_flight: Vec<(String, usize)>,
    /// Work waiting in the queue, per service name.
    pub queued: Vec<(String, usize)>,
}

/// The gateway's routing state. See the module documentation.
#[derive(Debug)]
pub struct Router {
    limits: RouterLimits,
    next_job: u64,
    jobs: HashMap<JobId, Job>,
    /// Requests accepted and not yet settled, by request id: a reply or error
    /// settles the request wherever it is (queued again after a drop, or in
    /// flight on another connection).
    live_requests: HashMap<MessageId, JobId>,
    deadlines: BTreeSet<(u64, JobId)>,
    services: HashMap<String, Service>,
    conns: HashMap<ConnId, Conn>,
    /// The connection each connected instance has now.
    instances: HashMap<InstanceKey, ConnId>,
    /// Answers sent to a service instance and not yet acknowledged by it;
    /// sent again when the instance connects again.
    unacked_answers: HashMap<InstanceKey, VecDeque<Envelope>>,
    draining: bool,
    counters: Counters,
}

impl Router {
    /// An empty router with these bounds.
    pub fn new(limits: RouterLimits) -> Self {
        Self {
            limits,
            next_job: 1,
            jobs: HashMap::new(),
            live_requests: HashMap::new(),
            deadlines: BTreeSet::new(),
            services: HashMap::new(),
            conns: HashMap::new(),
            instances: HashMap::new(),
            unacked_answers: HashMap::new(),
            draining: false,
            counters: Counters::default(),
        }
    }

    /// The counters kept since start.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Current gauges, sorted by service name.
    pub fn gauges(&self) -> Gauges {
        let mut gauges = Gauges::default();
        let mut names: Vec<&String> = self.services.keys().collect();
        names.sort();
        for name in names {
            let Some(service) = self.services.get(name) else {
                continue;
            };
            let in_flight = service
                .conns
                .iter()
                .filter_map(|c| self.conns.get(c))
                .map(|c| c.in_flight.len())
                .sum();
            gauges.connections.push((name.clone(), service.conns.len()));
            gauges.in_flight.push((name.clone(), in_flight));
            gauges.queued.push((name.clone(), service.queue.len()));
        }
        gauges
    }

    /// Unsettled requests delivered to services whose callers still wait,
    /// over all connections (unacked events are not counted: nobody waits
    /// for them).
    pub fn requests_in_flight(&self) -> usize {
        self.jobs
            .values()
            .filter(|j| {
                matches!(j.kind, JobKind::Request { .. })
                    && matches!(j.state, JobState::InFlight(_))
            })
            .count()
    }

    /// A service instance said `hello` on connection `conn`: it starts
    /// taking work, and answers it has not acknowledged are sent again.
    pub fn connect(&mut self, conn: ConnId, hello: &Hello, _now: u64) -> Vec<Effect> {
        let key = InstanceKey {
            service: hello.service.clone(),
            instance: hello.instance.clone(),
        };
        let service = self.services.entry(key.service.clone()).or_default();
        service.ever_connected = true;
        service.known_routes.extend(hello.routes.iter().cloned());
        service.topics.extend(hello.topics.iter().cloned());
        service.conns.push(conn);
        self.conns.insert(conn, Conn::new(key.clone(), hello));
        self.instances.insert(key.clone(), conn);
        self.counters.sessions_opened += 1;

        let mut effects = Vec::new();
        if let Some(answers) = self.unacked_answers.get(&key) {
            for envelope in answers {
                effects.push(Effect::Send {
                    conn,
                    envelope: envelope.clone(),
                });
            }
        }
        self.pump(&key.service, &mut effects);
        effects
    }

    /// Connection `conn` closed: what it held unsettled goes back to the
    /// front of its service's queue, to be delivered again with `attempt`
    /// incremented.
    pub fn disconnect(&mut self, conn: ConnId, _now: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        let Some(gone) = self.conns.remove(&conn) else {
            return effects;
        };
        if self.instances.get(&gone.key) == Some(&conn) {
            self.instances.remove(&gone.key);
        }
        let service_name = gone.key.service.clone();
        let mut back: Vec<JobId> = Vec::new();
        for job_id in gone.in_flight.values() {
            let Some(job) = self.jobs.get_mut(job_id) else {
                continue;
            };
            match job.state {
                JobState::Expired => {
                    self.remove_job(*job_id);
                }
                _ => {
                    job.state = JobState::Queued;
                    back.push(*job_id);
                }
            }
        }
        // Oldest first, so the queue keeps arrival order.
        back.sort();
        if let Some(service) = self.services.get_mut(&service_name) {
            service.conns.retain(|c| *c != conn);
            for job_id in back.into_iter().rev() {
                service.queue.push_front(job_id);
            }
        }
        self.pump(&service_name, &mut effects);
        effects
    }

    /// `POST /v1/invoke/{to}/{route}` from HTTP caller `caller`.
    ///
    /// `id` is the request id the gateway chose; `headers` carry the
    /// caller's trace id and deadline.
    pub fn invoke_from_http(
        &mut self,
        caller: CallerId,
        id: MessageId,
        request: Request,
        headers: Headers,
        now: u64,
    ) -> Vec<Effect> {
        let envelope = Envelope {
            id,
            headers,
            body: Body::Request(Request {
                from: Some("http".to_owned()),
                ..request
            }),
        };
        let mut effects = Vec::new();
        self.accept_request(Origin::Http(caller), envelope, now, &mut effects);
        effects
    }

    /// `POST /v1/publish/{topic}`: fans the event out.
    ///
    /// # Errors
    /// `overloaded` when a subscriber's queue is full or the gateway is
    /// shutting down; nothing is queued then.
    pub fn publish_from_http(
        &mut self,
        envelope: Envelope,
        now: u64,
    ) -> Result<Vec<Effect>, WireError> {
        let mut effects = Vec::new();
        self.accept_event(envelope, now, &mut effects)?;
        Ok(effects)
    }

    /// A decoded frame arrived on connection `conn` after its `hello`.
    pub fn frame(&mut self, conn: ConnId, envelope: Envelope, now: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        let Some(key) = self.conns.get(&conn).map(|c| c.key.clone()) else {
            return effects;
        };
        match &envelope.body {
            Body::Request(_) => {
                let id = envelope.id.clone();
                effects.push(Effect::Ack {
                    conn,
                    id: id.clone(),
                });
                if self.live_requests.contains_key(&id) {
                    // Sent again after a lost ack: we hold it already.
                    return effects;
                }
                let mut envelope = envelope;
                if let Body::Request(request) = &mut envelope.body {
                    request.from = Some(format!("{}/{}", key.service, key.instance));
                }
                self.accept_request(Origin::Service(key), envelope, now, &mut effects);
            }
            Body::Reply(_) | Body::Error(_) => {
                effects.push(Effect::Ack {
                    conn,
                    id: envelope.id.clone(),
                });
                if let Some(correlation_id) = envelope.correlation_id().cloned()
                    && let Some(job_id) = self.live_requests.get(&correlation_id).copied()
                {
                    self.settle_request(job_id, envelope, now, &mut effects);
                }
                // Otherwise a duplicate or an answer to nothing: dropped.
            }
            Body::Event(_) => {
                let id = envelope.id.clone();
                match self.accept_event(envelope, now, &mut effects) {
                    Ok(()) => effects.push(Effect::Ack { conn, id }),
                    Err(error) => effects.push(Effect::Send {
                        conn,
                        envelope: Envelope::error(Some(&id), error),
                    }),
                }
            }
            Body::Ack(ack) => {
                for id in &ack.ids {
                    self.acked(conn, &key, id, &mut effects);
                }
            }
            Body::Hello(_) | Body::Welcome(_) => {
                let kind = envelope.kind();
                effects.push(Effect::Send {
                    conn,
                    envelope: Envelope::error(
                        Some(&envelope.id),
                        WireError::new(
                            ErrorCode::BadRequest,
                            format!("a {kind} frame is not valid once the session is open"),
                        ),
                    ),
                });
            }
        }
        effects
    }

    /// Answers every request and drops every event whose deadline is before `now`.
    pub fn tick(&mut self, now: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        while let Some(&(deadline, job_id)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            self.expire(job_id, &mut effects);
        }
        effects
    }

    /// Starts a graceful shutdown: refuses new work and answers everything
    /// queued with `overloaded` (retryable). Work in flight stays until it is
    /// settled or [`Router::abandon_all`].
    pub fn begin_shutdown(&mut self) -> Vec<Effect> {
        self.draining = true;
        let mut effects = Vec::new();
        let queued: Vec<JobId> = self
            .services
            .values_mut()
            .flat_map(|s| std::mem::take(&mut s.queue))
            .collect();
        for job_id in queued {
            self.fail(
                job_id,
                WireError::new(ErrorCode::Overloaded, "the gateway is shutting down"),
                &mut effects,
            );
        }
        effects
    }

    /// Answers everything still held with `overloaded`: the last step of a shutdown.
    pub fn abandon_all(&mut self) -> Vec<Effect> {
        let mut effects = self.begin_shutdown();
        let held: Vec<JobId> = self.jobs.keys().copied().collect();
        for job_id in held {
            if matches!(
                self.jobs.get(&job_id).map(|j| &j.state),
                Some(JobState::Expired)
            ) {
                continue;
            }
            self.fail(
                job_id,
                WireError::new(ErrorCode::Overloaded, "the gateway is shutting down"),
                &mut effects,
            );
        }
        effects
    }

    fn accept_request(
        &mut self,
        origin: Origin,
        mut envelope: Envelope,
        now: u64,
        effects: &mut Vec<Effect>,
    ) {
        let Body::Request(request) = &envelope.body else {
            return;
        };
        let to = request.to.clone();
        let route = request.route.clone();
        let refuse = |router: &mut Self,
                      effects: &mut Vec<Effect>,
                      error: WireError,
                      envelope: &Envelope| {
            router.counters.count_error(&error.code);
            router.answer(&origin, envelope, Err(error), effects);
        };
        if self.draining {
            let error = WireError::new(ErrorCode::Overloaded, "the gateway is shutting down");
            refuse(self, effects, error, &envelope);
            return;
        }
        let service = self.services.entry(to.clone()).or_default();
        if service.ever_connected && !service.serves_route(&route, &self.conns) {
            let error = WireError::new(
                ErrorCode::UnknownRoute,
                format!("service {to:?} has no route {route:?}"),
            );
            refuse(self, effects, error, &envelope);
            return;
        }
        if service.queue.len() >= self.limits.queue_limit {
            let error = WireError::new(
                ErrorCode::Overloaded,
                format!(
                    "the queue of service {to:?} is full ({} waiting)",
                    self.limits.queue_limit
                ),
            );
            refuse(self, effects, error, &envelope);
            return;
        }
        let deadline = match envelope.headers.deadline_ms() {
            Some(deadline) => deadline,
            None => {
                let deadline = now.saturating_add(self.limits.default_timeout_ms);
                envelope.headers.set_deadline_ms(deadline);
                deadline
            }
        };
        let job_id = self.new_job_id();
        self.live_requests.insert(envelope.id.clone(), job_id);
        self.deadlines.insert((deadline, job_id));
        self.jobs.insert(
            job_id,
            Job {
                envelope,
                target: to.clone(),
                kind: JobKind::Request { origin, route },
                deadline: Some(deadline),
                accepted_at: now,
                deliveries: 0,
                state: JobState::Queued,
            },
        );
        self.counters.requests_accepted += 1;
        if let Some(service) = self.services.get_mut(&to) {
            service.queue.push_back(job_id);
        }
        self.pump(&to, effects);
    }

    fn accept_event(
        &mut self,
        envelope: Envelope,
        now: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<(), WireError> {
        let Body::Event(Event { topic, .. }) = &envelope.body else {
            return Ok(());
        };
        if self.draining {
            return Err(WireError::new(
                ErrorCode::Overloaded,
                "the gateway is shutting down",
            ));
        }
        let mut targets: Vec<String> = self
            .services
            .iter()
            .filter(|(_, s)| s.topics.contains(topic))
            .map(|(name, _)| name.clone())
            .collect();
        targets.sort();
        if let Some(full) = targets.iter().find(|name| {
            self.services
                .get(*name)
                .is_some_and(|s| s.queue.len() >= self.limits.queue_limit)
        }) {
            let error = WireError::new(
                ErrorCode::Overloaded,
                format!("the queue of service {full:?} is full"),
            );
            self.counters.count_error(&error.code);
            return Err(error);
        }
        self.counters.events_accepted += 1;
        let deadline = envelope.headers.deadline_ms();
        for target in targets {
            let job_id = self.new_job_id();
            if let Some(deadline) = deadline {
                self.deadlines.insert((deadline, job_id));
            }
            self.jobs.insert(
                job_id,
                Job {
                    envelope: envelope.clone(),
                    target: target.clone(),
                    kind: JobKind::Event,
                    deadline,
                    accepted_at: now,
                    deliveries: 0,
                    state: JobState::Queued,
                },
            );
            if let Some(service) = self.services.get_mut(&target) {
                service.queue.push_back(job_id);
            }
            self.pump(&target, effects);
        }
        Ok(())
    }

    /// Delivers queued work of `service_name` while some connection has room.
    fn pump(&mut self, service_name: &str, effects: &mut Vec<Effect>) {
        if self.draining {
            return;
        }
        loop {
            let Some(service) = self.services.get_mut(service_name) else {
                return;
            };
            let Some(&job_id) = service.queue.front() else {
                return;
            };
            let Some(job) = self.jobs.get(&job_id) else {
                service.queue.pop_front();
                continue;
            };
            let route = match &job.kind {
                JobKind::Request { route, .. } => Some(route.as_str()),
                JobKind::Event => None,
            };
            let Some(conn_id) = service.pick(&self.conns, route) else {
                return;
            };
            service.queue.pop_front();
            let Some(job) = self.jobs.get_mut(&job_id) else {
                continue;
            };
            let Some(conn) = self.conns.get_mut(&conn_id) else {
                continue;
            };
            job.deliveries += 1;
            job.state = JobState::InFlight(conn_id);
            let mut envelope = job.envelope.clone();
            envelope.headers.set_attempt(job.deliveries);
            conn.in_flight.insert(envelope.id.clone(), job_id);
            self.counters.delivered += 1;
            if job.deliveries > 1 {
                self.counters.redelivered += 1;
            }
            effects.push(Effect::Send {
                conn: conn_id,
                envelope,
            });
        }
    }

    fn acked(
        &mut self,
        conn: ConnId,
        key: &InstanceKey,
        id: &MessageId,
        effects: &mut Vec<Effect>,
    ) {
        let event_job = self
            .conns
            .get(&conn)
            .and_then(|c| c.in_flight.get(id).copied())
            .filter(|job_id| {
                matches!(self.jobs.get(job_id).map(|j| &j.kind), Some(JobKind::Event))
            });
        if let Some(job_id) = event_job {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.in_flight.remove(id);
            }
            self.remove_job(job_id);
            self.pump(&key.service, effects);
            return;
        }
        if let Some(answers) = self.unacked_answers.get_mut(key) {
            answers.retain(|e| &e.id != id);
            if answers.is_empty() {
                self.unacked_answers.remove(key);
            }
        }
        // Anything else is a duplicate ack: dropped silently.
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
        let expired = matches!(job.state, JobState::Expired);
        if !expired {
            let latency = now.saturating_sub(job.accepted_at);
            self.counters.latency.observe(latency);
            let origin = match &job.kind {
                JobKind::Request { origin, .. } => origin.clone(),
                JobKind::Event => return,
            };
            let request = job.envelope.clone();
            let result = match answer.body {
                Body::Reply(reply) => Ok((reply.payload, answer.headers, answer.id)),
                Body::Error(report) => {
                    self.counters.count_error(&report.error.code);
                    Err(report.error)
                }
                _ => return,
            };
            self.answer_with(&origin, &request, result, effects);
        }
        self.remove_job(job_id);
        self.pump(&target, effects);
    }

    fn expire(&mut self, job_id: JobId, effects: &mut Vec<Effect>) {
        let Some(job) = self.jobs.get(&job_id) else {
            return;
        };
        match (&job.kind, &job.state) {
            (JobKind::Event, JobState::InFlight(_)) => {
                // The subscriber holds it: let its ack or its drop settle it,
                // but do not deliver it again.
                if let Some(job) = self.jobs.get_mut(&job_id) {
                    job.state = JobState::Expired;
                }
            }
            (JobKind::Event, _) => self.remove_job(job_id),
            (JobKind::Request { .. }, JobState::Expired) => {}
            (JobKind::Request { .. }, state) => {
                let never_seen = !self
                    .services
                    .get(&job.target)
                    .is_some_and(|s| s.ever_connected);
                let error = if never_seen {
                    WireError::new(
                        ErrorCode::UnknownService,
                        format!(
                            "no instance of service {:?} connected before the deadline",
                            job.target
                        ),
                    )
                } else {
                    WireError::new(ErrorCode::Timeout, "the deadline passed before a reply")
                };
                let in_flight = matches!(state, JobState::InFlight(_));
                if error.code == ErrorCode::Timeout {
                    self.counters.timeouts += 1;
                }
                if in_flight {
                    // The slot stays taken until the service settles it or drops:
                    // the service is still working on it.
                    self.counters.count_error(&error.code);
                    let origin = match &job.kind {
                        JobKind::Request { origin, .. } => origin.clone(),
                        JobKind::Event => return,
                    };
                    let request = job.envelope.clone();
                    self.answer(&origin, &request, Err(error), effects);
                    if let Some(job) = self.jobs.get_mut(&job_id) {
                        job.state = JobState::Expired;
                    }
                } else {
                    self.fail(job_id, error, effects);
                }
            }
        }
    }

    /// Answers a queued or in-flight request with `error` (or drops an
    /// event) and forgets it.
    fn fail(&mut self, job_id: JobId, error: WireError, effects: &mut Vec<Effect>) {
        let Some(job) = self.jobs.get(&job_id) else {
            return;
        };
        if let JobKind::Request { origin, .. } = &job.kind {
            let origin = origin.clone();
            let request = job.envelope.clone();
            self.counters.count_error(&error.code);
            self.answer(&origin, &request, Err(error), effects);
        }
        self.remove_job(job_id);
    }

    fn answer(
        &mut self,
        origin: &Origin,
        request: &Envelope,
        result: Result<Payload, WireError>,
        effects: &mut Vec<Effect>,
    ) {
        let result = result.map(|payload| (payload, Headers::new(), MessageId::random()));
        self.answer_with(origin, request, result, effects);
    }

    fn answer_with(
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
        match origin {
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
                let answers = self.unacked_answers.entry(key.clone()).or_default();
                answers.push_back(envelope.clone());
                while answers.len() > self.limits.max_unacked_per_instance {
                    answers.pop_front();
                }
                if let Some(&conn) = self.instances.get(key) {
                    effects.push(Effect::Send { conn, envelope });
                }
            }
        }
    }

    fn remove_job(&mut self, job_id: JobId) {
        let Some(job) = self.jobs.remove(&job_id) else {
            return;
        };
        if let Some(deadline) = job.deadline {
            self.deadlines.remove(&(deadline, job_id));
        }
        if matches!(job.kind, JobKind::Request { .. })
            && self.live_requests.get(&job.envelope.id) == Some(&job_id)
        {
            self.live_requests.remove(&job.envelope.id);
        }
        match job.state {
            JobState::InFlight(conn) => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.in_flight.remove(&job.envelope.id);
                }
            }
            JobState::Queued => {
                if let Some(service) = self.services.get_mut(&job.target) {
                    service.queue.retain(|j| *j != job_id);
                }
            }
            JobState::Expired => {
                for c in self.conns.values_mut() {
                    if c.in_flight.get(&job.envelope.id) == Some(&job_id) {
                        c.in_flight.remove(&job.envelope.id);
                    }
                }
            }
        }
    }

    fn new_job_id(&mut self) -> JobId {
        let id = JobId(self.next_job);
        self.next_job += 1;
        id
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
