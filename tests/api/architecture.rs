//! The dependency direction the README promises, checked on the source: `domain` imports
//! nothing of the crate, `error` nothing but `domain`, nothing below the transport imports
//! `http` or `app`, and no module imports one that imports it back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules its files name as `crate::…`.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap().to_string_lossy().to_string();
            let module = rel.split('/').next().unwrap().trim_end_matches(".rs").to_string();
            if module == "lib" || module == "main" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests may reach across; the shipped code may not.
            let shipped = text.split("#[cfg(test)]").next().unwrap();
            let deps = graph.entry(module.clone()).or_default();
            for (i, _) in shipped.match_indices("crate::") {
                let name: String = shipped[i + 7..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                if !name.is_empty() && name != module {
                    deps.insert(name);
                }
            }
        }
    }
    graph
}

#[test]
fn dependencies_point_one_way() {
    let graph = module_graph();
    assert!(graph["domain"].is_empty(), "domain imports {:?}", graph["domain"]);
    assert_eq!(graph["error"], BTreeSet::from(["domain".to_string()]), "error.rs knows nothing of HTTP");
    for below in ["workflow", "db", "domain", "jobs", "notify", "clients", "auth", "error", "config", "crypto", "documents"] {
        let deps = graph.get(below).cloned().unwrap_or_default();
        assert!(!deps.contains("http") && !deps.contains("app"), "{below} imports the transport: {deps:?}");
    }
    // No module reaches one that reaches it back.
    for (start, deps) in &graph {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = deps.iter().cloned().collect();
        while let Some(m) = todo.pop() {
            assert_ne!(&m, start, "{start} is in an import circle");
            if seen.insert(m.clone()) {
                todo.extend(graph.get(&m).into_iter().flatten().cloned());
            }
        }
    }
}
