//! Connections of service instances coming and going: `hello` takes one
//! in (replacing an older one of the same instance), a close gives back
//! what it held.

use super::job::JobState;
use super::service::Conn;
use super::{CLOSE_REPLACED, ConnId, Effect, InstanceKey, JobId, RemoteDone, Router};
use ms_protocol::Hello;

impl Router {
    /// A service instance said `hello` on connection `conn`: it starts
    /// taking work, and answers it has not acknowledged are sent again.
    ///
    /// An older connection of the same instance is replaced: it is closed
    /// with [`CLOSE_REPLACED`] and what it held is delivered again.
    pub fn connect(&mut self, conn: ConnId, hello: &Hello, now: u64) -> Vec<Effect> {
        let key = InstanceKey {
            service: hello.service.clone(),
            instance: hello.instance.clone(),
        };
        let mut effects = Vec::new();
        if let Some(&older) = self.instances.get(&key)
            && older != conn
        {
            self.counters.sessions_replaced += 1;
            effects.push(Effect::Close {
                conn: older,
                code: CLOSE_REPLACED,
                reason: "replaced by a newer connection of the same instance",
            });
            effects.extend(self.disconnect(older, now));
        }
        let service = self.services.entry(key.service.clone()).or_default();
        service.ever_connected = true;
        service.idle_since = None;
        service.known_routes.extend(hello.routes.iter().cloned());
        service.topics.extend(hello.topics.iter().cloned());
        service.conns.push(conn);
        self.conns.insert(
            conn,
            Conn::new(
                key.clone(),
                hello,
                self.limits.max_in_flight,
                self.limits.max_conn_bytes,
            ),
        );
        self.instances.insert(key.clone(), conn);
        self.counters.sessions_opened += 1;

        if let Some(answers) = self.unacked_answers.get(&key) {
            for (envelope, _, _) in answers {
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
    pub fn disconnect(&mut self, conn: ConnId, now: u64) -> Vec<Effect> {
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
                JobState::Expired(_) => {
                    // Nobody waits for it: forget it rather than run it again.
                    job.state = JobState::Queued;
                    self.remove_job(*job_id);
                }
                _ if job.remote.is_some() => {
                    // The backplane delivers it again, to any node.
                    if let Some(ticket) = job.remote {
                        effects.push(Effect::RemoteDone {
                            ticket,
                            done: RemoteDone::HandBack,
                        });
                    }
                    job.state = JobState::Queued;
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
            if service.conns.is_empty() {
                service.idle_since = Some(now);
            }
            for job_id in back.into_iter().rev() {
                service.queue.push_front(job_id);
            }
        }
        self.hand_back_answers(&gone.key, &mut effects);
        self.hand_back_stranded(&service_name, &mut effects);
        self.pump(&service_name, &mut effects);
        effects
    }
}
