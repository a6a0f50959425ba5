//! The layers hold and no module reaches back to one that reaches it. Read from the
//! `crate::` and `super::` paths of each file's code (its unit tests aside), so a new
//! back-arrow or cycle fails here, naming the files and what they reached for.
//!
//! - `domain/`: depends on nothing else in the crate.
//! - `store/`: the domain and itself.
//! - `http/`: the domain, the store and itself, plus the application's state and
//!   settings from the crate root; never a resource's handlers.
//! - `api/`: anything below it.
//!
//! And each layer keeps to its trade: SQL is written in `store/` alone, and the domain
//! names neither axum nor sqlx.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's path in the crate, e.g. `api::meetings::items`, from its file.
fn module_of(file: &Path, src: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let parts = match parts.last().map(String::as_str) {
        Some("mod" | "lib") => &parts[..parts.len() - 1],
        _ => &parts[..],
    };
    parts.join("::")
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

fn word(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The paths a piece of code names after `prefix`, segment by segment: `crate::a::b`
/// gives `["a", "b"]`; `crate::a::{b, c::d}` gives `["a", "b"]` and `["a", "c", "d"]`.
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        expand(&code[at + prefix.len()..], Vec::new(), &mut found);
    }
    found
}

fn expand(rest: &str, mut path: Vec<String>, found: &mut Vec<Vec<String>>) {
    let mut rest = rest;
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..closing_brace(group)];
            for item in split_top_level(inner) {
                expand(item.trim(), path.clone(), found);
            }
            return;
        }
        let segment = word(rest);
        if segment.is_empty() {
            break;
        }
        path.push(segment.clone());
        rest = &rest[segment.len()..];
        match rest.strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    if !path.is_empty() {
        found.push(path);
    }
}

fn closing_brace(text: &str) -> usize {
    let mut depth = 1;
    for (index, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return index;
                }
            }
            _ => {}
        }
    }
    text.len()
}

fn split_top_level(text: &str) -> Vec<&str> {
    let (mut depth, mut start, mut items) = (0, 0, Vec::new());
    for (index, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    items
}

struct Crate {
    /// Every module, by path.
    modules: BTreeSet<String>,
    /// What each module reaches: the longest module prefix of each path it names (or
    /// the crate root's item, as `AppState`).
    reaches: BTreeMap<String, BTreeSet<String>>,
}

fn read_crate() -> Crate {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let sources: Vec<(String, String)> = files
        .iter()
        .filter(|file| !file.ends_with("main.rs"))
        .map(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let code: String = code
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            (module_of(file, &src), code)
        })
        .collect();
    let modules: BTreeSet<String> = sources.iter().map(|(m, _)| m.clone()).collect();
    let resolve = |path: &[String]| -> String {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].join("::"))
            .find(|candidate| modules.contains(candidate))
            .unwrap_or_else(|| path[0].clone())
    };
    let mut reaches = BTreeMap::new();
    for (module, code) in &sources {
        let mut targets = BTreeSet::new();
        for path in paths_after(code, "crate::") {
            targets.insert(resolve(&path));
        }
        // `super::x` from `a::b::c` is `a::b::x`.
        let parent: Vec<String> = module.split("::").map(str::to_owned).collect();
        for path in paths_after(code, "super::") {
            let mut full = parent[..parent.len().saturating_sub(1)].to_vec();
            full.extend(path);
            targets.insert(resolve(&full));
        }
        targets.remove(module);
        targets.remove("");
        reaches.insert(module.clone(), targets);
    }
    Crate { modules, reaches }
}

fn layer(module: &str) -> &str {
    module.split("::").next().unwrap_or_default()
}

/// What each layer may reach, by first path segment.
fn may_reach(from: &str, to: &str) -> bool {
    let to = layer(to);
    match layer(from) {
        "domain" => to == "domain",
        "store" => matches!(to, "domain" | "store"),
        // The application's state, settings and request limits live at the crate root.
        "http" => matches!(
            to,
            "domain"
                | "store"
                | "http"
                | "config"
                | "AppState"
                | "REQUEST_ID"
                | "MAX_REQUEST_ID"
                | "MAX_BODY_BYTES"
        ),
        _ => true,
    }
}

