//! The library's module graph: no module uses another that (through others) uses it back, and
//! the shared vocabulary stays a leaf. Read from the sources (`crate::` and `super::` paths
//! outside the test modules at the end of each file).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every module of `lib/src` and the source it is made of, without its tests.
fn modules() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../lib/src");
    let mut found = BTreeMap::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read lib/src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read source");
                let code = text.split("#[cfg(test)]").next().unwrap_or("").to_owned();
                found.insert(module_of(&root, &path), code);
            }
        }
    }
    found
}

/// `store::dynamo::item` for `lib/src/store/dynamo/item.rs`, `store` for `store/mod.rs`.
fn module_of(root: &Path, file: &Path) -> String {
    let relative: PathBuf = file.strip_prefix(root).expect("under lib/src").with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts.join("::")
}

/// The module paths `code` names: `crate::a::b`, `super::c`, `crate::{a, b::c}`.
fn named_paths(module: &str, code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for (prefix, base) in [("crate::", String::new()), ("super::", parent(module))] {
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().last();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let items: Vec<String> = if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                group[..end]
                    .split(',')
                    .map(|item| item.trim().to_owned())
                    .collect()
            } else {
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .unwrap_or(rest.len());
                vec![rest[..end].to_owned()]
            };
            for item in items {
                let item = item.trim_end_matches("::");
                if item.is_empty() {
                    continue;
                }
                paths.push(if base.is_empty() {
                    item.to_owned()
                } else {
                    format!("{base}::{item}")
                });
            }
        }
    }
    paths
}

/// The module `super` names in `module`.
fn parent(module: &str) -> String {
    module
        .rsplit_once("::")
        .map_or(String::new(), |(p, _)| p.to_owned())
}

/// The longest module of `known` that `path` starts with.
fn resolve<'a>(path: &str, known: &'a BTreeSet<String>) -> Option<&'a String> {
    let mut candidate = path.to_owned();
    loop {
        if let Some(found) = known.get(&candidate) {
            return Some(found);
        }
        candidate = candidate.rsplit_once("::")?.0.to_owned();
    }
}

fn related(a: &str, b: &str) -> bool {
    a == b || a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"))
}

/// Which modules each module uses (ancestors and descendants aside: a parent declares its
/// children and may re-export them).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let known: BTreeSet<String> = modules.keys().filter(|m| !m.is_empty()).cloned().collect();
    let mut edges = BTreeMap::new();
    for (module, code) in &modules {
        if module.is_empty() {
            continue;
        }
        let used: BTreeSet<String> = named_paths(module, code)
            .iter()
            .filter_map(|path| resolve(path, &known))
            .filter(|target| !related(module, target))
            .cloned()
            .collect();
        edges.insert(module.clone(), used);
    }
    edges
}

/// A cycle through `start`, if any.
fn cycle_from(start: &str, graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_owned(), vec![start.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((module, path)) = stack.pop() {
        for next in graph.get(&module).into_iter().flatten() {
            if related(next, start) && next != &module {
                let mut cycle = path.clone();
                cycle.push(next.clone());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn the_library_has_no_import_cycle() {
    let graph = graph();
    assert!(graph.len() > 20, "the sources were not found: {graph:?}");
    for module in graph.keys() {
        if let Some(cycle) = cycle_from(module, &graph) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_shared_vocabulary_is_a_leaf() {
    let graph = graph();
    let leaves = ["error", "time", "values", "model"];
    for leaf in leaves {
        let used = &graph[leaf];
        assert!(
            used.iter().all(|m| leaves.contains(&m.as_str())),
            "{leaf} uses {used:?}"
        );
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a::x"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(m, used)| (m.to_owned(), used.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(
        cycle_from("a", &graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a::x".into()])
    );
    assert_eq!(cycle_from("d", &graph), None);
    assert_eq!(
        named_paths(
            "x::y",
            "use crate::{a, b::c}; use super::z; let q = crate::d::e();"
        ),
        ["a", "b::c", "d::e", "x::z"]
    );
}
