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

mod calls;
mod error;
mod kit;

use std::time::Duration;

use crate::Tuning;

pub use calls::HttpReply;
pub use error::TestKitError;
pub use kit::TestKit;

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
