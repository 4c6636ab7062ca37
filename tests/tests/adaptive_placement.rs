//! The default placement: a route starts on the handler pool and moves to
//! the connection's thread after 16 light runs; a route whose handler
//! computes past the budget between two `.await`s stays on the pool.

use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use ms_runtime::protocol::Json;
use ms_runtime::testing::TestKit;
use ms_runtime::{Context, Handler, HandlerError, Request, Tuning};

/// Records, per call, the route and the thread that ran it.
#[derive(Default)]
struct Where {
    runs: Arc<Mutex<Vec<(String, ThreadId)>>>,
}

impl Handler for Where {
    fn name(&self) -> &str {
        "where"
    }
    fn routes(&self) -> Vec<String> {
        vec!["light".into(), "heavy".into()]
    }
    async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        if request.route == "heavy" {
            // computes between awaits for longer than the 1 ms budget
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Ok(mut runs) = self.runs.lock() {
            runs.push((request.route.clone(), std::thread::current().id()));
        }
        Ok(request.payload)
    }
}

#[actix_rt::test]
async fn light_routes_move_to_the_connections_thread_heavy_ones_stay_on_the_pool()
-> Result<(), Box<dyn std::error::Error>> {
    let kit = TestKit::start().await?;
    let handler = Where::default();
    let runs = handler.runs.clone();
    // the supervisor runs on this test's thread (the actix system's arbiter)
    let connection_thread = std::thread::current().id();
    let config = kit
        .config_builder("where")
        .tuning(Tuning {
            handler_threads: 2,
            ..Tuning::default()
        })
        .build()?;
    assert_eq!(config.tuning.inline_budget, Duration::from_millis(1));
    kit.serve_with(config, handler).await?;

    for n in 0..24u32 {
        let light: u32 = kit.call("where", "light", &n).await?;
        assert_eq!(light, n);
        let heavy: u32 = kit.call("where", "heavy", &n).await?;
        assert_eq!(heavy, n);
    }

    let runs = runs.lock().map_err(|e| e.to_string())?.clone();
    let on_connection = |route: &str| -> Vec<bool> {
        runs.iter()
            .filter(|(r, _)| r == route)
            .map(|(_, thread)| *thread == connection_thread)
            .collect()
    };
    let light = on_connection("light");
    assert_eq!(light.len(), 24);
    assert!(
        light[..16].iter().all(|inline| !inline),
        "probation runs on the pool: {light:?}"
    );
    assert!(
        light[16..].iter().all(|inline| *inline),
        "after 16 light runs, the connection's thread: {light:?}"
    );
    let heavy = on_connection("heavy");
    assert!(
        heavy.iter().all(|inline| !inline),
        "a heavy route never leaves the pool: {heavy:?}"
    );
    Ok(())
}
