//! What a service author writes: a [`Handler`], and the types it sees.

use std::fmt;
use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::Context;
use crate::protocol::{ErrorCode, Headers, Json, MessageId, WireError};

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

/// A handler's failure, as the caller will see it: a protocol error code, a
/// message, and whether retrying may help.
///
/// ```
/// use ms_runtime::HandlerError;
/// use ms_runtime::protocol::ErrorCode;
///
/// let e = HandlerError::new("page 7 is unreadable");
/// assert_eq!(e.code(), &ErrorCode::HandlerError);
/// assert!(!e.is_retryable());
/// assert!(HandlerError::overloaded("model busy").is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    error: WireError,
}

impl HandlerError {
    /// A `handler_error`: the request was understood but could not be served.
    pub fn new(message: impl Into<String>) -> Self {
        Self::with_code(ErrorCode::HandlerError, message)
    }

    /// An error with any protocol code; `retryable` follows the code.
    ///
    /// ```
    /// use ms_runtime::HandlerError;
    /// use ms_runtime::protocol::ErrorCode;
    ///
    /// let e = HandlerError::with_code(ErrorCode::Forbidden, "tenant acme may not read this bucket");
    /// assert_eq!(e.code(), &ErrorCode::Forbidden);
    /// assert_eq!(e.message(), "tenant acme may not read this bucket");
    /// assert!(!e.is_retryable());
    /// ```
    pub fn with_code(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: WireError::new(code, message),
        }
    }

    /// A `bad_request`: the payload is not what the route takes.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::with_code(ErrorCode::BadRequest, message)
    }

    /// An `overloaded` (retryable): try again later or elsewhere.
    pub fn overloaded(message: impl Into<String>) -> Self {
        Self::with_code(ErrorCode::Overloaded, message)
    }

    /// An `internal` (retryable): something broke that is not the caller's fault.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::with_code(ErrorCode::Internal, message)
    }

    /// A `timeout` (retryable).
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::with_code(ErrorCode::Timeout, message)
    }

    /// The same error with `retryable` set explicitly.
    ///
    /// ```
    /// use ms_runtime::HandlerError;
    ///
    /// // the model is still loading: worth trying again, although `handler_error` is not by default
    /// let e = HandlerError::new("model still loading").retryable(true);
    /// assert!(e.is_retryable());
    /// assert!(!HandlerError::internal("disk full").retryable(false).is_retryable());
    /// ```
    pub fn retryable(mut self, retryable: bool) -> Self {
        self.error.retryable = retryable;
        self
    }

    /// The protocol code.
    pub fn code(&self) -> &ErrorCode {
        &self.error.code
    }

    /// The message the caller sees.
    pub fn message(&self) -> &str {
        &self.error.message
    }

    /// Whether the caller may try again.
    pub fn is_retryable(&self) -> bool {
        self.error.retryable
    }

    /// The error object sent on the wire.
    ///
    /// ```
    /// use ms_runtime::HandlerError;
    /// use ms_runtime::protocol::{Envelope, ErrorCode, MessageId};
    ///
    /// let wire = HandlerError::bad_request("page must be a number").into_wire();
    /// assert_eq!(wire.code, ErrorCode::BadRequest);
    /// let frame = Envelope::error(Some(&MessageId::new("r1")?), wire);
    /// assert!(frame.correlation_id().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_wire(self) -> WireError {
        self.error
    }

    /// Wraps a reply payload: `Ok(Json)` from any serialisable value.
    ///
    /// # Errors
    /// An `internal` error when the value cannot be serialised.
    #[deprecated(
        since = "0.2.0",
        note = "a success value does not belong on the error type: use `ms_runtime::reply`"
    )]
    pub fn reply<T: Serialize + ?Sized>(value: &T) -> Result<Json, Self> {
        reply(value)
    }
}

/// A handler's answer from any serialisable value: `Ok(Json)`, the `reply`
/// payload.
///
/// # Errors
/// An `internal` error (not retryable: trying again gives the same value)
/// when the value cannot be serialised, e.g. a map with non-string keys.
///
/// ```
/// let json = ms_runtime::reply(&serde_json::json!({"pages": 3}))?;
/// assert_eq!(json.as_str(), r#"{"pages":3}"#);
/// # Ok::<(), ms_runtime::HandlerError>(())
/// ```
pub fn reply<T: Serialize + ?Sized>(value: &T) -> Result<Json, HandlerError> {
    Json::from_value(value).map_err(|e| {
        HandlerError::internal(format!("reply could not be serialised: {e}")).retryable(false)
    })
}

impl From<WireError> for HandlerError {
    fn from(error: WireError) -> Self {
        Self { error }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for HandlerError {}

impl From<serde_json::Error> for HandlerError {
    /// `?` on `serde_json::from_*` in a handler: the input did not parse,
    /// which is the caller's fault, so `bad_request` (not retryable).
    /// Serialising an answer goes through [`reply`], which reports its own
    /// failures as `internal`.
    ///
    /// ```
    /// use ms_runtime::HandlerError;
    /// use ms_runtime::protocol::ErrorCode;
    ///
    /// let parsed: Result<u32, _> = serde_json::from_str("\"three\"");
    /// let e = HandlerError::from(parsed.unwrap_err());
    /// assert_eq!(e.code(), &ErrorCode::BadRequest);
    /// assert!(!e.is_retryable());
    /// ```
    fn from(e: serde_json::Error) -> Self {
        Self::bad_request(format!("json: {e}"))
    }
}

impl From<crate::s3::S3Error> for HandlerError {
    /// A failed storage operation fails the handler with `internal`,
    /// retryable when the store was unreachable or slow
    /// ([`S3Error::is_transient`](crate::s3::S3Error::is_transient)), so
    /// `?` on an S3 call inside a handler does the right thing.
    fn from(e: crate::s3::S3Error) -> Self {
        let transient = e.is_transient();
        Self::internal(format!("storage: {e}")).retryable(transient)
    }
}

impl From<crate::gateway::CallError> for HandlerError {
    /// A failed call to another service fails this handler with the same code
    /// when the other side answered, or `internal` when the call never got an answer.
    fn from(e: crate::gateway::CallError) -> Self {
        match e {
            crate::gateway::CallError::Remote(wire) => Self { error: wire },
            other => Self::with_code(other.code(), other.to_string()),
        }
    }
}
