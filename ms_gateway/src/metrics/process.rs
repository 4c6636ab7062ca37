//! The standard process metrics (`process_cpu_seconds_total`,
//! `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
//! `process_open_fds`, `process_max_fds`, `process_start_time_seconds`),
//! read from `/proc/self` at scrape time on Linux; absent elsewhere. A file
//! that cannot be read leaves out only the metrics it gives.

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;

/// Encodes the process metrics of this process.
#[derive(Debug)]
pub struct ProcessCollector;

impl Collector for ProcessCollector {
    #[cfg(target_os = "linux")]
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        linux::ProcessStats::read().encode(&mut encoder)
    }

    #[cfg(not(target_os = "linux"))]
    fn encode(&self, _encoder: DescriptorEncoder<'_>) -> fmt::Result {
        Ok(())
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::fmt;

    use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _};
    use prometheus_client::metrics::counter::ConstCounter;
    use prometheus_client::metrics::gauge::ConstGauge;

    /// Clock ticks per second of the times in `/proc/PID/stat`: `USER_HZ`,
    /// which the kernel fixes at 100 for user space on every architecture
    /// Rust targets (reading `sysconf(_SC_CLK_TCK)` would need `unsafe`).
    const TICKS_PER_SECOND: f64 = 100.0;

    /// One reading of `/proc/self`; `None` where a file could not be read.
    #[derive(Debug, Default, Clone, PartialEq)]
    pub struct ProcessStats {
        pub cpu_seconds: Option<f64>,
        pub resident_bytes: Option<u64>,
        pub virtual_bytes: Option<u64>,
        pub open_fds: Option<u64>,
        pub max_fds: Option<u64>,
        pub start_time_seconds: Option<f64>,
    }

    impl ProcessStats {
        /// Reads this process's figures now.
        pub fn read() -> Self {
            let text = |path: &str| std::fs::read_to_string(path).ok();
            let mut stats = Self::default();
            if let Some(stat) = text("/proc/self/stat") {
                let boot_time = text("/proc/stat").as_deref().and_then(boot_time);
                stats.apply_stat(&stat, boot_time);
            }
            stats.resident_bytes = text("/proc/self/status")
                .as_deref()
                .and_then(resident_bytes);
            stats.max_fds = text("/proc/self/limits").as_deref().and_then(max_fds);
            stats.open_fds = std::fs::read_dir("/proc/self/fd")
                .ok()
                .map(|dir| dir.count() as u64);
            stats
        }

        /// Takes CPU time, virtual size and start time from the text of
        /// `/proc/self/stat`; `boot_time` is `btime` of `/proc/stat`.
        pub fn apply_stat(&mut self, stat: &str, boot_time: Option<u64>) {
            // The command name (field 2) is in parentheses and may hold
            // spaces and parentheses: fields are counted after the last ')'.
            let Some((_, rest)) = stat.rsplit_once(')') else {
                return;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            // fields[0] is field 3 (state) of proc(5)
            let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
            if let (Some(utime), Some(stime)) = (field(14), field(15)) {
                self.cpu_seconds = Some(ticks_to_seconds(utime.saturating_add(stime)));
            }
            self.virtual_bytes = field(23);
            if let (Some(start), Some(boot)) = (field(22), boot_time) {
                self.start_time_seconds = Some(boot as f64 + ticks_to_seconds(start));
            }
        }

        /// Writes each figure that was read.
        pub fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
            if let Some(v) = self.cpu_seconds {
                let m = ConstCounter::new(v);
                m.encode(encoder.encode_descriptor(
                    "process_cpu_seconds",
                    "Total user and system CPU time spent in seconds.",
                    None,
                    m.metric_type(),
                )?)?;
            }
            let gauges = [
                (
                    "process_resident_memory_bytes",
                    "Resident memory size in bytes.",
                    self.resident_bytes,
                ),
                (
                    "process_virtual_memory_bytes",
                    "Virtual memory size in bytes.",
                    self.virtual_bytes,
                ),
                (
                    "process_open_fds",
                    "Number of open file descriptors.",
                    self.open_fds,
                ),
                (
                    "process_max_fds",
                    "Maximum number of open file descriptors.",
                    self.max_fds,
                ),
            ];
            for (name, help, value) in gauges {
                if let Some(v) = value {
                    let m = ConstGauge::new(v);
                    m.encode(encoder.encode_descriptor(name, help, None, m.metric_type())?)?;
                }
            }
            if let Some(v) = self.start_time_seconds {
                let m = ConstGauge::new(v);
                m.encode(encoder.encode_descriptor(
                    "process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds.",
                    None,
                    m.metric_type(),
                )?)?;
            }
            Ok(())
        }
    }

    fn ticks_to_seconds(ticks: u64) -> f64 {
        ticks as f64 / TICKS_PER_SECOND
    }

    /// `btime` of `/proc/stat`: boot time in seconds since the epoch.
    pub fn boot_time(stat: &str) -> Option<u64> {
        stat.lines()
            .find_map(|l| l.strip_prefix("btime"))
            .and_then(|v| v.trim().parse().ok())
    }

    /// `VmRSS` of `/proc/self/status`, in bytes.
    pub fn resident_bytes(status: &str) -> Option<u64> {
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        Some(kib.saturating_mul(1024))
    }

    /// The soft limit of open files in `/proc/self/limits` (`None` when
    /// unlimited).
    pub fn max_fds(limits: &str) -> Option<u64> {
        limits
            .lines()
            .find_map(|l| l.strip_prefix("Max open files"))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn stat_fields_are_counted_after_the_command_name() {
            // a command name with a space and a parenthesis, as a hostile
            // binary name could have
            let stat = "42 (a b) c) S 1 42 42 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 3 0 1000 123456789 512 18446744073709551615";
            let mut stats = ProcessStats::default();
            stats.apply_stat(stat, Some(1_700_000_000));
            assert_eq!(stats.cpu_seconds, Some(3.0));
            assert_eq!(stats.virtual_bytes, Some(123_456_789));
            assert_eq!(stats.start_time_seconds, Some(1_700_000_010.0));
        }

        #[test]
        fn status_limits_and_boot_time_parse() {
            assert_eq!(
                resident_bytes("Name:\tx\nVmRSS:\t   2048 kB\n"),
                Some(2 << 20)
            );
            let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n";
            assert_eq!(max_fds(limits), Some(1024));
            assert_eq!(
                boot_time("cpu 1 2\nbtime 1700000000\n"),
                Some(1_700_000_000)
            );
        }

        #[test]
        fn this_process_is_read() {
            let stats = ProcessStats::read();
            assert!(stats.cpu_seconds.is_some());
            assert!(stats.resident_bytes.is_some_and(|b| b > 0));
            assert!(stats.open_fds.is_some_and(|n| n > 0));
            assert!(stats.start_time_seconds.is_some_and(|t| t > 1.0e9));
        }
    }
}
