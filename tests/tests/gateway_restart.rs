//! The gateway is killed (SIGKILL) mid-load and started again on the same
//! port: the service reconnects by itself, no caller gets another's answer,
//! no handler runs twice for one request id, and every request sent once the
//! gateway is back is answered. (Requests the dead gateway held die with it:
//! their HTTP callers see the failure; nothing here can answer them.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ms_runtime::protocol::Json;
use ms_runtime::{Context, Handler, HandlerError, Request, Service};
use ms_tests::{GatewayProcess, invoke, service_config, wait_until};

struct Recording {
    seen: Arc<Mutex<HashMap<String, usize>>>,
}

impl Handler for Recording {
    fn name(&self) -> &str {
        "recording"
    }
    fn routes(&self) -> Vec<String> {
        vec!["echo".into()]
    }
    async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        *self
            .seen
            .lock()
            .expect("not poisoned")
            .entry(request.id.to_string())
            .or_default() += 1;
        // a little work, so that requests are in flight when the gateway dies
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(request.payload)
    }
}

/// Callers sending unique payloads until `until`; returns (sent, answered right, failed).
async fn load(url: String, until: Instant, worker: usize) -> (usize, usize, usize) {
    let (mut sent, mut ok, mut failed) = (0, 0, 0);
    while Instant::now() < until {
        let body = format!("\"w{worker}-{sent}\"");
        sent += 1;
        let (status, answer) = invoke(&url, "recording", "echo", &body, 2_000).await;
        if status == 200 {
            assert_eq!(answer, body, "a caller got someone else's answer");
            ok += 1;
        } else {
            failed += 1;
            // a caller's pause before trying again, not a wait for an event
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    (sent, ok, failed)
}

#[actix_rt::test]
async fn after_a_gateway_kill_the_service_reconnects_and_runs_no_handler_twice() {
    let gateway = GatewayProcess::start("127.0.0.1:0".parse().unwrap());
    let addr = gateway.addr;
    let (ws, http) = (gateway.ws_url(), gateway.http_url());
    let seen = Arc::new(Mutex::new(HashMap::new()));
    let service = Service::start(service_config(&ws, 16), Recording { seen: seen.clone() })
        .await
        .unwrap();
    let handle = service.gateway().clone();
    assert!(
        handle.wait_connected(Duration::from_secs(10)).await,
        "never connected"
    );

    let until = Instant::now() + Duration::from_secs(3);
    let workers: Vec<_> = (0..4)
        .map(|w| actix_rt::spawn(load(http.clone(), until, w)))
        .collect();
    wait_until(
        "requests flowing before the kill",
        Duration::from_secs(10),
        || seen.lock().expect("not poisoned").len() >= 20,
    )
    .await;
    gateway.kill();
    wait_until(
        "the service to notice the gateway is gone",
        Duration::from_secs(10),
        || !handle.is_connected(),
    )
    .await;
    let gateway = GatewayProcess::start(addr);
    assert!(
        handle.wait_connected(Duration::from_secs(10)).await,
        "never reconnected to the restarted gateway"
    );

    let mut totals = (0, 0, 0);
    for w in workers {
        let (sent, ok, failed) = w.await.unwrap();
        totals = (totals.0 + sent, totals.1 + ok, totals.2 + failed);
    }
    println!(
        "sent {}, answered {}, failed while the gateway was down {}",
        totals.0, totals.1, totals.2
    );
    assert!(totals.1 > 0, "no request was answered during the load");

    // after the restart, every request is answered
    for i in 0..20 {
        let body = format!("\"after-{i}\"");
        assert_eq!(
            invoke(&gateway.http_url(), "recording", "echo", &body, 5_000).await,
            (200, body)
        );
    }
    let twice: Vec<_> = seen
        .lock()
        .expect("not poisoned")
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, n)| (id.clone(), *n))
        .collect();
    assert!(
        twice.is_empty(),
        "handlers ran more than once for {twice:?}"
    );
    service.shutdown().await;
}
