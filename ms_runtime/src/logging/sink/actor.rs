//! The actor behind [`LogSink`](super::LogSink): owns the output, formats and
//! writes each record, reports dropped records, flushes on demand.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use actix::{Actor, ActorContext, Context, Handler, Message};
use slog::{BorrowedKV, Drain, Level, OwnedKVList, Record, RecordLocation, RecordStatic, o};

use super::from_slog;
use super::timestamp::format_ts;
use crate::logging::record::{FieldValue, Fields, OwnedRecord};
use crate::logging::{LogFormat, LogOutput};

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

/// Writes records to the output; runs on the sink's own thread.
pub(super) struct SinkActor {
    drain: OutputDrain,
    /// JSON lines carry the capture time as `ts`; term lines have their own stamp.
    add_ts: bool,
    writer: Option<SharedWriter>,
    dropped: Arc<AtomicU64>,
    reported: u64,
}

impl SinkActor {
    pub(super) fn new(format: LogFormat, output: LogOutput, dropped: Arc<AtomicU64>) -> Self {
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

impl Actor for SinkActor {
    type Context = Context<Self>;

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.report_dropped();
        self.flush_output();
        actix_rt::System::current().stop();
    }
}

/// One record to write; sent with `try_send`, so a full mailbox drops it.
pub(super) struct WriteRecord(pub(super) OwnedRecord);

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

/// Write what is queued and flush the output; with `stop`, stop the sink after.
pub(super) struct Flush {
    /// Told once the output is flushed.
    pub(super) done: mpsc::SyncSender<()>,
    /// Stop the actor (and its thread) after flushing.
    pub(super) stop: bool,
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
