//! Protocol situations the real gateway never creates on purpose, played by
//! a scripted peer: a reply lost with its connection is sent again (same id)
//! after the reconnect, and a settled request delivered again is answered
//! from memory without running the handler twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use ms_runtime::protocol::{
    Body, Envelope, Headers, Json, MessageId, Payload, Request, decode, encode,
};
use ms_runtime::{Config, Context, Handler, HandlerError, Service};
use ms_tests::fast_tuning;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

struct Counted {
    runs: Arc<AtomicUsize>,
}

impl Handler for Counted {
    fn name(&self) -> &str {
        "counted"
    }
    fn routes(&self) -> Vec<String> {
        vec!["echo".into()]
    }
    async fn handle(
        &self,
        _ctx: &Context,
        request: ms_runtime::Request,
    ) -> Result<Json, HandlerError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        Ok(request.payload)
    }
}

type Peer = WebSocketStream<TcpStream>;

async fn next_envelope(peer: &mut Peer) -> Envelope {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), peer.next())
            .await
            .expect("the service sent nothing within 5 s")
            .expect("the service closed the connection")
            .expect("websocket error");
        if let Message::Text(text) = message {
            return decode(text.as_str()).expect("the service sends valid frames");
        }
    }
}

/// Accepts the service, reads its hello, welcomes it.
async fn accept(listener: &TcpListener, session: &str) -> Peer {
    let (socket, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
        .await
        .expect("the service did not connect within 10 s")
        .expect("accept");
    let mut peer = tokio_tungstenite::accept_async(socket)
        .await
        .expect("websocket handshake");
    let hello = next_envelope(&mut peer).await;
    assert!(
        matches!(hello.body, Body::Hello(_)),
        "first frame must be hello: {hello:?}"
    );
    let welcome = format!(
        r#"{{"v":1,"kind":"welcome","id":"w-{session}","session":"{session}","heartbeat_ms":5000}}"#
    );
    peer.send(Message::text(welcome))
        .await
        .expect("send welcome");
    peer
}

async fn send(peer: &mut Peer, envelope: &Envelope) {
    peer.send(Message::text(encode(envelope).expect("encodes")))
        .await
        .expect("send");
}

/// Reads frames until a reply to `request`, skipping acks.
async fn reply_to(peer: &mut Peer, request: &MessageId) -> Envelope {
    loop {
        let envelope = next_envelope(peer).await;
        if envelope.correlation_id() == Some(request) {
            return envelope;
        }
        assert!(
            matches!(envelope.body, Body::Ack(_)),
            "unexpected frame {envelope:?}"
        );
    }
}

fn request(id: &str, attempt: u32) -> Envelope {
    let mut headers = Headers::new();
    headers.set_attempt(attempt);
    Envelope {
        id: MessageId::new(id).expect("valid id"),
        headers,
        body: Body::Request(Request {
            to: "counted".into(),
            route: "echo".into(),
            from: Some("http".into()),
            payload: Payload::Inline(Json::from_text("41").expect("json")),
        }),
    }
}

#[actix_rt::test]
async fn lost_replies_are_resent_and_redeliveries_answered_from_memory() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/v1/ws", listener.local_addr().unwrap());
    let runs = Arc::new(AtomicUsize::new(0));
    let config = Config::builder()
        .gateway_url(url)
        .log_level("critical")
        .tuning(fast_tuning())
        .build()
        .unwrap();
    let service = Service::start(config, Counted { runs: runs.clone() })
        .await
        .unwrap();

    // first session: deliver r1, take the reply, drop the connection without acking it
    let mut peer = accept(&listener, "s1").await;
    let r1 = request("r1", 1);
    send(&mut peer, &r1).await;
    let reply = reply_to(&mut peer, &r1.id).await;
    let Body::Reply(body) = &reply.body else {
        panic!("expected a reply, got {reply:?}")
    };
    assert_eq!(
        body.payload,
        Payload::Inline(Json::from_text("41").unwrap())
    );
    drop(peer);

    // second session: the unacked reply comes again, same id
    let mut peer = accept(&listener, "s2").await;
    let resent = reply_to(&mut peer, &r1.id).await;
    assert_eq!(resent.id, reply.id, "a resent frame keeps its id");

    // the gateway redelivers r1 (attempt 2): answered from memory, handler not run again
    send(&mut peer, &request("r1", 2)).await;
    let remembered = reply_to(&mut peer, &r1.id).await;
    assert_eq!(remembered.id, reply.id);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the handler ran twice for one request id"
    );

    // once acked, the reply is not sent again after a reconnect
    send(&mut peer, &Envelope::ack(vec![reply.id.clone()])).await;
    let r2 = request("r2", 1);
    send(&mut peer, &r2).await;
    let _ = reply_to(&mut peer, &r2.id).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(peer);
    let mut peer = accept(&listener, "s3").await;
    let r3 = request("r3", 1);
    send(&mut peer, &r3).await;
    // before r3's answer only r2's reply comes again (never acked), never r1's
    loop {
        let frame = reply_to_any(&mut peer).await;
        assert_ne!(frame.id, reply.id, "an acked reply was sent again");
        if frame.correlation_id() == Some(&r3.id) {
            break;
        }
        assert_eq!(
            frame.correlation_id(),
            Some(&r2.id),
            "unexpected frame {frame:?}"
        );
    }
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    // without a connection the shutdown does not wait to flush unacked replies
    drop(peer);
    service.shutdown().await;
}

/// The next reply or error, skipping acks.
async fn reply_to_any(peer: &mut Peer) -> Envelope {
    loop {
        let envelope = next_envelope(peer).await;
        if envelope.correlation_id().is_some() {
            return envelope;
        }
    }
}
