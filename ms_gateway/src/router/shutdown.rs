//! Graceful shutdown: new work refused, queued work answered `overloaded`
//! (or handed back to the backplane), then everything still held.

use ms_protocol::{ErrorCode, WireError};

use super::job::JobState;
use super::{Effect, JobId, Router};

impl Router {
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
            self.let_go(job_id, &mut effects);
        }
        effects
    }

    /// Answers everything still held with `overloaded`: the last step of a shutdown.
    pub fn abandon_all(&mut self) -> Vec<Effect> {
        let mut effects = self.begin_shutdown();
        let held: Vec<JobId> = self.jobs.keys().copied().collect();
        for job_id in held {
            self.let_go(job_id, &mut effects);
        }
        effects
    }

    /// One job the shutting-down router lets go: work from the backplane
    /// goes back to it, a job nobody waits for (expired) stays until its
    /// connection settles or closes, any other is answered `overloaded`.
    fn let_go(&mut self, job_id: JobId, effects: &mut Vec<Effect>) {
        if self.hand_back(job_id, effects) {
            return;
        }
        if matches!(
            self.jobs.get(&job_id).map(|j| &j.state),
            Some(JobState::Expired(_))
        ) {
            return;
        }
        self.fail(
            job_id,
            WireError::new(ErrorCode::Overloaded, "the gateway is shutting down"),
            effects,
        );
    }
}
