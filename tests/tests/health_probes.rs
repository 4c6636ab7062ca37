//! `MS_HEALTH_BIND`: a service answers `/healthz` (alive) and `/readyz`
//! (welcomed by the gateway) for Kubernetes-style probes.

use std::net::SocketAddr;
use std::time::Duration;

use ms_runtime::protocol::Json;
use ms_runtime::testing::TestKit;
use ms_runtime::{Config, Context, Error, Handler, HandlerError, Request, Service};

struct Quiet;

impl Handler for Quiet {
    fn name(&self) -> &str {
        "probed"
    }
    fn routes(&self) -> Vec<String> {
        vec!["noop".into()]
    }
    async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        Ok(request.payload)
    }
}

/// One GET; the status code and body.
async fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let response = ms_tests::raw_get(addr, path, &[]).await?;
    Ok((response.status, response.body))
}

#[actix_rt::test]
async fn a_connected_service_is_alive_and_ready_and_closes_the_port_on_shutdown()
-> Result<(), Box<dyn std::error::Error>> {
    let kit = TestKit::start().await?;
    let config = kit
        .config_builder("probed")
        .health_bind("127.0.0.1:0")
        .build()?;
    let service = Service::start(config, Quiet).await?;
    let addr = service.health_addr().ok_or("probes are on")?;
    assert_ne!(addr.port(), 0, "the real port is reported");
    assert!(
        service
            .gateway()
            .wait_connected(Duration::from_secs(10))
            .await
    );

    assert_eq!(get(addr, "/healthz").await?, (200, "ok\n".to_owned()));
    assert_eq!(get(addr, "/readyz").await?, (200, "ready\n".to_owned()));
    assert_eq!(get(addr, "/metrics").await?.0, 200);
    assert_eq!(get(addr, "/other").await?.0, 404);

    service.shutdown().await;
    assert!(
        get(addr, "/healthz").await.is_err(),
        "nothing answers after shutdown"
    );
    kit.stop().await;
    Ok(())
}

#[actix_rt::test]
async fn a_service_without_its_gateway_is_alive_but_not_ready()
-> Result<(), Box<dyn std::error::Error>> {
    // nothing listens on port 1: the service keeps trying to connect
    let config = Config::builder()
        .gateway_url("ws://127.0.0.1:1/v1/ws")
        .log_level("critical")
        .health_bind("127.0.0.1:0")
        .build()?;
    let service = Service::start(config, Quiet).await?;
    let addr = service.health_addr().ok_or("probes are on")?;

    assert_eq!(get(addr, "/healthz").await?.0, 200);
    let (status, body) = get(addr, "/readyz").await?;
    assert_eq!(status, 503, "{body}");
    assert!(body.starts_with("not connected to the gateway"), "{body}");
    service.shutdown().await;
    Ok(())
}

#[actix_rt::test]
async fn a_taken_probe_port_fails_the_start_with_a_typed_error()
-> Result<(), Box<dyn std::error::Error>> {
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = taken.local_addr()?;
    let config = Config::builder()
        .gateway_url("ws://127.0.0.1:1/v1/ws")
        .log_level("critical")
        .health_bind(addr.to_string())
        .build()?;
    match Service::start(config, Quiet).await {
        Err(Error::HealthBind { addr: refused, .. }) => assert_eq!(refused, addr),
        Err(other) => panic!("expected HealthBind, got {other:?}"),
        Ok(_) => panic!("the service started on a taken port"),
    }
    Ok(())
}
