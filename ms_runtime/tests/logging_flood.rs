//! A flood of records from many threads into a tiny queue whose writer is
//! stuck: logging calls return (records are dropped and counted, never waited
//! for), and the sink reports the count once it catches up.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::Gate;
use ms_runtime::logging::{LogFormat, LogOutput, LogSettings, LogSink};

const THREADS: usize = 8;
const PER_THREAD: usize = 2_000;
const QUEUE: usize = 16;

#[test]
fn a_full_queue_drops_and_reports_instead_of_blocking() {
    let gate = Gate::closed();
    let sink = LogSink::start(
        LogSettings::new("flood", "f-1")
            .with_format(LogFormat::Json)
            .with_queue_capacity(QUEUE)
            .with_output(LogOutput::Writer(Box::new(gate.clone()))),
    )
    .unwrap();

    let (done_tx, done_rx) = mpsc::channel();
    for t in 0..THREADS {
        let log = sink.logger("handler");
        let done_tx = done_tx.clone();
        std::thread::spawn(move || {
            let mut slowest = Duration::ZERO;
            let mut total = Duration::ZERO;
            for i in 0..PER_THREAD {
                let start = Instant::now();
                slog::info!(log, "flood"; "thread" => t, "i" => i);
                let took = start.elapsed();
                slowest = slowest.max(took);
                total += took;
            }
            done_tx.send((slowest, total)).unwrap();
        });
    }
    // The writer is blocked for the whole flood: if logging waited for the
    // queue, no thread could finish and this would time out.
    let mut slowest = Duration::ZERO;
    let mut total = Duration::ZERO;
    for _ in 0..THREADS {
        let (s, t) = done_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a logging thread did not finish while the writer was blocked: logging blocked on a full queue");
        slowest = slowest.max(s);
        total += t;
    }
    let dropped = sink.dropped();
    let calls = (THREADS * PER_THREAD) as u64;
    println!(
        "flood: {calls} calls, {dropped} dropped, mean {:?} per call, slowest {slowest:?}",
        total / calls as u32
    );
    assert!(
        dropped >= calls - QUEUE as u64 - THREADS as u64 - 2,
        "only {dropped} of {calls} dropped"
    );

    gate.open();
    sink.flush(Duration::from_secs(30)).unwrap();
    let lines = gate.buffer.json_lines();
    let written = lines.iter().filter(|l| l["msg"] == "flood").count() as u64;
    assert_eq!(
        written + dropped,
        calls,
        "every record is either written or counted as dropped"
    );
    let reports: Vec<_> = lines
        .iter()
        .filter(|l| {
            l["msg"]
                .as_str()
                .is_some_and(|m| m.contains("log records dropped"))
        })
        .collect();
    assert!(!reports.is_empty(), "no line reports the dropped records");
    assert!(reports.iter().all(|r| r["level"] == "warning"));
    let reported: u64 = reports.iter().map(|r| r["dropped"].as_u64().unwrap()).sum();
    assert_eq!(
        reported, dropped,
        "the reports add up to every dropped record"
    );
    assert_eq!(reports.last().unwrap()["dropped_total"], dropped);
}
