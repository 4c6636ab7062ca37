//! `handler_threads = 0`: handler actors run on the connection's own thread.
//! Requests, concurrent requests, events and panics behave as with the pool.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ms_runtime::protocol::{ErrorCode, Json};
use ms_runtime::testing::TestKit;
use ms_runtime::{Context, Event, Handler, HandlerError, Request};

#[derive(Default)]
struct Inline {
    events: Arc<AtomicUsize>,
    running: AtomicUsize,
    most_running: Arc<AtomicUsize>,
    threads: Arc<std::sync::Mutex<Vec<std::thread::ThreadId>>>,
}

impl Handler for Inline {
    fn name(&self) -> &str {
        "inline"
    }
    fn routes(&self) -> Vec<String> {
        vec!["echo".into(), "slow".into(), "boom".into()]
    }
    fn topics(&self) -> Vec<String> {
        vec!["ticks".into()]
    }
    async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        if let Ok(mut threads) = self.threads.lock() {
            threads.push(std::thread::current().id());
        }
        match request.route.as_str() {
            "slow" => {
                // awaits do not hold the connection: others run meanwhile
                let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
                self.most_running.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(300)).await;
                self.running.fetch_sub(1, Ordering::SeqCst);
                Ok(request.payload)
            }
            "boom" => panic!("inline handlers are contained too"),
            _ => Ok(request.payload),
        }
    }
    async fn on_event(&self, _ctx: &Context, _event: Event) -> Result<(), HandlerError> {
        self.events.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[actix_rt::test]
async fn inline_handlers_answer_overlap_and_contain_panics()
-> Result<(), Box<dyn std::error::Error>> {
    let kit = TestKit::start().await?;
    let handler = Inline::default();
    let events = handler.events.clone();
    let most_running = handler.most_running.clone();
    let threads = handler.threads.clone();
    let config = kit.config_builder("inline").handler_threads(0).build()?;
    assert_eq!(config.tuning.handler_threads, 0);
    kit.serve_with(config, handler).await?;

    let echoed: u32 = kit.call("inline", "echo", &7).await?;
    assert_eq!(echoed, 7);

    // ten slow calls at once overlap on the one thread
    let inputs: Vec<u32> = (0..10).collect();
    let calls = inputs
        .iter()
        .map(|n| kit.call::<_, u32>("inline", "slow", n));
    let answers = futures_util::future::try_join_all(calls).await?;
    assert_eq!(answers, inputs);
    assert!(
        most_running.load(Ordering::SeqCst) > 1,
        "slow calls ran one after another"
    );

    let err = kit
        .call::<_, u32>("inline", "boom", &1)
        .await
        .expect_err("a panic fails its request");
    assert_eq!(err.code(), ErrorCode::HandlerError);
    let after: u32 = kit.call("inline", "echo", &8).await?;
    assert_eq!(after, 8, "the connection survives the panic");

    // every handler ran on the thread that owns the connection (here the
    // test's own: services start their supervisor where they are started)
    let seen = threads.lock().map(|t| t.clone()).unwrap_or_default();
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|id| *id == std::thread::current().id()),
        "handlers ran on other threads: {seen:?}"
    );

    kit.publish("ticks", &1).await?;
    ms_tests::wait_until("the event", Duration::from_secs(10), || {
        events.load(Ordering::SeqCst) == 1
    })
    .await;
    kit.stop().await;
    Ok(())
}
