//! The layers hold: the domain's words depend on nothing else in the crate, and the
//! HTTP plumbing on nothing but the domain and itself, never on a resource. Read from
//! the `crate::` paths of each module's code (its unit tests aside), so a new
//! back-arrow fails here, naming the file and what it reached for.

use std::collections::BTreeSet;
use std::path::Path;

/// The domain: vocabularies, country codes, text and name rules, list caps.
const DOMAIN: &[&str] = &["vocabulary", "country", "text", "limits"];

/// HTTP plumbing with no knowledge of any resource.
const PLUMBING: &[&str] = &[
    "error",
    "problems",
    "extract",
    "pagination",
    "etag",
    "json",
    "access",
    "rate_limit",
    "cost",
    "idempotency",
    "replica",
    "telemetry",
    "server",
];

/// The top-level modules a file reaches through `crate::`, outside its unit tests.
fn reached(module: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("src/{module}.rs"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut modules = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            modules.insert(name);
        }
    }
    // `use crate::{a, b}` reaches each of a and b.
    for (at, _) in code.match_indices("crate::{") {
        let rest = &code[at + "crate::{".len()..];
        let list = &rest[..rest.find('}').unwrap_or(rest.len())];
        for item in list.split(',') {
            let name: String = item
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                modules.insert(name);
            }
        }
    }
    modules.remove("");
    modules
}

fn assert_layer(layer: &[&str], may_reach: &[&str], what: &str) {
    let mut wrong = Vec::new();
    for module in layer {
        for target in reached(module) {
            // Items of the crate root (`crate::AppState`) belong to the app layer.
            if !may_reach.contains(&target.as_str()) {
                wrong.push(format!("src/{module}.rs reaches crate::{target}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{what}:\n{}", wrong.join("\n"));
}

#[test]
fn the_domain_depends_on_nothing_else_in_the_crate() {
    assert_layer(DOMAIN, DOMAIN, "the domain reaches outside itself");
}

#[test]
fn the_plumbing_depends_on_the_domain_and_itself_only() {
    let allowed: Vec<&str> = DOMAIN
        .iter()
        .chain(PLUMBING)
        .copied()
        // The application state and the request limits, from the crate root.
        .chain([
            "AppState",
            "REQUEST_ID",
            "MAX_REQUEST_ID",
            "MAX_BODY_BYTES",
            "settings",
        ])
        .collect();
    assert_layer(PLUMBING, &allowed, "the plumbing reaches a resource");
}

#[test]
fn the_reader_sees_back_arrows() {
    // The check itself: a module that names a resource is reported.
    let reached = reached("pagination");
    assert!(reached.contains("error"), "{reached:?}");
    assert!(!reached.contains("meetings"), "{reached:?}");
}
