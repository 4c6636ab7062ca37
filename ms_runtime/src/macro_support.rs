//! Items used only by the code `#[ms_service]` generates. Not part of the
//! public API: names and signatures may change in any release.
//!
//! The traits here exist for their error messages: each one stands for a
//! bound the generated code needs, and says in the user's words what to
//! change when a type does not meet it. Their blanket impls carry
//! `#[diagnostic::do_not_recommend]` so the compiler reports the bound by
//! our name instead of serde's.

use std::any::{Any, TypeId};
use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::handler::{Event, Request};
use crate::handler_error::HandlerError;
use crate::protocol::{ErrorCode, Json};

/// A type a route's payload parameter can have: deserialisable from JSON.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the payload of an #[ms_service] route or event: it does not implement `serde::Deserialize`",
    label = "add `#[derive(serde::Deserialize)]` to this type",
    note = "the payload parameter is deserialised from the message's JSON; take `ms_runtime::protocol::Json` to get it unparsed"
)]
pub trait Payload: DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned> Payload for T {}

/// What a route method may return: a serialisable value or a `HandlerError`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by an #[ms_service] route",
    label = "return `Result<T, HandlerError>` where `T: serde::Serialize`",
    note = "the `Ok` value is serialised into the reply; the `Err` becomes the caller's error"
)]
pub trait RouteOutput {
    /// The reply payload, or the error the caller sees.
    ///
    /// # Errors
    /// The handler's own error, or an `internal` one when the value cannot
    /// be serialised.
    fn into_reply(self) -> Result<Json, HandlerError>;
}

#[diagnostic::do_not_recommend]
impl<T: Serialize + 'static> RouteOutput for Result<T, HandlerError> {
    fn into_reply(self) -> Result<Json, HandlerError> {
        let mut value = Some(self?);
        // a `Json` reply is already JSON text: pass it on, no copy
        if let Some(json) = take_as::<Json, T>(&mut value) {
            return Ok(json);
        }
        match value {
            Some(value) => crate::handler_error::reply(&value),
            None => Err(HandlerError::internal("the reply was taken twice")),
        }
    }
}

/// Moves the value out of `slot` when `T` is in fact `Want`.
fn take_as<Want: 'static, T: 'static>(slot: &mut Option<T>) -> Option<Want> {
    (slot as &mut dyn Any)
        .downcast_mut::<Option<Want>>()
        .and_then(Option::take)
}

/// What an event method may return.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by an #[ms_service] event handler",
    label = "return `Result<(), HandlerError>`",
    note = "an event has no reply; an error is logged and the event is acknowledged all the same"
)]
pub trait EventOutput {
    /// The handler's outcome.
    ///
    /// # Errors
    /// The handler's own error.
    fn into_outcome(self) -> Result<(), HandlerError>;
}

#[diagnostic::do_not_recommend]
impl EventOutput for Result<(), HandlerError> {
    fn into_outcome(self) -> Result<(), HandlerError> {
        self
    }
}

/// What a service needs to serve a `blocking` route: it is cloned into the
/// closure that runs on the blocking pool.
#[diagnostic::on_unimplemented(
    message = "`{Self}` must be `Clone + Send + 'static` to serve a `blocking` route",
    label = "a `blocking` route runs on a clone of the service",
    note = "add `#[derive(Clone)]` to the service and keep shared or heavy state (a model, a cache) behind an `Arc`"
)]
pub trait BlockingService: Clone + Send + 'static {}

#[diagnostic::do_not_recommend]
impl<T: Clone + Send + 'static> BlockingService for T {}

/// Parses a request's payload; a payload that does not fit is a
/// `bad_request` naming the route.
///
/// # Errors
/// `bad_request` with serde's message.
pub fn decode<T: Payload + 'static>(request: &mut Request) -> Result<T, HandlerError> {
    take_payload(&mut request.payload).map_or_else(|| request.parse(), Ok)
}

/// A `Json` parameter takes the payload as received: the decoder already
/// checked it is JSON, so it is neither parsed again nor copied.
fn take_payload<T: 'static>(payload: &mut Json) -> Option<T> {
    if TypeId::of::<T>() != TypeId::of::<Json>() {
        return None;
    }
    let mut slot = Some(std::mem::replace(payload, Json::null()));
    take_as::<T, Json>(&mut slot)
}

