//! The optional TOML file (`MS_CONFIG_FILE`): keys are the variable names
//! without `MS_`, lowercase; S3 settings may sit in an `[s3]` table. Every
//! error names the line and column it is about.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

use super::ConfigError;
use super::settings::ALL;

/// Reads the TOML file into values keyed by variable.
pub(super) fn read_file(path: &Path) -> Result<BTreeMap<&'static str, String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::FileUnreadable {
        path: path.to_owned(),
        source,
    })?;
    parse(&text).map_err(|reason| ConfigError::FileInvalid {
        path: path.to_owned(),
        reason,
    })
}

/// The file's values keyed by variable, or what is wrong and where.
fn parse(text: &str) -> Result<BTreeMap<&'static str, String>, String> {
    let top: BTreeMap<Spanned<String>, Node> = toml::from_str(text).map_err(|e| {
        // TOML's messages may run over several lines; errors are one line
        let message = e.message().trim().replace('\n', "; ");
        match e.span() {
            Some(span) => format!("{}: {message}", position(text, span.start)),
            None => message,
        }
    })?;
    let mut flat = Vec::new();
    for (key, node) in top {
        match node {
            Node::Table(inner) => {
                for (inner_key, value) in inner {
                    let name = format!("{}.{}", key.get_ref(), inner_key.get_ref());
                    flat.push((name, inner_key.span(), Some(value.into_inner())));
                }
            }
            Node::Value(value) => flat.push((key.get_ref().clone(), key.span(), Some(value))),
            Node::Unsupported => flat.push((key.get_ref().clone(), key.span(), None)),
        }
    }
    let mut values = BTreeMap::new();
    for (key, span, value) in flat {
        let at = position(text, span.start);
        let normalised = key.replacen("s3_", "s3.", 1);
        let setting = ALL
            .iter()
            .find(|s| s.file_key == normalised)
            .ok_or_else(|| format!("{at}: unknown key `{key}`"))?;
        let text = match value {
            Some(toml::Value::String(s)) => s,
            Some(toml::Value::Integer(i)) => i.to_string(),
            Some(toml::Value::Boolean(b)) => b.to_string(),
            // a list of strings, such as claim_accept = ["a/x/", "b/y/"]
            Some(toml::Value::Array(items)) if items.iter().all(toml::Value::is_str) => items
                .iter()
                .filter_map(toml::Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
            _ => return Err(format!("{at}: `{key}` must be a string, number or boolean")),
        };
        values.insert(setting.var, text);
    }
    Ok(values)
}

/// `line L, column C` (both from 1, the column in characters) of a byte
/// offset into `text`.
fn position(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    format!("line {line}, column {column}")
}

/// A top-level entry of the file: a value, or a table whose keys keep their
/// place in the text (so that errors about them can name it).
enum Node {
    Value(toml::Value),
    Table(Vec<(Spanned<String>, Spanned<toml::Value>)>),
    /// A float or a date: no setting takes one.
    Unsupported,
}

/// Marks the map toml hands a date or time over as; such a map is a value,
/// not a table.
const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number, boolean, list or table")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Value(toml::Value::Boolean(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Value(toml::Value::Integer(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(i64::try_from(v).map_or(Node::Unsupported, |v| Node::Value(toml::Value::Integer(v))))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Unsupported)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Value(toml::Value::String(v.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<toml::Value>()? {
            items.push(item);
        }
        Ok(Node::Value(toml::Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            if key.get_ref() == TOML_DATETIME_KEY {
                map.next_value::<de::IgnoredAny>()?;
                return Ok(Node::Unsupported);
            }
            let value = map.next_value::<Spanned<toml::Value>>()?;
            entries.push((key, value));
        }
        Ok(Node::Table(entries))
    }
}
