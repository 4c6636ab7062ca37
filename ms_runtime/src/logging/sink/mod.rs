//! The log sink actor: one thread that owns the output, fed through a
//! bounded mailbox that never blocks the code that logs.
//!
//! This file is the handle and the drain loggers end in; the actor that
//! writes is in `actor.rs`, the timestamp format in `timestamp.rs`.

mod actor;
mod timestamp;

use std::io;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, mpsc};
use std::time::Duration;

use actix::{Actor, Addr};
use slog::{Drain, Level, OwnedKVList, Record, o};

use self::actor::{Flush, SinkActor, WriteRecord};
use super::record::{FieldValue, OwnedRecord, Redaction};
use super::{LogFilter, LogLevel, LogSettings};

/// Name of the sink's thread; a panic there must not wait on the sink itself.
pub(crate) const SINK_THREAD: &str = "ms-log-sink";

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
    /// Secret-looking names, for records that bypass slog (the `log` bridge).
    pub(crate) redaction: Redaction,
    dropped: Arc<AtomicU64>,
    /// The logger every other derives from; it carries no fields itself.
    root: slog::Logger,
    /// The `service` and `instance` of [`LogSink::logger`]'s lines, read
    /// when each line is written.
    identity: Arc<RwLock<Identity>>,
    /// True while the identity is a guess from the environment (the sink
    /// was started by `setup_logger`): the runtime's start-up replaces it.
    is_provisional: AtomicBool,
}

/// Who the lines of [`LogSink::logger`] say they come from.
#[derive(Debug, Clone)]
struct Identity {
    service: String,
    instance: String,
}

/// A field of the identity, read at write time; empty if the lock is
/// poisoned (a panic while renaming), which only costs that field.
fn read_identity(identity: &RwLock<Identity>, field: fn(&Identity) -> &str) -> String {
    identity
        .read()
        .map(|id| field(&id).to_owned())
        .unwrap_or_default()
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
                redaction,
                dropped,
                root: slog::Logger::root(capture, o!()),
                identity: Arc::new(RwLock::new(Identity { service, instance })),
                is_provisional: AtomicBool::new(false),
            }
        });
        Ok(Self { inner })
    }

    /// A logger for one component of the service (`component` field).
    ///
    /// Its `service` and `instance` are the sink's, read as each line is
    /// written: a logger made with `setup_logger` before the service starts
    /// shows the runtime's name and instance once it has started.
    pub fn logger(&self, component: &str) -> slog::Logger {
        let (service, instance) = (self.inner.identity.clone(), self.inner.identity.clone());
        self.inner.root.new(o!(
            "service" => slog::FnValue(move |_: &Record<'_>| read_identity(&service, |id| &id.service)),
            "instance" => slog::FnValue(move |_: &Record<'_>| read_identity(&instance, |id| &id.instance)),
            "component" => component.to_owned(),
        ))
    }

    /// `service` and `instance` fields for records that bypass slog (the
    /// `log` bridge), as they are now.
    pub(crate) fn root_fields(&self) -> Vec<(slog::Key, FieldValue)> {
        let identity = &self.inner.identity;
        vec![
            (
                "service",
                FieldValue::Str(read_identity(identity, |id| &id.service)),
            ),
            (
                "instance",
                FieldValue::Str(read_identity(identity, |id| &id.instance)),
            ),
        ]
    }

    /// Marks the identity as a guess from the environment, to be replaced by
    /// the first [`LogSink::adopt_identity`].
    pub(crate) fn mark_provisional(&self) {
        self.inner.is_provisional.store(true, Ordering::Release);
    }

    /// Takes the runtime's service name and instance, if the identity is
    /// still the environment's guess; once only.
    pub(crate) fn adopt_identity(&self, service: &str, instance: &str) {
        if self.inner.is_provisional.swap(false, Ordering::AcqRel)
            && let Ok(mut identity) = self.inner.identity.write()
        {
            *identity = Identity {
                service: service.to_owned(),
                instance: instance.to_owned(),
            };
        }
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

    /// The counter behind [`LogSink::dropped`], for the metrics.
    pub(crate) fn dropped_counter(&self) -> Arc<AtomicU64> {
        self.inner.dropped.clone()
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
