//! Shutdown with requests in flight: handlers that finish within the grace
//! period are answered; those that do not are handed back to the gateway,
//! which redelivers them (attempt 2) to another instance.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ms_runtime::protocol::Json;
use ms_runtime::{Config, Context, Handler, HandlerError, Request, Service, Tuning};
use ms_tests::{PASSWORD, USER, fast_tuning, invoke, start_gateway, wait_until};

struct Worker {
    name: &'static str,
    work: Duration,
    running: Arc<AtomicUsize>,
}

impl Handler for Worker {
    fn name(&self) -> &str {
        "worker"
    }
    fn routes(&self) -> Vec<String> {
        vec!["work".into()]
    }
    async fn handle(&self, ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        self.running.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.work).await;
        ms_runtime::reply(&serde_json::json!({
            "by": self.name, "attempt": ctx.attempt(), "echo": request.payload.parse::<serde_json::Value>()?,
        }))
    }
}

fn config(url: &str, grace: Duration) -> Config {
    Config::builder()
        .gateway_url(url)
        .credentials(USER, PASSWORD)
        .log_level("critical")
        .tuning(Tuning {
            shutdown_grace: grace,
            ..fast_tuning()
        })
        .build()
        .expect("valid test config")
}

#[actix_rt::test]
async fn in_flight_requests_finish_within_the_grace_period() {
    let gateway = start_gateway();
    let running = Arc::new(AtomicUsize::new(0));
    let worker = Worker {
        name: "a",
        work: Duration::from_millis(500),
        running: running.clone(),
    };
    let service = Service::start(config(&gateway.ws_url(), Duration::from_secs(5)), worker)
        .await
        .unwrap();
    let handle = service.gateway().clone();
    assert!(
        handle.wait_connected(Duration::from_secs(10)).await,
        "never connected"
    );

    let url = gateway.http_url();
    let calls: Vec<_> = (0..4)
        .map(|i| {
            let url = url.clone();
            actix_rt::spawn(
                async move { invoke(&url, "worker", "work", &i.to_string(), 10_000).await },
            )
        })
        .collect();
    wait_until("4 handlers running", Duration::from_secs(5), || {
        running.load(Ordering::SeqCst) == 4
    })
    .await;
    service.shutdown().await;
    for (i, call) in calls.into_iter().enumerate() {
        let (status, body) = call.await.unwrap();
        assert_eq!(status, 200, "request {i} lost in shutdown: {body}");
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (answer["by"].as_str(), answer["echo"].as_i64()),
            (Some("a"), Some(i as i64))
        );
    }
    assert!(!handle.is_connected());
    // nothing serves `worker` any more
    let (status, _) = invoke(&url, "worker", "work", "9", 300).await;
    assert_eq!(status, 504);
    gateway.stop().await;
}

#[actix_rt::test]
async fn unfinished_requests_are_handed_back_and_redelivered() {
    let gateway = start_gateway();
    let running = Arc::new(AtomicUsize::new(0));
    let slow = Worker {
        name: "slow",
        work: Duration::from_secs(30),
        running: running.clone(),
    };
    let a = Service::start(config(&gateway.ws_url(), Duration::from_millis(200)), slow)
        .await
        .unwrap();
    assert!(
        a.gateway().wait_connected(Duration::from_secs(10)).await,
        "a never connected"
    );

    let url = gateway.http_url();
    let call = actix_rt::spawn(async move { invoke(&url, "worker", "work", "7", 15_000).await });
    wait_until("the slow handler to start", Duration::from_secs(5), || {
        running.load(Ordering::SeqCst) == 1
    })
    .await;

    let fast = Worker {
        name: "fast",
        work: Duration::ZERO,
        running: Arc::new(AtomicUsize::new(0)),
    };
    let b = Service::start(config(&gateway.ws_url(), Duration::from_secs(5)), fast)
        .await
        .unwrap();
    assert!(
        b.gateway().wait_connected(Duration::from_secs(10)).await,
        "b never connected"
    );
    a.shutdown().await;

    let (status, body) = call.await.unwrap();
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        answer["by"], "fast",
        "the handed-back request is answered by the other instance"
    );
    assert_eq!(answer["attempt"], 2);
    assert_eq!(answer["echo"], 7);
    b.shutdown().await;
    gateway.stop().await;
}
