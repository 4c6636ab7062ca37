//! `GET /metrics` of a served service after real traffic through a real
//! gateway and S3 store: the values match what happened, and the page
//! passes Prometheus's own `promtool check metrics`. The Grafana dashboard
//! in `docs/grafana/` names only metrics that real scrapes of a service and
//! the gateway contain, and its queries are PromQL `promtool` accepts.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ms_runtime::protocol::Json;
use ms_runtime::testing::TestKit;
use ms_runtime::{Context, Event, Handler, HandlerError, Request, Service};

struct Scorer;

impl Handler for Scorer {
    fn name(&self) -> &str {
        "scorer"
    }
    fn routes(&self) -> Vec<String> {
        vec!["score".into(), "report".into()]
    }
    fn topics(&self) -> Vec<String> {
        vec!["scores.reset".into()]
    }
    async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        match request.route.as_str() {
            // a number in, its double out; anything else is bad_request
            "score" => {
                let n: u64 = request.parse()?;
                ms_runtime::reply(&(n * 2))
            }
            // 8 KiB of text: over the 1 KiB claim threshold, so it goes by S3
            _ => ms_runtime::reply(&"x".repeat(8 * 1024)),
        }
    }
    async fn on_event(&self, _ctx: &Context, _event: Event) -> Result<(), HandlerError> {
        Err(HandlerError::internal("reset refused"))
    }
}

/// One GET with an `Accept` header; the status, head and body.
async fn get(addr: SocketAddr, path: &str, accept: &str) -> std::io::Result<(u16, String, String)> {
    let response = ms_tests::raw_get(addr, path, &[("accept", accept)]).await?;
    Ok((response.status, response.head, response.body))
}

/// `Scorer` served through `kit` with the settings `configure` adds, once
/// the gateway has welcomed it; the service and its metrics address (the
/// probe port, or `MS_METRICS_BIND` when set).
async fn start_scorer(
    kit: &TestKit,
    configure: impl FnOnce(ms_runtime::ConfigBuilder) -> ms_runtime::ConfigBuilder,
) -> Result<(Service, SocketAddr), Box<dyn std::error::Error>> {
    let config = configure(kit.config_builder("scorer")).build()?;
    let service = Service::start(config, Scorer).await?;
    let addr = service
        .metrics_addr()
        .or(service.health_addr())
        .ok_or("no metrics listener")?;
    assert!(
        service
            .gateway()
            .wait_connected(Duration::from_secs(10))
            .await
    );
    Ok((service, addr))
}

