//! The module graph runs one way: experiment file -> runner -> results -> figures / diff /
//! report, with the pipeline and the command line on top. Read from the sources: which top-level
//! modules each module names (`crate::x`, `super::x` at the top), and that the graph has no cycle
//! and keeps the order. And JSON stays at the file boundary: read from the sources too.

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
    let layers: [&[&str]; 9] = [
        &["error", "random", "io", "backend", "tensor", "params", "capture"],
        &["surface", "optim"],
        &["registry"],
        &["experiment"],
        &["results"],
        &["landscape"],
        &["plot", "diff", "report"],
        &["pipeline"],
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

/// Every source file under `dir`, with its text.
fn texts(dir: &str) -> Vec<(std::path::PathBuf, String)> {
    let mut files = Vec::new();
    sources(Path::new(dir), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f, text)
        })
        .collect()
}

/// The field declarations of every struct in `text` (`name: Type` lines inside `struct ... {`).
fn struct_fields(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut depth_in_struct: Option<i32> = None;
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        if depth_in_struct.is_none() && code.contains("struct ") && code.trim_end().ends_with('{') {
            depth_in_struct = Some(0);
        }
        if let Some(depth) = depth_in_struct.as_mut() {
            *depth += code.matches('{').count() as i32 - code.matches('}').count() as i32;
            let trimmed = code.trim();
            if *depth == 1 && trimmed.contains(':') && !trimmed.contains("struct ") {
                out.push((i + 1, trimmed.to_string()));
            }
            if *depth <= 0 && code.contains('}') {
                depth_in_struct = None;
            }
        }
    }
    out
}

#[test]
fn no_json_is_held_past_the_file_boundary() {
    // Experiment files are read into types in `experiment/file.rs`; past it, in the rest of
    // `experiment/` (the runner included) and in `optim/`, no struct holds a JSON value. A
    // function pointer that reads one (a registry entry's reader) is the boundary itself.
    let mut held = Vec::new();
    for dir in ["src/experiment", "src/optim"] {
        for (file, text) in texts(dir) {
            if file.ends_with("experiment/file.rs") {
                continue;
            }
            for (line, field) in struct_fields(&text) {
                let ty = field.split_once(':').map_or("", |(_, t)| t).trim();
                // serde_json's `Map`, not a `HashMap` or `BTreeMap` of typed values.
                let map = ty
                    .match_indices("Map<")
                    .any(|(i, _)| !ty[..i].ends_with(|c: char| c.is_ascii_alphanumeric()));
                let json = ty.contains("Value") && !ty.contains("SweptValue") || map;
                if json && !ty.starts_with("fn(") {
                    held.push(format!("{}:{line}: {field}", file.display()));
                }
            }
        }
    }
    assert!(held.is_empty(), "JSON held in typed code:\n{}", held.join("\n"));
}

#[test]
fn errors_have_one_shape() {
    // A mistake is a `FieldError` (a path and a message) or an `Error`; no function returns a
    // bare `(field, message)` pair or a `String` as its error.
    let mut found = Vec::new();
    for (file, text) in texts("src") {
        for (i, line) in text.lines().enumerate() {
            let Some((_, ret)) = line.split_once("->") else {
                continue;
            };
            let ret = ret.split('{').next().unwrap_or(ret).replace(' ', "");
            let pair = ret.contains(",(String,String)>");
            let string = ret.contains("Result<") && ret.trim_end_matches(['>', ',', ';']).ends_with(",String");
            if pair || string {
                found.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "other error shapes:\n{}", found.join("\n"));
}
