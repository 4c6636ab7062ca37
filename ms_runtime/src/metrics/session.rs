//! The connection's figures and the log sink's, read at scrape time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

use super::StatsCell;

/// Writes the session's [`SessionStats`](super::SessionStats) and
/// the dropped log records on each scrape.
#[derive(Debug)]
pub(super) struct SessionCollector {
    session: Arc<StatsCell>,
    log_dropped: Arc<AtomicU64>,
}

impl SessionCollector {
    pub(super) fn new(session: Arc<StatsCell>, log_dropped: Arc<AtomicU64>) -> Self {
        Self {
            session,
            log_dropped,
        }
    }
}

fn counter(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, unit, metric.metric_type())?)
}

fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let metric = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
    metric.encode(encoder.encode_descriptor(name, help, unit, metric.metric_type())?)
}

impl Collector for SessionCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let s = self.session.load();
        let e = &mut encoder;
        gauge(
            e,
            "connected",
            "1 while the gateway has welcomed this service, else 0.",
            None,
            u64::from(s.connected),
        )?;
        counter(
            e,
            "sessions",
            "Sessions the gateway welcomed since start; each one after the first is a reconnect.",
            None,
            s.sessions,
        )?;
        counter(
            e,
            "reconnects",
            "Sessions welcomed after the first one.",
            None,
            s.sessions.saturating_sub(1),
        )?;
        counter(
            e,
            "connect_failures",
            "Connection attempts that failed or were refused before the gateway's welcome.",
            None,
            s.connect_failures,
        )?;
        gauge(
            e,
            "outbox_frames",
            "Frames sent to the gateway and not acknowledged yet (resent after a reconnect).",
            None,
            s.outbox_frames,
        )?;
        gauge(
            e,
            "outbox",
            "Size of the frames in the outbox.",
            Some(&Unit::Bytes),
            s.outbox_bytes,
        )?;
        counter(
            e,
            "dedup_hits",
            "Redelivered requests answered from the dedup memory instead of running the handler again.",
            None,
            s.dedup_hits,
        )?;
        gauge(
            e,
            "dedup_entries",
            "Requests remembered in the dedup memory.",
            None,
            s.dedup_entries,
        )?;
        counter(
            e,
            "log_records_dropped",
            "Log records dropped because the log queue was full.",
            None,
            self.log_dropped.load(Ordering::Relaxed),
        )
    }
}