/// The value of the sample `series` (name and labels exactly as written).
fn value(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// Scrapes until `series` reaches `want` (events settle after their ack),
/// for at most 10 s; the last page.
async fn scrape_until(
    addr: SocketAddr,
    series: &str,
    want: f64,
) -> Result<String, Box<dyn std::error::Error>> {
    let start = Instant::now();
    loop {
        let (status, _, page) = get(addr, "/metrics", "*/*").await?;
        assert_eq!(status, 200, "{page}");
        if value(&page, series) == Some(want) || start.elapsed() > Duration::from_secs(10) {
            return Ok(page);
        }
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `promtool` binary.
fn promtool_path() -> &'static str {
    ["/usr/bin/promtool", "promtool"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok())
        .expect("promtool is installed (Debian package prometheus; scripts/test installs it)")
}

/// Runs `promtool check metrics` on `page`: its exit status and output.
fn promtool(page: &str) -> (bool, String) {
    let mut child = Command::new(promtool_path())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(page.as_bytes())
        .expect("promtool reads its input");
    let out = child.wait_with_output().expect("promtool ends");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[actix_rt::test]
async fn metrics_count_what_the_service_did_and_pass_promtool()
-> Result<(), Box<dyn std::error::Error>> {
    let kit = TestKit::start().await?;
    let (service, addr) = start_scorer(&kit, |b| {
        b.health_bind("127.0.0.1:0").claim_check_threshold(1024)
    })
    .await?;

    for n in 0..5u64 {
        let doubled: u64 = kit.call("scorer", "score", &n).await?;
        assert_eq!(doubled, n * 2);
    }
    for bad in ["three", "four"] {
        assert!(kit.call::<_, u64>("scorer", "score", bad).await.is_err());
    }
    let report: String = kit.call("scorer", "report", &()).await?;
    assert_eq!(report.len(), 8 * 1024);
    kit.publish("scores.reset", &()).await?;

    let event = r#"ms_service_handled_total{kind="event",route="scores.reset",outcome="internal"}"#;
    let page = scrape_until(addr, event, 1.0).await?;
    let expected = [
        (
            r#"ms_service_handled_total{kind="request",route="score",outcome="ok"}"#,
            5.0,
        ),
        (
            r#"ms_service_handled_total{kind="request",route="score",outcome="bad_request"}"#,
            2.0,
        ),
        (
            r#"ms_service_handled_total{kind="request",route="report",outcome="ok"}"#,
            1.0,
        ),
        (event, 1.0),
        (
            r#"ms_service_handler_duration_seconds_count{kind="request",route="score"}"#,
            7.0,
        ),
        (
            r#"ms_service_handler_duration_seconds_bucket{kind="request",route="score",le="+Inf"}"#,
            7.0,
        ),
        ("ms_service_in_flight", 0.0),
        ("ms_service_connected", 1.0),
        ("ms_service_sessions_total", 1.0),
        ("ms_service_reconnects_total", 0.0),
        (
            r#"ms_service_claim_checks_total{direction="upload",outcome="ok"}"#,
            1.0,
        ),
        (
            r#"ms_service_s3_operations_total{operation="put_bytes",outcome="ok"}"#,
            1.0,
        ),
        ("ms_service_log_records_dropped_total", 0.0),
    ];
    for (series, want) in expected {
        assert_eq!(value(&page, series), Some(want), "{series} in\n{page}");
    }
    let uploaded =
        value(&page, r#"ms_service_s3_bytes_total{direction="upload"}"#).ok_or("bytes uploaded")?;
    assert!(uploaded >= 8.0 * 1024.0, "{uploaded}");
    let build = page
        .lines()
        .find(|l| l.starts_with("ms_service_build_info{"))
        .ok_or("build_info")?;
    assert!(build.contains(r#"service="scorer""#), "{build}");
    assert!(build.contains(&format!(
        r#"runtime_version="{}""#,
        env!("CARGO_PKG_VERSION")
    )));

    let (clean, report) = promtool(&page);
    assert!(
        clean,
        "promtool check metrics:\n{report}\n--- page ---\n{page}"
    );

    service.shutdown().await;
    kit.stop().await;
    Ok(())
}

#[actix_rt::test]
async fn a_metrics_port_of_its_own_speaks_openmetrics_to_those_who_ask()
-> Result<(), Box<dyn std::error::Error>> {
    let kit = TestKit::start().await?;
    let (service, addr) = start_scorer(&kit, |b| b.metrics_bind("127.0.0.1:0")).await?;
    assert_eq!(service.health_addr(), None);
    assert_eq!(service.metrics_addr(), Some(addr));
    let _: u64 = kit.call("scorer", "score", &1).await?;

    let (status, head, page) = get(
        addr,
        "/metrics",
        "application/openmetrics-text;version=1.0.0",
    )
    .await?;
    assert_eq!(status, 200);
    assert!(
        head.contains("content-type: application/openmetrics-text"),
        "{head}"
    );
    assert!(page.ends_with("# EOF\n"), "{page}");
    assert!(
        page.contains(r#"ms_service_handled_total{kind="request",route="score",outcome="ok"} 1"#),
        "{page}"
    );

    let (_, head, page) = get(addr, "/metrics", "text/plain").await?;
    assert!(
        head.contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    assert!(!page.contains("# EOF"));
    service.shutdown().await;
    kit.stop().await;
    Ok(())
}

/// Traffic that makes every series of the dashboard appear: requests that
/// succeed and fail, an event, a claim check through S3.
async fn traffic(kit: &TestKit) -> Result<(), Box<dyn std::error::Error>> {
    let _: u64 = kit.call("scorer", "score", &1).await?;
    assert!(kit.call::<_, u64>("scorer", "score", "one").await.is_err());
    let _: String = kit.call("scorer", "report", &()).await?;
    kit.publish("scores.reset", &()).await?;
    Ok(())
}

/// The PromQL expressions of the dashboard's panels.
fn dashboard_queries() -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/grafana/ms-runtime-dashboard.json"
    );
    let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().ok_or("panels")? {
        for target in panel["targets"].as_array().into_iter().flatten() {
            queries.push(target["expr"].as_str().ok_or("expr")?.to_owned());
        }
    }
    Ok(queries)
}

/// Metric names in a PromQL expression: words that start with the
/// project's prefixes or `process_`.
fn metric_names(query: &str) -> Vec<String> {
    query
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| {
            ["ms_service_", "ms_gateway_", "process_"]
                .iter()
                .any(|p| w.starts_with(p))
        })
        .map(str::to_owned)
        .collect()
}

/// Whether `page` holds a sample of `name` (with or without labels).
fn has_sample(page: &str, name: &str) -> bool {
    page.lines().filter(|l| !l.starts_with('#')).any(|l| {
        l.strip_prefix(name)
            .is_some_and(|rest| rest.starts_with(['{', ' ']))
    })
}

#[actix_rt::test]
async fn every_metric_the_dashboard_queries_is_in_real_scrapes()
-> Result<(), Box<dyn std::error::Error>> {
    let kit = TestKit::start().await?;
    let (service, addr) = start_scorer(&kit, |b| {
        b.health_bind("127.0.0.1:0").claim_check_threshold(1024)
    })
    .await?;
    traffic(&kit).await?;
    let event = r#"ms_service_handled_total{kind="event",route="scores.reset",outcome="internal"}"#;
    let service_page = scrape_until(addr, event, 1.0).await?;
    let gateway_page = awc::Client::new()
        .get(format!("{}/metrics", kit.http_url()))
        .basic_auth(ms_runtime::testing::USER, ms_runtime::testing::PASSWORD)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .body()
        .await?;
    let gateway_page = String::from_utf8(gateway_page.to_vec())?;

    let queries = dashboard_queries()?;
    assert!(queries.len() >= 20, "{} queries", queries.len());
    let mut names: Vec<String> = queries.iter().flat_map(|q| metric_names(q)).collect();
    names.sort();
    names.dedup();
    assert!(names.len() >= 25, "{names:?}");
    let missing: Vec<&String> = names
        .iter()
        .filter(|name| {
            let page = if name.starts_with("ms_service_") {
                &service_page
            } else {
                &gateway_page
            };
            !has_sample(page, name)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "the dashboard queries metrics no scrape has: {missing:?}\n--- service ---\n{service_page}\n--- gateway ---\n{gateway_page}"
    );

    // every query is PromQL that Prometheus parses: checked as recording
    // rules, with Grafana's variables given values
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, query) in queries.iter().enumerate() {
        let promql = query
            .replace("$__rate_interval", "5m")
            .replace("$service", ".*")
            .replace("$gateway_job", ".*");
        rules.push_str(&format!(
            "      - record: dashboard:query_{i}\n        expr: {}\n",
            serde_json::to_string(&promql)?
        ));
    }
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("dashboard-rules.yml");
    std::fs::write(&file, &rules)?;
    let out = Command::new(promtool_path())
        .arg("check")
        .arg("rules")
        .arg(&file)
        .output()?;
    assert!(
        out.status.success(),
        "promtool check rules:\n{}{}\n--- rules ---\n{rules}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    service.shutdown().await;
    kit.stop().await;
    Ok(())
}
