//! Two services call each other through the gateway: a typed request with the
//! trace id and deadline carried along, and an event published by one and
//! handled by the other.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ms_runtime::protocol::Json;
use ms_runtime::{Context, Event, Handler, HandlerError, Request, Service};
use ms_tests::{invoke_with, service_config, start_gateway, wait_until};

/// Front: asks Back to double a number, publishes the result.
struct Front;

impl Handler for Front {
    fn name(&self) -> &str {
        "front"
    }
    fn routes(&self) -> Vec<String> {
        vec!["quadruple".into()]
    }
    async fn handle(&self, ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        let n: i64 = request.parse()?;
        let twice: serde_json::Value = ctx.request("back", "double", &n).await?;
        let n2 = twice["value"]
            .as_i64()
            .ok_or_else(|| HandlerError::new("back answered without a value"))?;
        let four: serde_json::Value = ctx.request("back", "double", &n2).await?;
        ctx.publish("numbers", &four["value"]).await?;
        ms_runtime::reply(
            &serde_json::json!({ "value": four["value"], "trace_seen_by_back": four["trace_id"] }),
        )
    }
}

/// Back: doubles, and records the events it receives.
struct Back {
    events: Arc<Mutex<Vec<(String, String)>>>,
}

impl Handler for Back {
    fn name(&self) -> &str {
        "back"
    }
    fn routes(&self) -> Vec<String> {
        vec!["double".into()]
    }
    fn topics(&self) -> Vec<String> {
        vec!["numbers".into()]
    }
    async fn handle(&self, ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        let n: i64 = request.parse()?;
        assert!(
            ctx.deadline().is_some(),
            "the caller's deadline travels with the request"
        );
        ms_runtime::reply(&serde_json::json!({ "value": n * 2, "trace_id": ctx.trace_id() }))
    }
    async fn on_event(&self, ctx: &Context, event: Event) -> Result<(), HandlerError> {
        let trace = ctx.trace_id().unwrap_or_default().to_owned();
        self.events
            .lock()
            .expect("not poisoned")
            .push((event.payload.as_str().to_owned(), trace));
        Ok(())
    }
}

#[actix_rt::test]
async fn services_call_each_other_and_exchange_events() {
    let gateway = start_gateway();
    let events = Arc::new(Mutex::new(Vec::new()));
    let back = Service::start(
        service_config(&gateway.ws_url(), 8),
        Back {
            events: events.clone(),
        },
    )
    .await
    .unwrap();
    let front = Service::start(service_config(&gateway.ws_url(), 8), Front)
        .await
        .unwrap();
    assert!(
        back.gateway().wait_connected(Duration::from_secs(10)).await,
        "back never connected"
    );
    assert!(
        front
            .gateway()
            .wait_connected(Duration::from_secs(10))
            .await,
        "front never connected"
    );

    let ((status, body), _) = invoke_with(
        &gateway.http_url(),
        "front",
        "quadruple",
        "5",
        10_000,
        &[("x-trace-id", "trace-55")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["value"], 20);
    assert_eq!(
        answer["trace_seen_by_back"], "trace-55",
        "trace id propagated to the inner call"
    );

    wait_until("the event reaching back", Duration::from_secs(10), || {
        !events.lock().expect("not poisoned").is_empty()
    })
    .await;
    assert_eq!(
        events.lock().expect("not poisoned")[0],
        ("20".to_owned(), "trace-55".to_owned())
    );

    front.shutdown().await;
    back.shutdown().await;
    gateway.stop().await;
}
