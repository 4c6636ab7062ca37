use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::handled::{Kind, MAX_OUTCOMES, MAX_ROUTES, RouteCache};
use super::{Direction, ServiceMetrics};
use super::{SessionStats, StatsCell};

fn metrics() -> (ServiceMetrics, Arc<StatsCell>, Arc<AtomicU64>) {
    let cell = Arc::new(StatsCell::default());
    let dropped = Arc::new(AtomicU64::new(0));
    let metrics = ServiceMetrics::new("ocr", "1.2.0", cell.clone(), dropped.clone());
    (metrics, cell, dropped)
}

/// The value of the sample line that starts with `prefix` (name and labels).
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix) && l[prefix.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn handled_messages_are_counted_by_route_and_outcome() {
    let (metrics, _, _) = metrics();
    let mut routes = RouteCache::new(metrics.handled());
    for _ in 0..3 {
        routes
            .route(Kind::Request, "extract")
            .start(Instant::now())
            .finish(None, Instant::now());
    }
    routes
        .route(Kind::Request, "extract")
        .start(Instant::now())
        .finish(Some("timeout"), Instant::now());
    routes
        .route(Kind::Event, "scans.uploaded")
        .start(Instant::now())
        .finish(Some("held"), Instant::now());
    let (content_type, text) = metrics.render(false);
    assert!(content_type.starts_with("text/plain; version=0.0.4"));
    let ok = r#"ms_service_handled_total{kind="request",route="extract",outcome="ok"}"#;
    assert_eq!(sample(&text, ok), Some(3.0), "{text}");
    let timeout = r#"ms_service_handled_total{kind="request",route="extract",outcome="timeout"}"#;
    assert_eq!(sample(&text, timeout), Some(1.0));
    let held = r#"ms_service_handled_total{kind="event",route="scans.uploaded",outcome="held"}"#;
    assert_eq!(sample(&text, held), Some(1.0));
    let count = r#"ms_service_handler_duration_seconds_count{kind="request",route="extract"}"#;
    assert_eq!(sample(&text, count), Some(4.0));
    assert_eq!(sample(&text, "ms_service_in_flight"), Some(0.0));
    assert!(text.contains("# TYPE ms_service_handled_total counter\n"));
    assert!(
        text.contains(r#"ms_service_build_info{service="ocr",version="1.2.0",runtime_version=""#)
    );
}

#[test]
fn a_cancelled_message_leaves_in_flight() {
    let (metrics, _, _) = metrics();
    let mut routes = RouteCache::new(metrics.handled());
    let running = routes.route(Kind::Request, "extract").start(Instant::now());
    let other = routes.route(Kind::Request, "extract").start(Instant::now());
    assert_eq!(
        sample(&metrics.render(false).1, "ms_service_in_flight"),
        Some(2.0)
    );
    drop(running);
    other.finish(None, Instant::now());
    assert_eq!(
        sample(&metrics.render(false).1, "ms_service_in_flight"),
        Some(0.0)
    );
}

#[test]
fn routes_and_outcomes_are_bounded() {
    let (metrics, _, _) = metrics();
    let mut routes = RouteCache::new(metrics.handled());
    for n in 0..MAX_ROUTES + 10 {
        routes
            .route(Kind::Request, &format!("r{n}"))
            .start(Instant::now())
            .finish(None, Instant::now());
    }
    for n in 0..MAX_OUTCOMES + 5 {
        routes
            .route(Kind::Request, "r0")
            .start(Instant::now())
            .finish(Some(&format!("code_{n}")), Instant::now());
    }
    let text = metrics.render(false).1;
    let other = r#"ms_service_handled_total{kind="request",route="(other)",outcome="ok"}"#;
    assert_eq!(sample(&text, other), Some(10.0));
    let past = r#"ms_service_handled_total{kind="request",route="r0",outcome="(other)"}"#;
    assert_eq!(sample(&text, past), Some(5.0));
    let series = text
        .lines()
        .filter(|l| l.starts_with("ms_service_handled_total{"))
        .count();
    assert_eq!(series, MAX_ROUTES + 1 + MAX_OUTCOMES + 1);
}

#[test]
fn session_figures_and_dropped_logs_are_read_at_scrape_time() {
    let (metrics, cell, dropped) = metrics();
    cell.store(&SessionStats {
        connected: true,
        sessions: 3,
        connect_failures: 4,
        outbox_frames: 2,
        outbox_bytes: 512,
        dedup_hits: 6,
        dedup_entries: 9,
    });
    dropped.store(11, Ordering::Relaxed);
    let text = metrics.render(false).1;
    for (name, value) in [
        ("ms_service_connected", 1.0),
        ("ms_service_sessions_total", 3.0),
        ("ms_service_reconnects_total", 2.0),
        ("ms_service_connect_failures_total", 4.0),
        ("ms_service_outbox_frames", 2.0),
        ("ms_service_outbox_bytes", 512.0),
        ("ms_service_dedup_hits_total", 6.0),
        ("ms_service_dedup_entries", 9.0),
        ("ms_service_log_records_dropped_total", 11.0),
    ] {
        assert_eq!(sample(&text, name), Some(value), "{name} in\n{text}");
    }
}

#[test]
fn s3_operations_bytes_and_claims_are_counted() {
    let (metrics, _, _) = metrics();
    let s3 = metrics.s3();
    s3.operation("put_bytes", "ok", Duration::from_millis(3));
    s3.operation("get_bytes", "not_found", Duration::from_millis(1));
    s3.moved(Direction::Out, 2048);
    s3.moved(Direction::Out, 1024);
    s3.claim(Direction::In, "outside");
    let text = metrics.render(false).1;
    for (name, value) in [
        (
            r#"ms_service_s3_operations_total{operation="put_bytes",outcome="ok"}"#,
            1.0,
        ),
        (
            r#"ms_service_s3_operations_total{operation="get_bytes",outcome="not_found"}"#,
            1.0,
        ),
        (
            r#"ms_service_s3_operation_duration_seconds_count{operation="put_bytes"}"#,
            1.0,
        ),
        (r#"ms_service_s3_bytes_total{direction="upload"}"#, 3072.0),
        (
            r#"ms_service_claim_checks_total{direction="download",outcome="outside"}"#,
            1.0,
        ),
    ] {
        assert_eq!(sample(&text, name), Some(value), "{name} in\n{text}");
    }
}

#[test]
fn openmetrics_is_served_to_those_who_ask() {
    let (metrics, _, _) = metrics();
    RouteCache::new(metrics.handled())
        .route(Kind::Request, "extract")
        .start(Instant::now())
        .finish(None, Instant::now());
    let (content_type, text) = metrics.render(true);
    assert!(content_type.starts_with("application/openmetrics-text"));
    assert!(text.ends_with("# EOF\n"));
    assert!(text.contains("# TYPE ms_service_handled counter"));
}
