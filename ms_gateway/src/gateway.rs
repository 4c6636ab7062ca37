//! Starting and stopping a gateway: the public handle around the server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use tokio::sync::{oneshot, watch};

use crate::config::GatewayConfig;
use crate::error::{Error, Result};
use crate::http_edge::{self, EdgeState};
use crate::hub::Hub;
use crate::router::RouterLimits;
use crate::session::SessionLimits;
use crate::trace::GatewayTracer;

/// How often deadlines are checked.
const TICK: Duration = Duration::from_millis(10);

/// The gateway: [`Gateway::start`] serves a [`GatewayConfig`] on its own
/// thread and returns a [`RunningGateway`] handle.
#[derive(Debug)]
pub struct Gateway;

/// A gateway serving in the background. Dropping it asks it to stop
/// without waiting; [`RunningGateway::stop`] waits for the end.
#[derive(Debug)]
pub struct RunningGateway {
    addr: SocketAddr,
    s3_addr: Option<SocketAddr>,
    is_tls: bool,
    stop_tx: Option<oneshot::Sender<()>>,
    done_rx: Option<oneshot::Receiver<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Gateway {
    /// Binds the listener(s) and starts serving on a new thread with its own
    /// actix system, so it can be used from any runtime or none.
    ///
    /// # Errors
    /// [`Error::NoUsers`] without users, [`Error::Io`] when the address
    /// cannot be bound, [`Error::Tls`] for bad certificates, [`Error::S3`]
    /// when the dev store cannot start.
    pub fn start(config: GatewayConfig) -> Result<RunningGateway> {
        if config.users.is_empty() {
            return Err(Error::NoUsers);
        }
        let tls = config
            .tls
            .as_ref()
            .map(crate::tls::server_config)
            .transpose()?;
        let listener = std::net::TcpListener::bind(config.bind).map_err(|source| Error::Io {
            addr: config.bind.to_string(),
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| Error::Io {
            addr: config.bind.to_string(),
            source,
        })?;
        let is_tls = tls.is_some();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<Option<SocketAddr>>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (done_tx, done_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("ms-gateway".to_owned())
            .spawn(move || {
                let system = actix_rt::System::new();
                system.block_on(serve(config, listener, tls, ready_tx, stop_rx));
                let _ = done_tx.send(());
            })
            .map_err(|e| Error::Thread(e.to_string()))?;
        match ready_rx.recv() {
            Ok(Ok(s3_addr)) => Ok(RunningGateway {
                addr,
                s3_addr,
                is_tls,
                stop_tx: Some(stop_tx),
                done_rx: Some(done_rx),
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(Error::Thread(
                    "the gateway thread ended before it was ready".to_owned(),
                ))
            }
        }
    }
}

impl RunningGateway {
    /// The address it listens on (with the real port when bound to port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The embedded S3 store's address, in dev mode.
    pub fn s3_addr(&self) -> Option<SocketAddr> {
        self.s3_addr
    }

    /// The websocket URL services connect to (`ws://` or `wss://`, path `/v1/ws`).
    pub fn ws_url(&self) -> String {
        let scheme = if self.is_tls { "wss" } else { "ws" };
        format!("{scheme}://{}/v1/ws", self.addr)
    }

    /// The base URL of the HTTP edge (`http://` or `https://`).
    pub fn http_url(&self) -> String {
        let scheme = if self.is_tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Stops gracefully and waits for the end: new work is refused, queued
    /// requests are answered `overloaded`, requests in flight get the grace
    /// period to settle, then sessions are closed with 1001.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop_tx.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done_rx.take() {
            let _ = done.await;
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Blocks until the gateway's thread ends on its own (it only does when
    /// its serving fails); for programs that have nothing else to do.
    pub fn join(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningGateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop_tx.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve(
    config: GatewayConfig,
    listener: std::net::TcpListener,
    tls: Option<rustls::ServerConfig>,
    ready_tx: std::sync::mpsc::Sender<Result<Option<SocketAddr>>>,
    stop_rx: oneshot::Receiver<()>,
) {
    let log = config.logger.clone();
    let (s3_stop_tx, s3_stop_rx) = watch::channel(false);
    let s3_addr = match &config.dev_s3 {
        #[cfg(feature = "dev-s3")]
        Some(dev) => match crate::dev_s3::start(dev, s3_stop_rx, log.clone()).await {
            Ok(addr) => Some(addr),
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                return;
            }
        },
        #[cfg(not(feature = "dev-s3"))]
        Some(_) => {
            drop(s3_stop_rx);
            let _ = ready_tx.send(Err(crate::error::Error::S3(
                "ms_gateway was built without its `dev-s3` feature".to_owned(),
            )));
            return;
        }
        None => None,
    };
    let (orders_tx, orders_rx) = match &config.cluster {
        Some(_) => {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        }
        None => (None, None),
    };
    let hub = Arc::new(
        Hub::new(
            RouterLimits {
                queue_limit: config.queue_limit,
                default_timeout_ms: config.default_timeout_ms.min(config.max_deadline_ms),
                max_deadline_ms: config.max_deadline_ms,
                max_in_flight: config.max_in_flight,
                max_held_bytes: config.max_held_bytes,
                max_conn_bytes: config.max_outbound_bytes,
                max_services: config.max_services,
                service_ttl_ms: config.service_ttl_ms,
                unknown_service_wait_ms: config.unknown_service_wait_ms,
                max_metric_series: config.metrics_max_series,
                ..RouterLimits::default()
            },
            // deliveries stop at max_outbound_bytes; answers and errors may add
            // up to one more frame before the peer counts as not reading
            config
                .max_outbound_bytes
                .saturating_add(config.max_frame_bytes),
            log.clone(),
            orders_tx,
        )
        .with_tracer(GatewayTracer::from_env(
            &log,
            // a hop is answered by its deadline at the latest; then some slack
            config.max_deadline_ms.saturating_add(60_000),
        )),
    );
    let cluster = match (config.cluster.clone(), orders_rx) {
        (Some(cluster), Some(orders)) => {
            match crate::cluster::Cluster::start(
                cluster,
                hub.clone(),
                orders,
                Duration::from_millis(config.service_ttl_ms),
                Duration::from_millis(config.max_deadline_ms),
            )
            .await
            {
                Ok(cluster) => Some(cluster),
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            }
        }
        _ => None,
    };
    let state = web::Data::new(EdgeState {
        hub: hub.clone(),
        users: config.users.clone(),
        limits: SessionLimits {
            heartbeat_ms: config.heartbeat_ms,
            max_frame_bytes: config.max_frame_bytes,
        },
        max_deadline_ms: config.max_deadline_ms,
        body_timeout: Duration::from_millis(config.body_timeout_ms),
        metrics_public: config.metrics_public,
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .configure(http_edge::routes)
    })
    .workers(config.workers.max(1))
    .tcp_nodelay(true)
    // A caller that closes its side is gone: its handler is dropped, which
    // cancels its request (queued work of departed callers is not kept).
    .h1_allow_half_closed(false)
    .disable_signals()
    .shutdown_timeout(2);
    let bound = match tls {
        Some(tls) => server.listen_rustls_0_23(listener, tls),
        None => server.listen(listener),
    };
    let server = match bound {
        Ok(server) => server.run(),
        Err(source) => {
            let _ = ready_tx.send(Err(Error::Io {
                addr: config.bind.to_string(),
                source,
            }));
            return;
        }
    };
    let handle = server.handle();
    let server_task = actix_rt::spawn(server);
    let ticker_hub = hub.clone();
    let ticker = actix_rt::spawn(async move {
        let mut interval = tokio::time::interval(TICK);
        loop {
            interval.tick().await;
            ticker_hub.tick();
        }
    });
    let _ = ready_tx.send(Ok(s3_addr));

    // Stop asked, or the handle dropped.
    let _ = stop_rx.await;
    slog::info!(log, "shutting down");
    handle.pause().await;
    hub.begin_shutdown();
    let grace = tokio::time::Instant::now() + Duration::from_millis(config.shutdown_grace_ms);
    while hub.in_flight() > 0 && tokio::time::Instant::now() < grace {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    hub.close_all();
    if let Some(cluster) = cluster {
        cluster.stop().await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    handle.stop(true).await;
    let _ = server_task.await;
    ticker.abort();
    let _ = s3_stop_tx.send(true);
    // the last spans go to the collector: off the actix thread, it waits
    let tracing_hub = hub.clone();
    let _ = tokio::task::spawn_blocking(move || tracing_hub.tracer().shutdown()).await;
    slog::info!(log, "stopped");
}
