//! The network drops the connection without a close frame, or goes silent:
//! the service notices (stream end, or 3 missed heartbeats), reconnects by
//! itself, and serves again.

use std::time::Duration;

use ms_runtime::{ConnectionState, Service};
use ms_tests::{Echo, Proxy, invoke, service_config, start_gateway_with, wait_until};

#[actix_rt::test]
async fn a_cut_connection_is_noticed_and_restored() {
    let gateway = start_gateway_with(|c| c.heartbeat_ms = 300);
    let proxy = Proxy::start(gateway.addr()).await;
    let service = Service::start(service_config(&proxy.ws_url(), 8), Echo { name: "echo" })
        .await
        .unwrap();
    let handle = service.gateway().clone();
    assert!(
        handle.wait_connected(Duration::from_secs(10)).await,
        "never connected"
    );
    assert_eq!(
        invoke(&gateway.http_url(), "echo", "echo", "1", 5_000).await,
        (200, "1".to_owned())
    );

    let ConnectionState::Connected { session: before } = handle.state() else {
        panic!("not connected")
    };
    proxy.cut();
    // the reconnect can be quicker than any poll: watch for a new session instead
    wait_until(
        "a new session after the cut",
        Duration::from_secs(10),
        || matches!(handle.state(), ConnectionState::Connected { session } if session != before),
    )
    .await;
    assert_eq!(proxy.accepted(), 2);
    assert_eq!(
        invoke(&gateway.http_url(), "echo", "echo", "2", 5_000).await,
        (200, "2".to_owned())
    );

    service.shutdown().await;
    gateway.stop().await;
}

#[actix_rt::test]
async fn a_silent_connection_is_dropped_after_three_heartbeats() {
    let gateway = start_gateway_with(|c| c.heartbeat_ms = 300);
    let proxy = Proxy::start(gateway.addr()).await;
    let service = Service::start(service_config(&proxy.ws_url(), 8), Echo { name: "echo" })
        .await
        .unwrap();
    let handle = service.gateway().clone();
    assert!(
        handle.wait_connected(Duration::from_secs(10)).await,
        "never connected"
    );

    proxy.freeze(true);
    // 3 x 300 ms of silence, plus a tick
    wait_until(
        "the service to give up on the silent connection",
        Duration::from_secs(5),
        || !handle.is_connected(),
    )
    .await;
    proxy.freeze(false);
    assert!(
        handle.wait_connected(Duration::from_secs(10)).await,
        "never reconnected after the silence"
    );
    assert!(proxy.accepted() >= 2);
    assert_eq!(
        invoke(&gateway.http_url(), "echo", "echo", "3", 5_000).await,
        (200, "3".to_owned())
    );

    service.shutdown().await;
    gateway.stop().await;
}
