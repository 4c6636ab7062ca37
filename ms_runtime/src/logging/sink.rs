//! The log sink actor: one thread that owns the output, fed through a
//! bounded mailbox that never blocks the code that logs.

use std::io::{self, Write};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use actix::{Actor, ActorContext, Addr, Context, Handler, Message};
use slog::{BorrowedKV, Drain, Level, OwnedKVList, Record, RecordLocation, RecordStatic, o};

use super::record::{FieldValue, Fields, OwnedRecord, Redaction};
use super::{LogFilter, LogFormat, LogLevel};

/// Records the sink's mailbox holds before new ones are dropped.
///
/// ```
/// use ms_runtime::logging::{DEFAULT_QUEUE_CAPACITY, LogSettings};
///
/// assert_eq!(LogSettings::new("ocr", "i-1").queue_capacity, DEFAULT_QUEUE_CAPACITY);
/// // a chatty service: more room before records are dropped
/// let settings = LogSettings::new("ocr", "i-1").with_queue_capacity(4 * DEFAULT_QUEUE_CAPACITY);
/// assert_eq!(settings.queue_capacity, 32_768);
/// ```
pub const DEFAULT_QUEUE_CAPACITY: usize = 8_192;

/// Name of the sink's thread; a panic there must not wait on the sink itself.
pub(crate) const SINK_THREAD: &str = "ms-log-sink";

/// Where log lines go.
///
/// ```
/// use ms_runtime::logging::{LogOutput, LogSettings};
///
/// // where the platform collects standard output
/// let settings = LogSettings::new("ocr", "i-1").with_output(LogOutput::Stdout);
/// # let _ = settings;
/// // or into a file
/// let file = tempfile::tempfile()?;
/// let settings = LogSettings::new("ocr", "i-1").with_output(LogOutput::Writer(Box::new(file)));
/// # let _ = settings;
/// # Ok::<(), std::io::Error>(())
/// ```
pub enum LogOutput {
    /// Standard error (coloured when it is a terminal, in `term` format).
    Stderr,
    /// Standard output.
    Stdout,
    /// Any writer, for tests and embedding.
    Writer(Box<dyn Write + Send>),
}

impl std::fmt::Debug for LogOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Stderr => "Stderr",
            Self::Stdout => "Stdout",
            Self::Writer(_) => "Writer",
        })
    }
}

/// How a [`LogSink`] writes: levels, format, output, the fields on every
/// line, redaction and the queue bound.
///
/// ```
/// use ms_runtime::logging::{LogFormat, LogOutput, LogSettings, Redaction};
///
/// let settings = LogSettings::new("ocr", "i-1")
///     .with_filter("info,awc=warning".parse()?)
///     .with_format(LogFormat::Json)
///     .with_output(LogOutput::Stdout)
///     .with_redaction(Redaction::new(["password", "iban"]));
/// assert_eq!(settings.filter.to_string(), "info,awc=warning");
/// # Ok::<(), ms_runtime::logging::ParseLogError>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct LogSettings {
    /// Levels, overall and per module.
    pub filter: LogFilter,
    /// `term` or `json`.
    pub format: LogFormat,
    /// Where lines go.
    pub output: LogOutput,
    /// The `service` field on every line.
    pub service: String,
    /// The `instance` field on every line.
    pub instance: String,
    /// Records queued before new ones are dropped (and counted).
    pub queue_capacity: usize,
    /// Fields written as `***`.
    pub redaction: Redaction,
}

impl LogSettings {
    /// Settings for a service: info level, `term` format, standard error.
    pub fn new(service: impl Into<String>, instance: impl Into<String>) -> Self {
        Self {
            filter: LogFilter::default(),
            format: LogFormat::default(),
            output: LogOutput::Stderr,
            service: service.into(),
            instance: instance.into(),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            redaction: Redaction::default(),
        }
    }

    /// The same settings with another filter.
    pub fn with_filter(mut self, filter: LogFilter) -> Self {
        self.filter = filter;
        self
    }

