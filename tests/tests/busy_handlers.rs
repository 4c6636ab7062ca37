//! A handler that blocks its thread for longer than three heartbeat
//! intervals does not cost the connection: the supervisor answers pings on
//! its own thread, and other requests are still served.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ms_runtime::protocol::Json;
use ms_runtime::{
    Config, ConnectionState, Context, Handler, HandlerError, Request, Service, Tuning,
};
use ms_tests::{PASSWORD, USER, fast_tuning, invoke, start_gateway_with, wait_until};

struct Hog {
    /// Set when the `block` call has taken its handler thread.
    blocking: Arc<AtomicBool>,
}

impl Handler for Hog {
    fn name(&self) -> &str {
        "hog"
    }
    fn routes(&self) -> Vec<String> {
        vec!["block".into(), "ping".into()]
    }
    async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        if request.route == "block" {
            self.blocking.store(true, Ordering::SeqCst);
            // the wrong way to do CPU work (ctx.spawn_blocking is the right
            // one); the sleep is the behaviour under test: the thread is
            // blocked for longer than three heartbeat intervals
            std::thread::sleep(Duration::from_millis(1_500));
        }
        Ok(request.payload)
    }
}

#[actix_rt::test]
async fn a_blocked_handler_thread_does_not_drop_the_connection() {
    let gateway = start_gateway_with(|c| c.heartbeat_ms = 200);
    let config = Config::builder()
        .gateway_url(gateway.ws_url())
        .credentials(USER, PASSWORD)
        .log_level("critical")
        .tuning(Tuning {
            handler_threads: 2,
            ..fast_tuning()
        })
        .build()
        .expect("valid test config");
    let blocking = Arc::new(AtomicBool::new(false));
    let hog = Hog {
        blocking: blocking.clone(),
    };
    let service = Service::start(config, hog).await.unwrap();
    let handle = service.gateway().clone();
    assert!(
        handle.wait_connected(Duration::from_secs(10)).await,
        "never connected"
    );
    let ConnectionState::Connected { session } = handle.state() else {
        panic!("not connected")
    };

    let http = gateway.http_url();
    let blocked = actix_rt::spawn({
        let http = http.clone();
        async move { invoke(&http, "hog", "block", "1", 10_000).await }
    });
    wait_until(
        "the block call to take a handler thread",
        Duration::from_secs(10),
        || blocking.load(Ordering::SeqCst),
    )
    .await;
    // the other handler thread still serves while one is blocked
    assert_eq!(
        invoke(&http, "hog", "ping", "2", 5_000).await,
        (200, "2".to_owned())
    );
    assert_eq!(blocked.await.unwrap(), (200, "1".to_owned()));
    // 1.5 s blocked > 3 x 200 ms heartbeats, yet the same session lives on
    assert_eq!(handle.state(), ConnectionState::Connected { session });
    service.shutdown().await;
    gateway.stop().await;
}
