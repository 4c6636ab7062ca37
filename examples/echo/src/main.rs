//! `example-echo`: the echo service (`example_echo::Echo`) configured only
//! from the environment (`Config::from_env`), named `echo` unless
//! `MS_SERVICE_NAME` says otherwise.

fn main() -> std::process::ExitCode {
    ms_runtime::run_from_env(example_echo::Echo)
}
