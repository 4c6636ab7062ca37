//! A test kit: a real gateway and a real S3-compatible store, in process, on
//! free loopback ports, so a service's tests talk to the same parts it meets
//! in production, over real sockets.
//!
//! Enabled by the `testing` feature; add it to the dev-dependencies:
//!
//! ```toml
//! [dev-dependencies]
//! ms_runtime = { version = "0.1", features = ["testing"] }
//! ```
//!
//! Start a kit, serve a handler, call it: three lines.
//!
//! ```
//! use ms_runtime::testing::TestKit;
//! use ms_runtime::{Context, HandlerError, ms_service};
//!
//! #[derive(Clone)]
//! struct Greeter;
//!
//! #[ms_service(name = "greeter")]
//! impl Greeter {
//!     #[route("hello")]
//!     async fn hello(&self, _ctx: &Context, name: String) -> Result<String, HandlerError> {
//!         Ok(format!("hello, {name}"))
//!     }
//! }
//!
//! # actix_rt::System::new().block_on(async {
//! let kit = TestKit::start().await?;
//! kit.serve(Greeter).await?;
//! let answer: String = kit.call("greeter", "hello", "ada").await?;
//! assert_eq!(answer, "hello, ada");
//! # kit.stop().await;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! Every call needs an actix system (`#[actix_rt::test]`), as services do.
//! Give each test its own kit: kits share nothing, so tests run in parallel.

use std::net::SocketAddr;
use std::time::Duration;

use ms_gateway::{DevS3Config, Gateway as GatewayServer, GatewayConfig, RunningGateway, User};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::protocol::{Headers, Json};
use crate::{
    CallError, Config, ConfigBuilder, ConfigError, Context, Error, Handler, HandlerError, Request,
    S3, S3Error, Service, Tuning,
};

/// The user services of a kit connect as.
///
/// ```no_run
/// use ms_runtime::testing::{PASSWORD, TestKit, USER};
/// use ms_runtime::{Config, GatewayClient, Registration};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let kit = TestKit::start().await?;
/// // a raw client, configured by hand instead of with `kit.config(...)`
/// let config = Config::builder().gateway_url(kit.ws_url()).credentials(USER, PASSWORD).build()?;
/// let client = GatewayClient::connect(&config, Registration::new("raw", ["ping"]))?;
/// # let _ = client;
/// # Ok(()) }
/// ```
pub const USER: &str = "test";
/// Its password.
///
/// ```no_run
/// use ms_runtime::testing::{PASSWORD, TestKit, USER};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let kit = TestKit::start().await?;
/// // publish through the gateway's HTTP edge, as an outside client would
/// let response = awc::Client::default()
///     .post(format!("{}/v1/publish/documents.uploaded", kit.http_url()))
///     .basic_auth(USER, PASSWORD)
///     .send_json(&"a.pdf")
///     .await?;
/// assert_eq!(response.status().as_u16(), 202);
/// # Ok(()) }
/// ```
pub const PASSWORD: &str = "test-password";
/// The bucket a kit creates and configures services with.
///
/// ```no_run
/// use ms_runtime::s3::PutOptions;
/// use ms_runtime::testing::{BUCKET, TestKit};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let kit = TestKit::start().await?;
/// // a served service's `ctx.s3()` has the same default bucket
/// assert_eq!(kit.s3().bucket()?, BUCKET);
/// kit.s3().put_bytes(BUCKET, "fixtures/page.txt", "hello".into(), PutOptions::new()).await?;
/// # Ok(()) }
/// ```
pub const BUCKET: &str = "test";
const ACCESS_KEY: &str = "test-access";
const SECRET_KEY: &str = "test-secret";
const REGION: &str = "us-east-1";
const CALLER: &str = "test-kit";
const CONNECT_WAIT: Duration = Duration::from_secs(15);