    /// The same settings with another format.
    pub fn with_format(mut self, format: LogFormat) -> Self {
        self.format = format;
        self
    }

    /// The same settings with another output.
    pub fn with_output(mut self, output: LogOutput) -> Self {
        self.output = output;
        self
    }

    /// The same settings with another queue bound (at least 1).
    pub fn with_queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// The same settings with other redacted field names.
    pub fn with_redaction(mut self, redaction: Redaction) -> Self {
        self.redaction = redaction;
        self
    }

    /// Settings for a service as the runtime configures it.
    ///
    /// ```
    /// use ms_runtime::Config;
    /// use ms_runtime::logging::{LogFormat, LogSettings};
    ///
    /// let config = Config::builder().service_name("ocr").log_format("json").build()?;
    /// let settings = LogSettings::from_config(&config, "handler-name");
    /// assert_eq!(settings.service, "ocr"); // MS_SERVICE_NAME wins over the handler's name
    /// assert_eq!(settings.format, LogFormat::Json);
    /// # Ok::<(), ms_runtime::ConfigError>(())
    /// ```
    pub fn from_config(config: &crate::Config, service: &str) -> Self {
        Self::new(
            config.service_name.as_deref().unwrap_or(service),
            config.instance_id.clone(),
        )
        .with_filter(config.log_filter.clone())
        .with_format(config.log_format)
    }
}

/// The log sink could not start or did not answer.
///
/// ```
/// use std::time::Duration;
/// use ms_runtime::logging::{LogOutput, LogSettings, LogSink, LoggingError};
///
/// let output = LogOutput::Writer(Box::new(std::io::sink()));
/// let sink = LogSink::start(LogSettings::new("ocr", "i-1").with_output(output))?;
/// match sink.shutdown(Duration::from_secs(5)) {
///     Ok(()) => {}
///     Err(LoggingError::FlushTimeout(waited)) => eprintln!("log output stuck for {waited:?}"),
///     Err(e) => eprintln!("last log lines lost: {e}"),
/// }
/// # Ok::<(), LoggingError>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoggingError {
    /// The sink thread could not be started.
    #[error("log sink thread could not start")]
    Start(#[source] io::Error),
    /// The sink did not confirm a flush within the time allowed.
    #[error("log sink did not flush within {0:?}")]
    FlushTimeout(Duration),
    /// The sink has stopped.
    #[error("log sink has stopped")]
    Stopped,
}

/// Handle to the log sink actor: makes loggers, flushes, stops.
///
/// Loggers hand records to the actor through a mailbox of
/// [`LogSettings::queue_capacity`] records. A record that finds the mailbox
/// full is dropped, never waited for, so logging cannot stall a handler; the
/// number dropped is counted and written as a warning line once the sink
/// catches up.
///
/// ```
/// use std::time::Duration;
/// use ms_runtime::logging::{LogFormat, LogOutput, LogSettings, LogSink};
///
/// let file = tempfile::NamedTempFile::new()?;
/// let output = LogOutput::Writer(Box::new(file.reopen()?));
/// let settings = LogSettings::new("ocr", "i-1").with_format(LogFormat::Json).with_output(output);
/// let sink = LogSink::start(settings)?;
/// slog::info!(sink.logger("reader"), "page read"; "page" => 3, "token" => "abc");
/// sink.shutdown(Duration::from_secs(5))?;
///
/// let line = std::fs::read_to_string(file.path())?;
/// assert!(line.contains(r#""component":"reader""#) && line.contains(r#""token":"***""#));
/// assert_eq!(sink.dropped(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct LogSink {
    inner: Arc<SinkShared>,
}

pub(crate) struct SinkShared {
    addr: Addr<SinkActor>,
    pub(crate) filter: LogFilter,
    dropped: Arc<AtomicU64>,
    /// `service` and `instance`, for records that bypass slog (the `log` bridge).
    pub(crate) root_fields: Vec<(slog::Key, FieldValue)>,
    /// The logger every other derives from; it carries no fields itself.
    root: slog::Logger,
    service: String,
    instance: String,
}

