//! What a service author writes: a [`Handler`], and the types it sees.

use std::future::Future;

use serde::de::DeserializeOwned;

use crate::context::Context;
use crate::handler_error::HandlerError;
use crate::protocol::{Headers, Json, MessageId};

/// A service: its name, what it serves, and how it answers.
///
/// The runtime calls [`Handler::handle`] once per request (and
/// [`Handler::on_event`] once per event), each in a freshly spawned handler
/// actor on a pool of threads, many at once (up to `max_in_flight`).
///
/// Bounds: the handler is shared by all those calls through an `Arc`, so it
/// must be `Send + Sync + 'static`; keep mutable state behind a `Mutex` or an
/// atomic. The futures it returns run on the thread that spawned them and
/// need not be `Send`.
///
/// ```
/// use ms_runtime::{Context, Handler, HandlerError, Request};
/// use ms_runtime::protocol::Json;
///
/// struct Echo;
///
/// impl Handler for Echo {
///     fn name(&self) -> &str { "echo" }
///     fn routes(&self) -> Vec<String> { vec!["echo".into()] }
///     async fn handle(&self, ctx: &Context, request: Request) -> Result<Json, HandlerError> {
///         slog::debug!(ctx.log(), "echoing"; "bytes" => request.payload.len());
///         Ok(request.payload)
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a service handler",
    label = "this type does not implement `ms_runtime::Handler`",
    note = "implement `Handler` (name, routes, handle), or put `#[ms_service]` on an `impl` block of `{Self}`"
)]
pub trait Handler: Send + Sync + 'static {
    /// The service name requests are addressed to (overridden by `MS_SERVICE_NAME`).
    fn name(&self) -> &str;

    /// The service's own version, announced in `hello`.
    fn version(&self) -> &str {
        "0.0.0"
    }

    /// Routes this service answers; the gateway refuses others with `unknown_route`.
    fn routes(&self) -> Vec<String>;

    /// Event topics this service subscribes to.
    fn topics(&self) -> Vec<String> {
        Vec::new()
    }

    /// Answers one request. The `Ok` payload becomes the `reply`; an `Err`
    /// becomes an `error` frame with the error's code and message.
    fn handle(
        &self,
        ctx: &Context,
        request: Request,
    ) -> impl Future<Output = Result<Json, HandlerError>>;

    /// Handles one event. The event is acknowledged once this returns,
    /// whatever it returns (an error is logged), so it is not redelivered.
    fn on_event(
        &self,
        ctx: &Context,
        event: Event,
    ) -> impl Future<Output = Result<(), HandlerError>> {
        let _ = event;
        async move {
            slog::warn!(
                ctx.log(),
                "event received but the handler does not handle events"
            );
            Ok(())
        }
    }

    /// Runs once before the first connection.
    ///
    /// ```
    /// use std::sync::OnceLock;
    /// use ms_runtime::{Context, Handler, HandlerError, Request};
    /// use ms_runtime::protocol::Json;
    ///
    /// struct Ocr { model: OnceLock<String> }
    ///
    /// impl Handler for Ocr {
    ///     fn name(&self) -> &str { "ocr" }
    ///     fn routes(&self) -> Vec<String> { vec!["extract".into()] }
    ///     async fn on_start(&self) {
    ///         // before the first connection, so no request waits for the model
    ///         let model = std::fs::read_to_string("model.txt").unwrap_or_else(|_| "built-in".into());
    ///         let _ = self.model.set(model);
    ///     }
    /// #   async fn handle(&self, _: &Context, r: Request) -> Result<Json, HandlerError> { Ok(r.payload) }
    /// }
    /// ```
    fn on_start(&self) -> impl Future<Output = ()> {
        async {}
    }

    /// Runs after each connection is welcomed by the gateway.
    fn on_connect(&self) -> impl Future<Output = ()> {
        async {}
    }

    /// Runs after each connection is lost.
    fn on_disconnect(&self) -> impl Future<Output = ()> {
        async {}
    }

    /// Runs once after the service stopped taking work, before it exits.
    fn on_stop(&self) -> impl Future<Output = ()> {
        async {}
    }
}

/// A request as a handler sees it: payload resolved (claim checks fetched).
///
/// ```
/// use serde::Deserialize;
/// use ms_runtime::{Context, Handler, HandlerError, Request};
/// use ms_runtime::protocol::Json;
///
/// #[derive(Deserialize)]
/// struct Extract { page: u32 }
///
/// struct Ocr;
///
/// impl Handler for Ocr {
///     fn name(&self) -> &str { "ocr" }
///     fn routes(&self) -> Vec<String> { vec!["extract".into()] }
///     async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
///         let input: Extract = request.parse()?; // a payload that does not fit answers `bad_request`
///         ms_runtime::reply(&format!("text of page {}", input.page))
///     }
/// }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Request {
    /// The request's id.
    pub id: MessageId,
    /// The route called.
    pub route: String,
    /// Who called: "service/instance" or "http", as the gateway says.
    pub from: Option<String>,
    /// The request's headers.
    pub headers: Headers,
    /// The payload, unparsed.
    pub payload: Json,
}

impl Request {
    /// Parses the payload into `T`.
    ///
    /// # Errors
    /// A `bad_request` [`HandlerError`] with serde's message, naming the route.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, HandlerError> {
        self.payload.parse().map_err(|e| {
            HandlerError::bad_request(format!(
                "payload of route `{}` does not fit: {e}",
                self.route
            ))
        })
    }
}

/// An event as a handler sees it.
///
/// ```
/// use ms_runtime::{Context, Event, Handler, HandlerError, Request};
/// use ms_runtime::protocol::Json;
///
/// struct Indexer;
///
/// impl Handler for Indexer {
///     fn name(&self) -> &str { "indexer" }
///     fn routes(&self) -> Vec<String> { Vec::new() }
///     fn topics(&self) -> Vec<String> { vec!["documents.uploaded".into()] }
/// #   async fn handle(&self, _: &Context, r: Request) -> Result<Json, HandlerError> { Ok(r.payload) }
///     async fn on_event(&self, ctx: &Context, event: Event) -> Result<(), HandlerError> {
///         let key: String = event.parse()?;
///         slog::info!(ctx.log(), "indexing"; "topic" => &event.topic, "key" => key);
///         Ok(())
///     }
/// }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Event {
    /// The event's id.
    pub id: MessageId,
    /// The topic it was published on.
    pub topic: String,
    /// The event's headers.
    pub headers: Headers,
    /// The payload, unparsed.
    pub payload: Json,
}

impl Event {
    /// Parses the payload into `T`.
    ///
    /// # Errors
    /// A `bad_request` [`HandlerError`] with serde's message, naming the topic.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, HandlerError> {
        self.payload.parse().map_err(|e| {
            HandlerError::bad_request(format!(
                "payload of topic `{}` does not fit: {e}",
                self.topic
            ))
        })
    }
}
