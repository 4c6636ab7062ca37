//! A `#[route("...", blocking)]` runs its plain `fn` on the blocking pool,
//! on a clone of the service: the handler threads stay free, so async
//! routes answer while blocking work is under way.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ms_runtime::{HandlerError, ms_service};
use ms_tests::{invoke, serve};

/// Cloned for every blocking call; the counter is shared through the `Arc`.
#[derive(Clone)]
struct Cruncher {
    crunched: Arc<AtomicUsize>,
}

#[ms_service(name = "cruncher")]
impl Cruncher {
    #[route("crunch", blocking)]
    fn crunch(&self, (numbers, millis): (Vec<u64>, u64)) -> Result<u64, HandlerError> {
        // stands for CPU-heavy work that never yields
        std::thread::sleep(Duration::from_millis(millis));
        self.crunched.fetch_add(1, Ordering::SeqCst);
        Ok(numbers.iter().sum())
    }

    #[route("thread", blocking)]
    fn thread(&self) -> Result<String, HandlerError> {
        Ok(format!("{:?}", std::thread::current().id()))
    }

    #[route("ping")]
    async fn ping(&self) -> Result<String, HandlerError> {
        Ok(format!("{:?}", std::thread::current().id()))
    }
}

#[actix_rt::test]
async fn blocking_routes_leave_the_handler_threads_free() {
    let crunched = Arc::new(AtomicUsize::new(0));
    let handler = Cruncher {
        crunched: crunched.clone(),
    };
    let kit = serve(handler, 16).await;
    let url = kit.http_url().to_owned();

    let (status, body) = invoke(&url, "cruncher", "crunch", "[[1, 2, 3], 0]", 5_000).await;
    assert_eq!((status, body.as_str()), (200, "6"));
    assert_eq!(
        crunched.load(Ordering::SeqCst),
        1,
        "the clone shares the Arc"
    );

    let (_, blocking_thread) = invoke(&url, "cruncher", "thread", "null", 5_000).await;
    let (_, handler_thread) = invoke(&url, "cruncher", "ping", "null", 5_000).await;
    assert_ne!(blocking_thread, handler_thread);

    // more long blocking calls than there are handler threads (2 in tests)
    let slow: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            actix_rt::spawn(async move {
                invoke(&url, "cruncher", "crunch", "[[1], 1500]", 10_000).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start = Instant::now();
    let (status, _) = invoke(&url, "cruncher", "ping", "null", 5_000).await;
    let took = start.elapsed();
    assert_eq!(status, 200);
    assert!(
        took < Duration::from_millis(1000),
        "an async route waited {took:?} behind blocking work"
    );
    for call in slow {
        assert_eq!(call.await.unwrap(), (200, "1".to_owned()));
    }

    kit.stop().await;
}
