//! A `#[route("...", blocking)]` runs its plain `fn` on the blocking pool,
//! on a clone of the service: the handler threads stay free, so async
//! routes answer while blocking work is under way.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use ms_runtime::{HandlerError, ms_service};
use ms_tests::{invoke, serve, wait_until};

/// Closed until the test opens it; held calls block their thread on it.
#[derive(Default)]
struct Gate {
    is_open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    /// Blocks until the gate opens, or 10 s at most, so that a failing test
    /// does not wait forever for threads that cannot be stopped.
    fn pass(&self) {
        let is_open = self.is_open.lock().expect("not poisoned");
        let _ = self
            .opened
            .wait_timeout_while(is_open, Duration::from_secs(10), |is_open| !*is_open)
            .expect("not poisoned");
    }

    fn open(&self) {
        *self.is_open.lock().expect("not poisoned") = true;
        self.opened.notify_all();
    }
}

/// Cloned for every blocking call; the counters and the gate are shared
/// through the `Arc`s.
#[derive(Clone)]
struct Cruncher {
    crunched: Arc<AtomicUsize>,
    /// Held calls under way.
    held: Arc<AtomicUsize>,
    gate: Arc<Gate>,
}

#[ms_service(name = "cruncher")]
impl Cruncher {
    #[route("crunch", blocking)]
    fn crunch(&self, (numbers, hold): (Vec<u64>, bool)) -> Result<u64, HandlerError> {
        if hold {
            // stands for CPU-heavy work that never yields: the thread is
            // taken until the test opens the gate
            self.held.fetch_add(1, Ordering::SeqCst);
            self.gate.pass();
        }
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
    let held = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Gate::default());
    let handler = Cruncher {
        crunched: crunched.clone(),
        held: held.clone(),
        gate: gate.clone(),
    };
    let kit = serve(handler, 16).await;
    let url = kit.http_url().to_owned();

    let (status, body) = invoke(&url, "cruncher", "crunch", "[[1, 2, 3], false]", 5_000).await;
    assert_eq!((status, body.as_str()), (200, "6"));
    assert_eq!(
        crunched.load(Ordering::SeqCst),
        1,
        "the clone shares the Arc"
    );

    let (_, blocking_thread) = invoke(&url, "cruncher", "thread", "null", 5_000).await;
    let (_, handler_thread) = invoke(&url, "cruncher", "ping", "null", 5_000).await;
    assert_ne!(blocking_thread, handler_thread);

    // more blocking calls holding their threads than there are handler
    // threads (2 in tests)
    let slow: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            actix_rt::spawn(async move {
                invoke(&url, "cruncher", "crunch", "[[1], true]", 10_000).await
            })
        })
        .collect();
    wait_until(
        "the four held calls to take their threads",
        Duration::from_secs(10),
        || held.load(Ordering::SeqCst) == 4,
    )
    .await;
    // behind blocked handler threads this would wait for the gate, which
    // opens only after it: a 504 at its deadline
    let (status, _) = invoke(&url, "cruncher", "ping", "null", 5_000).await;
    assert_eq!(status, 200, "an async route waited behind blocking work");
    assert_eq!(
        crunched.load(Ordering::SeqCst),
        1,
        "a held call ended before the gate opened"
    );
    gate.open();
    for call in slow {
        assert_eq!(call.await.unwrap(), (200, "1".to_owned()));
    }

    kit.stop().await;
}
