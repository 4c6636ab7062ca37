//! Real `ms_runtime` services on a three-node gateway cluster (one
//! nats-server with JetStream, three `ms-gateway` processes). Two of three
//! echo instances are connected to node x; a caller service on node z keeps
//! sending requests; node x is SIGKILLed mid-load. Every request is
//! answered once the two instances reconnect to node y, no instance runs a
//! request twice (they all stayed alive: redeliveries to an instance that
//! ran it are answered from its dedup memory), and the run count and time to
//! recover are reported.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ms_nats_testing::NatsServer;
use ms_runtime::protocol::{Headers, Json};
use ms_runtime::{Config, Context, Handler, HandlerError, Request, Service, Tuning};
use ms_tests::{GatewayProcess, PASSWORD, USER, fast_tuning};

/// Runs per (instance, payload).
type Runs = Arc<Mutex<HashMap<(String, String), usize>>>;

struct Echo {
    instance: String,
    runs: Runs,
}

impl Handler for Echo {
    fn name(&self) -> &str {
        "echo"
    }
    fn routes(&self) -> Vec<String> {
        vec!["say".into()]
    }
    async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        let key = (self.instance.clone(), request.payload.as_str().to_owned());
        *self
            .runs
            .lock()
            .map_err(|_| HandlerError::internal("poisoned"))?
            .entry(key)
            .or_default() += 1;
        // long enough that the kill finds requests in flight
        tokio::time::sleep(Duration::from_millis(30)).await;
        Ok(request.payload)
    }
}

/// A caller with no routes of its own.
struct Caller;

impl Handler for Caller {
    fn name(&self) -> &str {
        "caller"
    }
    fn routes(&self) -> Vec<String> {
        Vec::new()
    }
    async fn handle(&self, _ctx: &Context, _request: Request) -> Result<Json, HandlerError> {
        Err(HandlerError::bad_request("no routes"))
    }
}

fn node(nats: &NatsServer, name: &str) -> GatewayProcess {
    GatewayProcess::start_with(
        "127.0.0.1:0".parse().expect("address"),
        &[
            "--nats",
            &nats.url,
            "--node",
            name,
            "--nats-ack-wait-ms",
            "1000",
        ],
    )
}

fn config(urls: &[String], service: &str, instance: &str, max_in_flight: u32) -> Config {
    Config::builder()
        .gateway_url(urls.join(","))
        .credentials(USER, PASSWORD)
        .service_name(service)
        .instance_id(instance)
        .max_in_flight(max_in_flight)
        .log_level("critical")
        .tuning(Tuning {
            request_timeout: Duration::from_secs(60),
            ..fast_tuning()
        })
        .build()
        .expect("valid config")
}

#[actix_rt::test]
async fn real_services_lose_no_request_and_rerun_none_when_a_node_dies() {
    const REQUESTS: usize = 200;
    let nats = NatsServer::start();
    let x = node(&nats, "x");
    let y = node(&nats, "y");
    let z = node(&nats, "z");
    let runs: Runs = Arc::default();
    let echo = |instance: &str, urls: &[String]| {
        let handler = Echo {
            instance: instance.to_owned(),
            runs: runs.clone(),
        };
        Service::start(config(urls, "echo", instance, 4), handler)
    };
    let (xw, yw, zw) = (x.ws_url(), y.ws_url(), z.ws_url());
    let e1 = echo("e1", &[xw.clone(), yw.clone()])
        .await
        .expect("e1 starts");
    let e2 = echo("e2", &[xw.clone(), yw.clone()])
        .await
        .expect("e2 starts");
    let e3 = echo("e3", std::slice::from_ref(&zw))
        .await
        .expect("e3 starts");
    let caller = Service::start(config(&[zw], "caller", "c1", 1), Caller)
        .await
        .expect("caller starts");
    for service in [&e1, &e2, &e3, &caller] {
        assert!(
            service
                .gateway()
                .wait_connected(Duration::from_secs(30))
                .await,
            "a service never connected"
        );
    }

    // steady load: 16 requests in flight from the caller on node z
    let gateway = caller.gateway().clone();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let window = Arc::new(tokio::sync::Semaphore::new(16));
    let load = actix_rt::spawn(async move {
        for n in 0..REQUESTS {
            let Ok(permit) = window.clone().acquire_owned().await else {
                return;
            };
            let (gateway, done) = (gateway.clone(), done_tx.clone());
            actix_rt::spawn(async move {
                let body = format!("\"req-{n}\"");
                let payload = Json::from_text(body.clone()).expect("json");
                let answer = gateway
                    .request("echo", "say", payload, Headers::new(), None)
                    .await;
                let _ = done.send((body, answer.map(|j| j.as_str().to_owned()), Instant::now()));
                drop(permit);
            });
        }
    });

    let mut answered = Vec::new();
    let mut killed_at = None;
    let mut x = Some(x);
    while answered.len() < REQUESTS {
        let next = tokio::time::timeout(Duration::from_secs(60), done_rx.recv())
            .await
            .expect("answers keep coming")
            .expect("the load runs");
        answered.push(next);
        if answered.len() == 50
            && let Some(doomed) = x.take()
        {
            doomed.kill();
            killed_at = Some(Instant::now());
        }
    }
    load.await.expect("load task");
    let killed_at = killed_at.expect("node x was killed");

    let failed: Vec<_> = answered.iter().filter(|(_, a, _)| a.is_err()).collect();
    assert!(failed.is_empty(), "requests failed: {failed:?}");
    for (body, answer, _) in &answered {
        assert_eq!(answer.as_deref().ok(), Some(body.as_str()), "wrong answer");
    }
    let last = answered
        .iter()
        .map(|(_, _, at)| *at)
        .max()
        .expect("answers");
    let runs = runs.lock().expect("not poisoned").clone();
    let twice: Vec<_> = runs.iter().filter(|(_, n)| **n > 1).collect();
    let total: usize = runs.values().sum();
    let mut per_payload: HashMap<&str, usize> = HashMap::new();
    for ((_, payload), n) in &runs {
        *per_payload.entry(payload.as_str()).or_default() += n;
    }
    let on_two_instances = per_payload.values().filter(|n| **n > 1).count();
    eprintln!(
        "{REQUESTS} answered; {total} handler runs; {on_two_instances} requests ran on two instances; \
         last answer {:?} after the kill",
        last.saturating_duration_since(killed_at)
    );
    assert!(
        twice.is_empty(),
        "an instance that stayed alive ran a request twice: {twice:?}"
    );
    assert_eq!(per_payload.len(), REQUESTS, "every request ran");
    drop((y, z));
}
