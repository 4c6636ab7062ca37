//! Starting the measured service as a child process, and reading its CPU
//! time and memory from /proc.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::{Child, Command};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which service is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// `example-echo`, built on the framework, default configuration.
    Echo,
    /// `example-echo` with `MS_INLINE_BUDGET_MS=0`: every handler on the
    /// pool (the default before adaptive placement).
    EchoPool,
    /// `example-echo` with `MS_HANDLER_THREADS=0`: handlers on the
    /// connection's thread.
    EchoInline,
    /// The floor in `floor.rs`.
    Floor,
}

impl Subject {
    pub fn name(self) -> &'static str {
        match self {
            Self::Echo => "example-echo",
            Self::EchoPool => "example-echo, inline_budget 0 (pool)",
            Self::EchoInline => "example-echo, handler_threads 0",
            Self::Floor => "floor",
        }
    }
}

/// Starts the service, pointed at `url`, allowed `window` requests in flight.
pub fn spawn(subject: Subject, url: &str, window: usize) -> Result<Child, BoxError> {
    let exe = std::env::current_exe()?;
    let mut command = match subject {
        Subject::Floor => {
            let mut c = service_command(&exe);
            c.args(["floor", url]);
            c
        }
        Subject::Echo | Subject::EchoPool | Subject::EchoInline => {
            let dir = exe
                .parent()
                .map(PathBuf::from)
                .ok_or("no directory for ms-bench")?;
            let echo = dir.join("example-echo");
            if !echo.exists() {
                return Err(format!("{} is missing: build it with the same profile (cargo build --release -p example-echo)", echo.display()).into());
            }
            let mut c = service_command(&echo);
            c.env("MS_GATEWAY_URL", url)
                .env("MS_MAX_IN_FLIGHT", window.to_string())
                .env("MS_SERVICE_NAME", "echo")
                .env("MS_LOG_LEVEL", "warning");
            match subject {
                Subject::EchoInline => {
                    c.env("MS_HANDLER_THREADS", "0");
                }
                Subject::EchoPool => {
                    c.env("MS_INLINE_BUDGET_MS", "0");
                }
                _ => {}
            }
            c
        }
    };
    command
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null());
    Ok(command.spawn()?)
}

/// A command that runs `program`, under `taskset -c CPUS` when
/// `MS_BENCH_SERVICE_CPUS` is set.
fn service_command(program: &Path) -> Command {
    match std::env::var("MS_BENCH_SERVICE_CPUS") {
        Ok(cpus) => {
            let mut pinned = Command::new("taskset");
            pinned.arg("-c").arg(cpus).arg(program);
            pinned
        }
        Err(_) => Command::new(program),
    }
}

/// User + system CPU time of a process.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // fields after the command name, which is in parentheses and may hold spaces
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // Linux reports in USER_HZ, 100 per second on every mainstream configuration
    Some(Duration::from_millis(ticks * 10))
}

/// A `VmRSS`/`VmHWM`-style line of /proc/PID/status, in KiB.
fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resident memory now, KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// Peak resident memory, KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}
