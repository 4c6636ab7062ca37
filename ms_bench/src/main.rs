//! `ms-bench`: plays the gateway side of the protocol on loopback, drives one
//! service with echo requests at a fixed window (requests in flight) and
//! payload size, checks every reply, and prints throughput, latency
//! percentiles, and the service's CPU time and memory. The same run measures
//! the floor, a minimal echo written directly on a websocket library, so
//! every figure can be read as a ratio.
//!
//! `ms-bench` runs the standard matrix; `ms-bench run SERVICE N WINDOW SIZE`
//! one case (`SERVICE` is `echo` or `floor`); `ms-bench floor URL` is the
//! floor service itself. `run` also prints the throughput of each tenth of
//! the run. `MS_BENCH_SERVICE_CPUS=1` (a `taskset -c` list) pins the
//! measured service to those CPUs; run ms-bench itself under `taskset` to
//! keep the two apart.

mod floor;
mod load;
mod process;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ms-bench: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["floor", url] => runtime.block_on(floor::serve(url)),
        ["run", service, n, window, size] => runtime.block_on(async {
            let case = load::Case::parse(service, n, window, size)?;
            let result = load::run(&case).await.map_err(|e| e.to_string())?;
            println!("{}", result.line());
            println!("{}", result.tenths());
            Ok(())
        }),
        [] => runtime.block_on(load::matrix()),
        _ => Err(
            "usage: ms-bench | ms-bench run echo|echo-pool|echo-inline|floor N WINDOW SIZE | ms-bench floor URL".into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ms-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
