//! Dispatch: each request or event runs in a freshly spawned handler actor on
//! a pool of arbiters (threads), so one slow or CPU-heavy handler stalls
//! neither the connection nor the other handlers.

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use actix::prelude::*;
use futures_util::FutureExt as _;
use futures_util::future::LocalBoxFuture;
use slog::{Logger, error, o};

use crate::context::{Context as HandlerContext, Delivered};
use crate::gateway::{Delivery, DeliveryKind, Dispatch, Gateway, Lifecycle, Outcome};
use crate::handler::{Event, Handler, Request};
use crate::metrics::{HandledMetrics, Kind, RouteCache};
use crate::placement::Placement;
use crate::protocol::{ErrorCode, WireError};
use crate::trace::{Handled, MessageTrace, Tracer};

/// Runs a [`Handler`] in handler actors spread over a pool of arbiters.
pub(crate) struct HandlerPool<H> {
    handler: Arc<H>,
    arbiters: Arc<Vec<ArbiterHandle>>,
    next: usize,
    placement: Placement,
    /// Each route's metric handles.
    routes: RouteCache,
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
            routes: RouteCache::new(metrics),
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
    fn deliver(&mut self, delivery: Delivery, gateway: &Gateway) {
        let handler = self.handler.clone();
        let gateway = gateway.clone();
        let log = self.log.clone();
        let tracer = self.tracer.clone();
        let placement = self.placement.clone();
        let (route, running) = match &delivery.kind {
            DeliveryKind::Request { route, .. } => (
                route.clone(),
                self.routes.route(Kind::Request, route).start(),
            ),
            DeliveryKind::Event { topic } => (
                format!("event:{topic}"),
                self.routes.route(Kind::Event, topic).start(),
            ),
        };
        let inline = placement.inline(&route);
        let task: Task = Box::new(move || {
            Box::pin(async move {
                let id = delivery.id.clone();
                let from = delivery.kind.from().map(str::to_owned);
                let settle_to = gateway.clone();
                let work = Box::pin(run_delivery(handler, delivery, gateway, log, tracer));
                let ((outcome, event_error), overstayed) = placement.timed(work).await;
                placement.report(&route, overstayed);
                running.finish(match (&outcome, &event_error) {
                    (Outcome::Failed(e), _) => Some(e.code.as_str()),
                    (Outcome::EventHeld, _) => Some("held"),
                    (_, Some(code)) => Some(code.as_str()),
                    _ => None,
                });
                settle_to.settle(id, from, outcome);
            })
        });
        if inline {
            // on the connection's thread: no hop, no actor
            actix_rt::spawn(task());
        } else {
            self.spawn(task);
        }
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
async fn run_delivery<H: Handler>(
    handler: Arc<H>,
    mut delivery: Delivery,
    gateway: Gateway,
    log: Logger,
    tracer: Tracer,
) -> (Outcome, Option<ErrorCode>) {
    let handled = match &delivery.kind {
        DeliveryKind::Request { route, .. } => Handled::Request { route },
        DeliveryKind::Event { topic } => Handled::Event { topic },
    };
    let trace = tracer.handling(handled, delivery.id.as_str(), &mut delivery.headers);
    let trace = Arc::new(trace);
    let event_error = RefCell::new(None);
    let outcome = handle_delivery(
        handler,
        delivery,
        gateway,
        log,
        trace.clone(),
        tracer,
        &event_error,
    )
    .await;
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
    delivery: Delivery,
    gateway: Gateway,
    log: Logger,
    trace: Arc<MessageTrace>,
    tracer: Tracer,
    event_error: &RefCell<Option<ErrorCode>>,
) -> Outcome {
    let Delivery {
        id,
        kind,
        headers,
        payload,
        deadline,
    } = delivery;
    let trace_id = headers.trace_id().map(str::to_owned);
    let (name, is_request) = match &kind {
        DeliveryKind::Request { route, .. } => (route.clone(), true),
        DeliveryKind::Event { topic } => (topic.clone(), false),
    };
    let log = log.new(o!(
        "message_id" => id.to_string(),
        if is_request { "route" } else { "topic" } => name.clone(),
        "trace_id" => trace_id.clone().unwrap_or_default(),
    ));
    let delivered = Delivered {
        id: id.clone(),
        route: name,
        headers: headers.clone(),
        time_left: deadline,
    };
    let ctx = HandlerContext::new(delivered, log.clone(), gateway.clone(), trace, tracer);
    let work = async {
        // a claim check is fetched and verified before the handler sees it
        let payload = match crate::claim_check::incoming(gateway.claims(), payload).await {
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
                match handler.handle(&ctx, request).await {
                    Ok(json) => match crate::claim_check::outgoing(gateway.claims(), json).await {
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
                if let Err(e) = handler.on_event(&ctx, event).await {
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
                error!(log, "deadline passed: handler cancelled"; "deadline_ms" => left.as_millis() as u64);
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
            error!(log, "handler panicked"; "panic" => &message);
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
