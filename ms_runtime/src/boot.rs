//! The one start-up path of [`Service::start`](crate::Service::start) and
//! [`GatewayClient::connect`](crate::GatewayClient::connect): logging, the
//! `hello`, claim-check storage, then the supervisor.
//!
//! It takes two steps because a service does its own work between them
//! (health probe, `on_start`, handler threads) and only then has a
//! dispatcher: [`Boot::prepare`] does what comes before, [`Boot::start`]
//! starts the supervisor with the dispatcher the caller built.

use std::sync::Arc;

use actix::Addr;
use slog::Logger;

use crate::config::Config;
use crate::error::Error;
use crate::gateway::{self, Dispatch, Gateway, Storage, Supervisor};
use crate::logging::{self, LogSettings, LogSink};
use crate::metrics::ServiceMetrics;
use crate::metrics::StatsCell;
use crate::protocol::Hello;

/// What a service registers as: the `hello` it sends, before
/// `MS_SERVICE_NAME` has its say.
///
/// [`GatewayClient::connect`](crate::GatewayClient::connect) takes one;
/// [`Service::start`](crate::Service::start) makes one from its handler.
///
/// ```
/// use ms_runtime::Registration;
///
/// let mut registration = Registration::new("indexer", ["index", "search"])
///     .with_topics(["documents.uploaded"]);
/// registration.version = "1.4.0".into();
/// assert_eq!(registration.routes, ["index", "search"]);
/// assert_eq!(registration.topics, ["documents.uploaded"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// Service name (overridden by `MS_SERVICE_NAME`).
    pub service: String,
    /// Routes served.
    pub routes: Vec<String>,
    /// Topics subscribed.
    pub topics: Vec<String>,
    /// The service's version string.
    pub version: String,
}

impl Registration {
    /// A registration for `service` serving `routes`.
    pub fn new(
        service: impl Into<String>,
        routes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            service: service.into(),
            routes: routes.into_iter().map(Into::into).collect(),
            topics: Vec::new(),
            version: String::new(),
        }
    }

    /// The same registration subscribed to `topics`.
    pub fn with_topics(mut self, topics: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.topics = topics.into_iter().map(Into::into).collect();
        self
    }
}

/// A start-up half done: logging runs, the `hello` is written, storage is
/// open; the supervisor is not started yet.
pub(crate) struct Boot {
    /// The process-wide log sink, for the loggers of each component.
    sink: LogSink,
    /// What the supervisor announces on every connection.
    hello: Hello,
    /// Claim-check storage, handed to the supervisor.
    storage: Storage,
    /// Where the session publishes its figures.
    stats: Arc<StatsCell>,
    /// The service's metrics, served by the probe listener.
    metrics: Arc<ServiceMetrics>,
}

impl Boot {
    /// Starts logging (or joins the sink already running in this process),
    /// checks for an actix system, writes the `hello` and opens claim-check
    /// storage.
    ///
    /// # Errors
    /// [`Error::Logging`] when the log sink cannot start; [`Error::NoSystem`]
    /// outside an actix system; [`Error::S3`] for unusable S3 settings.
    pub(crate) fn prepare(config: &Config, registration: Registration) -> Result<Self, Error> {
        let service = config.service_name.clone().unwrap_or(registration.service);
        let sink =
            logging::init(LogSettings::from_config(config, &service)).map_err(Error::Logging)?;
        if actix_rt::System::try_current().is_none() {
            return Err(Error::NoSystem);
        }
        let log = sink.service_logger(&service, &config.instance_id, "ms_runtime");
        let stats = Arc::new(StatsCell::default());
        let metrics = Arc::new(ServiceMetrics::new(
            &service,
            &registration.version,
            stats.clone(),
            sink.dropped_counter(),
        ));
        let storage = crate::claim_check::open_storage(config, &log, metrics.s3())?;
        let hello = Hello {
            service,
            instance: config.instance_id.clone(),
            routes: registration.routes,
            topics: registration.topics,
            max_in_flight: config.max_in_flight,
            version: registration.version,
        };
        Ok(Self {
            sink,
            hello,
            storage,
            stats,
            metrics,
        })
    }

    /// A logger for `component` of this service.
    pub(crate) fn logger(&self, component: &str) -> Logger {
        self.sink
            .service_logger(&self.hello.service, &self.hello.instance, component)
    }

    /// The service's metrics.
    pub(crate) fn metrics(&self) -> &Arc<ServiceMetrics> {
        &self.metrics
    }

    /// The log sink, to flush at shutdown.
    pub(crate) fn sink(&self) -> &LogSink {
        &self.sink
    }

    /// Starts the supervisor, which connects in the background and hands
    /// what arrives to `dispatch`.
    ///
    /// # Errors
    /// [`Error::InvalidName`] for a name the gateway would refuse;
    /// [`Error::Tls`] when the CA file cannot be used.
    pub(crate) fn start(
        self,
        config: &Config,
        dispatch: Box<dyn Dispatch>,
    ) -> Result<(Addr<Supervisor>, Gateway), Error> {
        let log = self.logger("gateway");
        gateway::start(config, self.hello, log, dispatch, self.storage, self.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_an_actix_system_nothing_is_opened() {
        // storage set-up spawns a task: it must not be reached without a system
        let config = Config::from_vars([
            ("MS_S3_ENDPOINT", "http://127.0.0.1:9"),
            ("MS_S3_BUCKET", "claims"),
            ("MS_LOG_LEVEL", "error"),
        ])
        .unwrap();
        let refused = Boot::prepare(&config, Registration::new("ocr", ["extract"]));
        assert!(matches!(refused, Err(Error::NoSystem)));
    }
}