impl std::fmt::Debug for LogSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogSink")
            .field("filter", &self.inner.filter.to_string())
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl LogSink {
    /// Starts the sink actor on its own thread.
    ///
    /// # Errors
    /// [`LoggingError::Start`] when the thread cannot be spawned.
    pub fn start(settings: LogSettings) -> Result<Self, LoggingError> {
        let LogSettings {
            filter,
            format,
            output,
            service,
            instance,
            queue_capacity,
            redaction,
        } = settings;
        let dropped = Arc::new(AtomicU64::new(0));
        let (addr_tx, addr_rx) = mpsc::sync_channel(1);
        let actor_dropped = dropped.clone();
        std::thread::Builder::new()
            .name(SINK_THREAD.to_owned())
            .spawn(move || {
                let system = actix_rt::System::new();
                system.block_on(async move {
                    let addr = SinkActor::create(move |ctx| {
                        ctx.set_mailbox_capacity(queue_capacity);
                        SinkActor::new(format, output, actor_dropped)
                    });
                    // the starter waits for this; if it is gone there is nobody to serve
                    let _ = addr_tx.send(addr);
                });
                // runs until the actor stops the system
                let _ = system.run();
            })
            .map_err(LoggingError::Start)?;
        let addr = addr_rx.recv().map_err(|_| LoggingError::Stopped)?;
        let root_fields = vec![
            ("service", FieldValue::Str(service.clone())),
            ("instance", FieldValue::Str(instance.clone())),
        ];
        let inner = Arc::new({
            let capture = CaptureDrain {
                addr: AssertUnwindSafe(addr.clone()),
                filter: filter.clone(),
                redaction: redaction.clone(),
                dropped: dropped.clone(),
            };
            SinkShared {
                addr,
                filter,
                dropped,
                root_fields,
                root: slog::Logger::root(capture, o!()),
                service,
                instance,
            }
        });
        Ok(Self { inner })
    }

    /// A logger for one component of the service (`component` field).
    pub fn logger(&self, component: &str) -> slog::Logger {
        self.service_logger(&self.inner.service, &self.inner.instance, component)
    }

    /// A logger for a component of another service sharing this process's
    /// sink (several services in one process, as in tests and demos).
    ///
    /// ```
    /// use std::time::Duration;
    /// use ms_runtime::logging::{LogSettings, LogSink};
    ///
    /// // two services in one test process, one sink
    /// let sink = LogSink::start(LogSettings::new("tests", "-"))?;
    /// slog::info!(sink.service_logger("ocr", "i-1", "handler"), "extracting");
    /// slog::info!(sink.service_logger("tagger", "i-2", "handler"), "tagging");
    /// sink.shutdown(Duration::from_secs(5))?;
    /// # Ok::<(), ms_runtime::logging::LoggingError>(())
    /// ```
    pub fn service_logger(&self, service: &str, instance: &str, component: &str) -> slog::Logger {
        self.inner.root.new(o!(
            "service" => service.to_owned(),
            "instance" => instance.to_owned(),
            "component" => component.to_owned(),
        ))
    }

    /// Records dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Waits until every record queued before this call is written and the
    /// output flushed.
    ///
    /// # Errors
    /// [`LoggingError::FlushTimeout`] or [`LoggingError::Stopped`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use ms_runtime::logging::{LogSettings, LogSink};
    ///
    /// let sink = LogSink::start(LogSettings::new("ocr", "i-1"))?;
    /// slog::error!(sink.logger("main"), "cannot continue"; "reason" => "disk full");
    /// // the line is written before the process exits
    /// sink.flush(Duration::from_secs(2))?;
    /// # Ok::<(), ms_runtime::logging::LoggingError>(())
    /// ```
    pub fn flush(&self, timeout: Duration) -> Result<(), LoggingError> {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        // do_send ignores the mailbox bound: a flush must get through a full queue
        self.inner.addr.do_send(Flush {
            done: done_tx,
            stop: false,
        });
        wait(done_rx, timeout)
    }

    /// Writes everything queued, flushes and stops the sink; later records are dropped.
    ///
    /// # Errors
    /// [`LoggingError::FlushTimeout`] or [`LoggingError::Stopped`].
    pub fn shutdown(&self, timeout: Duration) -> Result<(), LoggingError> {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        self.inner.addr.do_send(Flush {
            done: done_tx,
            stop: true,
        });
        wait(done_rx, timeout)
    }

    pub(crate) fn submit(&self, record: OwnedRecord) {
        submit(&self.inner.addr, &self.inner.dropped, record);
    }

    pub(crate) fn shared(&self) -> &SinkShared {
        &self.inner
    }
}

