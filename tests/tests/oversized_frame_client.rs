//! Threat: a gateway (or anything in its place) exhausts a service's memory
//! by declaring a huge frame and streaming data, or by fragments that add
//! up without bound; or slips invalid UTF-8 into a text frame. A raw
//! websocket server plays it: the service closes with 1009 (1007 for the
//! UTF-8) as soon as the header or fragment shows it, not after buffering,
//! and connects again (docs/protocol.md section 1). A gateway cannot lift the
//! service's own cap (`Tuning::max_frame_bytes`) by offering huge frames.

mod scripted;

use std::time::{Duration, Instant};

use ms_runtime::protocol::{Body, Envelope, Json, MessageId, Payload, Request};
use ms_runtime::{Config, Service, Tuning};
use ms_tests::{Echo, fast_tuning};
use scripted::{Peer, accept, accept_hello, close_code, listen, send, settlement_of, write_raw};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// Most bytes the server writes after the header before giving up.
const CAP: u64 = 256 * 1024 * 1024;

async fn start(url: String) -> Service {
    start_with(url, fast_tuning()).await
}

async fn start_with(url: String, tuning: Tuning) -> Service {
    let config = Config::builder()
        .gateway_url(url)
        .log_level("critical")
        .tuning(tuning)
        .build()
        .expect("valid config");
    Service::start(config, Echo { name: "echo" })
        .await
        .expect("service starts")
}

/// Sends a request and waits for its reply: the service has the welcome.
async fn round_trip(peer: &mut Peer) {
    let request = Envelope {
        id: MessageId::new("r1").expect("valid id"),
        headers: Default::default(),
        body: Body::Request(Request {
            to: "echo".into(),
            route: "echo".into(),
            from: Some("http".into()),
            payload: Payload::Inline(Json::null()),
        }),
    };
    send(peer, &request).await;
    settlement_of(peer, &request.id).await;
}

/// The service connects again after the close: a new hello arrives.
async fn reconnects(listener: &TcpListener) {
    drop(accept_hello(listener).await);
}

#[actix_rt::test]
async fn a_header_declaring_two_to_the_forty_bytes_closes_with_1009_at_once() {
    let (listener, url) = listen().await;
    let service = start(url).await;
    // no welcome: the default 16 MiB limit holds
    let (mut read, mut write) = accept_hello(&listener).await.into_inner().into_split();
    let writer = tokio::spawn(async move {
        let mut header = vec![0x81, 127];
        header.extend_from_slice(&(1u64 << 40).to_be_bytes());
        let mut sent = 0;
        if write.write_all(&header).await.is_err() {
            return sent;
        }
        let chunk = vec![b'x'; 64 * 1024];
        while sent < CAP && write.write_all(&chunk).await.is_ok() {
            sent += chunk.len() as u64;
        }
        sent
    });
    let started = Instant::now();
    let code = tokio::time::timeout(Duration::from_secs(5), close_code(&mut read))
        .await
        .expect("no close frame within 5 s: the service is buffering the frame");
    let took = started.elapsed();
    assert_eq!(code, Some(1009));
    drop(read);
    let sent = tokio::time::timeout(Duration::from_secs(5), writer)
        .await
        .expect("the service kept the socket open after its close")
        .unwrap();
    // what the socket buffers of both ends took, not what the service kept
    println!("close 1009 after {took:?}; {sent} bytes written until the socket closed");
    assert!(
        sent < 64 * 1024 * 1024,
        "{sent} bytes taken before the close"
    );
    reconnects(&listener).await;
    service.shutdown().await;
}

#[actix_rt::test]
async fn fragments_adding_up_past_the_limit_close_with_1009() {
    let (listener, url) = listen().await;
    let service = start(url).await;
    let mut peer = accept(&listener, "s1", Some(1024)).await;
    round_trip(&mut peer).await;
    let (mut read, mut write) = peer.into_inner().into_split();
    // 600 + 600 bytes of one text message, each fragment under the 1024 limit
    let mut first = vec![0x01, 126, 0x02, 0x58];
    first.extend_from_slice(&[b' '; 600]);
    let mut last = vec![0x80, 126, 0x02, 0x58];
    last.extend_from_slice(&[b' '; 600]);
    assert!(write_raw(&mut write, &first).await);
    assert!(write_raw(&mut write, &last).await);
    let code = tokio::time::timeout(Duration::from_secs(5), close_code(&mut read))
        .await
        .expect("no close frame within 5 s");
    assert_eq!(code, Some(1009));
    reconnects(&listener).await;
    service.shutdown().await;
}

#[actix_rt::test]
async fn a_text_frame_that_is_not_utf8_closes_with_1007() {
    let (listener, url) = listen().await;
    let service = start(url).await;
    let mut peer = accept(&listener, "s1", None).await;
    round_trip(&mut peer).await;
    let (mut read, mut write) = peer.into_inner().into_split();
    assert!(write_raw(&mut write, &[0x81, 2, 0xff, 0xfe]).await);
    let code = tokio::time::timeout(Duration::from_secs(5), close_code(&mut read))
        .await
        .expect("no close frame within 5 s");
    assert_eq!(code, Some(1007));
    reconnects(&listener).await;
    service.shutdown().await;
}

#[actix_rt::test]
async fn a_gateway_offering_huge_frames_does_not_lift_the_services_own_cap() {
    let (listener, url) = listen().await;
    let tuning = Tuning {
        max_frame_bytes: 4096,
        ..fast_tuning()
    };
    let service = start_with(url, tuning).await;
    let mut peer = accept(&listener, "s1", Some(1 << 62)).await;
    round_trip(&mut peer).await;
    let (mut read, mut write) = peer.into_inner().into_split();
    let mut header = vec![0x81, 126, 0x20, 0x00]; // 8192 bytes declared
    header.extend_from_slice(&[b' '; 16]);
    assert!(write_raw(&mut write, &header).await);
    let code = tokio::time::timeout(Duration::from_secs(5), close_code(&mut read))
        .await
        .expect("no close frame within 5 s");
    assert_eq!(code, Some(1009));
    reconnects(&listener).await;
    service.shutdown().await;
}
