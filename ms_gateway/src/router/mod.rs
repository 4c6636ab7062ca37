//! The routing state of the gateway as pure logic: queues, in-flight tables,
//! deadlines, redelivery and acknowledgements, with no I/O and no clock.
//!
//! Every operation takes the current time in milliseconds since the Unix
//! epoch and returns the [`Effect`]s the I/O layer must carry out (frames to
//! send on a connection, acks to send, answers to HTTP callers, connections
//! to close). The I/O layer (the crate's private `hub`) owns one `Router`
//! behind a mutex and runs those effects in order while it holds the lock,
//! so frames for one connection leave in the order the router decided them.
//!
//! Trust: the router never takes identity from a field a peer wrote. A
//! request's sender is the connection it came on (or the HTTP caller), a
//! settlement counts only on the connection the request is delivered to,
//! and every bound in [`RouterLimits`] holds whatever peers send.

mod accept;
mod connection;
mod deliver;
mod histogram;
mod job;
mod labels;
mod limits;
mod outcome;
mod readings;
mod remote;
mod service;
mod settle;
mod shutdown;

pub use histogram::{Histogram, LATENCY_BUCKETS_MS};
pub use job::JobId;
pub use labels::{DEFAULT_MAX_SERIES, OTHER, Series, SeriesKey, SeriesStats};
pub use limits::{
    DEFAULT_MAX_DEADLINE_MS, DEFAULT_MAX_HELD_BYTES, DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_UNKNOWN_SERVICE_WAIT_MS, RouterLimits,
};
pub use outcome::{Confirm, Effect, Failure, Forward, Outcome, Peer, RemoteDone};
pub use readings::{Counters, Gauges};
pub use remote::Ticket;

use std::collections::{BTreeSet, HashMap, VecDeque};

use ms_protocol::{Body, Envelope, ErrorCode, Headers, MessageId, Request, WireError};

use job::{Job, JobKind, JobState};
use service::{Conn, Service};

/// Identifies one websocket connection for the router's lifetime.
pub type ConnId = u64;

/// Identifies one HTTP caller waiting for an answer.
pub type CallerId = u64;

/// Close code for a connection replaced by a newer one of the same instance.
pub const CLOSE_REPLACED: u16 = 4001;

/// How often idle service names are looked for, in ms.
const SWEEP_EVERY_MS: u64 = 1_000;

/// One instance of a service: the pair named in its `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceKey {
    /// `hello.service`.
    pub service: String,
    /// `hello.instance`.
    pub instance: String,
}

/// Who sent a request, so its answer can find the way back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    /// An HTTP caller of `POST /v1/invoke`.
    Http(CallerId),
    /// A service instance; its answer goes to whichever connection that
    /// instance has when the answer is ready.
    Service(InstanceKey),
    /// Cluster mode: a request taken from the backplane; its answer goes
    /// back through the message it came in.
    Remote(Ticket),
}

