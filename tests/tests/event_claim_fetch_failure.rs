//! Threat: an event whose claim check cannot be fetched (S3 down) is acked
//! and lost. A scripted gateway delivers an event by claim check while the
//! service's S3 store is unreachable: the event stays unacknowledged (an
//! inline event after it is acked). Once the store is back, the gateway
//! delivers it again after a reconnect and the handler gets it. An event
//! whose claim check is outside the claim location is a permanent error:
//! acked, never handled.

mod scripted;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ms_runtime::protocol::{
    Body, Envelope, Event as EventBody, Json, MessageId, Payload, PayloadRef,
};
use ms_runtime::testing::{BUCKET, TestKit};
use ms_runtime::{Context, Event, Handler, HandlerError, Request, Service};
use ms_tests::wait_until;
use scripted::{accept, listen, send, until_acked};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Records the size of every event payload it handles.
struct Indexer {
    seen: Arc<Mutex<Vec<usize>>>,
}

impl Handler for Indexer {
    fn name(&self) -> &str {
        "indexer"
    }
    fn routes(&self) -> Vec<String> {
        Vec::new()
    }
    fn topics(&self) -> Vec<String> {
        vec!["documents.uploaded".into()]
    }
    async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        Ok(request.payload)
    }
    async fn on_event(&self, _ctx: &Context, event: Event) -> Result<(), HandlerError> {
        self.seen
            .lock()
            .expect("not poisoned")
            .push(event.payload.len());
        Ok(())
    }
}

/// The S3 store as the service sees it: forwarded to the real one, or down
/// (every request answered 503 on its own connection; reads of one key
/// counted).
struct StoreFront {
    url: String,
    down: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
}

impl StoreFront {
    /// Forwards to `target`; while down, counts the reads of `key`.
    async fn start(target: SocketAddr, key: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let down = Arc::new(AtomicBool::new(true));
        let refused = Arc::new(AtomicUsize::new(0));
        let (is_down, count) = (down.clone(), refused.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if is_down.load(Ordering::SeqCst) {
                    let (count, key) = (count.clone(), key.clone());
                    tokio::spawn(async move {
                        // read the request head, answer 503 and close: one
                        // attempt per connection, so attempts can be counted
                        let mut head = Vec::new();
                        let mut byte = [0u8; 1];
                        while !head.ends_with(b"\r\n\r\n") {
                            match inbound.read(&mut byte).await {
                                Ok(1) => head.push(byte[0]),
                                _ => return,
                            }
                        }
                        let answer = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                        let _ = inbound.write_all(answer.as_bytes()).await;
                        let _ = inbound.shutdown().await;
                        // only reads of the claim count (not the bucket check at start-up)
                        if head.starts_with(b"GET ")
                            && head.windows(key.len()).any(|w| w == key.as_bytes())
                        {
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                    });
                    continue;
                }
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self { url, down, refused }
    }
}

fn event(id: &str, payload: Payload) -> Envelope {
    Envelope {
        id: MessageId::new(id).expect("valid id"),
        headers: Default::default(),
        body: Body::Event(EventBody {
            topic: "documents.uploaded".into(),
            payload,
        }),
    }
}

#[actix_rt::test]
async fn an_event_whose_claim_check_cannot_be_fetched_stays_unacked() {
    let kit = TestKit::start().await.unwrap();
    let big = Json::from_value(&"d".repeat(3_000)).unwrap();
    let reference = kit.s3().put_claim(BUCKET, &big).await.unwrap();
    let target: SocketAddr = kit
        .s3_endpoint()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let front = StoreFront::start(target, reference.key.clone()).await;
    let (listener, url) = listen().await;
    let config = kit
        .config_builder("indexer")
        .gateway_url(url)
        .s3_endpoint(&front.url)
        .build()
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let service = Service::start(config, Indexer { seen: seen.clone() })
        .await
        .unwrap();

    // S3 down: the claim-checked event is tried, and not acked
    let mut peer = accept(&listener, "s1", None).await;
    let held = event("e-held", Payload::Ref(reference.clone()));
    send(&mut peer, &held).await;
    let refused = front.refused.clone();
    // the S3 handle makes three attempts, then the fetch fails at once; an
    // ack of the held event would go out before the inline event's (acks
    // wait 20 ms to be batched, and the inline event goes through a handler)
    wait_until(
        "three reads of the claim answered 503",
        Duration::from_secs(20),
        || refused.load(Ordering::SeqCst) >= 3,
    )
    .await;
    // a claim check outside the location is refused for good: acked
    let outside = PayloadRef {
        bucket: "elsewhere".into(),
        ..reference.clone()
    };
    let refused_for_good = event("e-outside", Payload::Ref(outside));
    send(&mut peer, &refused_for_good).await;
    let inline = event("e-inline", Payload::Inline(Json::from_text("[1]").unwrap()));
    send(&mut peer, &inline).await;
    let mut acked = until_acked(&mut peer, &inline.id).await;
    if !acked.contains(&refused_for_good.id) {
        acked.extend(until_acked(&mut peer, &refused_for_good.id).await);
    }
    assert!(
        !acked.contains(&held.id),
        "an event whose claim check could not be fetched was acked: lost"
    );
    assert_eq!(*seen.lock().unwrap(), [3]);

    // S3 back; the gateway delivers the unacked event again after a reconnect
    front.down.store(false, Ordering::SeqCst);
    drop(peer);
    let mut peer = accept(&listener, "s2", None).await;
    send(&mut peer, &held).await;
    until_acked(&mut peer, &held.id).await;
    assert_eq!(*seen.lock().unwrap(), [3, big.len()]);

    drop(peer);
    service.shutdown().await;
    kit.stop().await;
}
