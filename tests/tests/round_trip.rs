//! A request through `ms-gateway`'s HTTP edge reaches a `Handler` and its
//! reply comes back, with the trace id; the service reports its connection.

use std::time::Duration;

use ms_runtime::protocol::Json;
use ms_runtime::{Context, Handler, HandlerError, Request, Service};

use ms_tests::{invoke, invoke_with, service_config, start_gateway};

struct Upper;

impl Handler for Upper {
    fn name(&self) -> &str {
        "upper"
    }
    fn routes(&self) -> Vec<String> {
        vec!["upper".into(), "trace".into()]
    }
    async fn handle(&self, ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        match request.route.as_str() {
            "upper" => {
                let text: String = request.parse()?;
                ms_runtime::reply(&text.to_uppercase())
            }
            _ => ms_runtime::reply(&serde_json::json!({
                "trace_id": ctx.trace_id(),
                "attempt": ctx.attempt(),
                "has_deadline": ctx.deadline().is_some(),
            })),
        }
    }
}

#[actix_rt::test]
async fn http_request_round_trips_through_a_handler() {
    let gateway = start_gateway();
    let service = Service::start(service_config(&gateway.ws_url(), 8), Upper)
        .await
        .unwrap();
    assert!(
        service
            .gateway()
            .wait_connected(Duration::from_secs(10))
            .await,
        "service never connected"
    );
    assert!(service.gateway().is_connected());

    let (status, body) = invoke(&gateway.http_url(), "upper", "upper", r#""hello""#, 5_000).await;
    assert_eq!((status, body.as_str()), (200, r#""HELLO""#));

    let ((status, body), trace) = invoke_with(
        &gateway.http_url(),
        "upper",
        "trace",
        "null",
        5_000,
        &[("x-trace-id", "t-123")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let seen: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(seen["trace_id"], "t-123");
    assert_eq!(seen["attempt"], 1);
    assert_eq!(seen["has_deadline"], true);
    assert_eq!(trace.as_deref(), Some("t-123"));

    // a payload that does not fit the route is the caller's fault: 400
    let (status, body) = invoke(&gateway.http_url(), "upper", "upper", "42", 5_000).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("payload of route `upper` does not fit"),
        "{body}"
    );

    // a route the service does not serve never reaches it: 404
    let (status, _) = invoke(&gateway.http_url(), "upper", "lower", "1", 5_000).await;
    assert_eq!(status, 404);

    let handle = service.gateway().clone();
    service.shutdown().await;
    assert_eq!(handle.state(), ms_runtime::ConnectionState::Stopped);
    assert!(!handle.is_connected());
    gateway.stop().await;
}
