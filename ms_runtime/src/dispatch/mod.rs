//! Dispatch: each request or event runs under its deadline and a panic
//! guard, either on the connection's thread (a route proven light, see
//! `placement.rs`; settled within the delivery when the handler does not
//! wait) or in a freshly spawned handler actor on a pool of arbiters
//! (threads), so one slow or CPU-heavy handler stalls neither the
//! connection nor the other handlers.

mod routes;

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use actix::prelude::*;
use futures_util::FutureExt as _;
use futures_util::future::LocalBoxFuture;
use slog::{Logger, debug, error, warn};

use crate::context::{Context as HandlerContext, Delivered};
use crate::gateway::{Delivery, DeliveryKind, Dispatch, Gateway, Lifecycle, Outcome, Settle};
use crate::handler::{Event, Handler, Request};
use crate::metrics::{HandledMetrics, Kind, RouteCache, Running};
use crate::placement::{Moved, Placement, Verdict};
use crate::protocol::{ErrorCode, WireError};
use crate::trace::{Handled, Tracer};
use routes::{RouteState, Routes};

/// Runs a [`Handler`] in handler actors spread over a pool of arbiters.
pub(crate) struct HandlerPool<H> {
    handler: Arc<H>,
    arbiters: Arc<Vec<ArbiterHandle>>,
    next: usize,
    placement: Placement,
    /// Each route's name, metric handles and placement.
    routes: Routes,
    log: Logger,
    tracer: Tracer,
}

impl<H: Handler> HandlerPool<H> {
    /// Handlers on `arbiters`, or on the connection's thread where
    /// `placement` says so.
    pub(crate) fn new(
        handler: Arc<H>,
        arbiters: Arc<Vec<ArbiterHandle>>,
        placement: Placement,
        metrics: Arc<HandledMetrics>,
        log: Logger,
        tracer: Tracer,
    ) -> Self {
        Self {
            handler,
            arbiters,
            next: 0,
            placement,
            routes: Routes::new(RouteCache::new(metrics)),
            log,
            tracer,
        }
    }

    fn arbiter(&mut self) -> ArbiterHandle {
        self.next = self.next.wrapping_add(1);
        match self.arbiters.get(self.next % self.arbiters.len().max(1)) {
            Some(arbiter) => arbiter.clone(),
            None => Arbiter::current(),
        }
    }
}

impl<H: Handler> Dispatch for HandlerPool<H> {
    fn deliver(&mut self, delivery: Delivery, settle_to: &Gateway, now: Instant) -> Option<Settle> {
        let route = match &delivery.kind {
            DeliveryKind::Request { route, .. } => self.routes.get(Kind::Request, route),
            DeliveryKind::Event { topic } => self.routes.get(Kind::Event, topic),
        };
        let running = route.metrics.start(now);
        let inline = self.placement.inline(&route.slot);
        let work = Work {
            handler: self.handler.clone(),
            delivery,
            gateway: settle_to.clone(),
            log: self.log.clone(),
            tracer: self.tracer.clone(),
            placement: self.placement.clone(),
            route,
            running,
            inline,
        };
        if inline {
            // on the connection's thread: no hop, no actor; a handler that
            // ends at its first poll (no I/O awaited) settles within this call
            let mut work = Box::pin(work.run());
            let mut first = std::task::Context::from_waker(std::task::Waker::noop());
            if let Poll::Ready(settled) = work.as_mut().poll(&mut first) {
                return Some(settled);
            }
            // the task polls it again at once, with its own waker
            let settle_to = settle_to.clone();
            actix_rt::spawn(async move { settle_to.settled(work.await) });
        } else {
            let settle_to = settle_to.clone();
            self.spawn(Box::new(move || {
                Box::pin(async move { settle_to.settled(work.run().await) })
            }));
        }
        None
    }

    fn lifecycle(&mut self, event: Lifecycle, _gateway: &Gateway) {
        let handler = self.handler.clone();
        self.spawn(Box::new(move || {
            Box::pin(async move {
                match event {
                    Lifecycle::Connected => handler.on_connect().await,
                    Lifecycle::Disconnected => handler.on_disconnect().await,
                }
            })
        }));
    }
}

/// Work for a handler actor: made on the pool thread, so the future itself
/// need not be `Send`.
type Task = Box<dyn FnOnce() -> LocalBoxFuture<'static, ()> + Send>;

impl<H: Handler> HandlerPool<H> {
    fn spawn(&mut self, task: Task) {
        let arbiter = self.arbiter();
        HandlerActor::start_in_arbiter(&arbiter, move |_| HandlerActor { task: Some(task) });
    }
}

/// One delivery and what running it needs: sent to the thread that runs it.
struct Work<H> {
    handler: Arc<H>,
    delivery: Delivery,
    gateway: Gateway,
    log: Logger,
    tracer: Tracer,
    placement: Placement,
    route: Arc<RouteState>,
    running: Running,
    /// Runs on the connection's thread.
    inline: bool,
}

