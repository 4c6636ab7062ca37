//! A `#[route("...", timeout = "...")]` answers `timeout` (HTTP 504) once
//! its own limit passes, long before the caller's deadline, and a route
//! that finishes in time is not affected.

use std::time::{Duration, Instant};

use ms_runtime::{HandlerError, ms_service};
use ms_tests::{invoke, serve};

struct Sleeper;

#[ms_service(name = "sleeper")]
impl Sleeper {
    #[route("sleep", timeout = "300ms")]
    async fn sleep(&self, millis: u64) -> Result<u64, HandlerError> {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        Ok(millis)
    }
}

#[actix_rt::test]
async fn a_route_past_its_timeout_answers_504() {
    let kit = serve(Sleeper, 8).await;
    let url = kit.http_url().to_owned();

    let (status, body) = invoke(&url, "sleeper", "sleep", "10", 10_000).await;
    assert_eq!((status, body.as_str()), (200, "10"));

    let start = Instant::now();
    let (status, body) = invoke(&url, "sleeper", "sleep", "5000", 10_000).await;
    let took = start.elapsed();
    assert_eq!(status, 504, "{body}");
    assert!(
        body.contains("route `sleep` did not answer within its timeout of 300ms"),
        "{body}"
    );
    assert!(took < Duration::from_secs(3), "answered after {took:?}");

    kit.stop().await;
}
