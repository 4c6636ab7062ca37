//! Health probes for orchestrators: a small HTTP/1.1 listener (enabled by
//! `MS_HEALTH_BIND`) answering `GET /healthz` (liveness), `GET /readyz`
//! (readiness: welcomed by the gateway) and `GET /metrics` (Prometheus; the
//! same listener serves `MS_METRICS_BIND` when metrics have a port of their
//! own).
//!
//! It reads one request line and a few headers, answers, and closes; it is
//! not a web server and does not need to be one. Requests larger than 8 KiB
//! or slower than 5 s are dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use slog::{Logger, debug, warn};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::gateway::ConnectionState;
use crate::metrics::ServiceMetrics;

const MAX_REQUEST: usize = 8 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A bound probe listener, not yet serving.
pub(crate) struct HealthProbe {
    listener: TcpListener,
}

impl HealthProbe {
    /// Binds `addr` (port 0 picks a free port).
    pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(addr).await?,
        })
    }

    /// Where it listens.
    pub(crate) fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves probes and metrics until the task is aborted.
    pub(crate) async fn serve(
        self,
        state: watch::Receiver<ConnectionState>,
        metrics: Arc<ServiceMetrics>,
        log: Logger,
    ) {
        loop {
            match self.listener.accept().await {
                Ok((socket, _)) => {
                    let (state, metrics, log) = (state.clone(), metrics.clone(), log.clone());
                    actix_rt::spawn(async move {
                        if let Err(e) = answer(socket, &state, &metrics).await {
                            debug!(log, "health probe dropped"; "error" => %e);
                        }
                    });
                }
                Err(e) => {
                    warn!(log, "health probe accept failed"; "error" => %e);
                    actix_rt::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

async fn answer(
    mut socket: TcpStream,
    state: &watch::Receiver<ConnectionState>,
    metrics: &ServiceMetrics,
) -> std::io::Result<()> {
    let mut buffer = Vec::with_capacity(512);
    let head = tokio::time::timeout(READ_TIMEOUT, async {
        let mut chunk = [0u8; 1024];
        loop {
            let n = socket.read(&mut chunk).await?;
            if n == 0 {
                return Ok(false);
            }
            buffer.extend_from_slice(&chunk[..n]);
            if buffer.windows(4).any(|w| w == b"\r\n\r\n") {
                return Ok(true);
            }
            if buffer.len() > MAX_REQUEST {
                return Ok::<bool, std::io::Error>(false);
            }
        }
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "request too slow"))??;
    if !head {
        return Ok(());
    }
    let (status, content_type, body) = if is_metrics(&buffer) {
        let (content_type, body) = metrics.render(wants_openmetrics(&buffer));
        ("200 OK", content_type, body)
    } else {
        let current = state.borrow().clone();
        let (status, body) = route(&buffer, &current);
        (status, "text/plain; charset=utf-8", body)
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(response.as_bytes()).await?;
    socket.shutdown().await
}

/// Whether the request head is `GET /metrics` (or `HEAD`).
fn is_metrics(head: &[u8]) -> bool {
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (method, target) = (parts.next(), parts.next());
    let path = target.map(|t| t.split(|&b| b == b'?').next().unwrap_or_default());
    matches!(method, Some(b"GET" | b"HEAD")) && path == Some(b"/metrics")
}

/// Whether the request's `Accept` header asks for OpenMetrics.
fn wants_openmetrics(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let accept = text.lines().skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("accept")
            .then_some(value.trim())
    });
    crate::metrics::wants_openmetrics(accept)
}

/// The status line and body for a request head, given the connection state.
fn route(head: &[u8], state: &ConnectionState) -> (&'static str, String) {
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (method, target) = (parts.next(), parts.next());
    let path = target.map(|t| t.split(|&b| b == b'?').next().unwrap_or_default());
    match (method, path) {
        (Some(b"GET" | b"HEAD"), Some(b"/healthz")) => match state {
            ConnectionState::Stopped => ("503 Service Unavailable", "stopped\n".to_owned()),
            _ => ("200 OK", "ok\n".to_owned()),
        },
        (Some(b"GET" | b"HEAD"), Some(b"/readyz")) => {
            if state.is_connected() {
                ("200 OK", "ready\n".to_owned())
            } else {
                (
                    "503 Service Unavailable",
                    format!("not connected to the gateway: {state:?}\n"),
                )
            }
        }
        (Some(b"GET" | b"HEAD"), Some(_)) => (
            "404 Not Found",
            "try /healthz (liveness), /readyz (readiness) or /metrics\n".to_owned(),
        ),
        _ => ("405 Method Not Allowed", "GET only\n".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connected() -> ConnectionState {
        ConnectionState::Connected {
            session: "s1".to_owned(),
        }
    }

    #[test]
    fn liveness_holds_until_the_service_stops() {
        for state in [connected(), ConnectionState::Connecting] {
            assert_eq!(route(b"GET /healthz HTTP/1.1\r\n\r\n", &state).0, "200 OK");
        }
        assert_eq!(
            route(b"GET /healthz HTTP/1.1\r\n\r\n", &ConnectionState::Stopped).0,
            "503 Service Unavailable"
        );
    }

    #[test]
    fn readiness_follows_the_gateway_connection() {
        assert_eq!(
            route(b"GET /readyz HTTP/1.1\r\n\r\n", &connected()).0,
            "200 OK"
        );
        assert_eq!(
            route(b"GET /readyz?verbose HTTP/1.1\r\n\r\n", &connected()).0,
            "200 OK"
        );
        let (status, body) = route(
            b"GET /readyz HTTP/1.1\r\n\r\n",
            &ConnectionState::Connecting,
        );
        assert_eq!(status, "503 Service Unavailable");
        assert!(body.contains("Connecting"), "{body}");
    }

    #[test]
    fn other_paths_and_methods_are_refused() {
        assert_eq!(
            route(b"GET / HTTP/1.1\r\n\r\n", &connected()).0,
            "404 Not Found"
        );
        assert_eq!(
            route(b"POST /readyz HTTP/1.1\r\n\r\n", &connected()).0,
            "405 Method Not Allowed"
        );
        assert_eq!(route(b"\r\n\r\n", &connected()).0, "405 Method Not Allowed");
    }
}
