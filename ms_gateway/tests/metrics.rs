//! `/metrics` after real traffic: request, error and latency series carry
//! `service` and `route` labels with the right values, names a caller
//! invents get no series of their own, the scrape passes `promtool check
//! metrics`, and it needs credentials unless `metrics_public` is set.

mod common;

use common::*;
use ms_protocol::{Envelope, WireError};

/// The one sample of `name` with exactly these labels.
fn value(scrape: &str, name: &str, labels: &str) -> f64 {
    samples(scrape, name)
        .into_iter()
        .find(|(l, _)| l == labels)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {name}{labels} in\n{scrape}"))
}

/// This process's user and system CPU time from `/proc/self/stat`, read
/// here independently of the gateway's reader (0 where there is no /proc).
fn own_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of proc(5); fields[0] is field 3
    let ticks = |n: usize| fields[n - 3].parse::<f64>().expect("a tick count");
    (ticks(14) + ticks(15)) / 100.0
}

/// Spins until this process has used at least `seconds` of CPU; returns
/// the reading that got there.
fn burn_cpu_until(seconds: f64) -> f64 {
    if !cfg!(target_os = "linux") {
        return 0.0;
    }
    let mut x = 0u64;
    loop {
        let used = own_cpu_seconds();
        if used >= seconds {
            std::hint::black_box(x);
            return used;
        }
        for i in 0..100_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_after_real_traffic_has_labelled_values_and_passes_promtool() {
    let gateway = start(|_| {});
    let mut svc = connect(&gateway, "svc", "a", 4).await;
    let addr = gateway.addr();

    // one reply, one handler_error, one unknown route, one unknown service
    let caller = tokio::spawn(async move { post(addr, "/v1/invoke/svc/echo", &[], "1").await });
    let request = svc.recv("the first request").await;
    svc.reply(&request, serde_json::json!(1)).await;
    assert_eq!(within("the reply", caller).await.unwrap().status, 200);
    let caller = tokio::spawn(async move { post(addr, "/v1/invoke/svc/echo", &[], "2").await });
    let request = svc.recv("the second request").await;
    let error = WireError::new(ms_protocol::ErrorCode::HandlerError, "no");
    svc.send(&Envelope::error(Some(&request.id), error)).await;
    assert_eq!(within("the error", caller).await.unwrap().status, 502);
    assert_eq!(
        post(addr, "/v1/invoke/svc/nope", &[], "1").await.status,
        404
    );
    let ghost = post(
        addr,
        "/v1/invoke/ghost/echo",
        &[("X-Timeout-Ms", "100")],
        "1",
    )
    .await;
    assert_eq!(ghost.json()["code"], "unknown_service");

    let wrong = basic("intruder:guess");
    let refused = http(
        addr,
        "GET",
        "/metrics",
        &[("Authorization", wrong.as_str())],
        "",
    )
    .await;
    assert_eq!(refused.status, 401);

    // The gateway runs in this process, so its CPU time is this process's:
    // spend at least two clock ticks (the unit of /proc/self/stat) first,
    // or a fast machine can serve all of the above within one and read 0.
    let cpu_before = burn_cpu_until(0.02);
    let response = get(addr, "/metrics").await;
    let cpu_after = own_cpu_seconds();
    assert_eq!(response.status, 200);
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let scrape = &response.body;
    let svc_echo = r#"{service="svc",route="echo"}"#;
    let other = r#"{service="(other)",route="(other)"}"#;
    assert_eq!(value(scrape, "ms_gateway_requests_total", svc_echo), 2.0);
    assert_eq!(value(scrape, "ms_gateway_requests_total", other), 1.0);
    let errors = "ms_gateway_errors_total";
    let by_code = |labels: &str| value(scrape, errors, labels);
    assert_eq!(
        by_code(r#"{service="svc",route="echo",code="handler_error"}"#),
        1.0
    );
    assert_eq!(
        by_code(r#"{service="svc",route="(other)",code="unknown_route"}"#),
        1.0
    );
    assert_eq!(
        by_code(r#"{service="(other)",route="(other)",code="unknown_service"}"#),
        1.0
    );
    assert_eq!(samples(scrape, errors).len(), 3, "{scrape}");
    let count = "ms_gateway_request_duration_seconds_count";
    assert_eq!(value(scrape, count, svc_echo), 2.0);
    let inf = r#"{service="svc",route="echo",le="+Inf"}"#;
    assert_eq!(
        value(scrape, "ms_gateway_request_duration_seconds_bucket", inf),
        2.0
    );
    assert!(value(scrape, "ms_gateway_request_duration_seconds_sum", svc_echo) < 10.0);
    assert_eq!(
        value(scrape, "ms_gateway_connections", r#"{service="svc"}"#),
        1.0
    );
    assert_eq!(value(scrape, "ms_gateway_delivered_total", ""), 2.0);
    assert_eq!(value(scrape, "ms_gateway_sessions_total", ""), 1.0);
    assert_eq!(value(scrape, "ms_gateway_auth_failures_total", ""), 1.0);
    let build = format!(
        r#"{{version="{}",protocol="1"}}"#,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(value(scrape, "ms_gateway_build_info", &build), 1.0);
    assert!(
        !scrape.contains("ghost"),
        "a name no service registered made a series:\n{scrape}"
    );
    if cfg!(target_os = "linux") {
        assert!(value(scrape, "process_resident_memory_bytes", "") > 1e6);
        assert!(value(scrape, "process_open_fds", "") > 0.0);
        assert!(value(scrape, "process_start_time_seconds", "") > 1.6e9);
        let cpu = value(scrape, "process_cpu_seconds_total", "");
        assert!(
            cpu_before <= cpu && cpu <= cpu_after,
            "{cpu} s is not this process's CPU time ({cpu_before}..={cpu_after} s)"
        );
        assert!(value(scrape, "process_max_fds", "") >= value(scrape, "process_open_fds", ""));
        assert!(value(scrape, "process_virtual_memory_bytes", "") > 1e6);
    }
    promtool_check(scrape);
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invented_names_stay_under_the_series_bound() {
    let gateway = start(|c| c.metrics_max_series = 2);
    let addr = gateway.addr();
    let mut services = Vec::new();
    for name in ["s1", "s2", "s3"] {
        services.push(connect(&gateway, name, "a", 4).await);
    }
    for i in 0..30 {
        let path = format!("/v1/invoke/invented{i}/r{i}");
        let answer = post(addr, &path, &[("X-Timeout-Ms", "1")], "1").await;
        assert_eq!(answer.status, 404, "{}", answer.body);
    }
    for name in ["s1", "s2", "s3"] {
        let path = format!("/v1/invoke/{name}/unlisted");
        assert_eq!(post(addr, &path, &[], "1").await.status, 404);
    }
    let scrape = get(addr, "/metrics").await.body;
    let errors = samples(&scrape, "ms_gateway_errors_total");
    // s1 and s2 get their own label sets; s3 and the 30 invented names
    // are counted under other/other
    assert_eq!(errors.len(), 4, "{scrape}");
    let other = r#"{service="(other)",route="(other)",code="unknown_service"}"#;
    assert_eq!(value(&scrape, "ms_gateway_errors_total", other), 30.0);
    let s3 = r#"{service="(other)",route="(other)",code="unknown_route"}"#;
    assert_eq!(value(&scrape, "ms_gateway_errors_total", s3), 1.0);
    assert!(!scrape.contains("invented"), "{scrape}");
    let connections = samples(&scrape, "ms_gateway_connections");
    assert_eq!(
        connections.len(),
        3,
        "two named services and other: {scrape}"
    );
    assert_eq!(
        value(&scrape, "ms_gateway_connections", r#"{service="(other)"}"#),
        1.0
    );
    promtool_check(&scrape);
    drop(services);
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_credentials_unless_public_and_probes_never_do() {
    let gateway = start(|_| {});
    let addr = gateway.addr();
    let refused = http(addr, "GET", "/metrics", &[], "").await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["code"], "unauthorized");
    assert!(!refused.body.contains("ms_gateway_"));
    assert_eq!(get(addr, "/metrics").await.status, 200);
    for (path, body) in [("/healthz", "ok\n"), ("/readyz", "ready\n")] {
        let probe = http(addr, "GET", path, &[], "").await;
        assert_eq!((probe.status, probe.body.as_str()), (200, body), "{path}");
    }
    gateway.stop().await;

    let public = start(|c| c.metrics_public = true);
    let scrape = http(public.addr(), "GET", "/metrics", &[], "").await;
    assert_eq!(scrape.status, 200);
    assert!(
        scrape.body.contains("ms_gateway_build_info"),
        "{}",
        scrape.body
    );
    let invoke = http(public.addr(), "POST", "/v1/invoke/svc/echo", &[], "1").await;
    assert_eq!(invoke.status, 401, "only /metrics is public");
    public.stop().await;
}
