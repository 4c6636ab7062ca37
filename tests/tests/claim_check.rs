//! Claim check end to end through `ms-gateway` and its embedded S3 store:
//! a 5 MiB request and a 5 MiB reply between two services travel as
//! `payload_ref` and arrive verified; the handlers never see the difference.

use std::time::Duration;

use ms_gateway::{DevS3Config, Secret};
use ms_runtime::protocol::Json;
use ms_runtime::{Config, Context, Handler, HandlerError, Request, Service};
use ms_tests::{PASSWORD, USER, fast_tuning, invoke, start_gateway_with};

const BIG: usize = 5 * 1024 * 1024;

/// Sends 5 MiB to `mirror` and checks what comes back.
struct Sender;

impl Handler for Sender {
    fn name(&self) -> &str {
        "sender"
    }
    fn routes(&self) -> Vec<String> {
        vec!["go".into()]
    }
    async fn handle(&self, ctx: &Context, _request: Request) -> Result<Json, HandlerError> {
        let big = "s".repeat(BIG);
        let back: String = ctx.request("mirror", "reverse", &big).await?;
        HandlerError::reply(&serde_json::json!({
            "sent": big.len(),
            "received": back.len(),
            "all_r": back.bytes().all(|b| b == b'r'),
        }))
    }
}

/// Answers a big string with a big string of the same length.
struct Mirror;

impl Handler for Mirror {
    fn name(&self) -> &str {
        "mirror"
    }
    fn routes(&self) -> Vec<String> {
        vec!["reverse".into()]
    }
    async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        let text: String = request.parse()?;
        if !text.bytes().all(|b| b == b's') {
            return Err(HandlerError::bad_request("payload corrupted in transit"));
        }
        HandlerError::reply(&"r".repeat(text.len()))
    }
}

fn config(ws_url: &str, s3: std::net::SocketAddr) -> Config {
    Config::builder()
        .gateway_url(ws_url)
        .credentials(USER, PASSWORD)
        .s3_endpoint(format!("http://{s3}"))
        .s3_keys("claim-ak", "claim-sk")
        .s3_bucket("claims")
        .log_level("warning")
        .tuning(fast_tuning())
        .build()
        .expect("valid test config")
}

#[actix_rt::test]
async fn five_mib_payloads_travel_by_claim_check() {
    let data = tempfile::tempdir().unwrap();
    let gateway = start_gateway_with(|c| {
        c.dev_s3 = Some(DevS3Config {
            bind: "127.0.0.1:0".parse().unwrap(),
            data_dir: data.path().to_owned(),
            access_key: "claim-ak".into(),
            secret_key: Secret::new("claim-sk"),
        });
    });
    let s3 = gateway.s3_addr().expect("dev S3 is running");
    let mirror = Service::start(config(&gateway.ws_url(), s3), Mirror)
        .await
        .unwrap();
    let sender = Service::start(config(&gateway.ws_url(), s3), Sender)
        .await
        .unwrap();
    assert!(
        mirror
            .gateway()
            .wait_connected(Duration::from_secs(10))
            .await,
        "mirror never connected"
    );
    assert!(
        sender
            .gateway()
            .wait_connected(Duration::from_secs(10))
            .await,
        "sender never connected"
    );
    assert!(sender.gateway().s3().is_some());

    let (status, body) = invoke(&gateway.http_url(), "sender", "go", "null", 30_000).await;
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["sent"], BIG);
    assert_eq!(answer["received"], BIG);
    assert_eq!(answer["all_r"], true);

    // both 5 MiB payloads went through the store, not the websocket
    let store = sender.gateway().s3().unwrap().clone();
    let mut claims = Vec::new();
    let mut listing = store.list("claims", "claims/", None);
    while let Some(entry) = futures_util::StreamExt::next(&mut listing).await {
        claims.push(entry.expect("listing works"));
    }
    assert_eq!(claims.len(), 2, "{claims:?}");

    sender.shutdown().await;
    mirror.shutdown().await;
    gateway.stop().await;
}
