//! `run()`: builds the actor system from a `Config` and a `Handler`, serves
//! until SIGINT/SIGTERM, then shuts down without losing what it holds.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::{Addr, Arbiter};
use slog::{Logger, info};

use crate::boot::{Boot, Registration};
use crate::config::Config;
use crate::dispatch::HandlerPool;
use crate::error::Error;
use crate::gateway::Dispatch;
use crate::gateway::{self, Gateway, Supervisor};
use crate::handler::Handler;
use crate::health::HealthProbe;
use crate::logging::LogSink;
use crate::placement::Placement;
use crate::trace::Tracer;

/// Runs a service until SIGINT or SIGTERM: connects to the gateway, serves
/// every request with `handler`, then shuts down gracefully (in-flight
/// handlers finish within `Tuning::shutdown_grace`, unfinished requests are
/// handed back to the gateway, unacknowledged frames flushed, logs flushed,
/// close 1001).
///
/// It creates its own actix system; call it from `main`, not from inside a
/// runtime (use [`Service::start`] there).
///
/// # Errors
/// [`Error`] when the service cannot start (TLS set-up, logging).
///
/// ```no_run
/// use ms_runtime::{Config, Context, Handler, HandlerError, Request};
/// use ms_runtime::protocol::Json;
///
/// struct Echo;
///
/// impl Handler for Echo {
///     fn name(&self) -> &str { "echo" }
///     fn routes(&self) -> Vec<String> { vec!["echo".into()] }
///     async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
///         Ok(request.payload)
///     }
/// }
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     ms_runtime::run(Config::from_env()?, Echo)?;
///     Ok(())
/// }
/// ```
pub fn run<H: Handler>(config: Config, handler: H) -> Result<(), Error> {
    let system = actix_rt::System::new();
    system.block_on(async move {
        let service = Service::start(config, handler).await?;
        shutdown_signal().await;
        service.shutdown().await;
        Ok(())
    })
}

