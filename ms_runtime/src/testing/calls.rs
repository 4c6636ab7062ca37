//! Calls into the served services, as another service ([`TestKit::call`],
//! [`TestKit::publish`]) or as an outside HTTP client
//! ([`TestKit::invoke_http`]) would make them.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{PASSWORD, TestKit, TestKitError, USER};
use crate::CallError;
use crate::protocol::{Headers, Json};

/// An answer from the gateway's HTTP edge ([`TestKit::invoke_http`]).
///
/// ```no_run
/// use ms_runtime::protocol::{ErrorCode, WireError};
/// use ms_runtime::testing::TestKit;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let kit = TestKit::start().await?;
/// let reply = kit.invoke_http("nobody", "extract", "{}").await?;
/// assert_eq!(reply.status, 404);
/// assert_eq!(reply.json::<WireError>()?.code, ErrorCode::UnknownService);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// HTTP status: 200 for a reply, 4xx/5xx for a protocol error.
    pub status: u16,
    /// The body: the reply's JSON, or the error object.
    pub body: String,
}

impl HttpReply {
    /// The body parsed as JSON of type `T`.
    ///
    /// # Errors
    /// When the body is not a `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.body)
    }
}

impl TestKit {
    /// Calls `route` of `service` through the gateway, as another service
    /// would, and returns its typed reply.
    ///
    /// # Errors
    /// [`CallError`]: the handler's error (see [`CallError::code`]), a
    /// timeout, or a reply that is not an `O`.
    ///
    /// ```no_run
    /// use ms_runtime::protocol::ErrorCode;
    /// use ms_runtime::testing::TestKit;
    /// # use ms_runtime::{Context, Handler, HandlerError, Request};
    /// # use ms_runtime::protocol::Json;
    /// # struct Ocr;
    /// # impl Handler for Ocr {
    /// #     fn name(&self) -> &str { "ocr" }
    /// #     fn routes(&self) -> Vec<String> { vec!["extract".into()] }
    /// #     async fn handle(&self, _: &Context, r: Request) -> Result<Json, HandlerError> {
    /// #         let page: u32 = r.parse()?;
    /// #         ms_runtime::reply(&format!("page {page}"))
    /// #     }
    /// # }
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let kit = TestKit::start().await?;
    /// kit.serve(Ocr).await?;
    /// let text: String = kit.call("ocr", "extract", &3).await?;
    /// assert_eq!(text, "page 3");
    ///
    /// let refused = kit.call::<_, String>("ocr", "extract", "three").await;
    /// assert!(matches!(refused, Err(e) if e.code() == ErrorCode::BadRequest));
    /// # Ok(()) }
    /// ```
    pub async fn call<I, O>(&self, service: &str, route: &str, input: &I) -> Result<O, CallError>
    where
        I: Serialize + ?Sized,
        O: DeserializeOwned,
    {
        let payload = Json::from_value(input).map_err(|e| CallError::Payload(e.to_string()))?;
        let reply = self
            .caller()?
            .gateway()
            .request(service, route, payload, Headers::new(), None)
            .await?;
        reply.parse().map_err(|e| CallError::Payload(e.to_string()))
    }

    /// Publishes `event` on `topic`; returns once the gateway holds it.
    ///
    /// # Errors
    /// [`CallError`] when it cannot be queued or encoded.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::time::Duration;
    /// use ms_runtime::testing::TestKit;
    /// # use ms_runtime::{Context, Event, Handler, HandlerError, Request};
    /// # use ms_runtime::protocol::Json;
    /// # struct Indexer { indexed: Arc<AtomicUsize> }
    /// # impl Handler for Indexer {
    /// #     fn name(&self) -> &str { "indexer" }
    /// #     fn routes(&self) -> Vec<String> { Vec::new() }
    /// #     fn topics(&self) -> Vec<String> { vec!["documents.uploaded".into()] }
    /// #     async fn handle(&self, _: &Context, r: Request) -> Result<Json, HandlerError> { Ok(r.payload) }
    /// #     async fn on_event(&self, _: &Context, _: Event) -> Result<(), HandlerError> {
    /// #         self.indexed.fetch_add(1, Ordering::SeqCst);
    /// #         Ok(())
    /// #     }
    /// # }
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let kit = TestKit::start().await?;
    /// let indexed = Arc::new(AtomicUsize::new(0));
    /// kit.serve(Indexer { indexed: indexed.clone() }).await?;
    /// kit.publish("documents.uploaded", "a.pdf").await?;
    /// // events arrive asynchronously: wait for the handler to see it
    /// while indexed.load(Ordering::SeqCst) == 0 {
    ///     actix_rt::time::sleep(Duration::from_millis(20)).await;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn publish<T: Serialize + ?Sized>(
        &self,
        topic: &str,
        event: &T,
    ) -> Result<(), CallError> {
        let payload = Json::from_value(event).map_err(|e| CallError::Payload(e.to_string()))?;
        self.caller()?
            .gateway()
            .publish(topic, payload, Headers::new())
            .await
    }

    /// Calls `route` of `service` through the gateway's HTTP edge
    /// (`POST /v1/invoke/{service}/{route}`) with a JSON body, as an outside
    /// client would.
    ///
    /// # Errors
    /// [`TestKitError::Http`] when no HTTP answer came; an error answer is an
    /// [`HttpReply`] with its status.
    ///
    /// ```no_run
    /// use ms_runtime::testing::TestKit;
    /// # use ms_runtime::{Context, Handler, HandlerError, Request};
    /// # use ms_runtime::protocol::Json;
    /// # struct Echo;
    /// # impl Handler for Echo {
    /// #     fn name(&self) -> &str { "echo" }
    /// #     fn routes(&self) -> Vec<String> { vec!["echo".into()] }
    /// #     async fn handle(&self, _: &Context, r: Request) -> Result<Json, HandlerError> { Ok(r.payload) }
    /// # }
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let kit = TestKit::start().await?;
    /// kit.serve(Echo).await?;
    /// let reply = kit.invoke_http("echo", "echo", r#"{"page": 3}"#).await?;
    /// assert_eq!(reply.status, 200);
    /// assert_eq!(reply.json::<serde_json::Value>()?["page"], 3);
    /// # Ok(()) }
    /// ```
    pub async fn invoke_http(
        &self,
        service: &str,
        route: &str,
        body: &str,
    ) -> Result<HttpReply, TestKitError> {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(60))
            .finish();
        let mut response = client
            .post(format!("{}/v1/invoke/{service}/{route}", self.http_url()))
            .basic_auth(USER, PASSWORD)
            .insert_header(("content-type", "application/json"))
            .send_body(body.to_owned())
            .await
            .map_err(|e| TestKitError::Http(e.to_string()))?;
        let bytes = response
            .body()
            .limit(64 * 1024 * 1024)
            .await
            .map_err(|e| TestKitError::Http(e.to_string()))?;
        Ok(HttpReply {
            status: response.status().as_u16(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }
}
