//! A scripted gateway peer for the tests that play protocol situations the
//! real gateway never creates on purpose: it accepts the service's
//! websocket, welcomes it, and lets the test send and read raw frames.

#![allow(dead_code)] // each test file uses the part it needs

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use ms_runtime::protocol::{Body, Envelope, Headers, MessageId, Payload, Request, decode, encode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// The websocket to the service under test.
pub type Peer = WebSocketStream<TcpStream>;

/// A listener for the service to connect to, and its URL.
pub async fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("ws://{}/v1/ws", listener.local_addr().expect("address"));
    (listener, url)
}

/// The next text frame, decoded.
pub async fn next_envelope(peer: &mut Peer) -> Envelope {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), peer.next())
            .await
            .expect("the service sent nothing within 10 s")
            .expect("the service closed the connection")
            .expect("websocket error");
        if let Message::Text(text) = message {
            return decode(text.as_str()).expect("the service sends valid frames");
        }
    }
}

/// Accepts the service and reads its hello, without answering.
pub async fn accept_hello(listener: &TcpListener) -> Peer {
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
    peer
}

/// Accepts the service, reads its hello, welcomes it (with a frame limit
/// when `max_frame_bytes` is set).
pub async fn accept(listener: &TcpListener, session: &str, max_frame_bytes: Option<u64>) -> Peer {
    let mut peer = accept_hello(listener).await;
    let limit = max_frame_bytes
        .map(|n| format!(r#","max_frame_bytes":{n}"#))
        .unwrap_or_default();
    let welcome = format!(
        r#"{{"v":1,"kind":"welcome","id":"w-{session}","session":"{session}","heartbeat_ms":5000{limit}}}"#
    );
    peer.send(Message::text(welcome))
        .await
        .expect("send welcome");
    peer
}

/// Sends one envelope as a text frame.
pub async fn send(peer: &mut Peer, envelope: &Envelope) {
    peer.send(Message::text(encode(envelope).expect("encodes")))
        .await
        .expect("send");
}

/// Queues one envelope without flushing: a burst of frames goes out with
/// one [`SinkExt::flush`].
pub async fn feed(peer: &mut Peer, envelope: &Envelope) {
    peer.feed(Message::text(encode(envelope).expect("encodes")))
        .await
        .expect("send");
}

/// A request as a gateway delivers it: `from` filled in, `attempt` counted
/// (1 for the first delivery, one more for each redelivery).
pub fn delivery(
    id: &str,
    to: &str,
    route: &str,
    from: &str,
    attempt: u32,
    payload: Payload,
) -> Envelope {
    let mut headers = Headers::new();
    headers.set_attempt(attempt);
    Envelope {
        id: MessageId::new(id).expect("valid id"),
        headers,
        body: Body::Request(Request {
            to: to.into(),
            route: route.into(),
            from: Some(from.into()),
            payload,
        }),
    }
}

/// Reads frames until the one settling `request` (reply or error), skipping acks.
pub async fn settlement_of(peer: &mut Peer, request: &MessageId) -> Envelope {
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

/// Reads frames until one acks `id`; returns every id acked on the way.
pub async fn until_acked(peer: &mut Peer, id: &MessageId) -> Vec<MessageId> {
    let mut seen = Vec::new();
    loop {
        let envelope = next_envelope(peer).await;
        if let Body::Ack(ack) = envelope.body {
            seen.extend(ack.ids);
            if seen.contains(id) {
                return seen;
            }
        }
    }
}

/// Reads raw client frames (masked) from `socket` until a close frame, and
/// returns its status code; `None` if the socket ends first.
pub async fn close_code(socket: &mut (impl AsyncReadExt + Unpin)) -> Option<u16> {
    loop {
        let mut head = [0u8; 2];
        socket.read_exact(&mut head).await.ok()?;
        let len = match head[1] & 0x7f {
            126 => u64::from(socket.read_u16().await.ok()?),
            127 => socket.read_u64().await.ok()?,
            n => u64::from(n),
        };
        let mut mask = [0u8; 4];
        if head[1] & 0x80 != 0 {
            socket.read_exact(&mut mask).await.ok()?;
        }
        let mut payload = vec![0u8; usize::try_from(len).ok()?];
        socket.read_exact(&mut payload).await.ok()?;
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= mask[i % 4];
        }
        if head[0] & 0x0f == 8 {
            return payload
                .get(..2)
                .map(|code| u16::from_be_bytes([code[0], code[1]]));
        }
    }
}

/// Writes raw bytes to the service, after the handshake.
pub async fn write_raw(socket: &mut (impl AsyncWriteExt + Unpin), bytes: &[u8]) -> bool {
    socket.write_all(bytes).await.is_ok()
}
