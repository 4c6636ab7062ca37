//! Handing queued work to connections with room, and the acks that end an
//! event's delivery.

use ms_protocol::MessageId;

use super::job::{JobKind, JobState};
use super::{ConnId, Effect, InstanceKey, RemoteDone, Router};

impl Router {
    /// Delivers queued work of `service_name` while some connection has
    /// room. Work that no connection can take now (its route's instances
    /// are busy, or each holds another delivery with the same id) keeps its
    /// place and does not hold up the work behind it.
    pub(super) fn pump(&mut self, service_name: &str, effects: &mut Vec<Effect>) {
        if self.draining {
            return;
        }
        let Some(service) = self.services.get_mut(service_name) else {
            return;
        };
        let mut index = 0;
        while index < service.queue.len() && service.has_room(&self.conns) {
            let job_id = service.queue[index];
            let Some(job) = self.jobs.get_mut(&job_id) else {
                service.queue.remove(index);
                continue;
            };
            let route = match &job.kind {
                JobKind::Request { route, .. } => Some(route.as_str()),
                JobKind::Event => None,
            };
            let Some(conn_id) = service.pick(&self.conns, route, &job.envelope.id, job.weight)
            else {
                index += 1;
                continue;
            };
            service.queue.remove(index);
            let Some(conn) = self.conns.get_mut(&conn_id) else {
                continue;
            };
            job.deliveries = job.deliveries.saturating_add(1);
            job.state = JobState::InFlight(conn_id);
            let mut envelope = job.envelope.clone();
            envelope.headers.set_attempt(job.deliveries);
            conn.in_flight.insert(envelope.id.clone(), job_id);
            conn.in_flight_bytes = conn.in_flight_bytes.saturating_add(job.weight);
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

    /// Connection `conn` (instance `key`) acknowledged frame `id`: an event
    /// delivered on this very connection, or an answer sent to the instance.
    pub(super) fn acked(
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
            if let Some(ticket) = self.jobs.get(&job_id).and_then(|j| j.remote) {
                effects.push(Effect::RemoteDone {
                    ticket,
                    done: RemoteDone::Settled,
                });
            }
            self.remove_job(job_id);
            self.pump(&key.service, effects);
            return;
        }
        if let Some(answers) = self.unacked_answers.get_mut(key) {
            let mut freed = 0u64;
            answers.retain(|(e, w, ticket)| {
                let keep = &e.id != id;
                if !keep {
                    freed = freed.saturating_add(*w);
                    if let Some(ticket) = ticket {
                        effects.push(Effect::RemoteDone {
                            ticket: *ticket,
                            done: RemoteDone::Settled,
                        });
                    }
                }
                keep
            });
            self.held_bytes = self.held_bytes.saturating_sub(freed);
            if answers.is_empty() {
                self.unacked_answers.remove(key);
            }
        }
        // Anything else is a duplicate ack: dropped silently.
    }
}
