//! The gateway side: accept the service, welcome it, drive it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::value::RawValue;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;

use crate::process::{self, Subject};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One measurement: who, how many requests, how many in flight, how big.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub subject: Subject,
    pub n: usize,
    pub window: usize,
    pub size: usize,
}

impl Case {
    pub fn parse(
        subject: &str,
        n: &str,
        window: &str,
        size: &str,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let subject = match subject {
            "echo" => Subject::Echo,
            "echo-inline" => Subject::EchoInline,
            "echo-pool" => Subject::EchoPool,
            "floor" => Subject::Floor,
            other => {
                return Err(format!(
                    "unknown service {other:?}: echo, echo-pool, echo-inline or floor"
                )
                .into());
            }
        };
        Ok(Self {
            subject,
            n: n.parse()?,
            window: window.parse()?,
            size: size.parse()?,
        })
    }
}

/// What one case measured.
pub struct Outcome {
    pub case: Case,
    pub elapsed: Duration,
    /// Sorted.
    pub latencies: Vec<Duration>,
    /// When each reply arrived, since the first request, in arrival order.
    pub arrivals: Vec<Duration>,
    pub cpu: Duration,
    pub idle_rss_kib: u64,
    pub peak_rss_kib: u64,
}

impl Outcome {
    pub fn throughput(&self) -> f64 {
        self.case.n as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> Duration {
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies.get(i).copied().unwrap_or_default()
    }

    /// Throughput in each tenth of the run (by replies), to show a service
    /// that is slow to start or slows down as it goes.
    pub fn tenths(&self) -> String {
        let chunk = (self.arrivals.len() / 10).max(1);
        let mut begun = Duration::ZERO;
        let mut rates = Vec::new();
        for part in self.arrivals.chunks(chunk) {
            let Some(&end) = part.last() else { continue };
            let seconds = end.saturating_sub(begun).as_secs_f64().max(1e-9);
            rates.push(format!("{:.0}", part.len() as f64 / seconds));
            begun = end;
        }
        format!("req/s by tenth: {}", rates.join(" "))
    }

    pub fn line(&self) -> String {
        format!(
            "{:<12} n={:<6} window={:<6} size={:<6} {:>9.0} req/s  p50 {:>8.1?}  p90 {:>8.1?}  p99 {:>8.1?}  max {:>8.1?}  cpu {:>6.2?}  rss idle {} KiB peak {} KiB",
            self.case.subject.name(),
            self.case.n,
            self.case.window,
            self.case.size,
            self.throughput(),
            self.percentile(0.50),
            self.percentile(0.90),
            self.percentile(0.99),
            self.latencies.last().copied().unwrap_or_default(),
            self.cpu,
            self.idle_rss_kib,
            self.peak_rss_kib,
        )
    }
}

#[derive(serde::Deserialize)]
struct Frame<'a> {
    kind: &'a str,
    id: &'a str,
    #[serde(default)]
    correlation_id: Option<&'a str>,
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
}

/// Runs one case end to end.
pub async fn run(case: &Case) -> Result<Outcome, BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("ws://{}/v1/ws", listener.local_addr()?);
    let mut child = process::spawn(case.subject, &url, case.window)?;
    let pid = child.id().ok_or("the service exited at once")?;
    let (socket, _) = tokio::time::timeout(Duration::from_secs(30), listener.accept())
        .await
        .map_err(|_| "the service did not connect within 30 s")??;
    socket.set_nodelay(true)?;
    let ws = tokio_tungstenite::accept_async(socket).await?;
    let (mut sink, mut stream) = ws.split();

    // hello -> welcome
    loop {
        match stream.next().await.ok_or("closed before hello")?? {
            Message::Text(text) if text.as_str().contains(r#""kind":"hello""#) => break,
            _ => {}
        }
    }
    sink.send(Message::text(
        r#"{"v":1,"kind":"welcome","id":"bench-welcome","session":"bench","heartbeat_ms":5000}"#,
    ))
    .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle_rss_kib = process::rss_kib(pid).unwrap_or(0);
    let cpu_before = process::cpu_time(pid).unwrap_or_default();

    let payload = format!("\"{}\"", "x".repeat(case.size.saturating_sub(2)));
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        while let Some(text) = out_rx.recv().await {
            sink.feed(Message::text(text)).await?;
            while let Ok(more) = out_rx.try_recv() {
                sink.feed(Message::text(more)).await?;
            }
            sink.flush().await?;
        }
        Ok::<_, tokio_tungstenite::tungstenite::Error>(())
    });

    let window = Arc::new(Semaphore::new(case.window));
    let start = Instant::now();
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..case.n).map(|_| AtomicU64::new(0)).collect());
    let sender = {
        let (window, sent_at, out_tx, payload, n) = (
            window.clone(),
            sent_at.clone(),
            out_tx.clone(),
            payload.clone(),
            case.n,
        );
        tokio::spawn(async move {
            for i in 0..n {
                let Ok(permit) = window.acquire().await else {
                    return;
                };
                permit.forget();
                sent_at[i].store(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
                let frame = format!(
                    r#"{{"v":1,"kind":"request","id":"q{i}","to":"echo","route":"echo","from":"bench","payload":{payload}}}"#
                );
                if out_tx.send(frame).is_err() {
                    return;
                }
            }
        })
    };

    let mut latencies = Vec::with_capacity(case.n);
    let mut arrivals = Vec::with_capacity(case.n);
    let mut acks: Vec<String> = Vec::new();
    while latencies.len() < case.n {
        let message = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .map_err(|_| format!("no reply for 30 s after {} of {}", latencies.len(), case.n))?
            .ok_or("the service closed the connection")??;
        let Message::Text(text) = message else {
            continue;
        };
        let frame: Frame<'_> = serde_json::from_str(text.as_str())?;
        match frame.kind {
            "reply" => {
                let index: usize = frame
                    .correlation_id
                    .and_then(|c| c.strip_prefix('q'))
                    .and_then(|i| i.parse().ok())
                    .ok_or("reply without a known correlation_id")?;
                if frame.payload.map(RawValue::get) != Some(payload.as_str()) {
                    return Err(format!("reply to q{index} does not echo the payload").into());
                }
                let sent = sent_at
                    .get(index)
                    .ok_or("correlation_id out of range")?
                    .load(Ordering::Relaxed);
                let arrived = start.elapsed();
                latencies.push(Duration::from_nanos(arrived.as_nanos() as u64 - sent));
                arrivals.push(arrived);
                window.add_permits(1);
                acks.push(format!("\"{}\"", frame.id));
                if acks.len() >= 64 {
                    let _ = out_tx.send(format!(
                        r#"{{"v":1,"kind":"ack","id":"a{}","ids":[{}]}}"#,
                        latencies.len(),
                        acks.join(",")
                    ));
                    acks.clear();
                }
            }
            "error" => {
                return Err(format!("the service answered an error: {}", text.as_str()).into());
            }
            _ => {}
        }
    }
    let elapsed = start.elapsed();
    let cpu = process::cpu_time(pid)
        .unwrap_or_default()
        .saturating_sub(cpu_before);
    let peak_rss_kib = process::peak_rss_kib(pid).unwrap_or(0);
    sender.abort();
    drop(out_tx);
    let _ = writer.await;
    let _ = child.kill().await;
    latencies.sort_unstable();
    Ok(Outcome {
        case: *case,
        elapsed,
        latencies,
        arrivals,
        cpu,
        idle_rss_kib,
        peak_rss_kib,
    })
}

