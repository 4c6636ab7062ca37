//! A request whose deadline passes is answered `timeout` and its handler is
//! cancelled (its future dropped), not left running.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ms_runtime::protocol::Json;
use ms_runtime::{Context, Handler, HandlerError, Request};
use ms_tests::{invoke, serve, wait_until};

struct Slow {
    finished: Arc<AtomicBool>,
    cancelled: Arc<AtomicBool>,
}

/// Sets its flag when dropped: proof that the handler's future was dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Handler for Slow {
    fn name(&self) -> &str {
        "slow"
    }
    fn routes(&self) -> Vec<String> {
        vec!["sleep".into()]
    }
    async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        let _guard = DropFlag(self.cancelled.clone());
        tokio::time::sleep(Duration::from_secs(5)).await;
        self.finished.store(true, Ordering::SeqCst);
        Ok(request.payload)
    }
}

#[actix_rt::test]
async fn a_request_past_its_deadline_times_out_and_is_cancelled() {
    let finished = Arc::new(AtomicBool::new(false));
    let cancelled = Arc::new(AtomicBool::new(false));
    let handler = Slow {
        finished: finished.clone(),
        cancelled: cancelled.clone(),
    };
    let kit = serve(handler, 8).await;

    let (status, body) = invoke(kit.http_url(), "slow", "sleep", "1", 600).await;
    assert_eq!(status, 504, "{body}");
    assert!(body.contains("timeout"), "{body}");

    wait_until(
        "the handler's future to be dropped",
        Duration::from_secs(3),
        || cancelled.load(Ordering::SeqCst),
    )
    .await;
    assert!(
        !finished.load(Ordering::SeqCst),
        "the handler ran to the end despite the deadline"
    );
    kit.stop().await;
}
