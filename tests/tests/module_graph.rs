//! The crates' modules depend on each other one way only: no module reaches,
//! through `crate::` paths, a module that reaches it back. Read from the
//! source text (test code left out), at two depths: top-level modules
//! (`gateway`, `metrics`, ...) and their children (`gateway::session`, ...).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;
type Graph = BTreeMap<Module, BTreeSet<Module>>;

/// Every `.rs` file under `dir` that is not test code.
fn sources(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "tests" {
                sources(&path, found)?;
            }
        } else if name.ends_with(".rs") && name != "tests.rs" && !name.ends_with("_tests.rs") {
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

/// The module paths named after `crate::` in `code`; in a group
/// (`crate::{a::X, b::{c, D}}`) the path of each item up to its own group.
fn crate_paths(code: &str) -> Vec<Module> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let items = match rest.strip_prefix('{') {
            Some(group) => top_level_items(group),
            None => vec![rest],
        };
        for item in items {
            let module: Module = item
                .trim_start()
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap_or("")
                .split("::")
                .take_while(|part| part.starts_with(|c: char| c.is_ascii_lowercase()))
                .map(str::to_owned)
                .collect();
            if !module.is_empty() {
                paths.push(module);
            }
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

/// The dependency graph of `files`, the sources of the crate in `src`,
/// with modules cut to `depth` parts.
fn graph(src: &Path, files: &[PathBuf], depth: usize) -> Graph {
    let mut graph = Graph::new();
    for file in files {
        let text = std::fs::read_to_string(file).expect("a source file can be read");
        let code: String = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or("")
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut from = module_of(src, file);
        from.truncate(depth);
        for mut to in crate_paths(&code) {
            to.truncate(depth);
            if !from.starts_with(&to) && !to.starts_with(&from) {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
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
        let src = crate_src(name);
        let mut files = Vec::new();
        sources(&src, &mut files).expect("the source tree can be read");
        assert!(
            files.len() > 5,
            "{name}: too few files; is {} the source tree?",
            src.display()
        );
        for depth in [1, 2] {
            let graph = graph(&src, &files, depth);
            assert!(!graph.is_empty(), "{name}: no dependencies found");
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
fn crate_paths_are_read_from_use_lines_and_groups() {
    let code = "use crate::gateway::{self, Dispatch};\nuse crate::{config::Tuning, metrics::{StatsCell, x}, Error};\nlet x = crate::s3::ops::put(y);";
    let paths = crate_paths(code);
    let has = |path: &[&str]| paths.iter().any(|p| p == path);
    assert!(has(&["gateway"]), "{paths:?}");
    assert!(has(&["config"]), "{paths:?}");
    assert!(has(&["metrics"]), "{paths:?}");
    assert!(has(&["s3", "ops", "put"]), "{paths:?}");
    assert!(
        !has(&["x"]),
        "an item of a nested group is not a module of the crate's root: {paths:?}"
    );
    assert_eq!(paths.len(), 4, "{paths:?}");
}