impl<H: Handler> Work<H> {
    /// Runs the handler, its polls timed for the placement; the metrics
    /// record the outcome.
    async fn run(self) -> Settle {
        let Self {
            handler,
            delivery,
            gateway,
            log,
            tracer,
            placement,
            route,
            running,
            inline,
        } = self;
        let key = delivery.key.clone();
        let what = match delivery.kind {
            DeliveryKind::Request { .. } => "route",
            DeliveryKind::Event { .. } => "topic",
        };
        let name = route.name.clone();
        let work = run_delivery(handler, delivery, name, gateway, log.clone(), tracer);
        // told at the first poll over the budget, so that deliveries
        // dispatched while this one still runs already go where it says
        let on_overstay = || {
            let verdict = if inline {
                Verdict::Stalled
            } else {
                Verdict::SlowOnPool
            };
            log_move(
                &log,
                &placement,
                &route,
                what,
                placement.report(&route.slot, verdict),
            );
        };
        let ((outcome, event_error), timing) = placement.timed(work, on_overstay).await;
        if !timing.overstayed {
            let moved = placement.report(&route.slot, Verdict::Light { inline });
            log_move(&log, &placement, &route, what, moved);
        }
        let code = match (&outcome, &event_error) {
            (Outcome::Failed(e), _) => Some(e.code.as_str()),
            (Outcome::EventHeld, _) => Some("held"),
            (_, Some(code)) => Some(code.as_str()),
            _ => None,
        };
        running.finish(code, timing.ended);
        Settle { key, outcome }
    }
}

/// Logs where `route` runs after `moved`, if it moved.
fn log_move(
    log: &Logger,
    placement: &Placement,
    route: &RouteState,
    what: &'static str,
    moved: Option<Moved>,
) {
    let Some(moved) = moved else {
        return;
    };
    let budget_ms = placement.budget().as_secs_f64() * 1000.0;
    match moved {
        Moved::Inline => {
            debug!(log, "proven light: its handler runs on the connection's thread";
                what => &*route.name);
        }
        Moved::Probation(runs) => {
            warn!(log, "a poll of this handler on the connection's thread took longer than the inline budget: it runs on the handler pool until it is light again";
                what => &*route.name, "budget_ms" => budget_ms, "light_runs_needed" => runs);
        }
        Moved::Pooled => {
            warn!(log, "polls of this handler on the connection's thread took longer than the inline budget again and again: it runs on the handler pool from now on";
                what => &*route.name, "budget_ms" => budget_ms);
        }
    }
}

/// Lives for one message: runs its task to the end, then stops.
struct HandlerActor {
    task: Option<Task>,
}

impl Actor for HandlerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some(task) = self.task.take() else {
            ctx.stop();
            return;
        };
        ctx.spawn(task().into_actor(self).map(|(), _act, ctx| ctx.stop()));
    }
}

/// Runs one delivery to its outcome inside its handling span, which ends
/// (marked failed with the error's code when the outcome is an error) once
/// the outcome is known; beside the outcome, an event handler's error code.
/// `name` is the route's (or topic's) shared name.
async fn run_delivery<H: Handler>(
    handler: Arc<H>,
    mut delivery: Delivery,
    name: Arc<str>,
    gateway: Gateway,
    log: Logger,
    tracer: Tracer,
) -> (Outcome, Option<ErrorCode>) {
    let handled = match &delivery.kind {
        DeliveryKind::Request { route, .. } => Handled::Request { route },
        DeliveryKind::Event { topic } => Handled::Event { topic },
    };
    let trace = tracer.handling(handled, delivery.key.id.as_str(), &mut delivery.headers);
    let trace = Arc::new(trace);
    let delivered = Delivered {
        id: delivery.key.id.clone(),
        route: name,
        is_request: matches!(delivery.kind, DeliveryKind::Request { .. }),
        headers: delivery.headers.clone(),
        time_left: delivery.deadline,
    };
    let ctx = HandlerContext::new(delivered, log, gateway, trace.clone(), tracer);
    let event_error = RefCell::new(None);
    let outcome = handle_delivery(handler, &ctx, delivery, &event_error).await;
    if let Outcome::Failed(error) = &outcome {
        trace.fail(&error.code, &error.message);
    }
    (outcome, event_error.into_inner())
}

