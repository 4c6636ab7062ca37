//! The protocol's timing rules (`docs/protocol.md`, sections 1 and 4), as
//! values both sides use.

use std::time::Duration;

use crate::DEFAULT_HEARTBEAT_MS;

/// [`DEFAULT_HEARTBEAT_MS`] as a [`Duration`]: the heartbeat interval when
/// `welcome.heartbeat_ms` does not set one.
///
/// ```
/// use ms_protocol::{DEFAULT_HEARTBEAT, DEFAULT_HEARTBEAT_MS};
///
/// assert_eq!(DEFAULT_HEARTBEAT.as_millis(), u128::from(DEFAULT_HEARTBEAT_MS));
/// ```
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_millis(DEFAULT_HEARTBEAT_MS);

/// Longest time an `ack` may be held back to batch it with others.
///
/// A receiver that takes responsibility for a frame may wait this long for
/// more ids to put in the same `ack`; the sender's resend logic counts on
/// it. Implementations pick a delay at most this.
///
/// ```
/// use std::time::Duration;
/// use ms_protocol::MAX_ACK_DELAY;
///
/// assert_eq!(MAX_ACK_DELAY, Duration::from_millis(50));
/// ```
pub const MAX_ACK_DELAY: Duration = Duration::from_millis(50);

/// Heartbeat intervals a peer may stay silent before it counts as dead and
/// its connection is dropped.
///
/// "Silent" means nothing received: no frame, no ping, no pong. Each side
/// pings after a heartbeat interval without traffic, so a live peer is
/// never silent this long.
pub const MISSED_HEARTBEATS: u32 = 3;

/// How long a peer may stay silent, for a heartbeat interval:
/// [`MISSED_HEARTBEATS`] intervals (saturating, never panicking on a huge
/// interval).
///
/// ```
/// use std::time::Duration;
/// use ms_protocol::silence_limit;
///
/// assert_eq!(silence_limit(Duration::from_secs(5)), Duration::from_secs(15));
/// assert_eq!(silence_limit(Duration::MAX), Duration::MAX);
/// ```
pub fn silence_limit(heartbeat: Duration) -> Duration {
    heartbeat.saturating_mul(MISSED_HEARTBEATS)
}

/// Whether a peer silent for `silent` has missed [`MISSED_HEARTBEATS`]
/// heartbeats of `heartbeat` and must be dropped.
///
/// ```
/// use std::time::Duration;
/// use ms_protocol::peer_silent_too_long;
///
/// let heartbeat = Duration::from_secs(5);
/// assert!(!peer_silent_too_long(Duration::from_millis(14_999), heartbeat));
/// assert!(peer_silent_too_long(Duration::from_secs(15), heartbeat));
/// ```
pub fn peer_silent_too_long(silent: Duration, heartbeat: Duration) -> bool {
    silent >= silence_limit(heartbeat)
}
