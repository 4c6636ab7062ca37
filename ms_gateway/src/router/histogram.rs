//! The latency histogram of the router's readings: plain numbers, kept per
//! (service, route) label set (`labels.rs`) and read by `/metrics`.

/// Upper bounds of the latency histogram buckets, in milliseconds.
pub const LATENCY_BUCKETS_MS: [u64; 12] =
    [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 5_000, 30_000];

/// A histogram of request latencies in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    /// Observations in each bucket (not cumulative): above the previous
    /// bound of [`LATENCY_BUCKETS_MS`] and at or below this one. What
    /// lies above the last bound is `count` minus their sum.
    buckets: [u64; LATENCY_BUCKETS_MS.len()],
    /// All observations.
    count: u64,
    /// Their sum, in ms.
    sum_ms: u64,
}

impl Histogram {
    /// Records one latency.
    pub fn observe(&mut self, ms: u64) {
        if let Some(index) = LATENCY_BUCKETS_MS.iter().position(|bound| ms <= *bound) {
            self.buckets[index] += 1;
        }
        self.count += 1;
        self.sum_ms = self.sum_ms.saturating_add(ms);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Observations in each bucket of [`LATENCY_BUCKETS_MS`], not cumulative.
    pub fn bucket_counts(&self) -> &[u64; LATENCY_BUCKETS_MS.len()] {
        &self.buckets
    }

    /// The sum of the observations, in ms.
    pub fn sum_ms(&self) -> u64 {
        self.sum_ms
    }
}