/// Runs one delivery to its outcome: deadline enforced (the handler's future
/// is dropped, so cancelled, when it passes), panics caught and reported.
/// `event_error` receives an event handler's error code (an event is
/// acknowledged whatever its handler returned; the metrics still count it).
async fn handle_delivery<H: Handler>(
    handler: Arc<H>,
    ctx: &HandlerContext,
    delivery: Delivery,
    event_error: &RefCell<Option<ErrorCode>>,
) -> Outcome {
    let Delivery {
        key,
        kind,
        headers,
        payload,
        deadline,
    } = delivery;
    let id = key.id;
    let is_request = matches!(kind, DeliveryKind::Request { .. });
    let claims = ctx.gateway().claims();
    let work = async {
        // a claim check is fetched and verified before the handler sees it
        let payload = match crate::claim_check::incoming(claims, payload).await {
            Ok(json) => json,
            Err(error) => {
                let wire = error.to_wire();
                error!(ctx.log(), "payload unavailable"; "code" => %wire.code, "error" => &wire.message,
                    "acked" => is_request || !error.is_transient());
                return match (is_request, error.is_transient()) {
                    (true, _) => Outcome::Failed(wire),
                    // S3 down: the gateway delivers the event again later
                    (false, true) => Outcome::EventHeld,
                    // refused or broken for good: acked, or it would come back for ever
                    (false, false) => Outcome::EventDone,
                };
            }
        };
        match kind {
            DeliveryKind::Request { route, from } => {
                let request = Request {
                    id: id.clone(),
                    route,
                    from,
                    headers,
                    payload,
                };
                match handler.handle(ctx, request).await {
                    Ok(json) => match crate::claim_check::outgoing(claims, json).await {
                        Ok(payload) => Outcome::Reply(payload),
                        Err(error) => Outcome::Failed(error),
                    },
                    Err(e) => Outcome::Failed(e.into_wire()),
                }
            }
            DeliveryKind::Event { topic } => {
                let event = Event {
                    id: id.clone(),
                    topic,
                    headers,
                    payload,
                };
                if let Err(e) = handler.on_event(ctx, event).await {
                    error!(ctx.log(), "event handler failed"; "code" => %e.code(), "error" => e.message());
                    *event_error.borrow_mut() = Some(e.code().clone());
                }
                Outcome::EventDone
            }
        }
    };
    let guarded = AssertUnwindSafe(work).catch_unwind();
    let result = match deadline {
        Some(left) => match tokio::time::timeout(left, guarded).await {
            Ok(result) => result,
            Err(_) => {
                error!(ctx.log(), "deadline passed: handler cancelled"; "deadline_ms" => left.as_millis() as u64);
                return if is_request {
                    Outcome::Failed(WireError::new(
                        ErrorCode::Timeout,
                        "the handler did not finish before the deadline",
                    ))
                } else {
                    Outcome::EventDone
                };
            }
        },
        None => guarded.await,
    };
    match result {
        Ok(outcome) => outcome,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_owned());
            error!(ctx.log(), "handler panicked"; "panic" => &message);
            if is_request {
                Outcome::Failed(WireError::new(
                    ErrorCode::HandlerError,
                    "the handler failed unexpectedly (panic)",
                ))
            } else {
                Outcome::EventDone
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::__bench::DispatchBench;
    use crate::protocol::{ByteString, Json};
    use crate::{Context, Handler, HandlerError, Request};

    /// Answers `now` at once; `later` after a timer (it waits on I/O).
    struct Waits;

    impl Handler for Waits {
        fn name(&self) -> &str {
            "waits"
        }

        fn routes(&self) -> Vec<String> {
            vec!["now".into(), "later".into()]
        }

        async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
            if request.route == "later" {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Ok(request.payload)
        }
    }

    fn frame(id: &str, route: &str) -> ByteString {
        ByteString::from(format!(
            r#"{{"v":1,"kind":"request","id":"{id}","to":"waits","route":"{route}","from":"a/1","payload":"{id}"}}"#
        ))
    }

    #[actix_rt::test]
    async fn a_handler_that_does_not_wait_settles_within_the_delivery() {
        let mut bench = DispatchBench::new(Waits, 0);
        let reply = bench.deliver(&frame("r1", "now")).unwrap();
        let reply = reply.expect("settled at once, without a task or a message");
        assert!(reply.contains(r#""correlation_id":"r1""#), "{reply}");
        assert!(reply.contains(r#""payload":"r1""#), "{reply}");
    }

    /// Delivers `id` to `route`, asserts it did not settle at once, and
    /// returns the reply that came later through the mailbox.
    async fn settled_later(bench: &mut DispatchBench, id: &str, route: &str) -> String {
        assert_eq!(bench.deliver(&frame(id, route)).unwrap(), None, "{id}");
        let reply = bench.next_reply().await.unwrap();
        assert!(
            reply.contains(&format!(r#""correlation_id":"{id}""#)),
            "{reply}"
        );
        reply
    }

    #[actix_rt::test]
    async fn a_handler_that_waits_settles_later_through_the_mailbox() {
        settled_later(&mut DispatchBench::new(Waits, 0), "r2", "later").await;
    }

    #[actix_rt::test]
    async fn a_route_on_probation_runs_on_the_pool_and_settles_later() {
        settled_later(&mut DispatchBench::new(Waits, 1), "r3", "now").await;
    }
}
