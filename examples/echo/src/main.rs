//! `example-echo`: a service configured only from the environment
//! (`Config::from_env`), named `echo` unless `MS_SERVICE_NAME` says
//! otherwise, with one route `echo` that replies with exactly the request
//! payload. Benchmarks and tests outside this repository rely on this
//! behaviour and name: keep them stable.
//!
//! Written with `#[ms_service]`: the route takes and returns
//! `ms_runtime::protocol::Json`, which passes through unparsed, byte for byte.

use std::process::ExitCode;

use ms_runtime::protocol::Json;
use ms_runtime::{Config, HandlerError, ms_service};

/// Replies with the request's payload, byte for byte.
struct Echo;

#[ms_service(name = "echo")]
impl Echo {
    /// The request's payload, unchanged.
    #[route("echo")]
    async fn echo(&self, payload: Json) -> Result<Json, HandlerError> {
        Ok(payload)
    }
}

fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("example-echo: {e}");
            return ExitCode::from(2);
        }
    };
    match ms_runtime::run(config, Echo) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("example-echo: {e}");
            ExitCode::FAILURE
        }
    }
}
