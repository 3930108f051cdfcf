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

/// The README's layout and every file it or docs/ names exist in the repository itself, so a
/// clone on its own (without the team's shared folder beside it) can follow every reference.
#[test]
fn the_docs_point_at_files_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut missing = Vec::new();

    // The layout block: top-level entries at column 0, their children at column 2.
    let layout = readme.split("## Layout").nth(1).unwrap().split("```").nth(1).unwrap();
    let mut parent = String::new();
    for line in layout.lines().filter(|l| !l.trim().is_empty()) {
        let indent = line.len() - line.trim_start().len();
        if indent > 2 {
            continue; // a description's continuation
        }
        let head = line.trim_start().split("  ").next().unwrap().trim();
        for name in head.split(", ") {
            let path = if indent == 0 { name.to_string() } else { format!("{parent}{name}") };
            if !root.join(&path).exists() {
                missing.push(format!("layout: {path}"));
            }
            if indent == 0 {
                parent = name.to_string();
            }
        }
    }

    // Every markdown link and every backquoted repository path in README.md and docs/*.md.
    let mut texts = vec![("README.md".to_string(), readme.clone())];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) == Some("md") {
            texts.push((path.strip_prefix(root).unwrap().display().to_string(), std::fs::read_to_string(&path).unwrap()));
        }
    }
    let tops = ["src/", "docs/", "tests/", "scripts/", "bench/", "migrations/", "db/", "assets/", "templates/", "examples/", ".ci/"];
    // Paths inside src/ are often named from there (`http/payouts.rs`).
    let modules: Vec<String> = std::fs::read_dir(root.join("src"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .map(|p| format!("{}/", p.file_name().unwrap().to_string_lossy()))
        .collect();
    // What the runs make and git ignores (e.g. the browser test's screenshots) need not exist.
    let ignored: Vec<String> = std::fs::read_to_string(root.join(".gitignore"))
        .unwrap()
        .lines()
        .map(|l| l.trim().trim_start_matches('/').to_string())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for (file, text) in &texts {
        let base = root.join(file).parent().unwrap().to_path_buf();
        for link in text.split("](").skip(1).filter_map(|rest| rest.split(')').next()) {
            let target = link.split('#').next().unwrap();
            if !target.is_empty() && !target.contains("://") && !base.join(target).exists() {
                missing.push(format!("{file}: link {link}"));
            }
        }
        for quoted in text.split('`').skip(1).step_by(2) {
            let path = quoted.trim_start_matches("./");
            let looks_like_path = (tops.iter().any(|t| path.starts_with(t)) || modules.iter().any(|m| path.starts_with(m.as_str())))
                && !path.contains(['*', ' ', '<', '{', '|', '?']);
            let made_by_runs = ignored.iter().any(|i| path.starts_with(i.as_str()));
            if looks_like_path && !made_by_runs && !root.join(path).exists() && !root.join("src").join(path).exists() {
                missing.push(format!("{file}: `{quoted}`"));
            }
            if quoted.contains("../") {
                missing.push(format!("{file}: `{quoted}` points outside the repository"));
            }
        }
    }
    assert!(missing.is_empty(), "named in the docs but not in the repository:\n{}", missing.join("\n"));
}
