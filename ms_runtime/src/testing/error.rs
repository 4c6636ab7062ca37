//! What can go wrong in a test kit.

use std::time::Duration;

use crate::s3::S3Error;
use crate::{ConfigError, Error};

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
