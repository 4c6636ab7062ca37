//! Records made owned at the call site, so they can cross to the sink
//! thread; secret-looking fields are redacted on the way.

use ms_protocol::clock::now_ms;
use std::fmt;

use slog::{KV, Key, Level, OwnedKVList, Record, RecordLocation, Serializer};

/// A field's value, owned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldValue {
    Str(String),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    Unit,
    None,
}

/// One log record, detached from the logger that made it.
pub(crate) struct OwnedRecord {
    pub(crate) level: Level,
    pub(crate) msg: String,
    pub(crate) location: RecordLocation,
    /// Milliseconds since the Unix epoch, taken when the record was made.
    pub(crate) ts_ms: u64,
    /// Record fields first, then the logger's, as slog orders them.
    pub(crate) fields: Vec<(Key, FieldValue)>,
}

/// Field names whose values are written as `***`; a field is secret when
/// its lowercase name contains one of these.
///
/// ```
/// use ms_runtime::logging::Redaction;
///
/// let redaction = Redaction::new(["password", "iban"]);
/// assert!(redaction.is_secret("customer_IBAN"));
/// assert!(!redaction.is_secret("customer_id"));
/// assert!(Redaction::default().is_secret("db_password"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redaction {
    patterns: Vec<String>,
}

/// The default secret-looking field names.
///
/// ```
/// use ms_runtime::logging::{DEFAULT_REDACTED, Redaction};
///
/// // keep the defaults and add a field name of your own
/// let redaction = Redaction::new(DEFAULT_REDACTED.iter().copied().chain(["iban"]));
/// assert!(redaction.is_secret("api_key") && redaction.is_secret("iban"));
/// ```
pub const DEFAULT_REDACTED: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "api_key",
    "apikey",
    "credential",
];

impl Redaction {
    /// Redacts fields whose name contains any of `patterns` (case-insensitive).
    pub fn new<S: AsRef<str>>(patterns: impl IntoIterator<Item = S>) -> Self {
        Self {
            patterns: patterns
                .into_iter()
                .map(|p| p.as_ref().to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether a field of this name is written as `***`.
    pub fn is_secret(&self, key: &str) -> bool {
        let key = key.to_ascii_lowercase();
        self.patterns.iter().any(|p| key.contains(p.as_str()))
    }

    /// The first pattern found in `lowercase` text: (byte offset, length).
    pub(crate) fn find_in(&self, lowercase: &str) -> Option<(usize, usize)> {
        self.patterns
            .iter()
            .filter(|p| !p.is_empty())
            .filter_map(|p| lowercase.find(p.as_str()).map(|at| (at, p.len())))
            .min()
    }
}

impl Default for Redaction {
    fn default() -> Self {
        Self::new(DEFAULT_REDACTED.iter().copied())
    }
}

impl OwnedRecord {
    /// Copies a slog record and its logger's fields.
    pub(crate) fn capture(
        record: &Record<'_>,
        values: &OwnedKVList,
        redaction: &Redaction,
    ) -> Self {
        let mut collector = Collector {
            fields: Vec::with_capacity(8),
            redaction,
        };
        // Collector never fails; a failure would only lose fields, not the record.
        let _ = record.kv().serialize(record, &mut collector);
        let _ = values.serialize(record, &mut collector);
        Self {
            level: record.level(),
            msg: fmt::format(*record.msg()),
            location: *record.location(),
            ts_ms: now_ms(),
            fields: collector.fields,
        }
    }
}

struct Collector<'r> {
    fields: Vec<(Key, FieldValue)>,
    redaction: &'r Redaction,
}

impl Collector<'_> {
    fn push(&mut self, key: Key, value: FieldValue) -> slog::Result {
        let value = if self.redaction.is_secret(key) {
            FieldValue::Str("***".to_owned())
        } else {
            value
        };
        self.fields.push((key, value));
        Ok(())
    }
}

impl Serializer for Collector<'_> {
    fn emit_arguments(&mut self, key: Key, val: &fmt::Arguments<'_>) -> slog::Result {
        self.push(key, FieldValue::Str(fmt::format(*val)))
    }
    fn emit_str(&mut self, key: Key, val: &str) -> slog::Result {
        self.push(key, FieldValue::Str(val.to_owned()))
    }
    fn emit_bool(&mut self, key: Key, val: bool) -> slog::Result {
        self.push(key, FieldValue::Bool(val))
    }
    fn emit_i64(&mut self, key: Key, val: i64) -> slog::Result {
        self.push(key, FieldValue::I64(val))
    }
    fn emit_u64(&mut self, key: Key, val: u64) -> slog::Result {
        self.push(key, FieldValue::U64(val))
    }
    fn emit_i32(&mut self, key: Key, val: i32) -> slog::Result {
        self.push(key, FieldValue::I64(val.into()))
    }
    fn emit_u32(&mut self, key: Key, val: u32) -> slog::Result {
        self.push(key, FieldValue::U64(val.into()))
    }
    fn emit_usize(&mut self, key: Key, val: usize) -> slog::Result {
        self.push(key, FieldValue::U64(val as u64))
    }
    fn emit_isize(&mut self, key: Key, val: isize) -> slog::Result {
        self.push(key, FieldValue::I64(val as i64))
    }
    fn emit_f64(&mut self, key: Key, val: f64) -> slog::Result {
        self.push(key, FieldValue::F64(val))
    }
    fn emit_f32(&mut self, key: Key, val: f32) -> slog::Result {
        self.push(key, FieldValue::F64(val.into()))
    }
    fn emit_unit(&mut self, key: Key) -> slog::Result {
        self.push(key, FieldValue::Unit)
    }
    fn emit_none(&mut self, key: Key) -> slog::Result {
        self.push(key, FieldValue::None)
    }
}

