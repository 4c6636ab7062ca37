//! The echo service: one route, `echo`, that replies with exactly the
//! request payload. Benchmarks and tests outside this repository rely on
//! this behaviour and name: keep them stable.
//!
//! Written with `#[ms_service]`: the route takes and returns
//! `ms_runtime::protocol::Json`, which passes through unparsed, byte for byte.

use ms_runtime::protocol::Json;
use ms_runtime::{HandlerError, ms_service};

/// Replies with the request's payload, byte for byte.
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo;

#[ms_service(name = "echo")]
impl Echo {
    /// The request's payload, unchanged.
    #[route("echo")]
    async fn echo(&self, payload: Json) -> Result<Json, HandlerError> {
        Ok(payload)
    }
}
