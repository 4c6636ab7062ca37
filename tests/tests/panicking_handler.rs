//! A handler that panics answers that one request with `handler_error`
//! (HTTP 502); the service keeps serving the others.

use std::time::Duration;

use ms_runtime::protocol::Json;
use ms_runtime::{Context, Handler, HandlerError, Request, Service};
use ms_tests::{invoke, service_config, start_gateway};

struct Fragile;

impl Handler for Fragile {
    fn name(&self) -> &str {
        "fragile"
    }
    fn routes(&self) -> Vec<String> {
        vec!["boom".into(), "ok".into()]
    }
    async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        if request.route == "boom" {
            panic!("the model file is corrupt");
        }
        Ok(request.payload)
    }
}

#[actix_rt::test]
async fn a_panic_fails_only_its_own_request() {
    let gateway = start_gateway();
    let service = Service::start(service_config(&gateway.ws_url(), 8), Fragile)
        .await
        .unwrap();
    assert!(
        service
            .gateway()
            .wait_connected(Duration::from_secs(10))
            .await,
        "never connected"
    );

    for _ in 0..3 {
        let (status, body) = invoke(&gateway.http_url(), "fragile", "boom", "1", 5_000).await;
        assert_eq!(status, 502, "{body}");
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["code"], "handler_error");
        assert_eq!(error["retryable"], false);
        assert!(
            !body.contains("corrupt"),
            "panic details stay in the logs: {body}"
        );

        let (status, body) = invoke(
            &gateway.http_url(),
            "fragile",
            "ok",
            r#"{"still":"here"}"#,
            5_000,
        )
        .await;
        assert_eq!((status, body.as_str()), (200, r#"{"still":"here"}"#));
    }
    assert!(service.gateway().is_connected());
    service.shutdown().await;
    gateway.stop().await;
}
