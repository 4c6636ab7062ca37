//! The default placement: a route starts on the handler pool and moves to
//! the connection's thread after 16 light runs; a route whose handler
//! computes past the budget between two `.await`s each time stays on the
//! pool; one that did so once comes back after a longer probation.

use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use ms_runtime::protocol::Json;
use ms_runtime::testing::TestKit;
use ms_runtime::{Context, Handler, HandlerError, Request, Tuning};

/// The inline budget in these tests: the default (1 ms) is shorter than a
/// debug build's light poll can take on a loaded 2-core machine.
const BUDGET: Duration = Duration::from_millis(20);

/// How long a heavy poll blocks: well past the budget.
const BLOCKS_FOR: Duration = Duration::from_millis(60);

/// The run of route `once` whose handler blocks.
const ONCE_AT: u32 = 20;

/// Records, per call, the route and the thread that ran it.
#[derive(Default)]
struct Where {
    runs: Runs,
}

/// Each call's route and the thread that ran it, in order.
type Runs = Arc<Mutex<Vec<(String, ThreadId)>>>;

impl Handler for Where {
    fn name(&self) -> &str {
        "where"
    }
    fn routes(&self) -> Vec<String> {
        vec!["light".into(), "heavy".into(), "once".into()]
    }
    async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        let blocks_this_time =
            request.route == "once" && request.payload.parse::<u32>().ok() == Some(ONCE_AT);
        if request.route == "heavy" || blocks_this_time {
            // computes between awaits for longer than the budget
            std::thread::sleep(BLOCKS_FOR);
        }
        if let Ok(mut runs) = self.runs.lock() {
            runs.push((request.route.clone(), std::thread::current().id()));
        }
        Ok(request.payload)
    }
}

/// Starts a gateway and the `where` service with two handler threads and
/// [`BUDGET`]; returns the kit and the record of where calls ran.
async fn serve_where() -> Result<(TestKit, Runs), Box<dyn std::error::Error>> {
    let kit = TestKit::start().await?;
    let handler = Where::default();
    let runs = handler.runs.clone();
    let config = kit
        .config_builder("where")
        .tuning(Tuning {
            handler_threads: 2,
            inline_budget: BUDGET,
            ..Tuning::default()
        })
        .build()?;
    assert_eq!(Tuning::default().inline_budget, Duration::from_millis(1));
    kit.serve_with(config, handler).await?;
    Ok((kit, runs))
}

/// For each recorded call of `route` (all when `None`), whether it ran on
/// `connection_thread`.
fn on_connection(
    runs: &Runs,
    route: Option<&str>,
    connection_thread: ThreadId,
) -> Result<Vec<bool>, Box<dyn std::error::Error>> {
    let runs = runs.lock().map_err(|e| e.to_string())?;
    Ok(runs
        .iter()
        .filter(|(r, _)| route.is_none_or(|route| r == route))
        .map(|(_, thread)| *thread == connection_thread)
        .collect())
}

#[actix_rt::test]
async fn light_routes_move_to_the_connections_thread_heavy_ones_stay_on_the_pool()
-> Result<(), Box<dyn std::error::Error>> {
    // the supervisor runs on this test's thread (the actix system's arbiter)
    let connection_thread = std::thread::current().id();
    let (kit, runs) = serve_where().await?;

    for n in 0..24u32 {
        let light: u32 = kit.call("where", "light", &n).await?;
        assert_eq!(light, n);
        let heavy: u32 = kit.call("where", "heavy", &n).await?;
        assert_eq!(heavy, n);
    }

    let light = on_connection(&runs, Some("light"), connection_thread)?;
    assert_eq!(light.len(), 24);
    assert!(
        light[..16].iter().all(|inline| !inline),
        "probation runs on the pool: {light:?}"
    );
    assert!(
        light[16..].iter().all(|inline| *inline),
        "after 16 light runs, the connection's thread: {light:?}"
    );
    let heavy = on_connection(&runs, Some("heavy"), connection_thread)?;
    assert!(
        heavy.iter().all(|inline| !inline),
        "a heavy route never leaves the pool: {heavy:?}"
    );
    Ok(())
}

#[actix_rt::test]
async fn a_light_route_that_overstayed_once_returns_after_a_doubled_probation()
-> Result<(), Box<dyn std::error::Error>> {
    let connection_thread = std::thread::current().id();
    let (kit, runs) = serve_where().await?;

    // 16 on probation, 4 inline, the one that blocks (inline, a strike),
    // 32 on probation again, then inline
    let total = ONCE_AT + 1 + 32 + 8;
    for n in 0..total {
        let echoed: u32 = kit.call("where", "once", &n).await?;
        assert_eq!(echoed, n);
    }

    let inline = on_connection(&runs, None, connection_thread)?;
    assert_eq!(inline.len(), total as usize);
    let at = ONCE_AT as usize;
    assert!(inline[..16].iter().all(|i| !i), "probation: {inline:?}");
    assert!(
        inline[16..=at].iter().all(|i| *i),
        "proven light: {inline:?}"
    );
    assert!(
        inline[at + 1..at + 33].iter().all(|i| !i),
        "after the strike, 32 runs on the pool: {inline:?}"
    );
    assert!(
        inline[at + 33..].iter().all(|i| *i),
        "then back on the connection's thread: {inline:?}"
    );
    Ok(())
}
