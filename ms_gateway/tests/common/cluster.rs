//! Cluster test support: gateway nodes on a real nats-server
//! (`ms_nats_testing`), and echo instances that count their handler runs
//! and reconnect to the next node when theirs dies.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use ms_gateway::{ClusterConfig, RunningGateway};
use ms_protocol::{Body, Envelope, Json, Payload, decode, encode};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

pub use ms_nats_testing::{NatsCluster, NatsServer};

use super::{USER, basic, hello, start};

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