fn wait(done: mpsc::Receiver<()>, timeout: Duration) -> Result<(), LoggingError> {
    match done.recv_timeout(timeout) {
        Ok(()) => Ok(()),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(LoggingError::FlushTimeout(timeout)),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(LoggingError::Stopped),
    }
}

fn submit(addr: &Addr<SinkActor>, dropped: &AtomicU64, record: OwnedRecord) {
    if addr.try_send(WriteRecord(record)).is_err() {
        dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// The drain every logger of a sink ends in: filters, captures, queues.
struct CaptureDrain {
    /// slog needs drains to be unwind-safe; a panic in the middle of a send
    /// leaves actix's channel consistent (it is built for concurrent senders),
    /// so asserting it here is sound.
    addr: AssertUnwindSafe<Addr<SinkActor>>,
    filter: LogFilter,
    redaction: Redaction,
    dropped: Arc<AtomicU64>,
}

impl Drain for CaptureDrain {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        if self
            .filter
            .enabled(record.module(), from_slog(record.level()))
        {
            submit(
                &self.addr,
                &self.dropped,
                OwnedRecord::capture(record, values, &self.redaction),
            );
        }
        Ok(())
    }

    fn is_enabled(&self, level: Level) -> bool {
        from_slog(level) >= self.filter.most_verbose()
    }
}

pub(crate) fn from_slog(level: Level) -> LogLevel {
    match level {
        Level::Critical => LogLevel::Critical,
        Level::Error => LogLevel::Error,
        Level::Warning => LogLevel::Warning,
        Level::Info => LogLevel::Info,
        Level::Debug => LogLevel::Debug,
        Level::Trace => LogLevel::Trace,
    }
}

/// A writer shared by the output drain and the actor, so the actor can flush it.
#[derive(Clone)]
struct SharedWriter(Arc<Mutex<Box<dyn Write + Send>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("log writer poisoned"))?
            .write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("log writer poisoned"))?
            .flush()
    }
}

type OutputDrain = Box<dyn Drain<Ok = (), Err = io::Error> + Send>;

struct SinkActor {
    drain: OutputDrain,
    /// JSON lines carry the capture time as `ts`; term lines have their own stamp.
    add_ts: bool,
    writer: Option<SharedWriter>,
    dropped: Arc<AtomicU64>,
    reported: u64,
}

