//! The metrics text both sides serve on `GET /metrics`: OpenMetrics 1.0 for
//! scrapers that ask for it, the classic Prometheus text format (0.0.4)
//! for everyone else.
//!
//! The service and the gateway build their metrics with the
//! `prometheus-client` crate, which writes OpenMetrics only. The two formats
//! differ in three places that matter to a classic parser (Prometheus's own
//! `promtool check metrics` among them):
//!
//! - an OpenMetrics counter family is named without `_total`
//!   (`# TYPE requests counter`, sample `requests_total`); the classic
//!   format names the family as its samples (`# TYPE requests_total counter`);
//! - `info` families do not exist classically: they become gauges named
//!   `<name>_info` with the value 1;
//! - `# UNIT` lines, the closing `# EOF` and exemplars (` # {...}` after a
//!   value) are OpenMetrics only.
//!
//! [`to_classic`] rewrites exactly those, line by line, and keeps the rest.
//! [`wants_openmetrics`] reads a request's `Accept` header.
//!
//! ```
//! use ms_protocol::exposition::to_classic;
//!
//! let openmetrics = "# HELP jobs Jobs done.\n# TYPE jobs counter\njobs_total 3\n# EOF\n";
//! assert_eq!(
//!     to_classic(openmetrics),
//!     "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 3\n"
//! );
//! ```

use std::collections::HashMap;

/// Content type of the classic Prometheus text format.
pub const CLASSIC_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Content type of OpenMetrics text.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Whether a scraper's `Accept` header asks for OpenMetrics (Prometheus
/// itself does; curl and most other tools do not).
///
/// ```
/// use ms_protocol::exposition::wants_openmetrics;
///
/// assert!(wants_openmetrics(Some("application/openmetrics-text;version=1.0.0,text/plain;q=0.5")));
/// assert!(!wants_openmetrics(Some("*/*")));
/// assert!(!wants_openmetrics(None));
/// ```
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
    accept.is_some_and(|accept| {
        accept.split(',').any(|choice| {
            let mut parts = choice.split(';');
            let media = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            media.eq_ignore_ascii_case("application/openmetrics-text") && !refused
        })
    })
}

/// Rewrites OpenMetrics text into the classic Prometheus text format (see
/// the module documentation for what changes).
pub fn to_classic(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    // family name -> its classic name, for families renamed by their TYPE
    let mut renamed: HashMap<String, String> = HashMap::new();
    let types = family_types(openmetrics);
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some((keyword, rest)) = comment(line) {
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            let classic = match types.get(name).map(String::as_str) {
                Some("counter") if !name.ends_with("_total") => format!("{name}_total"),
                Some("info") => format!("{name}_info"),
                _ => name.to_owned(),
            };
            if classic != name {
                renamed.insert(name.to_owned(), classic.clone());
            }
            let tail = match (keyword, types.get(name).map(String::as_str)) {
                ("TYPE", Some("info")) => "gauge",
                ("TYPE", Some("counter" | "gauge" | "histogram" | "summary")) => tail,
                ("TYPE", _) => "untyped",
                _ => tail,
            };
            out.push_str("# ");
            out.push_str(keyword);
            out.push(' ');
            out.push_str(&classic);
            if !tail.is_empty() {
                out.push(' ');
                out.push_str(tail);
            }
            out.push('\n');
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        out.push_str(without_exemplar(line));
        out.push('\n');
    }
    out
}

/// `# HELP name text` or `# TYPE name type`: the keyword and the rest.
fn comment(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("# ")?;
    let (keyword, rest) = rest.split_once(' ')?;
    matches!(keyword, "HELP" | "TYPE").then_some((keyword, rest))
}

/// Each family's declared type.
fn family_types(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_once(' '))
        .map(|(name, kind)| (name.to_owned(), kind.trim().to_owned()))
        .collect()
}

/// A sample line without its exemplar (` # {labels} value [timestamp]`).
fn without_exemplar(line: &str) -> &str {
    // label values may hold " # " and "}": only a marker after the label
    // set's closing brace (outside quotes) counts
    let after_labels = label_set_end(line).unwrap_or(0);
    match line[after_labels..].find(" # ") {
        Some(i) => &line[..after_labels + i],
        None => line,
    }
}

/// Where a sample's label set ends (just past its `}`), if it has one.
fn label_set_end(line: &str) -> Option<usize> {
    let open = line.find(['{', ' '])?;
    if line.as_bytes().get(open) != Some(&b'{') {
        return None;
    }
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in line.char_indices().skip_while(|(i, _)| *i <= open) {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '}' if !quoted => return Some(i + 1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_take_their_samples_name() {
        let text = "# HELP handled Messages handled.\n# TYPE handled counter\nhandled_total{route=\"a\"} 2\nhandled_total{route=\"b\"} 1\n# EOF\n";
        assert_eq!(
            to_classic(text),
            "# HELP handled_total Messages handled.\n# TYPE handled_total counter\nhandled_total{route=\"a\"} 2\nhandled_total{route=\"b\"} 1\n"
        );
    }

    #[test]
    fn info_becomes_a_gauge_and_units_go() {
        let text = "# HELP build Build.\n# TYPE build info\nbuild_info{version=\"1.0\"} 1\n# HELP wait_seconds Wait.\n# TYPE wait_seconds histogram\n# UNIT wait_seconds seconds\nwait_seconds_sum 0.5\nwait_seconds_count 1\nwait_seconds_bucket{le=\"+Inf\"} 1\n# EOF\n";
        let classic = to_classic(text);
        assert!(classic.starts_with(
            "# HELP build_info Build.\n# TYPE build_info gauge\nbuild_info{version=\"1.0\"} 1\n"
        ));
        assert!(!classic.contains("# UNIT"));
        assert!(!classic.contains("# EOF"));
        assert!(classic.contains("# TYPE wait_seconds histogram\n"));
    }

    #[test]
    fn exemplars_are_cut_but_label_values_kept() {
        let text = "# TYPE c counter\nc_total{path=\"a # }b\\\"\"} 4 # {trace_id=\"x\"} 1.0\nc_total 2 # {a=\"b\"} 1\n";
        assert_eq!(
            to_classic(text),
            "# TYPE c_total counter\nc_total{path=\"a # }b\\\"\"} 4\nc_total 2\n"
        );
    }

    #[test]
    fn unknown_types_are_untyped() {
        let text = "# TYPE s stateset\ns{s=\"a\"} 1\n";
        assert_eq!(to_classic(text), "# TYPE s untyped\ns{s=\"a\"} 1\n");
    }

    #[test]
    fn accept_header_reading() {
        assert!(wants_openmetrics(Some(
            "application/openmetrics-text; version=1.0.0"
        )));
        assert!(!wants_openmetrics(Some(
            "application/openmetrics-text;q=0, text/plain"
        )));
        assert!(!wants_openmetrics(Some("text/plain")));
    }
}
