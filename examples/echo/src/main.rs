//! `example-echo`: the echo service (`example_echo::Echo`) configured only
//! from the environment (`Config::from_env`), named `echo` unless
//! `MS_SERVICE_NAME` says otherwise.

use std::process::ExitCode;

use example_echo::Echo;
use ms_runtime::Config;

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
