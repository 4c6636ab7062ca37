//! The crates' modules depend on each other one way only: no module reaches,
//! through `crate::` paths, a module that reaches it back. Read from the
//! source text (test code left out), at two depths: top-level modules
//! (`gateway`, `metrics`, ...) and their children (`gateway::session`, ...).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;
type Graph = BTreeMap<Module, BTreeSet<Module>>;

/// Every `.rs` file under `dir` that is not test code (test files are
/// named `tests.rs`, `*_tests.rs`, `proptests.rs`, or live in `tests/`).
fn sources(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "tests" {
                sources(&path, found)?;
            }
        } else if name.ends_with(".rs") && !name.trim_end_matches(".rs").ends_with("tests") {
            found.push(path);
        }
    }
    Ok(())
}

/// The module a file defines: its path under `src`, without `mod`/`lib`/`main`.
fn module_of(src: &Path, file: &Path) -> Module {
    let relative = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Module = relative
        .components()
        .filter_map(|c| c.as_os_str().to_str().map(str::to_owned))
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// `text` without comment lines and without the modules written inline
/// under `#[cfg(test)]` (`mod tests { ... }`, whatever their visibility).
fn production_code(text: &str) -> String {
    let mut kept = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        kept.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let item = after.trim_start();
        let item = ["pub(crate) ", "pub(super) ", "pub "]
            .iter()
            .find_map(|v| item.strip_prefix(v))
            .unwrap_or(item);
        let body = item.strip_prefix("mod ").and_then(|m| {
            let brace = m.find('{')?;
            (m.find(';').is_none_or(|semi| brace < semi)).then(|| &m[brace + 1..])
        });
        match body.and_then(block_end) {
            Some(end) => rest = end,
            None => {
                kept.push_str("#[cfg(test)]");
                rest = after;
            }
        }
    }
    kept.push_str(rest);
    kept.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What follows the `}` that closes the block whose body starts `text`;
/// braces in string literals and `'{'`/`'}'` are not counted.
fn block_end(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let (mut depth, mut i, mut in_string) = (0usize, 0, false);
    while i < bytes.len() {
        match (in_string, bytes[i]) {
            (true, b'\\') => i += 1,
            (true, b'"') | (false, b'"') => in_string = !in_string,
            (false, b'\'') if matches!(bytes.get(i + 1..i + 3), Some(b"{'" | b"}'")) => i += 2,
            (false, b'{') => depth += 1,
            (false, b'}') if depth == 0 => return text.get(i + 1..),
            (false, b'}') => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The paths that `code` names from the crate's root, from `super` or from
/// `self`, resolved against `module`, the module the file defines (for
/// `gateway/session/mod.rs` and `gateway/session.rs` alike
/// `gateway::session`, whose `super` is `gateway`).
/// In a group (`crate::{a::X, b::{c, D}}`) each item's path up to its own
/// group.
fn named_paths(code: &str, module: &[String]) -> Vec<Module> {
    let mut paths = Vec::new();
    let starts = ["crate::", "super::", "self::"];
    let mut at = 0;
    while let Some((offset, start)) = starts
        .iter()
        .filter_map(|s| code[at..].find(s).map(|i| (i, *s)))
        .min()
    {
        let begin = at + offset;
        at = begin + start.len();
        // a word that merely ends in one (`$crate::`, `my_crate::`) is not a path
        let before = code[..begin].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
            continue;
        }
        let base: Module = match start {
            "crate::" => Vec::new(),
            "self::" => module.to_vec(),
            _ => {
                let mut parent = module.to_vec();
                parent.pop();
                let mut rest = &code[at..];
                while let Some(more) = rest.strip_prefix("super::") {
                    parent.pop();
                    rest = more;
                    at += "super::".len();
                }
                parent
            }
        };
        let rest = &code[at..];
        let items = match rest.strip_prefix('{') {
            Some(group) => top_level_items(group),
            None => vec![rest],
        };
        for item in items {
            let mut path = base.clone();
            path.extend(
                item.trim_start()
                    .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .next()
                    .unwrap_or("")
                    .split("::")
                    .take_while(|part| !part.is_empty() && *part != "self")
                    .map(str::to_owned),
            );
            paths.push(path);
        }
    }
    paths
}

/// The items of the group that `text` opens (just after its `{`), split at
/// the commas outside nested groups.
fn top_level_items(text: &str) -> Vec<&str> {
    let (mut items, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&text[start..i]);
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items
}

/// A crate's sources, read once: each file's module and the modules it names.
struct Crate {
    src: PathBuf,
    uses: Vec<(Module, Vec<Module>)>,
}

impl Crate {
    fn read(src: PathBuf) -> Self {
        let mut files = Vec::new();
        sources(&src, &mut files).expect("the source tree can be read");
        let modules: BTreeSet<Module> = files.iter().map(|f| module_of(&src, f)).collect();
        let root = std::fs::read_to_string(src.join("lib.rs")).unwrap_or_default();
        let reexports = root_reexports(&root);
        let uses = files
            .iter()
            .map(|file| {
                let text = std::fs::read_to_string(file).expect("a source file can be read");
                let module = module_of(&src, file);
                let named = named_paths(&production_code(&text), &module)
                    .iter()
                    .map(|path| module_named(&modules, &reexports, path))
                    .collect();
                (module, named)
            })
            .collect();
        Self { src, uses }
    }

    /// The dependency graph, modules cut to `depth` parts.
    fn graph(&self, depth: usize) -> Graph {
        let mut graph = Graph::new();
        for (module, named) in &self.uses {
            let mut from = module.clone();
            from.truncate(depth);
            for to in named {
                let mut to = to.clone();
                to.truncate(depth);
                if !to.is_empty() && !from.starts_with(&to) && !to.starts_with(&from) {
                    graph.entry(from.clone()).or_default().insert(to);
                }
            }
        }
        graph
    }
}

/// What the crate root `root` re-exports (`pub use`, `pub(crate) use`):
/// item name -> the path it is taken from.
fn root_reexports(root: &str) -> BTreeMap<String, Module> {
    let mut reexports = BTreeMap::new();
    for statement in production_code(root).split(';') {
        let statement = statement.trim();
        let Some(used) = ["pub use ", "pub(crate) use "]
            .iter()
            .find_map(|p| statement.split_once(p).map(|(_, used)| used))
        else {
            continue;
        };
        let (prefix, items) = match used.split_once("::{") {
            Some((prefix, group)) => (prefix, top_level_items(group)),
            None => used
                .rsplit_once("::")
                .map_or(("", vec![used]), |(prefix, item)| (prefix, vec![item])),
        };
        for item in items {
            let item = item.trim();
            let (path, name) = match item.split_once(" as ") {
                Some((path, alias)) => (path, alias.trim()),
                None => (item, item.rsplit("::").next().unwrap_or(item)),
            };
            let mut from: Module = prefix.split("::").map(str::to_owned).collect();
            from.extend(path.split("::").map(str::to_owned));
            reexports.insert(name.to_owned(), from);
        }
    }
    reexports
}

/// The module `path` names: through a root re-export if it names one, cut
/// to its longest prefix that is one of `modules`.
fn module_named(
    modules: &BTreeSet<Module>,
    reexports: &BTreeMap<String, Module>,
    path: &[String],
) -> Module {
    let path: Module = match path.first().and_then(|first| reexports.get(first)) {
        Some(from) => from.iter().chain(&path[1..]).cloned().collect(),
        None => path.to_vec(),
    };
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|prefix| modules.contains(prefix))
        .unwrap_or_default()
}

/// A cycle of `graph`, as the modules on it, if it has one.
fn find_cycle(graph: &Graph) -> Option<Vec<Module>> {
    fn visit(
        graph: &Graph,
        node: &Module,
        path: &mut Vec<Module>,
        done: &mut BTreeSet<Module>,
    ) -> Option<Vec<Module>> {
        if let Some(at) = path.iter().position(|m| m == node) {
            return Some(path[at..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(graph, next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|start| visit(graph, start, &mut Vec::new(), &mut done))
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src")
}

#[test]
fn no_module_cycles_in_the_runtime_the_gateway_or_the_protocol() {
    for name in ["ms_runtime", "ms_gateway", "ms_protocol"] {
        let krate = Crate::read(crate_src(name));
        assert!(
            krate.uses.len() > 5,
            "{name}: too few files; is {} the source tree?",
            krate.src.display()
        );
        for depth in [1, 2] {
            let graph = krate.graph(depth);
            let edges: usize = graph.values().map(BTreeSet::len).sum();
            assert!(
                edges >= 5,
                "{name}: only {edges} dependencies between modules found: {graph:?}"
            );
            if let Some(cycle) = find_cycle(&graph) {
                let names: Vec<String> = cycle.iter().map(|m| m.join("::")).collect();
                panic!("{name}: modules in a cycle: {}", names.join(" -> "));
            }
        }
    }
}

#[test]
fn a_cycle_is_found_and_a_chain_is_not() {
    let module = |name: &str| vec![name.to_owned()];
    let mut graph = Graph::new();
    graph.entry(module("a")).or_default().insert(module("b"));
    graph.entry(module("b")).or_default().insert(module("c"));
    assert_eq!(find_cycle(&graph), None);
    graph.entry(module("c")).or_default().insert(module("a"));
    let cycle = find_cycle(&graph).expect("a -> b -> c -> a");
    assert_eq!(cycle.len(), 3);
}

#[test]
fn paths_are_read_from_crate_super_and_self_and_groups() {
    let code = "use crate::gateway::{self, Dispatch};\nuse crate::{config::Tuning, metrics::{StatsCell, x}, Error};\nlet x = crate::s3::ops::put(y);\nuse super::{labels, Readings};\nuse self::inner::Thing;\n$crate::hidden::x();";
    let module = vec!["router".to_owned(), "readings".to_owned()];
    let paths = named_paths(code, &module);
    let has = |path: &[&str]| paths.iter().any(|p| p == path);
    assert!(has(&["gateway"]), "{paths:?}");
    assert!(has(&["config", "Tuning"]), "{paths:?}");
    assert!(has(&["metrics"]), "{paths:?}");
    assert!(has(&["Error"]), "{paths:?}");
    assert!(has(&["s3", "ops", "put"]), "{paths:?}");
    assert!(
        has(&["router", "labels"]),
        "super:: from router/readings.rs: {paths:?}"
    );
    assert!(has(&["router", "readings", "inner", "Thing"]), "{paths:?}");
    assert!(
        !has(&["hidden", "x"]),
        "$crate:: is another crate's: {paths:?}"
    );
    assert_eq!(paths.len(), 8, "{paths:?}");
    // gateway/session/mod.rs: super:: is gateway, super::super:: the root
    let session = ["gateway".to_owned(), "session".to_owned()];
    let from_mod = named_paths("use super::port::Delivery; super::super::Error", &session);
    let expected: Vec<Module> = vec![
        vec!["gateway".into(), "port".into(), "Delivery".into()],
        vec!["Error".into()],
    ];
    assert_eq!(from_mod, expected);
}

#[test]
fn test_modules_written_inline_are_left_out_and_others_kept() {
    let text = "use crate::a::X;\n#[cfg(test)]\npub(crate) mod tests {\n    use crate::b::Y;\n    fn f() { let _ = '}'; let _ = \"}\"; }\n}\nuse crate::c::Z;\n#[cfg(test)]\nmod tests;\n// crate::d::W\n";
    let code = production_code(text);
    assert!(
        code.contains("crate::a::X") && code.contains("crate::c::Z"),
        "{code}"
    );
    assert!(!code.contains("crate::b::Y"), "{code}");
    assert!(
        code.contains("mod tests;"),
        "a module in its own file is cut by file name: {code}"
    );
    assert!(!code.contains("crate::d::W"), "{code}");
}
