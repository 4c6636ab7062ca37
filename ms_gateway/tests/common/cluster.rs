//! Cluster test support: a real nats-server on free ports in a temp dir
//! (killed on drop), gateway nodes on it, and echo instances that count
//! their handler runs and reconnect to the next node when theirs dies.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use ms_gateway::{ClusterConfig, RunningGateway};
use ms_protocol::{Body, Envelope, Json, Payload, decode, encode};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::{USER, basic, hello, start};

/// A nats-server with JetStream, on free loopback ports.
pub struct NatsServer {
    child: Child,
    /// `nats://127.0.0.1:PORT`.
    pub url: String,
    /// `http://127.0.0.1:PORT` of its monitoring endpoint.
    pub monitor: String,
    _dir: tempfile::TempDir,
}

impl NatsServer {
    /// Starts one with its store in a fresh temp dir and waits until
    /// JetStream is ready.
    pub fn start() -> Self {
        Self::start_on_port(None)
    }

    /// Starts one listening for clients on `port` (a free one for `None`)
    /// and waits until JetStream is ready.
    pub fn start_on_port(port: Option<u16>) -> Self {
        let port = port.map_or_else(|| "-1".to_owned(), |p| p.to_string());
        let server = Self::spawn(&port, &[]);
        server.wait_healthy();
        server
    }

    /// Starts one with clients on `port` ("-1": a free one) and `extra`
    /// arguments; does not wait for it.
    fn spawn(port: &str, extra: &[String]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let ports = dir.path().join("ports");
        std::fs::create_dir_all(&store).unwrap();
        std::fs::create_dir_all(&ports).unwrap();
        let child = Command::new(nats_server())
            .args(["-js", "-a", "127.0.0.1", "-p", port, "-m", "-1", "-sd"])
            .arg(&store)
            .arg("--ports_file_dir")
            .arg(&ports)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server must be installed (apt-get install -y nats-server)");
        let (url, monitor) = read_ports(&ports, child.id());
        Self {
            child,
            url,
            monitor,
            _dir: dir,
        }
    }

    /// Waits until `GET /healthz?js-enabled-only=true` answers 200.
    pub fn wait_healthy(&self) {
        wait_healthy(&self.monitor, "/healthz?js-enabled-only=true");
    }

    /// SIGKILL, no goodbye to the cluster.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three nats-servers (`n0`, `n1`, `n2`) forming one NATS cluster with
/// JetStream, on free loopback ports; each killed on drop.
pub struct NatsCluster {
    /// The members, by index; `None` once killed.
    pub servers: Vec<Option<NatsServer>>,
    /// Their server names, by index.
    pub names: Vec<String>,
    /// Every member's client URL, by index.
    pub urls: Vec<String>,
}

impl NatsCluster {
    /// Starts three members and waits until JetStream is ready on each.
    pub fn start() -> Self {
        // Route ports must be known up front: free ones, released just
        // before the servers bind them (a small race).
        let route_ports: Vec<u16> = (0..3)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect::<Vec<_>>()
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        let routes = route_ports
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        let names: Vec<String> = (0..3).map(|i| format!("n{i}")).collect();
        let servers: Vec<NatsServer> = route_ports
            .iter()
            .zip(&names)
            .map(|(port, name)| {
                NatsServer::spawn(
                    "-1",
                    &[
                        "-n".to_owned(),
                        name.clone(),
                        "--cluster_name".to_owned(),
                        "C".to_owned(),
                        "--cluster".to_owned(),
                        format!("nats://127.0.0.1:{port}"),
                        "--routes".to_owned(),
                        routes.clone(),
                    ],
                )
            })
            .collect();
        // `js-enabled-only` answers 200 before the members have elected a
        // meta leader (JetStream requests are then dropped); the full
        // check waits for one.
        for server in &servers {
            wait_healthy(&server.monitor, "/healthz");
        }
        let urls = servers.iter().map(|s| s.url.clone()).collect();
        Self {
            servers: servers.into_iter().map(Some).collect(),
            names,
            urls,
        }
    }