/// The standard matrix: every case run `MS_BENCH_RUNS` times (default 5),
/// the floor and both echo set-ups alternating, so each repetition compares
/// runs made seconds apart. The table shows each subject's median run (by
/// throughput); the ratios are medians of the per-repetition ratios.
pub async fn matrix() -> Result<(), Box<dyn std::error::Error>> {
    const SUBJECTS: [Subject; 4] = [
        Subject::Floor,
        Subject::Echo,
        Subject::EchoPool,
        Subject::EchoInline,
    ];
    let runs = std::env::var("MS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(5)
        .max(1);
    let cases = [
        (20_000, 256, 100),
        (3_000, 1, 100),
        (2_000, 16, 64 * 1024),
        (10_000, 10_000, 100),
    ];
    println!("{runs} runs per case and service; the median run of each:\n");
    println!(
        "| case | service | req/s | p50 | p90 | p99 | max | CPU s | RSS idle KiB | RSS peak KiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut ratios = Vec::new();
    for (n, window, size) in cases {
        let mut results: Vec<Vec<Outcome>> = SUBJECTS.iter().map(|_| Vec::new()).collect();
        for _ in 0..runs {
            for (i, subject) in SUBJECTS.into_iter().enumerate() {
                let case = Case {
                    subject,
                    n,
                    window,
                    size,
                };
                let outcome = run(&case).await.map_err(|e| e.to_string())?;
                eprintln!("{}", outcome.line());
                results[i].push(outcome);
            }
        }
        for (subject, outcomes) in SUBJECTS.iter().zip(&results) {
            let Some(outcome) = median_run(outcomes) else {
                continue;
            };
            println!(
                "| {n} x {size} B, window {window} | {} | {:.0} | {:.2?} | {:.2?} | {:.2?} | {:.2?} | {:.3} | {} | {} |",
                subject.name(),
                outcome.throughput(),
                outcome.percentile(0.5),
                outcome.percentile(0.9),
                outcome.percentile(0.99),
                outcome.latencies.last().copied().unwrap_or_default(),
                outcome.cpu.as_secs_f64(),
                outcome.idle_rss_kib,
                outcome.peak_rss_kib,
            );
        }
        for (subject, outcomes) in SUBJECTS.iter().zip(&results).skip(1) {
            let pairs = || results[0].iter().zip(outcomes);
            let throughput = median(pairs().map(|(f, e)| e.throughput() / f.throughput()));
            let p50 = median(pairs().map(|(f, e)| {
                e.percentile(0.5).as_secs_f64() / f.percentile(0.5).as_secs_f64().max(1e-9)
            }));
            let cpu = median(pairs().map(|(f, e)| {
                (e.cpu.as_secs_f64() / n as f64) / (f.cpu.as_secs_f64() / n as f64).max(1e-12)
            }));
            let growth = median(
                outcomes
                    .iter()
                    .map(|e| e.peak_rss_kib.saturating_sub(e.idle_rss_kib) as f64 / window as f64),
            );
            ratios.push(format!(
                "- {n} x {size} B, window {window}, {}: throughput {throughput:.2} x floor, p50 {p50:.2} x floor, CPU per request {cpu:.2} x floor, RSS growth {growth:.2} KiB per request in flight",
                subject.name()
            ));
        }
    }
    println!();
    for line in ratios {
        println!("{line}");
    }
    Ok(())
}

/// The run with the median throughput.
fn median_run(outcomes: &[Outcome]) -> Option<&Outcome> {
    let mut sorted: Vec<&Outcome> = outcomes.iter().collect();
    sorted.sort_by(|a, b| a.throughput().total_cmp(&b.throughput()));
    sorted.get(sorted.len() / 2).copied()
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
