//! S3 operations of the service's own handles (the one of
//! [`Context::s3`](crate::Context::s3) and the claim-check store): counts by
//! operation and outcome, time per operation, bytes moved, claim checks.
//!
//! Operation names are the handle's method names, a fixed set; outcomes are
//! `ok` or the `S3Error` kind, also a fixed set.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::{Registry, Unit};

use super::{Histograms, duration_histogram};

/// Labels of `ms_service_s3_operations_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
    outcome: &'static str,
}

/// Labels of `ms_service_s3_operation_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationOnly {
    operation: &'static str,
}

/// Labels of `ms_service_s3_bytes_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabels {
    direction: &'static str,
}

/// Labels of `ms_service_claim_checks_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClaimLabels {
    direction: &'static str,
    outcome: &'static str,
}

/// Which way bytes or a claim check went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// From the store to the service (downloads, fetched claims).
    In,
    /// From the service to the store (uploads, written claims).
    Out,
}

impl Direction {
    fn label(self) -> &'static str {
        match self {
            Self::In => "download",
            Self::Out => "upload",
        }
    }
}

/// Handles to the S3 families; cheap to clone (every field is shared).
#[derive(Clone)]
pub(crate) struct S3Metrics {
    operations: Family<OperationLabels, Counter>,
    durations: Histograms<OperationOnly>,
    bytes: Family<DirectionLabels, Counter>,
    claims: Family<ClaimLabels, Counter>,
}

impl Default for S3Metrics {
    fn default() -> Self {
        Self {
            operations: Family::default(),
            durations: Family::new_with_constructor(duration_histogram),
            bytes: Family::default(),
            claims: Family::default(),
        }
    }
}

impl std::fmt::Debug for S3Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Metrics").finish_non_exhaustive()
    }
}

impl S3Metrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "s3_operations",
            "S3 operations of the service's handles, by operation and outcome (ok or the error kind).",
            self.operations.clone(),
        );
        registry.register_with_unit(
            "s3_operation_duration",
            "Time per S3 operation, waiting for a free slot included.",
            Unit::Seconds,
            self.durations.clone(),
        );
        registry.register_with_unit(
            "s3",
            "Object bytes moved by whole-object and file transfers, by direction (download, upload).",
            Unit::Bytes,
            self.bytes.clone(),
        );
        registry.register(
            "claim_checks",
            "Claim checks: payloads fetched from S3 for handlers (download) and answers written to S3 (upload), by outcome.",
            self.claims.clone(),
        );
    }

    /// One operation ended after `took`, with `outcome` (`ok` or an error kind).
    pub(crate) fn operation(&self, operation: &'static str, outcome: &'static str, took: Duration) {
        self.operations
            .get_or_create(&OperationLabels { operation, outcome })
            .inc();
        self.durations
            .get_or_create(&OperationOnly { operation })
            .observe(took.as_secs_f64());
    }

    /// `bytes` of object data moved.
    pub(crate) fn moved(&self, direction: Direction, bytes: u64) {
        self.bytes
            .get_or_create(&DirectionLabels {
                direction: direction.label(),
            })
            .inc_by(bytes);
    }

    /// One claim check handled: `outcome` is `ok` or why it failed.
    pub(crate) fn claim(&self, direction: Direction, outcome: &'static str) {
        self.claims
            .get_or_create(&ClaimLabels {
                direction: direction.label(),
                outcome,
            })
            .inc();
    }
}
