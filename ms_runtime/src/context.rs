//! What a handler gets with each message.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use slog::{Logger, o};

use crate::gateway::{CallError, Gateway};
use crate::handler_error::HandlerError;
use crate::protocol::{Headers, Json, MessageId, TraceParent};
use crate::trace::{MessageTrace, Tracer};

/// The context of one request or event: who it is, how long is left, a
/// logger that already names it, and the way to reach other services.
///
/// ```no_run
/// use ms_runtime::{Context, HandlerError};
///
/// async fn enrich(ctx: &Context, text: String) -> Result<String, HandlerError> {
///     slog::info!(ctx.log(), "enriching"; "chars" => text.len());
///     // call another service; the trace id and the remaining deadline travel along
///     let tags: Vec<String> = ctx.request("tagger", "tag", &text).await?;
///     ctx.publish("documents.tagged", &tags).await?;
///     // CPU-heavy work off the handler threads
///     let upper = ctx.spawn_blocking(move || text.to_uppercase()).await?;
///     Ok(upper)
/// }
/// ```
#[derive(Debug)]
pub struct Context {
    id: MessageId,
    route: Arc<str>,
    headers: Headers,
    deadline: Option<Instant>,
    /// The service's logger; [`Context::log`] adds this message's keys the
    /// first time it is asked for (most messages never log).
    base_log: Logger,
    log: OnceLock<Logger>,
    /// Whether `route` is a request's route (else an event's topic).
    is_request: bool,
    gateway: Gateway,
    /// This message's trace and handling span: the parent of every call
    /// made through this context (explicitly, never a thread-local).
    trace: Arc<MessageTrace>,
    tracer: Tracer,
}

/// The parts of a [`Context`] that come from the delivered message.
pub(crate) struct Delivered {
    pub(crate) id: MessageId,
    pub(crate) route: Arc<str>,
    pub(crate) is_request: bool,
    pub(crate) headers: Headers,
    pub(crate) time_left: Option<Duration>,
}

impl Context {
    pub(crate) fn new(
        delivered: Delivered,
        log: Logger,
        gateway: Gateway,
        trace: Arc<MessageTrace>,
        tracer: Tracer,
    ) -> Self {
        Self {
            id: delivered.id,
            route: delivered.route,
            headers: delivered.headers,
            deadline: delivered.time_left.map(|left| Instant::now() + left),
            base_log: log,
            log: OnceLock::new(),
            is_request: delivered.is_request,
            gateway,
            trace,
            tracer,
        }
    }

    /// The message's id.
    pub fn id(&self) -> &MessageId {
        &self.id
    }

    /// The route (for a request) or topic (for an event).
    pub fn route(&self) -> &str {
        &self.route
    }

    /// Delivery attempt, 1 for the first.
    ///
    /// ```
    /// use ms_runtime::{Context, HandlerError};
    ///
    /// async fn charge(ctx: &Context, order: &str) -> Result<(), HandlerError> {
    ///     if ctx.attempt() > 1 {
    ///         // a redelivery: the first attempt may have charged before the connection broke
    ///         slog::warn!(ctx.log(), "charge redelivered"; "order" => order, "attempt" => ctx.attempt());
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn attempt(&self) -> u32 {
        self.headers.attempt()
    }

    /// The trace id, propagated to every message this one causes: the W3C
    /// trace id in hex, or a legacy `trace_id` string that is not one
    /// (see `docs/tracing.md`).
    pub fn trace_id(&self) -> Option<&str> {
        self.headers.trace_id()
    }

    /// The W3C `traceparent` as this hop sends it on: the handling span
    /// (feature `otel` with export on), else the received one unchanged.
    ///
    /// ```
    /// use ms_runtime::{Context, HandlerError};
    ///
    /// async fn show(ctx: &Context) -> Result<String, HandlerError> {
    ///     // e.g. to pass the trace on to a system outside the gateway
    ///     Ok(ctx.traceparent().to_string())
    /// }
    /// ```
    pub fn traceparent(&self) -> TraceParent {
        self.trace.traceparent()
    }

