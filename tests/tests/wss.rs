//! A service reaches a TLS gateway over `wss://`, trusting a test
//! certificate through `MS_TLS_CA_FILE`; without it the handshake fails and
//! the state says why.

use std::time::Duration;

use ms_gateway::TlsFiles;
use ms_runtime::{Config, ConnectionState, Service};
use ms_tests::{Echo, PASSWORD, USER, fast_tuning, start_gateway_with, wait_until};

fn config(url: &str, ca: Option<&std::path::Path>) -> Config {
    let mut builder = Config::builder()
        .gateway_url(url)
        .credentials(USER, PASSWORD)
        .log_level("critical")
        .tuning(fast_tuning());
    if let Some(ca) = ca {
        builder = builder.tls_ca_file(ca);
    }
    builder.build().expect("valid test config")
}

#[actix_rt::test]
async fn wss_with_a_trusted_test_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let gateway = start_gateway_with(|c| {
        c.tls = Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        });
    });
    let url = gateway.ws_url();
    assert!(url.starts_with("wss://127.0.0.1:"), "{url}");

    // untrusted: the TLS handshake fails, reported as unreachable
    let untrusted = Service::start(
        config(&url, None),
        Echo {
            name: "secure-echo",
        },
    )
    .await
    .unwrap();
    let handle = untrusted.gateway().clone();
    wait_until(
        "the TLS failure to be reported",
        Duration::from_secs(5),
        || matches!(handle.state(), ConnectionState::Disconnected { .. }),
    )
    .await;
    assert!(!handle.is_connected());
    untrusted.shutdown().await;

    // trusted through the CA file: a full round trip over wss
    let service = Service::start(
        config(&url, Some(&cert)),
        Echo {
            name: "secure-echo",
        },
    )
    .await
    .unwrap();
    assert!(
        service
            .gateway()
            .wait_connected(Duration::from_secs(10))
            .await,
        "never connected over wss"
    );
    let payload =
        ms_runtime::protocol::Json::from_value(&serde_json::json!({"over": "tls"})).unwrap();
    let reply = service
        .gateway()
        .request(
            "secure-echo",
            "echo",
            payload.clone(),
            Default::default(),
            Some(Duration::from_secs(5)),
        )
        .await
        .unwrap();
    assert_eq!(reply, payload);
    service.shutdown().await;
    gateway.stop().await;
}
