//! Which resource's contract test answers for each path of the spec. Each resource's test
//! asserts that it exercised every operation on its own paths; the test here shows that
//! every path of the spec is some resource's and that every resource has such a test,
//! so no operation falls between them.

use std::path::Path;

use super::support::{load_spec, spec_operations};

/// A resource of the API, and with it the contract test of the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    System,
    Meetings,
    History,
    Changes,
    Participants,
    Statements,
    Agreements,
    People,
    Roles,
    Countries,
    Stats,
    Import,
    Export,
}

impl Resource {
    pub const ALL: [Resource; 13] = [
        Resource::System,
        Resource::Meetings,
        Resource::History,
        Resource::Changes,
        Resource::Participants,
        Resource::Statements,
        Resource::Agreements,
        Resource::People,
        Resource::Roles,
        Resource::Countries,
        Resource::Stats,
        Resource::Import,
        Resource::Export,
    ];

    /// The paths the resource answers for: each of these and every path below one, unless
    /// another resource names a longer one that is also above it (`/v1/meetings/{id}/history`
    /// is the history's, not the meetings').
    fn prefixes(self) -> &'static [&'static str] {
        match self {
            Resource::System => &["/health", "/ready", "/metrics", "/openapi.yaml", "/docs"],
            Resource::Meetings => &["/v1/meetings"],
            Resource::History => &["/v1/meetings/{id}/history"],
            Resource::Changes => &["/v1/changes"],
            Resource::Participants => &["/v1/meetings/{id}/participants", "/v1/participants"],
            Resource::Statements => &["/v1/meetings/{id}/statements", "/v1/statements"],
            Resource::Agreements => &["/v1/meetings/{id}/agreements", "/v1/agreements"],
            Resource::People => &["/v1/people"],
            Resource::Roles => &["/v1/roles", "/v1/people/{id}/roles"],
            Resource::Countries => &["/v1/countries"],
            Resource::Stats => &["/v1/stats"],
            Resource::Import => &["/v1/import"],
            Resource::Export => &["/v1/export"],
        }
    }

    /// The resource whose longest prefix is above `path`, if any is.
    pub fn owning(path: &str) -> Option<Resource> {
        Resource::ALL
            .into_iter()
            .flat_map(|resource| resource.prefixes().iter().map(move |p| (*p, resource)))
            .filter(|(prefix, _)| is_under(path, prefix))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, resource)| resource)
    }
}

/// Whether `path` is `prefix` or below it, segment by segment.
fn is_under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[test]
fn every_path_of_the_spec_belongs_to_a_resource_whose_test_covers_it() {
    let spec = load_spec();
    let paths: Vec<String> = spec_operations(&spec)
        .into_iter()
        .map(|(path, _)| path)
        .collect();
    assert!(
        paths.len() >= 20,
        "the spec holds suspiciously few operations: {paths:?}"
    );

    // A path is the resource's with the longest prefix above it, segment by segment.
    for (path, resource) in [
        ("/v1/meetings/{id}", Some(Resource::Meetings)),
        ("/v1/meetings/{id}/history", Some(Resource::History)),
        ("/v1/meetings/{id}/statements", Some(Resource::Statements)),
        ("/docs/redoc-2.5.4.standalone.js", Some(Resource::System)),
        ("/v1/meetingsx", None),
    ] {
        assert_eq!(Resource::owning(path), resource, "{path}");
    }

    // Every path is a resource's; no prefix is named twice, so none is two resources'.
    let orphans: Vec<&String> = paths
        .iter()
        .filter(|path| Resource::owning(path).is_none())
        .collect();
    assert!(
        orphans.is_empty(),
        "paths of the spec no resource's contract test answers for: {orphans:?}"
    );
    let mut prefixes: Vec<&str> = Resource::ALL
        .iter()
        .flat_map(|resource| resource.prefixes().iter().copied())
        .collect();
    let named = prefixes.len();
    prefixes.sort_unstable();
    prefixes.dedup();
    assert_eq!(prefixes.len(), named, "a prefix is named twice");

    // Every prefix still takes in a path of the spec for its resource.
    for resource in Resource::ALL {
        for prefix in resource.prefixes() {
            assert!(
                paths
                    .iter()
                    .any(|path| is_under(path, prefix) && Resource::owning(path) == Some(resource)),
                "{resource:?}: no path of the spec is under {prefix}"
            );
        }
    }

    // Every resource has a test that asserts its paths were all exercised.
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/contract");
    let mut sources = String::new();
    for entry in std::fs::read_dir(&here).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("coverage.rs") {
            sources.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    for resource in Resource::ALL {
        let call = format!("c.assert_complete(Resource::{resource:?})");
        assert!(
            sources.contains(&call),
            "no contract test calls `{call}` in {}",
            here.display()
        );
    }
}