/// The gateway's routing state. See the module documentation.
#[derive(Debug)]
pub struct Router {
    limits: RouterLimits,
    next_job: u64,
    jobs: HashMap<JobId, Job>,
    /// Requests accepted and not yet settled, by frame id; the job's origin
    /// completes the key (the same id from two senders is two requests).
    live_requests: HashMap<MessageId, Vec<JobId>>,
    deadlines: BTreeSet<(u64, JobId)>,
    /// Requests for a service never seen, and when to answer them with
    /// `unknown_service` if it still has not registered. One entry per such
    /// request at most; entries of jobs already gone are skipped.
    unknown_checks: BTreeSet<(u64, JobId)>,
    services: HashMap<String, Service>,
    conns: HashMap<ConnId, Conn>,
    /// The connection each connected instance has now.
    instances: HashMap<InstanceKey, ConnId>,
    /// Answers sent to a service instance and not yet acknowledged by it;
    /// sent again when the instance connects again.
    /// The third member names the backplane message an answer came in
    /// (cluster mode), settled when the instance acks the answer.
    unacked_answers: HashMap<InstanceKey, VecDeque<(Envelope, u64, Option<Ticket>)>>,
    /// Bytes held: jobs and unacked answers (see [`job::weight`]).
    held_bytes: u64,
    last_sweep: u64,
    draining: bool,
    counters: Counters,
    /// Cluster mode: accepted work goes to the backplane (see [`Forward`])
    /// instead of this router's queues, which hold only work taken from it.
    forwarding: bool,
    /// Jobs taken from the backplane, by their message.
    remote_jobs: HashMap<Ticket, JobId>,
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
            unknown_checks: BTreeSet::new(),
            services: HashMap::new(),
            conns: HashMap::new(),
            instances: HashMap::new(),
            unacked_answers: HashMap::new(),
            held_bytes: 0,
            last_sweep: 0,
            draining: false,
            counters: Counters {
                series: Series::new(limits.max_metric_series),
                ..Counters::default()
            },
            forwarding: false,
            remote_jobs: HashMap::new(),
        }
    }

    /// The bounds it was made with.
    pub fn limits(&self) -> &RouterLimits {
        &self.limits
    }

    /// The counters kept since start.
    pub fn counters(&self) -> &Counters {
        &self.counters
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

    /// What the gateway grants a connection whose `hello` asked `asked`.
    pub fn granted_in_flight(&self, asked: u32) -> u32 {
        asked.min(self.limits.max_in_flight).max(1)
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
        self.accept_request(Origin::Http(caller), envelope, now, None, &mut effects);
        effects
    }

    /// The HTTP caller of request `id` went away: queued, the request is
    /// dropped; delivered, its slot stays taken until the service settles
    /// it, and its answer goes nowhere.
    pub fn cancel_http(&mut self, caller: CallerId, id: &MessageId) {
        let origin = Origin::Http(caller);
        let Some(job_id) = self.live_request(&origin, id) else {
            return;
        };
        let Some(job) = self.jobs.get_mut(&job_id) else {
            return;
        };
        match job.state {
            JobState::Queued | JobState::Forwarded => {
                self.counters.requests_abandoned += 1;
                self.remove_job(job_id);
            }
            JobState::InFlight(conn) => {
                self.counters.requests_abandoned += 1;
                job.state = JobState::Expired(conn);
            }
            JobState::Expired(_) => {}
        }
    }

    /// `POST /v1/publish/{topic}`: fans the event out.
    ///
    /// # Errors
    /// `overloaded` when the gateway holds too much or is shutting down,
    /// `bad_request` for a deadline past the maximum; nothing is queued then.
    pub fn publish_from_http(
        &mut self,
        envelope: Envelope,
        now: u64,
    ) -> Result<Vec<Effect>, WireError> {
        let mut effects = Vec::new();
        self.accept_event(envelope, now, None, &mut effects)?;
        Ok(effects)
    }

    /// `POST /v1/publish/{topic}` in cluster mode: like
    /// [`Router::publish_from_http`], and `caller` is answered once the
    /// backplane holds every copy (at once when nobody subscribes).
    ///
    /// # Errors
    /// As [`Router::publish_from_http`].
    pub fn publish_confirmed(
        &mut self,
        envelope: Envelope,
        caller: CallerId,
        now: u64,
    ) -> Result<Vec<Effect>, WireError> {
        let mut effects = Vec::new();
        let later =
            self.accept_event(envelope, now, Some(Confirm::Caller(caller)), &mut effects)?;
        if !later {
            effects.push(Effect::Answer {
                caller,
                outcome: Outcome::Reply {
                    payload: ms_protocol::Payload::Inline(ms_protocol::Json::null()),
                    headers: Headers::new(),
                },
            });
        }
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
                let origin = Origin::Service(key.clone());
                if self.live_request(&origin, &id).is_some() {
                    // Sent again after a lost ack: we hold it already.
                    effects.push(Effect::Ack { conn, id });
                    return effects;
                }
                // Acknowledged whether accepted or refused: a refusal is
                // the request's answer, sent to the instance like a reply.
                // In cluster mode, an accepted request is acknowledged once
                // the backplane holds it.
                let confirm = if self.forwarding {
                    Some(conn)
                } else {
                    effects.push(Effect::Ack { conn, id });
                    None
                };
                let mut envelope = envelope;
                if let Body::Request(request) = &mut envelope.body {
                    request.from = Some(format!("{}/{}", key.service, key.instance));
                }
                self.accept_request(origin, envelope, now, confirm, &mut effects);
            }
            Body::Reply(_) | Body::Error(_) => self.settlement(conn, envelope, now, &mut effects),
            Body::Event(_) => {
                let id = envelope.id.clone();
                match self.accept_event(envelope, now, Some(Confirm::Conn(conn)), &mut effects) {
                    Ok(true) => {}
                    Ok(false) => effects.push(Effect::Ack { conn, id }),
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

    /// Answers every request and drops every event whose deadline is before
    /// `now`; about once a second, forgets service names idle for longer
    /// than [`RouterLimits::service_ttl_ms`].
    pub fn tick(&mut self, now: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        while let Some(&(deadline, job_id)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            self.expire(job_id, &mut effects);
        }
        while let Some(&(at, job_id)) = self.unknown_checks.first() {
            if at > now {
                break;
            }
            self.unknown_checks.pop_first();
            self.refuse_if_still_unknown(job_id, &mut effects);
        }
        if now.saturating_sub(self.last_sweep) >= SWEEP_EVERY_MS {
            self.last_sweep = now;
            self.forget_idle_services(now, &mut effects);
        }
        effects
    }

    /// The live request sent by `origin` with frame id `id`.
    fn live_request(&self, origin: &Origin, id: &MessageId) -> Option<JobId> {
        self.live_requests.get(id)?.iter().copied().find(|job_id| {
            self.jobs.get(job_id).is_some_and(
                |j| matches!(&j.kind, JobKind::Request { origin: o, .. } if o == origin),
            )
        })
    }

    /// Takes `job` into the router's tables (a request also into the live
    /// index, so its sender's resends are recognised; its deadline and
    /// weight into their bounds) and names it; `remove_job` undoes this.
    fn hold(&mut self, job: Job) -> JobId {
        let job_id = self.new_job_id();
        if matches!(job.kind, JobKind::Request { .. }) {
            self.live_requests
                .entry(job.envelope.id.clone())
                .or_default()
                .push(job_id);
        }
        if let Some(deadline) = job.deadline {
            self.deadlines.insert((deadline, job_id));
        }
        self.held_bytes = self.held_bytes.saturating_add(job.weight);
        self.jobs.insert(job_id, job);
        job_id
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

#[cfg(test)]
#[path = "trust_tests.rs"]
mod trust_tests;

#[cfg(test)]
#[path = "remote_tests.rs"]
mod remote_tests;