/// What can go wrong while setting up a kit or a service under test.
///
/// ```no_run
/// use ms_runtime::testing::{TestKit, TestKitError};
/// # use ms_runtime::{Context, Handler, HandlerError, Request};
/// # use ms_runtime::protocol::Json;
/// # struct Echo;
/// # impl Handler for Echo {
/// #     fn name(&self) -> &str { "echo" }
/// #     fn routes(&self) -> Vec<String> { vec!["echo".into()] }
/// #     async fn handle(&self, _: &Context, r: Request) -> Result<Json, HandlerError> { Ok(r.payload) }
/// # }
///
/// /// A kit serving the echo service, for the tests of this file.
/// async fn kit_with_echo() -> Result<TestKit, TestKitError> {
///     let kit = TestKit::start().await?;
///     kit.serve(Echo).await?;
///     Ok(kit)
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestKitError {
    /// The in-process gateway (or its S3 store) did not start.
    #[error("the test gateway did not start: {0}")]
    Gateway(String),
    /// The temporary folder for the S3 store could not be made.
    #[error("cannot make a folder for the test S3 store: {0}")]
    Io(#[from] std::io::Error),
    /// The kit's S3 store refused the set-up (bucket creation).
    #[error("the test S3 store: {0}")]
    Storage(#[from] S3Error),
    /// A service configuration the kit built was refused.
    #[error("bad test configuration: {0}")]
    Config(#[from] ConfigError),
    /// The service did not start.
    #[error("the service did not start: {0}")]
    Service(#[from] Error),
    /// The service started but the gateway did not welcome it in time.
    #[error("service `{service}` did not connect to the test gateway within {waited:?}")]
    NotConnected {
        /// The service's name.
        service: String,
        /// How long the kit waited.
        waited: Duration,
    },
    /// A call through the gateway's HTTP edge did not get an answer.
    #[error("HTTP call to the test gateway failed: {0}")]
    Http(String),
}

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

/// A running gateway with its S3 store, and a caller connected to it.
///
/// Stop it with [`TestKit::stop`]; dropping it also stops the gateway (without
/// waiting) and removes the store's folder.
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
/// let answer: Vec<u32> = kit.call("echo", "echo", &[1, 2, 3]).await?;
/// assert_eq!(answer, [1, 2, 3]);
/// kit.stop().await;
/// # Ok(()) }
/// ```
pub struct TestKit {
    // Field order is drop order: the caller before the gateway, the gateway
    // before the folder its store writes to.
    served: std::sync::Mutex<Vec<Service>>,
    caller: Option<Service>,
    gateway: Option<RunningGateway>,
    s3: S3,
    s3_endpoint: String,
    ws_url: String,
    http_url: String,
    _data: tempfile::TempDir,
}

impl std::fmt::Debug for TestKit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKit")
            .field("ws_url", &self.ws_url)
            .field("s3_endpoint", &self.s3_endpoint)
            .finish_non_exhaustive()
    }
}

impl TestKit {
    /// Starts a gateway on a free loopback port with the test user, its
    /// embedded S3 store in a temporary folder with the bucket [`BUCKET`],
    /// and a caller service for [`TestKit::call`] and [`TestKit::publish`].
    ///
    /// # Errors
    /// [`TestKitError`] naming the part that did not start.
    pub async fn start() -> Result<Self, TestKitError> {
        let data = tempfile::Builder::new().prefix("ms-testkit-").tempdir()?;
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut config = GatewayConfig::new(loopback);
        config
            .users
            .add_user(User::new(USER, &ms_gateway::Secret::new(PASSWORD)));
        config.dev_s3 = Some(DevS3Config {
            bind: loopback,
            data_dir: data.path().to_path_buf(),
            access_key: ACCESS_KEY.to_owned(),
            secret_key: ms_gateway::Secret::new(SECRET_KEY),
        });
        let gateway =
            GatewayServer::start(config).map_err(|e| TestKitError::Gateway(e.to_string()))?;
        let s3_addr = gateway
            .s3_addr()
            .ok_or_else(|| TestKitError::Gateway("the S3 store has no address".to_owned()))?;
        let s3_endpoint = format!("http://{s3_addr}");
        let ws_url = gateway.ws_url();
        let http_url = gateway.http_url();

        let s3_config = Self::builder_for(&ws_url, &s3_endpoint, CALLER)
            .build()?
            .s3
            .ok_or_else(|| TestKitError::Gateway("no S3 settings".to_owned()))?;
        let s3 = S3::connect(&s3_config)?;
        s3.ensure_bucket(BUCKET).await?;

        let mut kit = Self {
            served: std::sync::Mutex::new(Vec::new()),
            caller: None,
            gateway: Some(gateway),
            s3,
            s3_endpoint,
            ws_url,
            http_url,
            _data: data,
        };
        let caller = kit.config(CALLER)?;
        kit.caller = Some(kit.start_service(caller, Caller).await?);
        Ok(kit)
    }

    fn builder_for(ws_url: &str, s3_endpoint: &str, name: &str) -> ConfigBuilder {
        let level = std::env::var("MS_LOG_LEVEL").unwrap_or_else(|_| "warning".to_owned());
        Config::builder()
            .gateway_url(ws_url)
            .credentials(USER, PASSWORD)
            .service_name(name)
            .s3_endpoint(s3_endpoint)
            .s3_region(REGION)
            .s3_bucket(BUCKET)
            .s3_keys(ACCESS_KEY, SECRET_KEY)
            .log_level(level)
            .tuning(fast_tuning())
    }

    /// A config builder for service `name`, set up for this kit: gateway URL
    /// and credentials, S3 endpoint, keys and bucket, reconnects within a
    /// second, log level from `MS_LOG_LEVEL` (else `warning`). Change what
    /// the test needs, then [`TestKit::serve_with`].
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
    /// // claim checks from 1 KiB, so a small test payload goes through S3
    /// let config = kit.config_builder("echo").claim_check_threshold(1024).build()?;
    /// kit.serve_with(config, Echo).await?;
    /// let big = "x".repeat(4096);
    /// let answer: String = kit.call("echo", "echo", &big).await?;
    /// assert_eq!(answer, big);
    /// # Ok(()) }
    /// ```
    pub fn config_builder(&self, name: &str) -> ConfigBuilder {
        Self::builder_for(&self.ws_url, &self.s3_endpoint, name)
    }

    /// [`TestKit::config_builder`], built.
    ///
    /// # Errors
    /// Only if `name` is not a valid service name.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use ms_runtime::Service;
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
    /// // a service the test stops itself, e.g. to check what it leaves behind
    /// let service = Service::start(kit.config("echo")?, Echo).await?;
    /// assert!(service.gateway().wait_connected(Duration::from_secs(10)).await);
    /// let answer: String = kit.call("echo", "echo", "hi").await?;
    /// assert_eq!(answer, "hi");
    /// service.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn config(&self, name: &str) -> Result<Config, TestKitError> {
        Ok(self.config_builder(name).build()?)
    }

    /// Starts `handler` as a service named by [`Handler::name`] and waits
    /// until the gateway has welcomed it. The kit keeps it running until
    /// [`TestKit::stop`] (a test that stops a service itself starts it with
    /// [`Service::start`] and [`TestKit::config`]).
    ///
    /// # Errors
    /// [`TestKitError::Service`] or [`TestKitError::NotConnected`].
    pub async fn serve<H: Handler>(&self, handler: H) -> Result<(), TestKitError> {
        let config = self.config(handler.name())?;
        self.serve_with(config, handler).await
    }

    /// [`TestKit::serve`] with a config of the test's own (see
    /// [`TestKit::config_builder`]).
    ///
    /// # Errors
    /// [`TestKitError::Service`] or [`TestKitError::NotConnected`].
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
    /// // the same handler under a second name, with one request at a time
    /// kit.serve_with(kit.config_builder("echo-slow").max_in_flight(1).build()?, Echo).await?;
    /// let answer: String = kit.call("echo-slow", "echo", "hi").await?;
    /// assert_eq!(answer, "hi");
    /// # Ok(()) }
    /// ```
    pub async fn serve_with<H: Handler>(
        &self,
        config: Config,
        handler: H,
    ) -> Result<(), TestKitError> {
        let service = self.start_service(config, handler).await?;
        self.served
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(service);
        Ok(())
    }

    async fn start_service<H: Handler>(
        &self,
        config: Config,
        handler: H,
    ) -> Result<Service, TestKitError> {
        let name = handler.name().to_owned();
        let service = Service::start(config, handler).await?;
        if service.gateway().wait_connected(CONNECT_WAIT).await {
            Ok(service)
        } else {
            service.shutdown().await;
            Err(TestKitError::NotConnected {
                service: name,
                waited: CONNECT_WAIT,
            })
        }
    }

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
            .post(format!("{}/v1/invoke/{service}/{route}", self.http_url))
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

    /// A handle on the kit's S3 store: put fixtures, or check what a service
    /// wrote. Its default bucket is [`BUCKET`].
    ///
    /// ```no_run
    /// use ms_runtime::s3::PutOptions;
    /// use ms_runtime::testing::{BUCKET, TestKit};
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let kit = TestKit::start().await?;
    /// // a fixture for the service under test to read
    /// kit.s3().put_bytes(BUCKET, "inbox/a.txt", "alpha".into(), PutOptions::new()).await?;
    /// // ... serve the service and call it, then check what it wrote ...
    /// assert_eq!(&kit.s3().get_bytes(BUCKET, "done/a.txt").await?[..], b"ALPHA");
    /// # Ok(()) }
    /// ```
    pub fn s3(&self) -> &S3 {
        &self.s3
    }

    /// The gateway's websocket URL (`ws://127.0.0.1:PORT/v1/ws`).
    pub fn ws_url(&self) -> &str {
        &self.ws_url
    }

    /// The gateway's HTTP base URL (`http://127.0.0.1:PORT`).
    pub fn http_url(&self) -> &str {
        &self.http_url
    }

    /// The S3 store's endpoint URL.
    pub fn s3_endpoint(&self) -> &str {
        &self.s3_endpoint
    }

    /// Stops the served services, the caller and the gateway, in that
    /// order, waiting for each.
    pub async fn stop(mut self) {
        let served = std::mem::take(
            self.served
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for service in served.into_iter().rev() {
            service.shutdown().await;
        }
        if let Some(caller) = self.caller.take() {
            caller.shutdown().await;
        }
        if let Some(gateway) = self.gateway.take() {
            gateway.stop().await;
        }
    }

    fn caller(&self) -> Result<&Service, CallError> {
        self.caller.as_ref().ok_or(CallError::Stopped)
    }
}

/// Timings for tests: reconnect within 0.2-1 s, refused credentials retried
/// after about 1.5 s, a 5 s shutdown grace, two handler threads.
///
/// ```
/// use std::time::Duration;
/// use ms_runtime::Config;
/// use ms_runtime::testing::fast_tuning;
///
/// let config = Config::builder().tuning(fast_tuning()).build()?;
/// assert_eq!(config.tuning.handler_threads, 2);
/// assert_eq!(config.tuning.reconnect_max, Duration::from_secs(1));
/// # Ok::<(), ms_runtime::ConfigError>(())
/// ```
pub fn fast_tuning() -> Tuning {
    Tuning {
        reconnect_initial: Duration::from_millis(200),
        reconnect_max: Duration::from_secs(1),
        auth_retry_initial: Duration::from_millis(1500),
        auth_retry_max: Duration::from_secs(3),
        connect_timeout: Duration::from_secs(3),
        shutdown_grace: Duration::from_secs(5),
        handler_threads: 2,
        ..Tuning::default()
    }
}

/// The kit's own service: no routes, used to call and publish.
struct Caller;

impl Handler for Caller {
    fn name(&self) -> &str {
        CALLER
    }

    fn routes(&self) -> Vec<String> {
        Vec::new()
    }

    async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        Err(HandlerError::with_code(
            crate::protocol::ErrorCode::UnknownRoute,
            format!("the test kit's caller has no route `{}`", request.route),
        ))
    }
}
