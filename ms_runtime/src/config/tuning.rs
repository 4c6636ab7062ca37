//! [`Tuning`]: the runtime's timings and bounds, their defaults, and the
//! `MS_*` variables operations set them with.

use std::ops::RangeInclusive;
use std::time::Duration;

use super::ConfigError;
use super::resolve::Layers;
use super::settings::{
    AUTH_RETRY_INITIAL, AUTH_RETRY_MAX, CONNECT_TIMEOUT, DEDUP_CAPACITY, DEDUP_MAX_BYTES,
    DEDUP_WINDOW, HANDLER_THREADS, HEALTHY_AFTER, INLINE_BUDGET, MAX_FRAME_BYTES, OUTBOX_CAPACITY,
    RECONNECT_INITIAL, RECONNECT_MAX, REQUEST_TIMEOUT, SHUTDOWN_GRACE, Setting,
};

/// Timings and bounds of the runtime; the defaults suit most services.
///
/// Each field has an `MS_*` variable (and a key in the TOML file) so that
/// operations can change it without a new build: durations in whole
/// milliseconds (`MS_SHUTDOWN_GRACE_MS=5000`), bounds as whole numbers
/// (`MS_OUTBOX_CAPACITY=20000`); `docs/configuration.md` lists them. In code,
/// [`ConfigBuilder::tuning`](crate::ConfigBuilder::tuning) sets them all, and
/// a variable given to the same builder still wins over its field.
///
/// ```
/// use std::time::Duration;
/// use ms_runtime::{Config, Tuning};
///
/// let config = Config::builder()
///     .tuning(Tuning { shutdown_grace: Duration::from_secs(5), ..Tuning::default() })
///     .build()?;
/// assert_eq!(config.tuning.shutdown_grace, Duration::from_secs(5));
///
/// let config = Config::from_vars([("MS_SHUTDOWN_GRACE_MS", "2500")])?;
/// assert_eq!(config.tuning.shutdown_grace, Duration::from_millis(2500));
/// # Ok::<(), ms_runtime::ConfigError>(())
/// ```
///
/// Build it with `..Tuning::default()` so that new fields keep their defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuning {
    /// Upper bound of the first reconnect delay (full jitter: the delay is
    /// random between zero and the bound, which doubles after each failure).
    pub reconnect_initial: Duration,
    /// Largest reconnect delay bound.
    pub reconnect_max: Duration,
    /// First delay bound after the gateway refused the credentials (401/403):
    /// slower, and drawn from the upper half of the bound, so a wrong
    /// password never becomes a tight loop.
    pub auth_retry_initial: Duration,
    /// Largest delay bound after refused credentials.
    pub auth_retry_max: Duration,
    /// A connection that stayed up this long resets the backoff.
    pub healthy_after: Duration,
    /// Time allowed to open the websocket and receive `welcome`.
    pub connect_timeout: Duration,
    /// On shutdown, time in-flight handlers get to finish before their
    /// requests are handed back to the gateway.
    pub shutdown_grace: Duration,
    /// How long a settled request's answer is remembered for redeliveries.
    pub dedup_window: Duration,
    /// Most settled answers remembered; the oldest go first.
    pub dedup_capacity: usize,
    /// Most bytes of settled answers remembered; the oldest go first.
    pub dedup_max_bytes: usize,
    /// Most frames kept waiting for the gateway's ack. Past it, `request` and
    /// `publish` fail with `overloaded`; replies still go in, up to twice the
    /// bound, then the oldest unacked frame is dropped and logged.
    pub outbox_capacity: usize,
    /// Threads (arbiters) of the handler pool; default: one per core
    /// (`MS_HANDLER_THREADS`). Each route starts on the pool; once its
    /// handler has run 16 times with no poll (the work between two
    /// `.await`s) longer than [`inline_budget`](Self::inline_budget), it runs
    /// on the connection's own thread, saving two hops between threads per
    /// message; a poll over the budget there sends it back to the pool on a
    /// longer probation, and the fourth such strike for good (a paused
    /// thread and a blocking handler look alike to the timer, so one is not
    /// enough); a slow poll on the pool only restarts its probation.
    /// `0` runs every handler on the connection's thread (only for handlers
    /// known to be light: one that computes for long there delays the
    /// connection's heartbeats and acks).
    pub handler_threads: usize,
    /// Longest poll of a handler that still counts as light
    /// (`MS_INLINE_BUDGET_MS`, default 1 ms); `0` keeps every handler on
    /// the pool. See [`handler_threads`](Self::handler_threads).
    pub inline_budget: Duration,
    /// Default deadline of `Context::request` when the caller sets none.
    pub request_timeout: Duration,
    /// Largest frame this service reads or writes, whatever the gateway's
    /// `welcome.max_frame_bytes` offers (before `welcome`: the protocol's
    /// 16 MiB, or this if smaller). It bounds what the connection buffers
    /// for one message; bigger payloads go by claim check.
    pub max_frame_bytes: u64,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            reconnect_initial: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(30),
            auth_retry_initial: Duration::from_secs(10),
            auth_retry_max: Duration::from_secs(300),
            healthy_after: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(30),
            dedup_window: Duration::from_secs(600),
            dedup_capacity: 100_000,
            dedup_max_bytes: 64 * 1024 * 1024,
            outbox_capacity: 10_000,
            handler_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            inline_budget: Duration::from_millis(1),
            request_timeout: Duration::from_secs(30),
            max_frame_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A duration read as whole milliseconds.