impl SinkActor {
    fn new(format: LogFormat, output: LogOutput, dropped: Arc<AtomicU64>) -> Self {
        // Formatters write a line in many small pieces: buffer them, and flush
        // once per record, so each line costs one write.
        let (writer, is_stderr): (Box<dyn Write + Send>, bool) = match output {
            LogOutput::Stderr => (Box::new(io::BufWriter::new(io::stderr())), true),
            LogOutput::Stdout => (Box::new(io::BufWriter::new(io::stdout())), false),
            LogOutput::Writer(w) => (Box::new(io::BufWriter::new(w)), false),
        };
        let shared = SharedWriter(Arc::new(Mutex::new(writer)));
        let drain: OutputDrain = match format {
            LogFormat::Json => Box::new(
                slog_json::Json::new(shared.clone())
                    .set_newlines(true)
                    .add_key_value(o!(
                        "level" => slog::FnValue(|r: &Record<'_>| from_slog(r.level()).as_str()),
                        "msg" => slog::PushFnValue(|r: &Record<'_>, ser| ser.emit(r.msg())),
                    ))
                    .build(),
            ),
            LogFormat::Term if is_stderr => {
                let decorator = slog_term::TermDecorator::new().stderr().build();
                Box::new(slog_term::FullFormat::new(decorator).build())
            }
            LogFormat::Term => {
                let decorator = slog_term::PlainSyncDecorator::new(shared.clone());
                Box::new(slog_term::FullFormat::new(decorator).build())
            }
        };
        Self {
            drain,
            add_ts: format == LogFormat::Json,
            writer: Some(shared),
            dropped,
            reported: 0,
        }
    }

    fn write(&self, record: &OwnedRecord) {
        let rs = RecordStatic {
            location: &record.location,
            tag: "",
            level: record.level,
        };
        let mut fields = Vec::with_capacity(record.fields.len() + 1);
        fields.extend(record.fields.iter().cloned());
        if self.add_ts {
            fields.push(("ts", FieldValue::Str(format_ts(record.ts_ms))));
        }
        let kv = Fields(&fields);
        let values = OwnedKVList::from(o!());
        // an output error has nowhere better to go than stderr
        if let Err(e) = self.drain.log(
            &Record::new(&rs, &format_args!("{}", record.msg), BorrowedKV(&kv)),
            &values,
        ) {
            eprintln!("ms_runtime: log output failed: {e}");
        }
    }

    /// Writes a warning for records dropped since the last report.
    fn report_dropped(&mut self) {
        let dropped = self.dropped.load(Ordering::Relaxed);
        if dropped > self.reported {
            let lost = dropped - self.reported;
            self.reported = dropped;
            self.write(&OwnedRecord {
                level: Level::Warning,
                msg: format!("{lost} log records dropped: the log queue was full"),
                location: HERE,
                ts_ms: ms_protocol::clock::now_ms(),
                fields: vec![
                    ("dropped", FieldValue::U64(lost)),
                    ("dropped_total", FieldValue::U64(dropped)),
                ],
            });
        }
    }

    fn flush_output(&mut self) {
        if let Some(w) = self.writer.as_mut()
            && let Err(e) = w.flush()
        {
            eprintln!("ms_runtime: log output flush failed: {e}");
        }
    }
}

const HERE: RecordLocation = RecordLocation {
    file: file!(),
    line: line!(),
    column: 0,
    function: "",
    module: module_path!(),
};

/// RFC 3339 UTC with milliseconds, from Unix milliseconds.
fn format_ts(ts_ms: u64) -> String {
    let secs = ts_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ts_ms % 1000
    )
}

/// Days since 1970-01-01 to a (year, month, day) date, proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

impl Actor for SinkActor {
    type Context = Context<Self>;

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.report_dropped();
        self.flush_output();
        actix_rt::System::current().stop();
    }
}

struct WriteRecord(OwnedRecord);

impl Message for WriteRecord {
    type Result = ();
}

impl Handler<WriteRecord> for SinkActor {
    type Result = ();

    fn handle(&mut self, msg: WriteRecord, _ctx: &mut Self::Context) {
        self.report_dropped();
        self.write(&msg.0);
        self.flush_output();
    }
}

struct Flush {
    done: mpsc::SyncSender<()>,
    stop: bool,
}

impl Message for Flush {
    type Result = ();
}

impl Handler<Flush> for SinkActor {
    type Result = ();

    fn handle(&mut self, msg: Flush, ctx: &mut Self::Context) {
        self.report_dropped();
        self.flush_output();
        if msg.stop {
            ctx.stop();
        }
        // the caller may have timed out and gone; nothing to do then
        let _ = msg.done.try_send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(format_ts(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_ts(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(format_ts(1_795_824_000_000), "2026-11-28T00:00:00.000Z");
    }
}
