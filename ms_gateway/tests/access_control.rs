//! Threat: one ordinary account doing what its users file entry does not
//! allow. Hashed passwords (bcrypt from `htpasswd`, argon2id from the
//! reference `argon2` tool) authenticate with the right password only; a
//! user limited to some services and topics gets 403 `forbidden` on invoke
//! and publish elsewhere, and a hello subscribing to a topic it may not is
//! refused with `forbidden` and closed.

mod common;

use common::*;
use ms_gateway::RunningGateway;
use ms_protocol::{Body, Envelope, ErrorCode, Hello};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// `htpasswd -nbBC 4 bc bc-pw`
const BCRYPT_BC_PW: &str = "$2y$04$e0MQzeCzYc2wLjI5j2P7EO7U/AFeoTnrbQTe4L0V3guqgix0GI6p.";
/// `echo -n ar-pw | argon2 saltsaltsalt16by -id -t 1 -k 64 -p 1 -e`
const ARGON2ID_AR_PW: &str = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0MTZieQ$aterC1Q4jzHsZBoL71NK3xDZML8JalLWeHo+AkQZ0Rg";

/// A gateway with user svc:pw (anything) plus the users file's: `bc` may
/// call only `ocr` and publish only `docs.*`; `ar` may register only `ocr`
/// and subscribe only to `docs.*`.
#[allow(clippy::unwrap_used)] // test helper: a failed unwrap is a failed test
fn gateway() -> (RunningGateway, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.toml");
    let text = format!(
        r#"
[[users]]
name = "bc"
password_hash = "{BCRYPT_BC_PW}"
call = ["ocr"]
publish = ["docs.*"]

[[users]]
name = "ar"
password_hash = "{ARGON2ID_AR_PW}"
services = ["ocr"]
subscribe = ["docs.*"]
"#
    );
    std::fs::write(&file, text).unwrap();
    let gateway = start(|c| c.users.load_file(&file).unwrap());
    (gateway, dir)
}

fn hello(service: &str, topics: &[&str]) -> Envelope {
    Envelope::new(Body::Hello(Hello {
        service: service.into(),
        instance: "i1".into(),
        routes: vec!["echo".into()],
        topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        max_in_flight: 4,
        version: "1.0.0".into(),
    }))
}

async fn status_of(gateway: &RunningGateway, pair: &str) -> u16 {
    let auth = basic(pair);
    http(
        gateway.addr(),
        "GET",
        "/metrics",
        &[("Authorization", &auth)],
        "",
    )
    .await
    .status
}

async fn post_as(gateway: &RunningGateway, pair: &str, path: &str) -> HttpResponse {
    let auth = basic(pair);
    let headers = [("Authorization", auth.as_str()), ("X-Timeout-Ms", "5000")];
    http(gateway.addr(), "POST", path, &headers, "{}").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashed_users_authenticate_with_their_password_only() {
    let (gateway, _dir) = gateway();
    for _ in 0..2 {
        // the second round answers from the cache of successful checks
        assert_eq!(status_of(&gateway, "bc:bc-pw").await, 200);
        assert_eq!(status_of(&gateway, "ar:ar-pw").await, 200);
        for wrong in ["bc:ar-pw", "ar:bc-pw", "bc:bc-pW", "ar:", "nobody:bc-pw"] {
            assert_eq!(status_of(&gateway, wrong).await, 401, "{wrong}");
        }
    }
    assert!(open(&gateway, Some(&basic("ar:ar-pw"))).await.is_ok());
    match open(&gateway, Some(&basic("ar:wrong"))).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_and_publish_outside_the_lists_are_forbidden() {
    let (gateway, _dir) = gateway();
    let mut ocr = within(
        "the websocket handshake",
        open(&gateway, Some(&basic("ar:ar-pw"))),
    )
    .await
    .unwrap();
    ocr.send(&hello("ocr", &["docs.new"])).await;
    assert!(matches!(ocr.recv("welcome").await.body, Body::Welcome(_)));

    let allowed = tokio::spawn({
        let gateway_addr = gateway.addr();
        async move {
            let auth = basic("bc:bc-pw");
            http(
                gateway_addr,
                "POST",
                "/v1/invoke/ocr/echo",
                &[("Authorization", &auth)],
                "{}",
            )
            .await
        }
    });
    let request = ocr.recv("the allowed request").await;
    ocr.reply(&request, serde_json::json!({"ok": true})).await;
    let allowed = allowed.await.unwrap();
    assert_eq!(allowed.status, 200, "{}", allowed.body);

    for path in [
        "/v1/invoke/billing/echo",
        "/v1/invoke/ocr2/echo",
        "/v1/publish/payroll",
        "/v1/publish/docsx",
    ] {
        let refused = post_as(&gateway, "bc:bc-pw", path).await;
        assert_eq!(refused.status, 403, "{path}: {}", refused.body);
        assert_eq!(refused.json()["code"], "forbidden", "{path}");
        assert!(refused.header("X-Trace-Id").is_some(), "{path}");
    }
    let published = post_as(&gateway, "bc:bc-pw", "/v1/publish/docs.new").await;
    assert_eq!(published.status, 202, "{}", published.body);
    let event = ocr.recv("the allowed event").await;
    assert!(matches!(event.body, Body::Event(_)), "{event:?}");
    // svc:pw has no lists: everything stays allowed.
    let open_user = post_as(&gateway, USER, "/v1/publish/payroll").await;
    assert_eq!(open_user.status, 202, "{}", open_user.body);
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hello_subscribing_to_a_forbidden_topic_is_refused() {
    let (gateway, _dir) = gateway();
    for (service, topics) in [("ocr", &["docs.new", "payroll"][..]), ("billing", &[][..])] {
        let mut svc = within(
            "the websocket handshake",
            open(&gateway, Some(&basic("ar:ar-pw"))),
        )
        .await
        .unwrap();
        svc.send(&hello(service, topics)).await;
        let answer = svc.recv("the refusal").await;
        let Body::Error(report) = answer.body else {
            panic!("expected an error for {service} {topics:?}, got {answer:?}");
        };
        assert_eq!(
            report.error.code,
            ErrorCode::Forbidden,
            "{service} {topics:?}"
        );
        match svc.next_message("the close frame").await {
            Some(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Policy),
            other => panic!("expected close 1008, got {other:?}"),
        }
    }
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_and_event_frames_outside_the_lists_are_forbidden() {
    let (gateway, _dir) = gateway();
    // bc may register any service (no `services` list) but call only `ocr`
    // and publish only `docs.*`
    let mut svc = within(
        "the websocket handshake",
        open(&gateway, Some(&basic("bc:bc-pw"))),
    )
    .await
    .unwrap();
    svc.send(&hello("caller", &[])).await;
    assert!(matches!(svc.recv("welcome").await.body, Body::Welcome(_)));
    let request = Envelope::request("billing", "echo", ms_protocol::Payload::inline(&1).unwrap());
    let event = Envelope::event("payroll", ms_protocol::Payload::inline(&2).unwrap());
    for frame in [&request, &event] {
        svc.send(frame).await;
        let answer = svc.recv("the refusal").await;
        let Body::Error(report) = &answer.body else {
            panic!("expected an error, got {answer:?}")
        };
        assert_eq!(report.error.code, ErrorCode::Forbidden);
        assert_eq!(report.correlation_id.as_ref(), Some(&frame.id));
    }
    assert_eq!(metric(gateway.addr(), "ms_gateway_requests_total").await, 0);
    assert_eq!(metric(gateway.addr(), "ms_gateway_events_total").await, 0);
    gateway.stop().await;
}