    /// SIGKILLs the member named `name`.
    pub fn kill(&mut self, name: &str) {
        let index = self
            .names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("no nats-server named {name}"));
        if let Some(mut server) = self.servers[index].take() {
            server.kill();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn nats_server() -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin"] {
        let path = Path::new(dir).join("nats-server");
        if path.exists() {
            return path;
        }
    }
    PathBuf::from("nats-server")
}

/// The client URL and the monitoring address from the ports file.
fn read_ports(dir: &Path, pid: u32) -> (String, String) {
    let file = dir.join(format!("nats-server_{pid}.ports"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(&file)
            && let Ok(json) = serde_json::from_str::<serde_json::Value>(&text)
        {
            let url = json["nats"][0].as_str().unwrap().to_owned();
            let monitor = json["monitoring"][0].as_str().unwrap().to_owned();
            return (url, monitor);
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the nats-server ports file"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for `GET path` (a health check) to answer 200.
fn wait_healthy(monitor: &str, path: &str) {
    let addr = monitor.trim_start_matches("http://").to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(&addr) {
            use std::io::{Read as _, Write as _};
            let _ = stream.write_all(
                format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
            let mut raw = String::new();
            let _ = stream.read_to_string(&mut raw);
            if raw.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for nats-server healthz"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The cluster settings of node `node` on `nats` (short ack_wait for tests).
pub fn cluster_config(nats: &NatsServer, node: &str) -> ClusterConfig {
    let mut config = ClusterConfig::new(vec![nats.url.clone()], node);
    config.ack_wait_ms = 1_000;
    config.max_work_bytes = 32 << 20;
    config
}

/// The cluster settings of node `node` on every member of `nats`, with
/// streams of 3 replicas (short ack_wait for tests).
pub fn r3_config(nats: &NatsCluster, node: &str) -> ClusterConfig {
    let mut config = ClusterConfig::new(nats.urls.clone(), node);
    config.replicas = 3;
    config.ack_wait_ms = 1_000;
    config.max_work_bytes = 32 << 20;
    config
}

/// An in-process gateway node named `node` on `nats`.
pub fn start_node(nats: &NatsServer, node: &str) -> RunningGateway {
    let cluster = cluster_config(nats, node);
    start(move |c| c.cluster = Some(cluster))
}

/// What echo instances did.
#[derive(Default)]
pub struct EchoStats {
    /// Handler runs, over all instances.
    pub runs: AtomicU64,
    /// Most requests one connection held at once.
    pub max_held: AtomicU64,
    /// Runs per instance.
    pub per_instance: Mutex<HashMap<String, u64>>,
    /// Runs per request id.
    pub per_request: Mutex<HashMap<String, u64>>,
    /// (instance, request id) pairs run so far, over reconnections.
    pub run_by: Mutex<HashSet<(String, String)>>,
    /// Per instance: runs of a request that same instance had run before
    /// (these echo instances keep no dedup across connections, the
    /// runtime's services do).
    pub reruns: Mutex<HashMap<String, u64>>,
    /// Events received (topic, payload), acked.
    pub events: Mutex<Vec<String>>,
}

/// An echo instance: answers each request with its payload after
/// `delay`, acks events; when its connection ends, connects to the next
/// URL (round robin). Runs until the returned task is aborted.
pub fn spawn_echo(
    urls: Vec<String>,
    service: &str,
    instance: &str,
    max_in_flight: u32,
    delay: Duration,
    stats: Arc<EchoStats>,
) -> tokio::task::JoinHandle<()> {
    let service = service.to_owned();
    let instance = instance.to_owned();
    tokio::spawn(async move {
        let mut next = 0usize;
        loop {
            let url = &urls[next % urls.len()];
            next += 1;
            let Ok(mut request) = url.as_str().into_client_request() else {
                return;
            };
            request.headers_mut().insert(
                "Authorization",
                HeaderValue::from_str(&basic(USER)).unwrap(),
            );
            let Ok(Ok((ws, _))) = tokio::time::timeout(
                Duration::from_secs(2),
                tokio_tungstenite::connect_async(request),
            )
            .await
            else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            serve_echo(ws, &service, &instance, max_in_flight, delay, &stats).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

async fn serve_echo<S>(
    ws: tokio_tungstenite::WebSocketStream<S>,
    service: &str,
    instance: &str,
    max_in_flight: u32,
    delay: Duration,
    stats: &Arc<EchoStats>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Envelope, bool)>();
    let _ = tx.send((hello(service, instance, max_in_flight), false));
    let held = Arc::new(AtomicU64::new(0));
    let writer_held = held.clone();
    let writer = tokio::spawn(async move {
        while let Some((envelope, settles)) = rx.recv().await {
            if sink
                .send(Message::Text(encode(&envelope).unwrap().into()))
                .await
                .is_err()
            {
                return;
            }
            if settles {
                writer_held.fetch_sub(1, Ordering::SeqCst);
            }
        }
    });
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(envelope) = decode(text.as_str()) else {
            continue;
        };
        match &envelope.body {
            Body::Request(request) => {
                let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                stats.max_held.fetch_max(now, Ordering::SeqCst);
                stats.runs.fetch_add(1, Ordering::SeqCst);
                *stats
                    .per_instance
                    .lock()
                    .unwrap()
                    .entry(instance.to_owned())
                    .or_default() += 1;
                *stats
                    .per_request
                    .lock()
                    .unwrap()
                    .entry(envelope.id.to_string())
                    .or_default() += 1;
                let first = stats
                    .run_by
                    .lock()
                    .unwrap()
                    .insert((instance.to_owned(), envelope.id.to_string()));
                if !first {
                    *stats
                        .reruns
                        .lock()
                        .unwrap()
                        .entry(instance.to_owned())
                        .or_default() += 1;
                }
                let payload = match &request.payload {
                    Payload::Inline(json) => json.clone(),
                    Payload::Ref(_) => Json::null(),
                };
                let reply = Envelope::reply_to(&envelope.id, Payload::Inline(payload));
                let tx = tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = tx.send((reply, true));
                });
            }
            Body::Event(event) => {
                if let Payload::Inline(json) = &event.payload {
                    stats.events.lock().unwrap().push(json.as_str().to_owned());
                }
                let _ = tx.send((Envelope::ack(vec![envelope.id.clone()]), false));
            }
            _ => {}
        }
    }
    writer.abort();
}