/// The whole `main` of a service configured from the environment: reads
/// [`Config::from_env`], runs `handler` until SIGINT/SIGTERM, and turns the
/// outcome into an exit code (2 for a configuration error, 1 for a failure
/// to start or run), printing the error on stderr.
///
/// ```no_run
/// # use ms_runtime::{Context, Handler, HandlerError, Request};
/// # use ms_runtime::protocol::Json;
/// # struct Echo;
/// # impl Handler for Echo {
/// #     fn name(&self) -> &str { "echo" }
/// #     fn routes(&self) -> Vec<String> { vec!["echo".into()] }
/// #     async fn handle(&self, _: &Context, r: Request) -> Result<Json, HandlerError> { Ok(r.payload) }
/// # }
/// fn main() -> std::process::ExitCode {
///     ms_runtime::run_from_env(Echo)
/// }
/// ```
pub fn run_from_env<H: Handler>(handler: H) -> std::process::ExitCode {
    let program = std::env::args()
        .next()
        .and_then(|p| {
            std::path::Path::new(&p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| handler.name().to_owned());
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{program}: {}", with_causes(&e));
            return std::process::ExitCode::from(2);
        }
    };
    match run(config, handler) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {}", with_causes(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// An error and its chain of sources on one line, `what: why: deeper why`:
/// errors keep their causes as sources, and a message that stops at the
/// first one ("TLS set-up failed") would hide which file was wrong.
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Waits for SIGINT (Ctrl-C) or SIGTERM.
///
/// ```no_run
/// use ms_runtime::{Config, Service, shutdown_signal};
/// # use ms_runtime::{Context, Handler, HandlerError, Request};
/// # use ms_runtime::protocol::Json;
/// # struct Echo;
/// # impl Handler for Echo {
/// #     fn name(&self) -> &str { "echo" }
/// #     fn routes(&self) -> Vec<String> { vec!["echo".into()] }
/// #     async fn handle(&self, _: &Context, r: Request) -> Result<Json, HandlerError> { Ok(r.payload) }
/// # }
///
/// #[actix_rt::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let service = Service::start(Config::from_env()?, Echo).await?;
///     shutdown_signal().await; // Ctrl-C, or SIGTERM from the orchestrator
///     service.shutdown().await;
///     Ok(())
/// }
/// ```
pub async fn shutdown_signal() {
    let interrupt = async {
        // no handler can be installed: never resolve rather than stop at once
        if actix_rt::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match actix_rt::signal::unix::signal(actix_rt::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// A running service, started inside an actix system.
///
/// ```no_run
/// # use ms_runtime::{Config, Context, Handler, HandlerError, Request, Service};
/// # use ms_runtime::protocol::Json;
/// # struct Echo;
/// # impl Handler for Echo {
/// #     fn name(&self) -> &str { "echo" }
/// #     fn routes(&self) -> Vec<String> { vec!["echo".into()] }
/// #     async fn handle(&self, _: &Context, r: Request) -> Result<Json, HandlerError> { Ok(r.payload) }
/// # }
/// # async fn demo() -> Result<(), ms_runtime::Error> {
/// let service = Service::start(Config::from_env()?, Echo).await?;
/// service.gateway().wait_connected(std::time::Duration::from_secs(5)).await;
/// // ... serve ...
/// service.shutdown().await;
/// # Ok(()) }
/// ```
pub struct Service {
    gateway: Gateway,
    supervisor: Addr<Supervisor>,
    arbiters: Vec<Arbiter>,
    on_stop: Box<dyn FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>>,
    grace: Duration,
    /// Spans are flushed to the collector on shutdown (feature `otel`).
    tracer: Tracer,
    log: Logger,
    sink: LogSink,
    /// The probe and metrics listeners' tasks.
    listeners: Vec<actix_rt::task::JoinHandle<()>>,
    health_addr: Option<SocketAddr>,
    metrics_addr: Option<SocketAddr>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("gateway", &self.gateway)
            .finish()
    }
}

impl Service {
    /// Starts the log sink, runs `on_start`, starts the handler threads and
    /// the supervisor, and returns at once; the connection is made in the
    /// background (watch it with [`Gateway::wait_connected`]).
    ///
    /// # Errors
    /// [`Error::Logging`] when the log sink cannot start; [`Error::NoSystem`]
    /// outside an actix system; [`Error::Tls`] when the CA file cannot be
    /// used; [`Error::S3`] when the S3 settings are unusable;
    /// [`Error::HealthBind`] when the probe port cannot be opened;
    /// [`Error::InvalidName`] for a name the gateway would refuse.
    pub async fn start<H: Handler>(config: Config, handler: H) -> Result<Self, Error> {
        let registration = Registration {
            service: handler.name().to_owned(),
            routes: handler.routes(),
            topics: handler.topics(),
            version: handler.version().to_owned(),
        };
        let boot = Boot::prepare(&config, registration)?;
        let log = boot.logger("ms_runtime");
        let handler = Arc::new(handler);
        let threads = config.tuning.handler_threads;
        let probe = match config.health_bind {
            Some(addr) => Some(
                HealthProbe::bind(addr)
                    .await
                    .map_err(|source| Error::HealthBind { addr, source })?,
            ),
            None => None,
        };
        let health_addr = probe.as_ref().and_then(|p| p.local_addr().ok());
        let metrics_probe = match config.metrics_bind {
            Some(addr) => Some(
                HealthProbe::bind(addr)
                    .await
                    .map_err(|source| Error::MetricsBind { addr, source })?,
            ),
            None => None,
        };
        let metrics_addr = metrics_probe.as_ref().and_then(|p| p.local_addr().ok());
        let metrics = boot.metrics().clone();
        handler.on_start().await;
        let arbiters: Vec<Arbiter> = (0..threads).map(|_| Arbiter::new()).collect();
        let handles = Arc::new(arbiters.iter().map(Arbiter::handle).collect::<Vec<_>>());
        let tracer = Tracer::from_env(handler.name(), &log);
        let dispatch: Box<dyn Dispatch> = Box::new(HandlerPool::new(
            handler.clone(),
            handles,
            Placement::new(threads, config.tuning.inline_budget),
            boot.metrics().handled(),
            boot.logger("handler"),
            tracer.clone(),
        ));
        let health_log = boot.logger("health");
        let sink = boot.sink().clone();
        let (supervisor, gateway) = match boot.start(&config, dispatch) {
            Ok(started) => started,
            Err(e) => {
                for arbiter in &arbiters {
                    arbiter.stop();
                }
                return Err(e);
            }
        };
        if probe.is_some() {
            info!(log, "answering health probes and metrics scrapes";
                "addr" => health_addr.map(|a| a.to_string()));
        }
        if metrics_probe.is_some() {
            info!(log, "answering metrics scrapes"; "addr" => metrics_addr.map(|a| a.to_string()));
        }
        let listeners = probe
            .into_iter()
            .chain(metrics_probe)
            .map(|probe| {
                actix_rt::spawn(probe.serve(
                    gateway.state_changes(),
                    metrics.clone(),
                    health_log.clone(),
                ))
            })
            .collect();
        info!(log, "service started";
            "gateway" => config.gateway_url.as_str(), "handler_threads" => threads,
            "max_in_flight" => config.max_in_flight);
        let stopping = handler.clone();
        Ok(Self {
            gateway,
            supervisor,
            arbiters,
            on_stop: Box::new(move || Box::pin(async move { stopping.on_stop().await })),
            grace: config.tuning.shutdown_grace,
            tracer,
            log,
            sink,
            listeners,
            health_addr,
            metrics_addr,
        })
    }

    /// The connection to the gateway.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// Where health probes are answered (`MS_HEALTH_BIND`, with the real port
    /// when it asked for port 0); `None` when probes are off.
    pub fn health_addr(&self) -> Option<SocketAddr> {
        self.health_addr
    }

    /// Where metrics are answered on a port of their own (`MS_METRICS_BIND`,
    /// with the real port when it asked for port 0); `None` when metrics
    /// share the probe port or are not served. `GET /metrics` is also
    /// answered on [`Service::health_addr`].
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Stops taking new work, lets in-flight handlers finish within the
    /// grace period, hands unfinished requests back to the gateway, flushes
    /// unacknowledged frames, closes with 1001, runs `on_stop`, stops the
    /// handler threads, sends the last spans (feature `otel`) and flushes
    /// the logs.
    pub async fn shutdown(self) {
        gateway::stop(&self.supervisor, self.grace).await;
        for listener in self.listeners {
            // wait until each listener is dropped: the ports are closed
            // when shutdown returns
            listener.abort();
            let _ = listener.await;
        }
        (self.on_stop)().await;
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
        self.tracer.shutdown().await;
        info!(self.log, "service stopped");
        // logs are best effort at exit: a slow output must not hang shutdown
        let _ = self.sink.flush(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_startup_error_is_reported_with_every_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let tls = crate::Error::Tls(Box::new(io));
        assert_eq!(with_causes(&tls), "TLS set-up failed: no such file");
        let threads = std::io::Error::other("no threads left");
        let logging = crate::Error::Logging(crate::logging::LoggingError::Start(threads));
        assert_eq!(
            with_causes(&logging),
            "logging could not start: log sink thread could not start: no threads left"
        );
        let config = crate::Error::from(Config::from_vars([("MS_LOG_FORMAT", "xml")]).unwrap_err());
        assert_eq!(
            with_causes(&config),
            r#"invalid configuration: MS_LOG_FORMAT (environment) must be term or json, found "xml""#
        );
    }
}
