//! The S3 actor: runs every storage operation on its own arbiter.
//!
//! The SDK's futures are `Send`, so the handle builds each operation as a
//! future and the actor spawns it in its context. The actor therefore never
//! blocks, and all connections of the SDK's pool live on the actor's thread,
//! whichever thread the caller runs on. The handle admits at most
//! `max_concurrent` operations at once (a semaphore it holds before sending),
//! so the mailbox holds at most that many jobs.

use actix::prelude::*;
use futures_util::future::BoxFuture;

/// One operation to run, already bound to its reply channel.
pub(crate) struct Job(pub BoxFuture<'static, ()>);

impl Message for Job {
    type Result = ();
}

/// Owns nothing but its thread: operations carry what they need.
pub(crate) struct S3Actor {
    /// Mailbox bound: the handle's `max_concurrent`.
    mailbox: usize,
}

impl Actor for S3Actor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Jobs are admitted by the handle's semaphore before they are sent,
        // so the mailbox never holds more than that bound.
        ctx.set_mailbox_capacity(self.mailbox);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        // The arbiter was made for this actor alone.
        Arbiter::current().stop();
    }
}

impl Handler<Job> for S3Actor {
    type Result = ();

    fn handle(&mut self, job: Job, ctx: &mut Self::Context) {
        // Spawned in the context, not detached: the actor (and its arbiter)
        // stays until the last running operation finishes.
        ctx.spawn(job.0.into_actor(self));
    }
}

/// Starts the actor on a fresh arbiter of the current actix system.
pub(crate) fn start(mailbox: usize) -> Option<Addr<S3Actor>> {
    actix::System::try_current()?;
    let arbiter = Arbiter::new();
    Some(S3Actor::start_in_arbiter(&arbiter.handle(), move |_| {
        S3Actor { mailbox }
    }))
}