    /// The message's headers.
    ///
    /// ```
    /// use ms_runtime::{Context, HandlerError};
    ///
    /// // headers the protocol does not define travel untouched, such as a tenant
    /// async fn tenant(ctx: &Context) -> Result<String, HandlerError> {
    ///     ctx.headers()
    ///         .get("x-tenant")
    ///         .map(str::to_owned)
    ///         .ok_or_else(|| HandlerError::bad_request("header x-tenant is required"))
    /// }
    /// ```
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// When nobody waits for the answer any more.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Time left until the deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ms_runtime::{Context, HandlerError};
    ///
    /// async fn extract(ctx: &Context) -> Result<String, HandlerError> {
    ///     // reading a page takes about 5 s: say so now rather than answer after the caller gave up
    ///     if ctx.time_left().is_some_and(|left| left < Duration::from_secs(5)) {
    ///         return Err(HandlerError::timeout("not enough time left to read the page"));
    ///     }
    ///     Ok("page text".to_owned())
    /// }
    /// ```
    pub fn time_left(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// A logger carrying service, instance, message id, route and trace id.
    pub fn log(&self) -> &Logger {
        self.log.get_or_init(|| {
            let key = if self.is_request { "route" } else { "topic" };
            self.base_log.new(o!(
                "message_id" => self.id.to_string(),
                key => self.route.to_string(),
                "trace_id" => self.headers.trace_id().unwrap_or_default().to_owned(),
            ))
        })
    }

    /// The connection to the gateway.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// The service's S3 store, when `MS_S3_*` configures one.
    ///
    /// ```
    /// use ms_runtime::{Context, HandlerError};
    ///
    /// async fn load_settings(ctx: &Context) -> Result<serde_json::Value, HandlerError> {
    ///     let s3 = ctx.s3().ok_or_else(|| HandlerError::internal("no S3 store configured"))?;
    ///     let bytes = s3.get_bytes(s3.bucket()?, "settings.json").await?;
    ///     Ok(serde_json::from_slice(&bytes)?)
    /// }
    /// ```
    #[cfg(feature = "s3")]
    #[cfg_attr(docsrs, doc(cfg(feature = "s3")))]
    pub fn s3(&self) -> Option<&crate::s3::S3> {
        self.gateway.s3()
    }

    /// Calls `route` of `service` with a typed payload and waits for a typed
    /// reply, within this message's remaining deadline (or the default request
    /// timeout when it has none).
    ///
    /// # Errors
    /// [`CallError`]: the other side's error, timeout, overload, bad payload.
    pub async fn request<Req, Resp>(
        &self,
        service: &str,
        route: &str,
        payload: &Req,
    ) -> Result<Resp, CallError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let json = Json::from_value(payload).map_err(|e| CallError::Payload(e.to_string()))?;
        let mut headers = self.child_headers();
        let call = self.tracer.call(&self.trace, service, route, &mut headers);
        let result = self
            .gateway
            .request(service, route, json, headers, self.time_left())
            .await
            .and_then(|reply| reply.parse().map_err(|e| CallError::Payload(e.to_string())));
        if let Err(e) = &result {
            call.fail(&e.code(), &e.to_string());
        }
        result
    }

    /// Publishes an event on `topic`, carrying this message's trace.
    ///
    /// # Errors
    /// [`CallError`] when it cannot be queued.
    pub async fn publish<T: Serialize + ?Sized>(
        &self,
        topic: &str,
        payload: &T,
    ) -> Result<(), CallError> {
        let json = Json::from_value(payload).map_err(|e| CallError::Payload(e.to_string()))?;
        let mut headers = Headers::new();
        let send = self.tracer.publish(&self.trace, topic, &mut headers);
        let result = self.gateway.publish(topic, json, headers).await;
        if let Err(e) = &result {
            send.fail(&e.code(), &e.to_string());
        }
        result
    }

    /// Runs blocking or CPU-heavy work on the blocking thread pool, so the
    /// handler threads stay free for other messages.
    ///
    /// # Errors
    /// An `internal` [`HandlerError`] if the work panicked.
    pub fn spawn_blocking<F, R>(
        &self,
        work: F,
    ) -> impl Future<Output = Result<R, HandlerError>> + use<F, R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let task = tokio::task::spawn_blocking(work);
        async move {
            task.await
                .map_err(|e| HandlerError::internal(format!("blocking work failed: {e}")))
        }
    }

    /// Headers for a request this one causes: the remaining deadline as an
    /// absolute time (the trace is written by the call's span).
    fn child_headers(&self) -> Headers {
        let mut headers = Headers::new();
        if let Some(deadline) = self.headers.deadline_ms() {
            headers.set_deadline_ms(deadline);
        }
        headers
    }
}
