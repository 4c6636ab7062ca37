//! Wall-clock time for deadlines, which travel as Unix milliseconds: the
//! protocol's clock ([`ms_protocol::clock`]) under the names the runtime
//! uses.

pub(crate) use ms_protocol::clock::{now_ms as unix_ms, remaining};