struct Millis {
    setting: &'static Setting,
    range: RangeInclusive<u64>,
    /// The form, for the error.
    expected: &'static str,
    field: fn(&mut Tuning) -> &mut Duration,
}

/// A count (items, bytes, threads) read as a whole number.
struct Count {
    setting: &'static Setting,
    range: RangeInclusive<u64>,
    /// The form, for the error.
    expected: &'static str,
    set: fn(&mut Tuning, u64),
}

/// One hour: no backoff bound or timeout needs more.
const HOUR_MS: u64 = 3_600_000;
/// One day, the longest dedup window and default request deadline.
const DAY_MS: u64 = 86_400_000;

const MILLIS: &[Millis] = &[
    Millis {
        setting: &RECONNECT_INITIAL,
        range: 1..=HOUR_MS,
        expected: "a whole number of milliseconds from 1 to 3600000",
        field: |t| &mut t.reconnect_initial,
    },
    Millis {
        setting: &RECONNECT_MAX,
        range: 1..=HOUR_MS,
        expected: "a whole number of milliseconds from 1 to 3600000",
        field: |t| &mut t.reconnect_max,
    },
    Millis {
        setting: &AUTH_RETRY_INITIAL,
        range: 1..=HOUR_MS,
        expected: "a whole number of milliseconds from 1 to 3600000",
        field: |t| &mut t.auth_retry_initial,
    },
    Millis {
        setting: &AUTH_RETRY_MAX,
        range: 1..=HOUR_MS,
        expected: "a whole number of milliseconds from 1 to 3600000",
        field: |t| &mut t.auth_retry_max,
    },
    Millis {
        setting: &HEALTHY_AFTER,
        range: 0..=HOUR_MS,
        expected: "a whole number of milliseconds from 0 to 3600000",
        field: |t| &mut t.healthy_after,
    },
    Millis {
        setting: &CONNECT_TIMEOUT,
        range: 1..=HOUR_MS,
        expected: "a whole number of milliseconds from 1 to 3600000",
        field: |t| &mut t.connect_timeout,
    },
    Millis {
        setting: &SHUTDOWN_GRACE,
        range: 0..=HOUR_MS,
        expected: "a whole number of milliseconds from 0 to 3600000",
        field: |t| &mut t.shutdown_grace,
    },
    Millis {
        setting: &DEDUP_WINDOW,
        range: 1..=DAY_MS,
        expected: "a whole number of milliseconds from 1 to 86400000",
        field: |t| &mut t.dedup_window,
    },
    Millis {
        setting: &INLINE_BUDGET,
        range: 0..=1_000,
        expected: "a whole number of milliseconds from 0 to 1000",
        field: |t| &mut t.inline_budget,
    },
    Millis {
        setting: &REQUEST_TIMEOUT,
        range: 1..=DAY_MS,
        expected: "a whole number of milliseconds from 1 to 86400000",
        field: |t| &mut t.request_timeout,
    },
];

