//! The module graph runs one way: experiment file -> runner -> trajectories -> figures / diff,
//! with the command line on top. Read from the sources: which top-level modules each module
//! names (`crate::x`, `super::x` at the top), and that the graph has no cycle and keeps the order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The top-level module a source file belongs to (`src/plot/mod.rs` -> `plot`).
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix("src").unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_string()
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every top-level module each module refers to through `crate::`.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    sources(Path::new("src"), &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let module = module_of(&file);
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let deps = graph.entry(module.clone()).or_default();
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `$crate::` in macros is the crate too.
            if !name.is_empty() && name != module && name.chars().next().unwrap().is_ascii_lowercase() {
                deps.insert(name);
            }
        }
    }
    graph
}

#[test]
fn the_module_graph_has_no_cycle() {
    let graph = graph();
    // Depth-first search for a back edge.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(node) {
            Some(1) => {
                let start = path.iter().position(|p| p == node).unwrap();
                let mut cycle = path[start..].to_vec();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            Some(2) => return None,
            _ => {}
        }
        state.insert(node.to_string(), 1);
        path.push(node.to_string());
        for dep in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(dep, graph, state, path) {
                return Some(cycle);
            }
        }
        path.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut state, &mut Vec::new()) {
            panic!("import cycle: {}\nwhole graph: {graph:#?}", cycle.join(" -> "));
        }
    }
}

#[test]
fn data_flows_one_way() {
    let graph = graph();
    let uses = |a: &str, b: &str| graph.get(a).is_some_and(|d| d.contains(b));
    // The layers, lowest first: nothing may name a module of a later layer.
    let layers: [&[&str]; 6] = [
        &["error", "random", "io", "backend"],
        &["surface", "optim"],
        &["registry"],
        &["experiment"],
        &["plot", "diff", "report"],
        &["cli"],
    ];
    for (i, lower) in layers.iter().enumerate() {
        for upper in layers[i + 1..].iter().flat_map(|l| l.iter()) {
            for module in *lower {
                assert!(!uses(module, upper), "{module} must not use {upper}: {graph:#?}");
            }
        }
    }
    // Figures and baselines read trajectories; they do not know each other.
    assert!(!uses("plot", "diff") && !uses("diff", "plot"), "{graph:#?}");
    // The report reads trajectories and draws with plot; figures and baselines do not know it.
    assert!(
        !uses("plot", "report") && !uses("diff", "report") && !uses("report", "diff"),
        "{graph:#?}"
    );
    // Every module is in a layer.
    let known: BTreeSet<&str> = layers.iter().flat_map(|l| l.iter().copied()).collect();
    for module in graph.keys() {
        assert!(known.contains(module.as_str()), "module {module} is in no layer");
    }
}
