//! `example-echo`: a service configured only from the environment
//! (`Config::from_env`), named `echo` unless `MS_SERVICE_NAME` says
//! otherwise, with one route `echo` that replies with exactly the request
//! payload. Benchmarks and tests outside this repository rely on this
//! behaviour and name: keep them stable.

use std::process::ExitCode;

use ms_runtime::protocol::Json;
use ms_runtime::{Config, Context, Handler, HandlerError, Request};

/// Replies with the request's payload, byte for byte.
struct Echo;

impl Handler for Echo {
    fn name(&self) -> &str {
        "echo"
    }

    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    fn routes(&self) -> Vec<String> {
        vec!["echo".to_owned()]
    }

    async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        Ok(request.payload)
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