/// Parses an event's payload; a payload that does not fit is a
/// `bad_request` naming the topic.
///
/// # Errors
/// `bad_request` with serde's message.
pub fn decode_event<T: Payload + 'static>(event: &mut Event) -> Result<T, HandlerError> {
    take_payload(&mut event.payload).map_or_else(|| event.parse(), Ok)
}

/// Serialises what a route method returned.
///
/// # Errors
/// See [`RouteOutput::into_reply`].
pub fn encode<T: RouteOutput>(output: T) -> Result<Json, HandlerError> {
    output.into_reply()
}

/// What an event method returned.
///
/// # Errors
/// See [`EventOutput::into_outcome`].
pub fn outcome<T: EventOutput>(output: T) -> Result<(), HandlerError> {
    output.into_outcome()
}

/// The clone of the service a `blocking` route runs on.
pub fn clone_for_blocking<T: BlockingService>(service: &T) -> T {
    service.clone()
}

/// Runs `work`, failing with `timeout` after `limit`.
///
/// The work is dropped at the limit, so an `async` route stops at its next
/// `.await`; a `blocking` route's thread cannot be stopped and runs to the
/// end, its result discarded.
///
/// # Errors
/// The work's own error, or `timeout` naming the route and its limit.
pub async fn within<F>(
    route: &str,
    limit: Duration,
    label: &str,
    work: F,
) -> Result<Json, HandlerError>
where
    F: Future<Output = Result<Json, HandlerError>>,
{
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => Err(HandlerError::timeout(format!(
            "route `{route}` did not answer within its timeout of {label}"
        ))),
    }
}

/// A route's bulkhead: at most `limit` calls of the route run at once, and
/// a call beyond that is refused at once with `overloaded` (retryable)
/// rather than queued, so one slow route cannot take every handler slot.
///
/// Lives in a `static` inside the generated `handle`, so it is shared by
/// every instance of the service type in the process.
#[derive(Debug)]
pub struct Bulkhead {
    permits: Semaphore,
    limit: usize,
}

impl Bulkhead {
    /// A bulkhead letting `limit` calls in at once.
    pub const fn new(limit: usize) -> Self {
        Self {
            permits: Semaphore::const_new(limit),
            limit,
        }
    }

    /// Takes a place for one call of `route`; the place is freed when the
    /// permit is dropped.
    ///
    /// # Errors
    /// `overloaded` when `limit` calls already run.
    pub fn enter(&'static self, route: &str) -> Result<SemaphorePermit<'static>, HandlerError> {
        self.permits.try_acquire().map_err(|_| {
            HandlerError::overloaded(format!(
                "route `{route}` already runs its max_in_flight of {} calls; try again later",
                self.limit
            ))
        })
    }
}

/// The error for a route the service does not serve (the gateway normally
/// refuses such requests before they arrive).
pub fn unknown_route(request: &Request) -> HandlerError {
    HandlerError::with_code(
        ErrorCode::UnknownRoute,
        format!("this service has no route `{}`", request.route),
    )
}

/// The error for an event on a topic the service has no handler for.
pub fn unknown_topic(event: &Event) -> HandlerError {
    HandlerError::new(format!(
        "this service has no handler for topic `{}`",
        event.topic
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    static BULKHEAD: Bulkhead = Bulkhead::new(1);

    #[test]
    fn bulkhead_refuses_beyond_its_limit_and_frees_on_drop() {
        let first = BULKHEAD.enter("r").unwrap();
        let refused = BULKHEAD.enter("r").unwrap_err();
        assert_eq!(refused.code(), &ErrorCode::Overloaded);
        assert!(refused.message().contains("route `r`"), "{refused}");
        drop(first);
        assert!(BULKHEAD.enter("r").is_ok());
    }

    #[test]
    fn encode_serialises_ok_and_keeps_err() {
        let ok: Result<Vec<u8>, HandlerError> = Ok(vec![1, 2]);
        assert_eq!(encode(ok).unwrap().as_str(), "[1,2]");
        let err: Result<u8, HandlerError> = Err(HandlerError::bad_request("no"));
        assert_eq!(encode(err).unwrap_err().code(), &ErrorCode::BadRequest);
    }

    #[test]
    fn json_passes_through_byte_for_byte() {
        let text = r#"{ "a" :  [1, 2.50, "x"] }"#;
        let json = Json::from_text(text).unwrap();
        let back: Json = json.parse().unwrap();
        assert_eq!(encode(Ok::<_, HandlerError>(back)).unwrap().as_str(), text);
    }
}
