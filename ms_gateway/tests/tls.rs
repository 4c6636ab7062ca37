//! With --tls-cert/--tls-key the gateway serves wss:// (rustls): a client
//! trusting the certificate opens a session; the handshake still needs credentials.

mod common;

use std::sync::Arc;

use common::*;
use ms_gateway::TlsFiles;
use ms_protocol::{Body, encode};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{Connector, connect_async_tls_with_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_sessions_work_with_a_trusted_certificate() {
    ms_gateway::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();
    let gateway = start(|c| {
        c.tls = Some(TlsFiles {
            cert: cert_path.clone(),
            key: key_path.clone(),
        });
    });
    assert!(gateway.ws_url().starts_with("wss://"));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = || Some(Connector::Rustls(Arc::new(client.clone())));

    let unauthenticated = gateway.ws_url().into_client_request().unwrap();
    match connect_async_tls_with_config(unauthenticated, None, true, connector()).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }

    let mut request = gateway.ws_url().into_client_request().unwrap();
    request.headers_mut().insert(
        "Authorization",
        HeaderValue::from_str(&basic(USER)).unwrap(),
    );
    let (ws, _) = within(
        "the wss handshake",
        connect_async_tls_with_config(request, None, true, connector()),
    )
    .await
    .unwrap();
    let mut svc = FakeService { ws };
    svc.send_text(&encode(&hello("svc", "a", 1)).unwrap()).await;
    let welcome = svc.recv("welcome over wss").await;
    assert!(matches!(welcome.body, Body::Welcome(_)), "{welcome:?}");
    gateway.stop().await;
}
