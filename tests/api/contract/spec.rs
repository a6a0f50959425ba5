//! Keeps `openapi.yaml` honest without a live application: it is strict YAML, describes
//! exactly the routes the source registers (the drift test, both ways), and is
//! consistent with itself.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::support::{
    HTTP_METHODS, Validators, is_json_lines, load_spec, parameters, resolve, spec_operations,
    strict_yaml,
};

#[test]
fn the_strict_yaml_parse_refuses_duplicate_keys_and_passes_the_spec() {
    assert_eq!(
        strict_yaml("a: 1\nb: [x, {c: true}]\n").unwrap(),
        json!({"a": 1, "b": ["x", {"c": true}]})
    );
    for (yaml, expected) in [
        ("a: 1\na: 2\n", "duplicate entry with key \"a\""),
        (
            "paths:\n  /x:\n    post:\n      responses:\n        '200':\n          headers: {}\n          \
             content: {}\n          headers: {}\n",
            "duplicate entry with key \"headers\"",
        ),
        (
            "- {a: 1}\n- {b: 1, b: 1}\n",
            "duplicate entry with key \"b\"",
        ),
        (
            "r:\n  200: a\n  '200': b\n",
            "/r: the key `200` is given twice",
        ),
        (
            "r:\n  true: a\n  'true': b\n",
            "/r: the key `true` is given twice",
        ),
        ("r:\n  [1]: a\n", "/r: a mapping key that is not a scalar"),
        ("r: !thing 1\n", "/r: a tag (!thing)"),
    ] {
        let error = strict_yaml(yaml).expect_err(yaml);
        assert!(error.contains(expected), "{yaml:?}: {error}");
    }
    // The lenient parse this replaces keeps the last of two keys without a word.
    let lenient: Value = serde_norway::from_str("a: 1\na: 2\n").unwrap();
    assert_eq!(lenient, json!({"a": 2}));

    let spec = load_spec();
    assert_eq!(
        spec["paths"]["/v1/import"]["post"]["responses"]["200"]["headers"]
            .as_object()
            .map(|headers| headers.keys().cloned().collect::<Vec<_>>()),
        Some(vec![
            "Chancery-Consistency".into(),
            "Idempotent-Replayed".into()
        ])
    );
}

// ---------------------------------------------------------------------------------------
// Drift: the route table the service is built from against the operations in the spec.
// ---------------------------------------------------------------------------------------

/// Every `(path, METHOD)` the router serves, from the route table it is built from.
fn served_routes() -> BTreeSet<(String, String)> {
    chancery::api::table()
        .into_iter()
        .map(|(path, method)| (path.to_owned(), method.as_str().to_owned()))
        .collect()
}

#[test]
fn every_route_served_is_in_the_spec_and_nothing_else() {
    let in_code = served_routes();
    let in_spec = spec_operations(&load_spec());
    assert!(
        in_code.len() >= 20,
        "the route table holds suspiciously few routes: {in_code:?}"
    );
    let undocumented: Vec<_> = in_code.difference(&in_spec).collect();
    let phantom: Vec<_> = in_spec.difference(&in_code).collect();
    assert!(
        undocumented.is_empty() && phantom.is_empty(),
        "openapi.yaml has drifted from the router.\n  served but not described: {undocumented:?}\n  \
         described but not served: {phantom:?}"
    );
}

// ---------------------------------------------------------------------------------------
// The spec's own consistency.
// ---------------------------------------------------------------------------------------

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                refs.push(reference.clone());
            }
            map.values().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

#[test]
fn the_spec_is_self_consistent() {
    let spec = load_spec();
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(
        spec["info"]["description"]
            .as_str()
            .is_some_and(|d| d.len() > 200)
    );

    let mut refs = Vec::new();
    collect_refs(&spec, &mut refs);
    for reference in &refs {
        let pointer = reference.strip_prefix('#').expect("local reference");
        assert!(spec.pointer(pointer).is_some(), "dangling $ref {reference}");
    }

    let mut operation_ids = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let path_parameters: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        for method in HTTP_METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let id = operation["operationId"].as_str().unwrap_or_else(|| {
                panic!("{method} {path} has no operationId");
            });
            assert!(
                operation_ids.insert(id.to_owned()),
                "duplicate operationId {id}"
            );
            let declared: BTreeSet<String> = parameters(&spec, item, operation)
                .into_iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(
                declared, path_parameters,
                "path parameters of {method} {path}"
            );
            let responses = operation["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path} has no responses");
            let writes = method != "get";
            let security = operation.get("security").unwrap_or(&spec["security"]);
            if writes {
                assert_eq!(
                    security,
                    &json!([{"bearerAuth": []}]),
                    "{method} {path} must require a key"
                );
                for status in ["401", "403"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            }
        }
    }

    // A line-delimited body's schema, which describes one line, is a named component that
    // tools see (not an extension of the media type object, which they skip).
    let mut lines_media = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in HTTP_METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let bodies = operation
                .get("requestBody")
                .into_iter()
                .chain(operation["responses"].as_object().unwrap().values());
            for body in bodies {
                let body = resolve(&spec, body);
                let Some(content) = body.get("content").and_then(Value::as_object) else {
                    continue;
                };
                for (media, object) in content {
                    let extensions: Vec<&String> = object
                        .as_object()
                        .unwrap()
                        .keys()
                        .filter(|k| k.starts_with("x-"))
                        .collect();
                    assert!(
                        extensions.is_empty(),
                        "{method} {path} {media}: {extensions:?}"
                    );
                    if is_json_lines(media) {
                        lines_media += 1;
                        let reference = object["schema"]["$ref"].as_str().unwrap_or_default();
                        assert!(
                            reference.starts_with("#/components/schemas/"),
                            "{method} {path} {media}: the schema of a line is not a named component"
                        );
                    }
                }
            }
        }
    }
    assert!(
        lines_media >= 3,
        "the import and export line schemas were not found"
    );

    // Every schema compiles, with every reference resolved against the whole document.
    let mut validators = Validators::default();
    for name in spec["components"]["schemas"].as_object().unwrap().keys() {
        let schema = json!({"$ref": format!("#/components/schemas/{name}")});
        validators.get(&spec, &schema);
    }
}
