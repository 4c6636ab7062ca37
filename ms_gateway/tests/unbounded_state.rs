//! Threat: one account grows the gateway's state for ever: queues for
//! invented service names, deadlines near u64::MAX, work of callers that
//! left. Every number a caller chooses is capped; idle names are forgotten;
//! the bounds are read back from the gateway's own metrics.

mod common;

use std::time::Duration;

use common::*;
use tokio::io::AsyncWriteExt as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invented_service_names_are_capped_and_forgotten() {
    let gateway = start(|c| {
        c.max_services = 5;
        c.service_ttl_ms = 200;
    });
    let addr = gateway.addr();
    let mut statuses = Vec::new();
    for n in 0..8 {
        let path = format!("/v1/invoke/invented-{n}/x");
        // a short deadline: the accepted ones are answered unknown_service
        let answer = post(addr, &path, &[("X-Timeout-Ms", "100")], "{}").await;
        statuses.push(answer.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 404).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 503).count(),
        3,
        "{statuses:?}"
    );
    within("the invented names forgotten", async {
        while metric(addr, "ms_gateway_services").await > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_are_capped() {
    let gateway = start(|c| c.max_deadline_ms = 60_000);
    let addr = gateway.addr();
    for timeout in ["18446744073709551615", "60001", "0", "-1"] {
        let answer = post(
            addr,
            "/v1/invoke/svc/echo",
            &[("X-Timeout-Ms", timeout)],
            "{}",
        )
        .await;
        assert_eq!(
            answer.status, 400,
            "X-Timeout-Ms {timeout}: {}",
            answer.body
        );
        assert_eq!(answer.json()["code"], "bad_request");
    }
    // the same rule for a service's own frames
    let mut svc = connect(&gateway, "caller", "1", 4).await;
    let far = u64::MAX.to_string();
    svc.send_text(&format!(
        r#"{{"v":1,"kind":"request","id":"far","to":"svc","route":"echo","headers":{{"deadline_ms":"{far}"}},"payload":null}}"#
    ))
    .await;
    let answer = svc.recv("the refusal").await;
    assert!(
        matches!(&answer.body, ms_protocol::Body::Error(r) if r.error.code == ms_protocol::ErrorCode::BadRequest),
        "{answer:?}"
    );
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_bytes_stay_under_the_bound() {
    let gateway = start(|c| c.max_held_bytes = 1 << 20);
    let addr = gateway.addr();
    // a subscriber that leaves: its events wait in the gateway
    let sub = connect(&gateway, "sub", "1", 1).await;
    drop(sub);
    let body = format!("\"{}\"", "b".repeat(200 * 1024));
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(post(addr, "/v1/publish/news", &[], &body).await.status);
        assert!(metric(addr, "ms_gateway_held_bytes").await <= 1 << 20);
    }
    assert!(statuses.contains(&202), "{statuses:?}");
    assert!(statuses.contains(&503), "{statuses:?}");
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_of_a_departed_http_caller_is_dropped() {
    let gateway = start(|_| {});
    let addr = gateway.addr();
    // one slot, taken: the next request waits in the queue
    let mut svc = connect(&gateway, "svc", "a", 1).await;
    let first = tokio::spawn(async move { post(addr, "/v1/invoke/svc/echo", &[], "1").await });
    let held = svc.recv("the first request").await;

    let mut caller = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /v1/invoke/svc/echo HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\nX-Timeout-Ms: 60000\r\nContent-Length: 1\r\n\r\n2",
        basic(USER)
    );
    caller.write_all(request.as_bytes()).await.unwrap();
    within("the second request queued", async {
        while !get(addr, "/metrics")
            .await
            .body
            .contains("ms_gateway_queued{service=\"svc\"} 1")
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    drop(caller);
    within("the departed caller's request dropped", async {
        while metric(addr, "ms_gateway_requests_abandoned_total").await == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        get(addr, "/metrics")
            .await
            .body
            .contains("ms_gateway_queued{service=\"svc\"} 0")
    );
    svc.reply(&held, serde_json::json!(1)).await;
    assert_eq!(first.await.unwrap().status, 200);
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_http_body_times_out() {
    let gateway = start(|c| c.body_timeout_ms = 300);
    let addr = gateway.addr();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/invoke/svc/echo HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\nContent-Length: 100\r\n\r\n{{",
        basic(USER)
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    use tokio::io::AsyncReadExt as _;
    let read = within("the answer to a trickled body", async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await;
    assert!(read.starts_with("HTTP/1.1 400"), "{read}");
    gateway.stop().await;
}