#[test]
fn each_layer_reaches_only_the_layers_below_it() {
    let krate = read_crate();
    assert!(krate.modules.len() > 30, "{:?}", krate.modules);
    let wrong: Vec<String> = krate
        .reaches
        .iter()
        .flat_map(|(from, targets)| {
            targets
                .iter()
                .filter(|to| !may_reach(from, to))
                .map(move |to| format!("{from} reaches {to}"))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "back-arrows between layers:\n{}",
        wrong.join("\n")
    );
}

/// Each file's code (unit tests aside), by module.
fn sources() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            let code = text
                .split("#[cfg(test)]")
                .next()
                .unwrap_or_default()
                .to_owned();
            (module_of(file, &src), code)
        })
        .collect()
}

/// What writes or runs SQL.
const SQL: &[&str] = &[
    "sqlx::query",
    "QueryBuilder::new",
    "query_as(",
    "query_scalar(",
    ".execute(",
    ".fetch_one(",
    ".fetch_all(",
    ".fetch_optional(",
];

#[test]
fn sql_is_written_in_the_store_alone() {
    let wrong: Vec<String> = sources()
        .into_iter()
        .filter(|(module, _)| layer(module) != "store")
        .flat_map(|(module, code)| {
            SQL.iter()
                .filter(|sql| code.contains(*sql))
                .map(move |sql| format!("{module} uses {sql}"))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "SQL outside src/store:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_domain_names_neither_http_nor_sql() {
    let wrong: Vec<String> = sources()
        .into_iter()
        .filter(|(module, _)| layer(module) == "domain")
        .flat_map(|(module, code)| {
            ["axum", "sqlx", "tower"]
                .into_iter()
                .filter(|word| code.contains(word))
                .map(move |word| format!("{module} names {word}"))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The modules on a cycle, as found by a depth-first search.
fn cycles(reaches: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn visit(
        node: &str,
        reaches: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        if let Some(at) = stack.iter().position(|n| n == node) {
            found.push(stack[at..].to_vec());
            return;
        }
        if done.contains(node) {
            return;
        }
        stack.push(node.to_owned());
        for next in reaches.get(node).into_iter().flatten() {
            visit(next, reaches, stack, done, found);
        }
        stack.pop();
        done.insert(node.to_owned());
    }
    let (mut done, mut found) = (BTreeSet::new(), Vec::new());
    for node in reaches.keys() {
        visit(node, reaches, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

#[test]
fn no_module_reaches_back_to_one_that_reaches_it() {
    let krate = read_crate();
    // A module's own children are part of it: `api::meetings` naming
    // `api::meetings::items` is the parent using its part, not an arrow between peers.
    let reaches: BTreeMap<String, BTreeSet<String>> = krate
        .reaches
        .iter()
        .map(|(from, targets)| {
            let targets = targets
                .iter()
                .filter(|to| !to.starts_with(&format!("{from}::")))
                .cloned()
                .collect();
            (from.clone(), targets)
        })
        .collect();
    let found = cycles(&reaches);
    let shown: Vec<String> = found.iter().map(|c| c.join(" → ")).collect();
    assert!(
        found.is_empty(),
        "cycles between modules:\n{}",
        shown.join("\n")
    );
}

#[test]
fn the_reader_sees_paths_groups_and_cycles() {
    let code = "use crate::store::{db, aggregate::lock};\nlet x = crate::http::error::Problem;";
    let paths: Vec<String> = paths_after(code, "crate::")
        .iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(
        paths,
        [
            "store::db",
            "store::aggregate::lock",
            "http::error::Problem"
        ]
    );
    assert!(may_reach("api::people", "store::db"));
    assert!(!may_reach("store::db", "http::error"));
    assert!(!may_reach("domain::text", "store::db"));
    assert!(!may_reach("http::etag", "api::people"));
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(cycles(&graph), [vec!["a", "b", "c"]]);
}