/// The captured fields, replayed to the output drain.
pub(crate) struct Fields<'a>(pub(crate) &'a [(Key, FieldValue)]);

impl KV for Fields<'_> {
    fn serialize(&self, _record: &Record<'_>, serializer: &mut dyn Serializer) -> slog::Result {
        // slog serialises fields last-first; replay in reverse to keep call-site order
        for (key, value) in self.0.iter().rev() {
            match value {
                FieldValue::Str(s) => serializer.emit_str(key, s)?,
                FieldValue::I64(n) => serializer.emit_i64(key, *n)?,
                FieldValue::U64(n) => serializer.emit_u64(key, *n)?,
                FieldValue::F64(n) => serializer.emit_f64(key, *n)?,
                FieldValue::Bool(b) => serializer.emit_bool(key, *b)?,
                FieldValue::Unit => serializer.emit_unit(key)?,
                FieldValue::None => serializer.emit_none(key)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_names_are_matched_case_insensitively() {
        let r = Redaction::default();
        for key in [
            "password",
            "db_password",
            "S3_SECRET_ACCESS_KEY",
            "auth_token",
            "Authorization",
            "api_key",
        ] {
            assert!(r.is_secret(key), "{key}");
        }
        for key in ["service", "route", "message_id", "trace_id", "bytes"] {
            assert!(!r.is_secret(key), "{key}");
        }
        assert!(Redaction::new(["pin"]).is_secret("card_pin"));
    }

    #[test]
    fn capture_redacts_record_and_logger_fields() {
        use slog::{Drain, o};
        use std::sync::{Arc, Mutex};

        struct Grab(Arc<Mutex<Vec<(Key, FieldValue)>>>);
        impl Drain for Grab {
            type Ok = ();
            type Err = slog::Never;
            fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
                let owned = OwnedRecord::capture(record, values, &Redaction::default());
                if let Ok(mut g) = self.0.lock() {
                    *g = owned.fields;
                }
                Ok(())
            }
        }
        let grabbed = Arc::new(Mutex::new(Vec::new()));
        let log = slog::Logger::root(
            Grab(grabbed.clone()),
            o!("service" => "ocr", "api_token" => "abc"),
        );
        slog::info!(log, "login"; "user" => "ann", "password" => "hunter2", "n" => 3u64);
        let fields = grabbed.lock().unwrap().clone();
        let get = |k: &str| {
            fields
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("password"), Some(FieldValue::Str("***".into())));
        assert_eq!(get("api_token"), Some(FieldValue::Str("***".into())));
        assert_eq!(get("user"), Some(FieldValue::Str("ann".into())));
        assert_eq!(get("n"), Some(FieldValue::U64(3)));
        assert_eq!(get("service"), Some(FieldValue::Str("ocr".into())));
    }
}
