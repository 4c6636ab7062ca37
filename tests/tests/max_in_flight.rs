//! No more than `max_in_flight` handlers run at once, and every request
//! beyond that waits its turn instead of failing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ms_runtime::protocol::Json;
use ms_runtime::{Context, Handler, HandlerError, Request};
use ms_tests::{invoke, serve};

struct Counting {
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Handler for Counting {
    fn name(&self) -> &str {
        "counting"
    }
    fn routes(&self) -> Vec<String> {
        vec!["work".into()]
    }
    async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(150)).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(request.payload)
    }
}

#[actix_rt::test]
async fn at_most_max_in_flight_handlers_run_at_once() {
    const MAX: u32 = 3;
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let handler = Counting {
        running: running.clone(),
        peak: peak.clone(),
    };
    let kit = serve(handler, MAX).await;

    let url = kit.http_url().to_owned();
    let calls: Vec<_> = (0..12)
        .map(|i| {
            let url = url.clone();
            actix_rt::spawn(async move {
                invoke(&url, "counting", "work", &i.to_string(), 20_000).await
            })
        })
        .collect();
    for (i, call) in calls.into_iter().enumerate() {
        let (status, body) = call.await.unwrap();
        assert_eq!((status, body), (200, i.to_string()));
    }
    assert_eq!(
        peak.load(Ordering::SeqCst),
        MAX as usize,
        "peak concurrency should reach, not pass, max_in_flight"
    );
    kit.stop().await;
}
