//! A gateway that cuts the connection right after some work is done must not
//! leave the service dark: a session that was welcomed and made progress
//! resets the reconnect backoff, so every reconnect comes within the first
//! backoff bound (1 s by default) instead of doubling towards 30 s.

mod scripted;

use std::time::{Duration, Instant};

use ms_runtime::protocol::{Body, Envelope, Payload};
use ms_runtime::{Config, Service, Tuning};
use ms_tests::Echo;
use scripted::{accept, delivery, listen, next_envelope, send};

fn request(n: usize) -> Envelope {
    let payload = Payload::inline(&n).expect("json");
    delivery(&format!("r{n}"), "echo", "echo", "caller/1", 1, payload)
}

#[actix_rt::test]
async fn productive_sessions_reset_the_backoff() {
    let (listener, url) = listen().await;
    let tuning = Tuning::default();
    // the default schedule: 1 s doubling to 30 s, reset after 30 s of health
    let bound = tuning.reconnect_initial;
    let config = Config::builder()
        .gateway_url(url)
        .log_level("critical")
        .tuning(tuning)
        .build()
        .unwrap();
    let service = Service::start(config, Echo { name: "echo" }).await.unwrap();
    let mut gaps = Vec::new();
    let mut cut_at: Option<Instant> = None;
    for n in 0..7 {
        let mut peer = accept(&listener, &format!("s{n}"), None).await;
        if let Some(cut) = cut_at {
            gaps.push(cut.elapsed());
        }
        let delivery = request(n);
        send(&mut peer, &delivery).await;
        // replies of earlier sessions may come again first (the scripted
        // gateway cuts before its acks are read): skip them
        let settlement = loop {
            let frame = next_envelope(&mut peer).await;
            if frame.correlation_id() == Some(&delivery.id) {
                break frame;
            }
        };
        assert!(matches!(settlement.body, Body::Reply(_)), "{settlement:?}");
        send(&mut peer, &Envelope::ack(vec![settlement.id.clone()])).await;
        // the gateway cuts the connection as soon as the work is done
        drop(peer);
        cut_at = Some(Instant::now());
    }
    // With the old rule (reset only after 30 s up) the bounds would have been
    // 1, 2, 4, 8, 16, 30 s; each gap here stays near the first bound (the
    // margin is for a loaded machine, not for a doubling).
    for (n, gap) in gaps.iter().enumerate() {
        assert!(
            *gap < bound + Duration::from_millis(1500),
            "reconnect {n} took {gap:?}: {gaps:?}"
        );
    }
    service.shutdown().await;
}