/// Most handler threads `MS_HANDLER_THREADS` accepts.
const MAX_HANDLER_THREADS: u64 = 1024;

/// `usize` fields take values up to 2^40 at most, which every 64-bit target
/// holds; elsewhere they saturate to the largest `usize`.
fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

const COUNTS: &[Count] = &[
    Count {
        setting: &HANDLER_THREADS,
        range: 0..=MAX_HANDLER_THREADS,
        expected: "a whole number from 0 to 1024",
        set: |t, n| t.handler_threads = to_usize(n),
    },
    Count {
        setting: &DEDUP_CAPACITY,
        range: 1..=100_000_000,
        expected: "a whole number of answers from 1 to 100000000",
        set: |t, n| t.dedup_capacity = to_usize(n),
    },
    Count {
        setting: &DEDUP_MAX_BYTES,
        range: 1..=1 << 40,
        expected: "a whole number of bytes from 1 to 1099511627776",
        set: |t, n| t.dedup_max_bytes = to_usize(n),
    },
    Count {
        setting: &OUTBOX_CAPACITY,
        range: 1..=100_000_000,
        expected: "a whole number of frames from 1 to 100000000",
        set: |t, n| t.outbox_capacity = to_usize(n),
    },
    Count {
        setting: &MAX_FRAME_BYTES,
        range: 1024..=1 << 30,
        expected: "a whole number of bytes from 1024 to 1073741824",
        set: |t, n| t.max_frame_bytes = n,
    },
];

/// A backoff's first bound and its largest: the first must not exceed the
/// largest. Each comes with the form it must take when it is the one blamed.
struct Pair {
    first: &'static Setting,
    first_expected: &'static str,
    max: &'static Setting,
    max_expected: &'static str,
}

const PAIRS: &[Pair] = &[
    Pair {
        first: &RECONNECT_INITIAL,
        first_expected: "a whole number of milliseconds, at most MS_RECONNECT_MAX_MS (default 30000)",
        max: &RECONNECT_MAX,
        max_expected: "a whole number of milliseconds, at least MS_RECONNECT_INITIAL_MS (default 1000)",
    },
    Pair {
        first: &AUTH_RETRY_INITIAL,
        first_expected: "a whole number of milliseconds, at most MS_AUTH_RETRY_MAX_MS (default 300000)",
        max: &AUTH_RETRY_MAX,
        max_expected: "a whole number of milliseconds, at least MS_AUTH_RETRY_INITIAL_MS (default 10000)",
    },
];

impl Layers {
    /// `base` with every tuning value the layers set, each checked.
    pub(super) fn tuning(&self, base: Tuning) -> Result<Tuning, ConfigError> {
        let mut tuning = base;
        for m in MILLIS {
            if let Some(ms) = self.whole_number(m.setting, &m.range, m.expected)? {
                *(m.field)(&mut tuning) = Duration::from_millis(ms);
            }
        }
        for c in COUNTS {
            if let Some(n) = self.whole_number(c.setting, &c.range, c.expected)? {
                (c.set)(&mut tuning, n);
            }
        }
        let bounds = [
            (tuning.reconnect_initial, tuning.reconnect_max),
            (tuning.auth_retry_initial, tuning.auth_retry_max),
        ];
        for ((first, max), pair) in bounds.into_iter().zip(PAIRS) {
            // a Tuning given in code is the caller's to keep consistent
            if first <= max {
                continue;
            }
            if self.get(pair.max).is_some() {
                return Err(self.invalid(pair.max, pair.max_expected));
            }
            if self.get(pair.first).is_some() {
                return Err(self.invalid(pair.first, pair.first_expected));
            }
        }
        Ok(tuning)
    }

    /// The setting as a whole number within `range`, if it is set.
    fn whole_number(
        &self,
        setting: &Setting,
        range: &RangeInclusive<u64>,
        expected: &'static str,
    ) -> Result<Option<u64>, ConfigError> {
        let Some((text, _)) = self.get(setting) else {
            return Ok(None);
        };
        text.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .map(Some)
            .ok_or_else(|| self.invalid(setting, expected))
    }
}
