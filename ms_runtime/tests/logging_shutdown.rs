//! Shutdown flushes: every record queued below the bound is written before
//! `shutdown` returns, even with a slow writer.

mod common;

use std::io::Write;
use std::time::Duration;

use common::Buffer;
use ms_runtime::logging::{LogFormat, LogOutput, LogSettings, LogSink};

/// A writer that takes a millisecond per line.
#[derive(Clone)]
struct Slow(Buffer);

impl Write for Slow {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::thread::sleep(Duration::from_millis(1));
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn shutdown_writes_everything_queued() {
    let buffer = Buffer::default();
    let sink = LogSink::start(
        LogSettings::new("s", "s-1")
            .with_format(LogFormat::Json)
            .with_queue_capacity(1_000)
            .with_output(LogOutput::Writer(Box::new(Slow(buffer.clone())))),
    )
    .unwrap();
    let log = sink.logger("c");
    for i in 0..500 {
        slog::info!(log, "record"; "i" => i);
    }
    sink.shutdown(Duration::from_secs(30)).unwrap();
    let lines = buffer.json_lines();
    assert_eq!(lines.len(), 500, "records lost on shutdown");
    assert_eq!(sink.dropped(), 0);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["i"], i, "records written out of order");
    }

    // after shutdown, logging neither blocks nor panics
    slog::info!(log, "late");
    assert!(
        sink.flush(Duration::from_secs(1)).is_err(),
        "a stopped sink cannot confirm a flush"
    );
}
