//! Wrong credentials: the state says the gateway refused them, and retries
//! follow the slower authentication schedule, never a tight loop.

use std::time::{Duration, Instant};

use ms_runtime::protocol::Json;
use ms_runtime::{Config, ConnectionState, Context, Handler, HandlerError, Request, Service};
use ms_tests::{fast_tuning, start_gateway};

struct Idle;

impl Handler for Idle {
    fn name(&self) -> &str {
        "idle"
    }
    fn routes(&self) -> Vec<String> {
        vec!["noop".into()]
    }
    async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        Ok(request.payload)
    }
}

#[actix_rt::test]
async fn refused_credentials_are_reported_and_retried_slowly() {
    let gateway = start_gateway();
    let config = Config::builder()
        .gateway_url(gateway.ws_url())
        .credentials("svc", "not-the-password")
        .log_level("critical")
        .tuning(fast_tuning()) // auth retries: first bound 1.5 s, drawn from its upper half
        .build()
        .unwrap();
    let service = Service::start(config, Idle).await.unwrap();

    // watch the states until the third refusal seen; the first may come
    // before the watch starts
    let mut changes = service.gateway().state_changes();
    let mut seen = Vec::new();
    let mut refusals = Vec::new();
    let watched = tokio::time::timeout(Duration::from_secs(15), async {
        while refusals.len() < 3 {
            changes.changed().await.expect("the service runs");
            let state = changes.borrow_and_update().clone();
            if matches!(&state, ConnectionState::Refused { reason } if reason == "HTTP 401") {
                refusals.push(Instant::now());
            }
            seen.push(state);
        }
    })
    .await;
    assert!(
        watched.is_ok(),
        "fewer than 3 refusals reported in 15 s: {seen:?}"
    );
    assert!(!service.gateway().is_connected());
    // bounds 1.5 s, then 3 s, with delays of at least half the bound
    for pair in refusals.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(700),
            "retried after only {:?}: a tight loop",
            pair[1] - pair[0]
        );
    }
    service.shutdown().await;
    gateway.stop().await;
}
