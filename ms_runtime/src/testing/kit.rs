//! The kit itself: the in-process gateway and S3 store, the services it
//! serves, and the caller service its calls go through.

use std::net::SocketAddr;

use ms_gateway::{DevS3Config, Gateway as GatewayServer, GatewayConfig, RunningGateway, User};

use super::{
    ACCESS_KEY, BUCKET, CALLER, CONNECT_WAIT, PASSWORD, REGION, SECRET_KEY, TestKitError, USER,
    fast_tuning,
};
use crate::protocol::Json;
use crate::{
    CallError, Config, ConfigBuilder, Context, Handler, HandlerError, Request, S3, Service,
};

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

    pub(super) fn caller(&self) -> Result<&Service, CallError> {
        self.caller.as_ref().ok_or(CallError::Stopped)
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
