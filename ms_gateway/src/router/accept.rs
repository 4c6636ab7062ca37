//! Taking new work in: the checks every request and event passes before it
//! is queued, each one a bound a caller cannot push past.

use ms_protocol::{Body, Envelope, ErrorCode, Event, WireError};

use super::job::{Job, JobKind, JobState, weight};
use super::service::Service;
use super::{Confirm, ConnId, Effect, Forward, Origin, Router};

impl Router {
    /// Queues a request, or answers `origin` with why not. In cluster
    /// mode it is forwarded instead, and `confirm` (the sender's
    /// connection) is acknowledged once the backplane holds it, or at once
    /// when it is refused.
    pub(super) fn accept_request(
        &mut self,
        origin: Origin,
        mut envelope: Envelope,
        now: u64,
        confirm: Option<ConnId>,
        effects: &mut Vec<Effect>,
    ) {
        let Body::Request(request) = &envelope.body else {
            return;
        };
        let to = request.to.clone();
        let route = request.route.clone();
        let job_weight = weight(&envelope);
        if let Err(error) = self.admit(&to, &route, job_weight, envelope.headers.deadline_ms(), now)
        {
            self.count_error(&to, &route, &error.code);
            if let Some(conn) = confirm {
                effects.push(Effect::Ack {
                    conn,
                    id: envelope.id.clone(),
                });
            }
            self.answer(&origin, &envelope, Err(error), effects);
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
        if self.forwarding {
            self.forward_request(origin, envelope, deadline, now, confirm, effects);
            return;
        }
        self.count_request(&to, &route);
        let job_id = self.hold(Job {
            envelope,
            target: to.clone(),
            kind: JobKind::Request { origin, route },
            deadline: Some(deadline),
            accepted_at: now,
            deliveries: 0,
            state: JobState::Queued,
            weight: job_weight,
            remote: None,
        });
        let service = self
            .services
            .entry(to.clone())
            .or_insert_with(|| Service::idle(now));
        service.queue.push_back(job_id);
        if !service.ever_connected {
            let at = now.saturating_add(self.limits.unknown_service_wait_ms);
            if at < deadline {
                self.unknown_checks.insert((at, job_id));
            }
        }
        self.pump(&to, effects);
    }

    /// Whether a request for `to`/`route` may be queued now.
    fn admit(
        &self,
        to: &str,
        route: &str,
        job_weight: u64,
        deadline: Option<u64>,
        now: u64,
    ) -> Result<(), WireError> {
        if self.draining {
            return Err(WireError::new(
                ErrorCode::Overloaded,
                "the gateway is shutting down",
            ));
        }
        self.check_deadline(deadline, now)?;
        match self.services.get(to) {
            None if self.services.len() >= self.limits.max_services => {
                return Err(WireError::new(
                    ErrorCode::Overloaded,
                    format!(
                        "the gateway knows {} service names, its maximum; no new name is taken",
                        self.limits.max_services
                    ),
                ));
            }
            None => {}
            Some(service) => {
                if service.ever_connected && !service.serves_route(route, &self.conns) {
                    return Err(WireError::new(
                        ErrorCode::UnknownRoute,
                        format!("service {to:?} has no route {route:?}"),
                    ));
                }
                if service.queue.len() >= self.limits.queue_limit {
                    return Err(WireError::new(
                        ErrorCode::Overloaded,
                        format!(
                            "the queue of service {to:?} is full ({} waiting)",
                            self.limits.queue_limit
                        ),
                    ));
                }
            }
        }
        self.check_room(job_weight)
    }

    /// Refuses a deadline further ahead than the gateway's maximum.
    fn check_deadline(&self, deadline: Option<u64>, now: u64) -> Result<(), WireError> {
        let latest = now.saturating_add(self.limits.max_deadline_ms);
        match deadline {
            Some(deadline) if deadline > latest => Err(WireError::new(
                ErrorCode::BadRequest,
                format!(
                    "deadline_ms is {} ms ahead; this gateway allows at most {} ms",
                    deadline - now,
                    self.limits.max_deadline_ms
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Refuses work that would take the held bytes past the bound.
    fn check_room(&self, more: u64) -> Result<(), WireError> {
        if self.held_bytes.saturating_add(more) > self.limits.max_held_bytes {
            return Err(WireError::new(
                ErrorCode::Overloaded,
                format!(
                    "the gateway holds {} bytes of work, its maximum is {}",
                    self.held_bytes, self.limits.max_held_bytes
                ),
            ));
        }
        Ok(())
    }

    /// Queues one copy of an event for every subscribed service.
    ///
    /// A subscriber whose queue is full loses its copy (counted and
    /// reported with [`Effect::EventDropped`]); the others still get theirs.
    /// In cluster mode the copies are forwarded instead, and `Ok(true)`
    /// says `confirm` is told once the backplane holds them.
    pub(super) fn accept_event(
        &mut self,
        envelope: Envelope,
        now: u64,
        confirm: Option<Confirm>,
        effects: &mut Vec<Effect>,
    ) -> Result<bool, WireError> {
        let Body::Event(Event { topic, .. }) = &envelope.body else {
            return Ok(false);
        };
        let topic = topic.clone();
        if self.draining {
            return Err(WireError::new(
                ErrorCode::Overloaded,
                "the gateway is shutting down",
            ));
        }
        let deadline = envelope.headers.deadline_ms();
        self.check_deadline(deadline, now)?;
        let mut targets: Vec<String> = self
            .services
            .iter()
            .filter(|(_, s)| s.topics.contains(&topic))
            .map(|(name, _)| name.clone())
            .collect();
        targets.sort();
        let job_weight = weight(&envelope);
        let copies = u64::try_from(targets.len()).unwrap_or(u64::MAX);
        if self.forwarding {
            self.counters.events_accepted += 1;
            if targets.is_empty() {
                return Ok(false);
            }
            let sender = match confirm {
                Some(Confirm::Conn(conn)) => self
                    .conns
                    .get(&conn)
                    .map(|c| format!("{}/{}", c.key.service, c.key.instance)),
                _ => None,
            };
            effects.push(Effect::Forward(Forward {
                envelope,
                sender: sender.unwrap_or_else(|| "http".to_owned()),
                targets,
                origin: None,
                confirm,
            }));
            return Ok(true);
        }
        self.check_room(job_weight.saturating_mul(copies))?;
        self.counters.events_accepted += 1;
        for target in targets {
            let full = self
                .services
                .get(&target)
                .is_some_and(|s| s.queue.len() >= self.limits.queue_limit);
            if full {
                self.counters.events_dropped += 1;
                effects.push(Effect::EventDropped {
                    service: target,
                    topic: topic.clone(),
                    id: envelope.id.clone(),
                });
                continue;
            }
            let job_id = self.hold(Job {
                envelope: envelope.clone(),
                target: target.clone(),
                kind: JobKind::Event,
                deadline,
                accepted_at: now,
                deliveries: 0,
                state: JobState::Queued,
                weight: job_weight,
                remote: None,
            });
            if let Some(service) = self.services.get_mut(&target) {
                service.queue.push_back(job_id);
            }
            self.pump(&target, effects);
        }
        Ok(false)
    }
}
