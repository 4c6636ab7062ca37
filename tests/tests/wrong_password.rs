//! Wrong credentials: the state says the gateway refused them, and retries
//! follow the slower authentication schedule, never a tight loop.

use std::sync::{Arc, Mutex};
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

    // record every state the connection goes through for 4 seconds
    let mut changes = service.gateway().state_changes();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let watcher = actix_rt::spawn(async move {
        while changes.changed().await.is_ok() {
            let state = changes.borrow_and_update().clone();
            record
                .lock()
                .expect("not poisoned")
                .push((Instant::now(), state));
        }
    });
    tokio::time::sleep(Duration::from_secs(4)).await;
    watcher.abort();

    let seen = seen.lock().expect("not poisoned").clone();
    let refusals: Vec<Instant> = seen
        .iter()
        .filter(|(_, s)| matches!(s, ConnectionState::Refused { reason } if reason == "HTTP 401"))
        .map(|(at, _)| *at)
        .collect();
    assert!(!refusals.is_empty(), "no refusal reported: {seen:?}");
    assert!(!service.gateway().is_connected());
    // bounds 1.5 s, 3 s, 3 s... with delays of at least half the bound: at most 4 tries in 4 s
    assert!(
        refusals.len() <= 4,
        "{} refusals in 4 s: a tight loop",
        refusals.len()
    );
    for pair in refusals.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(700),
            "retried after only {:?}",
            pair[1] - pair[0]
        );
    }
    service.shutdown().await;
    gateway.stop().await;
}
