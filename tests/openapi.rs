//! Keeps `openapi.yaml` honest. The drift test compares the routes the source registers
//! with the operations the spec describes, both ways. The contract test exercises every
//! operation against a live application and checks each answer against the spec: the
//! status must be documented, required headers present, and the body must validate
//! against the documented schema for its status and content type. Successful requests
//! must themselves satisfy the documented parameter and request body schemas, and the
//! invalid ones chosen here must not.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use axum::http::Method;
use chancery::Settings;
use common::{TestApp, TestResponse, meeting, seed_meeting};
use serde_json::{Value, json};

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The spec, as JSON, parsed strictly.
fn load_spec() -> Value {
    let text = std::fs::read_to_string(manifest_dir().join("openapi.yaml"))
        .expect("openapi.yaml at the project root");
    strict_yaml(&text).unwrap_or_else(|error| panic!("openapi.yaml is not strict YAML: {error}"))
}

/// YAML as JSON, refusing what a lenient parser lets through: a mapping key given twice
/// (serde_norway keeps the last when it deserializes straight into JSON), keys that
/// differ in YAML but collide as JSON object keys (`200` and `'200'`), keys that are
/// not scalars, and tags. serde_norway's own `Value` refuses exact duplicates with the
/// key's place; the conversion refuses the rest with a JSON-pointer-like path.
fn strict_yaml(text: &str) -> Result<Value, String> {
    let yaml: serde_norway::Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    yaml_to_json(&yaml, "")
}

fn yaml_to_json(yaml: &serde_norway::Value, path: &str) -> Result<Value, String> {
    use serde_norway::Value as Yaml;
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Number(_) | Yaml::String(_) => {
            serde_json::to_value(yaml).map_err(|e| format!("{path}: {e}"))?
        }
        Yaml::Sequence(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(index, item)| yaml_to_json(item, &format!("{path}/{index}")))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(mapping) => {
            let mut object = serde_json::Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Yaml::String(s) => s.clone(),
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    Yaml::Null => "null".to_owned(),
                    _ => return Err(format!("{path}: a mapping key that is not a scalar")),
                };
                let child = format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"));
                let value = yaml_to_json(value, &child)?;
                if object.insert(key.clone(), value).is_some() {
                    return Err(format!("{path}: the key `{key}` is given twice"));
                }
            }
            Value::Object(object)
        }
        Yaml::Tagged(tagged) => return Err(format!("{path}: a tag ({})", tagged.tag)),
    })
}

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

/// Follows `$ref`s within the spec until a value without one.
fn resolve<'a>(spec: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..16 {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            return value;
        };
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("only local references are supported: {reference}"));
        value = spec
            .pointer(pointer)
            .unwrap_or_else(|| panic!("unresolved reference {reference}"));
    }
    panic!("reference chain too long");
}

/// Every `(path, METHOD)` operation in the spec.
fn spec_operations(spec: &Value) -> BTreeSet<(String, String)> {
    let paths = spec["paths"].as_object().expect("spec has paths");
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        for method in HTTP_METHODS {
            if item.get(method).is_some() {
                operations.insert((path.clone(), method.to_uppercase()));
            }
        }
    }
    operations
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

/// The parameters that apply to an operation: the path item's, then the operation's.
fn parameters<'a>(spec: &'a Value, item: &'a Value, operation: &'a Value) -> Vec<&'a Value> {
    let mut all: Vec<&Value> = Vec::new();
    for list in [item.get("parameters"), operation.get("parameters")]
        .into_iter()
        .flatten()
    {
        for parameter in list.as_array().unwrap() {
            let parameter = resolve(spec, parameter);
            all.retain(|p| !(p["name"] == parameter["name"] && p["in"] == parameter["in"]));
            all.push(parameter);
        }
    }
    all
}

// ---------------------------------------------------------------------------------------
// Schema validation against the whole document.
// ---------------------------------------------------------------------------------------

/// Compiled validators, one per distinct schema. Each validates against the whole spec
/// document with the schema embedded under `$defs`, so `#/components/...` references
/// resolve against the spec itself.
#[derive(Default)]
struct Validators {
    compiled: HashMap<String, jsonschema::Validator>,
}

impl Validators {
    fn get(&mut self, spec: &Value, schema: &Value) -> &jsonschema::Validator {
        let key = schema.to_string();
        self.compiled.entry(key).or_insert_with(|| {
            let mut root = spec.clone();
            let object = root.as_object_mut().unwrap();
            object.insert(
                "$schema".into(),
                json!("https://json-schema.org/draft/2020-12/schema"),
            );
            object.insert("$defs".into(), json!({ "target": schema }));
            object.insert("$ref".into(), json!("#/$defs/target"));
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .build(&root)
                .unwrap_or_else(|error| panic!("schema {schema} does not compile: {error}"))
        })
    }

    /// Every reason `instance` fails `schema`; empty when it validates.
    fn errors(&mut self, spec: &Value, schema: &Value, instance: &Value) -> Vec<String> {
        self.get(spec, schema)
            .iter_errors(instance)
            .map(|error| format!("at `{}`: {error}", error.instance_path()))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// The contract: live requests checked against the spec.
// ---------------------------------------------------------------------------------------

fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let byte = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok());
                match byte {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `?a=1&b=2` from pairs, values percent-encoded.
fn query(pairs: &[(&str, &str)]) -> String {
    let encoded: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", percent_encode(value)))
        .collect();
    format!("?{}", encoded.join("&"))
}

/// The media type of a `Content-Type` value, without parameters.
fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_json(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json")
}

/// Line-delimited JSON, whose documented schema describes one line.
fn is_json_lines(media: &str) -> bool {
    matches!(media, "application/x-ndjson" | "application/jsonl")
}

/// A parameter's textual value as the JSON its schema describes.
fn typed_value(spec: &Value, schema: &Value, text: &str) -> Value {
    let schema = resolve(spec, schema);
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if types.contains(&"integer") || types.contains(&"number") {
        if let Ok(number) = text.parse::<i64>() {
            return json!(number);
        }
        if let Ok(number) = text.parse::<f64>() {
            return json!(number);
        }
    }
    if types.contains(&"boolean") && (text == "true" || text == "false") {
        return json!(text == "true");
    }
    json!(text)
}

struct Contract<'a> {
    app: &'a TestApp,
    spec: &'a Value,
    validators: Validators,
    /// Statuses seen for each `(path template, METHOD)`.
    seen: BTreeMap<(String, String), BTreeSet<u16>>,
}

impl<'a> Contract<'a> {
    fn new(app: &'a TestApp, spec: &'a Value) -> Self {
        Contract {
            app,
            spec,
            validators: Validators::default(),
            seen: BTreeMap::new(),
        }
    }

    /// The spec path whose template matches a concrete path, preferring literal segments.
    fn template(&self, path: &str) -> String {
        let segments: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, &String)> = None;
        for template in self.spec["paths"].as_object().unwrap().keys() {
            let pattern: Vec<&str> = template.split('/').collect();
            if pattern.len() != segments.len() {
                continue;
            }
            let mut literals = 0;
            let matches = pattern.iter().zip(&segments).all(|(p, s)| {
                if p.starts_with('{') && p.ends_with('}') {
                    !s.is_empty()
                } else {
                    literals += 1;
                    p == s
                }
            });
            if matches && best.is_none_or(|(count, _)| literals > count) {
                best = Some((literals, template));
            }
        }
        best.unwrap_or_else(|| panic!("no path in openapi.yaml matches {path}"))
            .1
            .clone()
    }

    fn operation(&self, template: &str, method: &Method) -> (&'a Value, &'a Value) {
        let item = &self.spec["paths"][template];
        let operation = item
            .get(method.as_str().to_ascii_lowercase())
            .unwrap_or_else(|| panic!("openapi.yaml has no {method} {template}"));
        (item, operation)
    }

    /// Whether a query parameter's value satisfies its documented schema.
    fn parameter_accepts(
        &mut self,
        template: &str,
        method: &Method,
        name: &str,
        text: &str,
    ) -> bool {
        let (item, operation) = self.operation(template, method);
        let parameter = parameters(self.spec, item, operation)
            .into_iter()
            .find(|p| p["in"] == "query" && p["name"] == name);
        let Some(parameter) = parameter else {
            return false;
        };
        let schema = &parameter["schema"];
        let resolved = resolve(self.spec, schema);
        let (schema, value) = if resolved["type"] == "array" {
            let items = &resolved["items"];
            (items, typed_value(self.spec, items, text))
        } else {
            (schema, typed_value(self.spec, schema, text))
        };
        self.validators.errors(self.spec, schema, &value).is_empty()
    }

    /// The request body's media type object for a content type, if documented.
    fn request_media(&self, template: &str, method: &Method, media: &str) -> Option<&'a Value> {
        let (_, operation) = self.operation(template, method);
        let body = resolve(self.spec, operation.get("requestBody")?);
        body["content"].get(media)
    }

    /// Every way `text`, sent as `media`, breaks the media type object `documented`: JSON
    /// against its schema; a line-delimited body (NDJSON, JSON Lines), with `lines`, line
    /// by line against its schema, which describes one line (as OAS 3.2's `itemSchema`
    /// would); any other text against its schema as a string.
    fn payload_errors(
        &mut self,
        documented: &Value,
        media: &str,
        text: &str,
        lines: bool,
    ) -> Vec<String> {
        let schema = &documented["schema"];
        if is_json(media) {
            return match serde_json::from_str::<Value>(text) {
                Ok(body) => self.validators.errors(self.spec, schema, &body),
                Err(error) => vec![format!("invalid JSON: {error}")],
            };
        }
        if !is_json_lines(media) {
            return self.validators.errors(self.spec, schema, &json!(text));
        }
        let mut errors = Vec::new();
        if !lines {
            return errors;
        }
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(line) {
                Ok(value) => errors.extend(
                    self.validators
                        .errors(self.spec, schema, &value)
                        .into_iter()
                        .map(|e| format!("line {}: {e}", index + 1)),
                ),
                Err(error) => errors.push(format!("line {}: invalid JSON: {error}", index + 1)),
            }
        }
        errors
    }

    /// Whether a body satisfies the documented request schema.
    fn body_accepted(&mut self, method: Method, uri: &str, media: &str, body: &Value) -> bool {
        let template = self.template(uri.split('?').next().unwrap());
        let documented = self
            .request_media(&template, &method, media)
            .unwrap_or_else(|| panic!("{method} {template} documents no {media} body"));
        self.validators
            .errors(self.spec, &documented["schema"], body)
            .is_empty()
    }

    /// Whether one line of a line-delimited body satisfies the documented schema of a line.
    fn line_accepted(&mut self, method: Method, uri: &str, media: &str, line: &Value) -> bool {
        assert!(is_json_lines(media), "{media} is not line-delimited JSON");
        self.body_accepted(method, uri, media, line)
    }

    /// Sends a request and checks the answer against the spec.
    async fn send(
        &mut self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> TestResponse {
        let response = self
            .app
            .send(method.clone(), uri, headers, body.clone())
            .await;
        self.check(&method, uri, headers, &body, &response);
        response
    }

    async fn get(&mut self, uri: &str) -> TestResponse {
        self.send(Method::GET, uri, &[], Vec::new()).await
    }

    async fn post(&mut self, uri: &str, body: &Value) -> TestResponse {
        let auth = format!("Bearer {}", self.app.write_key);
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ];
        self.send(Method::POST, uri, &headers, body.to_string().into_bytes())
            .await
    }

    async fn patch(&mut self, uri: &str, body: &Value) -> TestResponse {
        let auth = format!("Bearer {}", self.app.write_key);
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/merge-patch+json"),
        ];
        self.send(Method::PATCH, uri, &headers, body.to_string().into_bytes())
            .await
    }

    async fn delete(&mut self, uri: &str) -> TestResponse {
        let auth = format!("Bearer {}", self.app.write_key);
        self.send(
            Method::DELETE,
            uri,
            &[("authorization", auth.as_str())],
            Vec::new(),
        )
        .await
    }

    fn check(
        &mut self,
        method: &Method,
        uri: &str,
        request_headers: &[(&str, &str)],
        request_body: &[u8],
        response: &TestResponse,
    ) {
        let spec = self.spec;
        let (path, query_text) = uri.split_once('?').unwrap_or((uri, ""));
        let template = self.template(path);
        let (_, operation) = self.operation(&template, method);
        let status = response.status.as_u16();
        let excerpt: String = response.text.chars().take(600).collect();
        let context = format!("{method} {uri} → {status}\nbody: {excerpt}");
        self.seen
            .entry((template.clone(), method.as_str().to_owned()))
            .or_default()
            .insert(status);
        let success = (200..300).contains(&status);

        // A request that succeeded used only documented parameters, with valid values.
        if success {
            for pair in query_text.split('&').filter(|p| !p.is_empty()) {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let value = percent_decode(value);
                assert!(
                    self.parameter_accepts(&template, method, name, &value),
                    "query parameter `{name}={value}` is undocumented or breaks its schema in \
                     {context}"
                );
            }
            if !request_body.is_empty() {
                let media = request_headers
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
                    .map(|(_, value)| media_type(value))
                    .unwrap_or_default();
                let documented = self
                    .request_media(&template, method, &media)
                    .unwrap_or_else(|| panic!("request type `{media}` undocumented in {context}"));
                // An import answers 200 whatever its lines hold, so its lines are checked
                // by the scenario rather than here.
                let text = String::from_utf8_lossy(request_body);
                let errors = self.payload_errors(documented, &media, &text, false);
                assert!(
                    errors.is_empty(),
                    "the request body breaks the documented request schema:\n{}\nin {context}",
                    errors.join("\n")
                );
            }
        }

        // The status is documented, and so is the answer's shape.
        let responses = &operation["responses"];
        let documented = responses
            .get(status.to_string())
            .or_else(|| responses.get(format!("{}XX", status / 100)))
            .or_else(|| responses.get("default"))
            .unwrap_or_else(|| {
                let known: Vec<&String> = responses.as_object().unwrap().keys().collect();
                panic!("status {status} is not documented (documented: {known:?}) in {context}")
            });
        let documented = resolve(spec, documented);

        if let Some(headers) = documented.get("headers").and_then(Value::as_object) {
            for (name, header) in headers {
                let header = resolve(spec, header);
                let value = response.headers.get(name.as_str());
                if header["required"] == true {
                    assert!(value.is_some(), "header {name} missing in {context}");
                }
                if let Some(value) = value {
                    let value = json!(value.to_str().unwrap());
                    let errors = self.validators.errors(spec, &header["schema"], &value);
                    assert!(
                        errors.is_empty(),
                        "header {name}: {value} breaks its schema in {context}: {errors:?}"
                    );
                }
            }
        }

        let content = documented.get("content").and_then(Value::as_object);
        let Some(content) = content else {
            assert!(
                response.text.is_empty(),
                "an undocumented body in {context}"
            );
            return;
        };
        let given = response
            .headers
            .get("content-type")
            .map(|v| media_type(v.to_str().unwrap()))
            .unwrap_or_else(|| panic!("no content type in {context}"));
        let media = content.get(&given).unwrap_or_else(|| {
            let known: Vec<&String> = content.keys().collect();
            panic!("content type {given} is not documented (documented: {known:?}) in {context}")
        });
        let errors = self.payload_errors(media, &given, &response.text, true);
        assert!(
            errors.is_empty(),
            "the body breaks the documented schema:\n{}\nin {context}",
            errors.join("\n")
        );
    }

    /// Asserts every operation in the spec was exercised.
    fn assert_complete(&self) {
        let exercised: BTreeSet<(String, String)> = self.seen.keys().cloned().collect();
        let missing: Vec<_> = spec_operations(self.spec)
            .difference(&exercised)
            .cloned()
            .collect();
        assert!(
            missing.is_empty(),
            "operations never exercised: {missing:?}"
        );
    }
}

fn id_of(response: &TestResponse) -> String {
    response.json["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {}", response.text))
        .to_owned()
}

const UNKNOWN_ID: &str = "01930000-0000-7000-8000-000000000000";

#[tokio::test]
async fn every_operation_answers_as_documented() {
    let spec = load_spec();
    let app = TestApp::spawn().await;
    let mut c = Contract::new(&app, &spec);
    let write_auth = format!("Bearer {}", app.write_key);
    let read_auth = format!("Bearer {}", app.read_key);

    // --- System ---
    assert_eq!(c.get("/health").await.status, 200);
    assert_eq!(c.get("/ready").await.status, 200);
    let served = c.get("/openapi.yaml").await;
    assert_eq!(served.status, 200);
    let served = strict_yaml(&served.text).unwrap();
    assert_eq!(served, spec, "/openapi.yaml serves the file at the root");
    let docs = c.get("/docs").await;
    assert_eq!(docs.status, 200);
    assert!(
        !docs.text.contains("//"),
        "/docs loads nothing from another host: {}",
        docs.text
    );
    let renderer = c.get("/docs/redoc-2.5.4.standalone.js").await;
    assert_eq!(renderer.status, 200);
    assert!(
        docs.text
            .contains("src=\"/docs/redoc-2.5.4.standalone.js\"")
    );
    assert!(renderer.text.contains("Redoc"));
    assert_eq!(c.get("/metrics").await.status, 200);
    let malformed = c
        .send(
            Method::GET,
            "/health",
            &[("authorization", "Basic abc")],
            vec![],
        )
        .await;
    malformed.problem(400);
    let unknown_key = c
        .send(
            Method::GET,
            "/v1/meetings",
            &[("authorization", "Bearer chy_nothing_here")],
            vec![],
        )
        .await;
    unknown_key.problem(401);
    // Two `Authorization` headers are a 400 on every route, whichever of them is good.
    for uri in ["/health", "/v1/meetings"] {
        let doubled = c
            .send(
                Method::GET,
                uri,
                &[
                    ("authorization", write_auth.as_str()),
                    ("authorization", read_auth.as_str()),
                ],
                vec![],
            )
            .await;
        assert!(
            doubled.problem(400)["detail"]
                .as_str()
                .unwrap()
                .contains("one Authorization header"),
            "{}",
            doubled.text
        );
    }

    // --- Meetings: create ---
    let created = c.post("/v1/meetings", &seed_meeting()).await;
    created.ok(201);
    let meeting_id = id_of(&created);
    let meeting_uri = format!("/v1/meetings/{meeting_id}");

    // --- Idempotent POSTs: first answer, replay, and a key reused for another body ---
    let keyed = |key: &'static str| {
        [
            ("authorization", write_auth.clone()),
            ("content-type", "application/json".to_owned()),
            ("idempotency-key", key.to_owned()),
        ]
    };
    let statement = json!({"speaker_name": "A spokesperson", "text": "We welcome the visit."});
    let statement_body = statement.to_string().into_bytes();
    let headers = keyed("contract-1");
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let statements_uri = format!("{meeting_uri}/statements");
    let first = c
        .send(
            Method::POST,
            &statements_uri,
            &headers,
            statement_body.clone(),
        )
        .await;
    first.ok(201);
    let again = c
        .send(Method::POST, &statements_uri, &headers, statement_body)
        .await;
    again.ok(201);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.json, first.json);
    let other = json!({"speaker_name": "A spokesperson", "text": "Something else."});
    c.send(
        Method::POST,
        &statements_uri,
        &headers,
        other.to_string().into_bytes(),
    )
    .await
    .problem(422);
    c.delete(&format!("/v1/statements/{}", id_of(&first))).await;
    let doc = created.json.clone();
    let borisov_person = doc["participants"][1]["person"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let diaz_canel_person = doc["participants"][0]["person"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first_participant = doc["participants"][0]["id"].as_str().unwrap().to_owned();

    c.post("/v1/meetings", &seed_meeting()).await.problem(409);
    let mut second = meeting("Second meeting in Moscow", "2022-02-01", &["CUB", "RUS"]);
    second["start_time"] = json!("09:15");
    second["location"] = json!({"city": "Moscow", "country": "ru", "venue": null});
    second["topics"] = json!(["Energy"]);
    let second = c.post("/v1/meetings", &second).await;
    second.ok(201);
    let second_id = id_of(&second);
    c.post("/v1/meetings", &meeting("Third", "2020-05-05", &["USA"]))
        .await
        .ok(201);

    let no_key = c
        .send(
            Method::POST,
            "/v1/meetings",
            &[("content-type", "application/json")],
            seed_meeting().to_string().into_bytes(),
        )
        .await;
    no_key.problem(401);
    assert_eq!(no_key.headers["www-authenticate"], "Bearer");
    let read_only = c
        .send(
            Method::POST,
            "/v1/meetings",
            &[
                ("authorization", read_auth.as_str()),
                ("content-type", "application/json"),
            ],
            meeting("Read only", "2021-01-01", &[])
                .to_string()
                .into_bytes(),
        )
        .await;
    read_only.problem(403);

    for invalid in [
        json!({"title": "No date"}),
        json!({"title": "Typo", "date": "2021-01-01", "colour": "red"}),
        json!({"title": "Bad kind", "date": "2021-01-01", "kind": "tea_party"}),
        json!({"title": "Derived", "date": "2021-01-01", "countries": ["CUB"]}),
        json!({"title": "Nobody", "date": "2021-01-01", "participants": [{"role": "observer"}]}),
        json!({"title": "", "date": "2021-01-01"}),
        json!({"title": "Far north", "date": "2021-01-01", "location": {"lat": 91.0}}),
    ] {
        assert!(
            !c.body_accepted(Method::POST, "/v1/meetings", "application/json", &invalid),
            "the MeetingInput schema should reject {invalid}"
        );
        c.post("/v1/meetings", &invalid).await.problem(422);
    }
    // Rules the schema cannot express are still answered as documented.
    let backwards = json!({"title": "Backwards", "date": "2021-01-02", "end_date": "2021-01-01"});
    c.post("/v1/meetings", &backwards).await.problem(422);
    let bad_country = json!({"title": "Atlantis", "date": "2021-01-01", "host_country": "ATL"});
    c.post("/v1/meetings", &bad_country).await.problem(422);

    // Text rules, list caps and source URLs: the schema and the server refuse alike.
    let with = |field: &str, value: Value| {
        let mut doc = meeting("Text rules", "2021-01-01", &["CUB"]);
        doc[field] = value;
        doc
    };
    let named = |name: &str| json!([{"name": name, "country": "CUB"}]);
    let refused = [
        (
            with("title", json!("Talks\non two lines")),
            "title",
            "control",
        ),
        (with("title", json!("Talks\u{0007}")), "title", "control"),
        (with("title", json!("\u{200B}\u{00A0}")), "title", "visible"),
        (with("title", json!("\u{3164}")), "title", "visible"),
        (with("title", json!("Talks \u{202E}erom")), "title", "bidi"),
        (with("summary", json!("Bell\u{0007}")), "summary", "control"),
        (
            with("location", json!({"city": "Havana\t"})),
            "location.city",
            "control",
        ),
        (
            with("participants", named("\u{2066}Ramón\u{2069}")),
            "participants[0].name",
            "bidi",
        ),
        (
            with("participants", named("Ramón\u{009B}Díaz")),
            "participants[0].name",
            "control",
        ),
        (
            with("participants", named("\u{200B}\u{FEFF}")),
            "participants[0].name",
            "visible",
        ),
        (
            with("statements", json!([{"text": "We \u{202D}agree\u{202C}."}])),
            "statements[0].text",
            "bidi",
        ),
        (
            with(
                "agreements",
                json!([{"title": "Plan", "description": "\u{0001}"}]),
            ),
            "agreements[0].description",
            "control",
        ),
        (
            with("sources", json!([{"url": "javascript:alert(1)"}])),
            "sources[0].url",
            "http",
        ),
        (
            with("sources", json!([{"url": "https://example.org/\u{202E}"}])),
            "sources[0].url",
            "bidi",
        ),
        (
            with("sources", json!([{"url": "http://a<b"}])),
            "sources[0].url",
            "http",
        ),
        (
            with("sources", json!([{"url": "http://example.1"}])),
            "sources[0].url",
            "http",
        ),
        (
            with(
                "topics",
                json!((0..21).map(|i| format!("topic {i}")).collect::<Vec<_>>()),
            ),
            "topics",
            "at most 20",
        ),
        (
            with(
                "identifiers",
                json!(
                    (0..21)
                        .map(|i| json!({"scheme": "n", "value": i.to_string()}))
                        .collect::<Vec<_>>()
                ),
            ),
            "identifiers",
            "at most 20",
        ),
        (
            with(
                "agreements",
                json!([{"title": "Plan", "parties": vec!["CUB"; 301]}]),
            ),
            "agreements[0].parties",
            "at most 300",
        ),
    ];
    for (invalid, field, says) in refused {
        assert!(
            !c.body_accepted(Method::POST, "/v1/meetings", "application/json", &invalid),
            "the MeetingInput schema should reject {invalid}"
        );
        let answer = c.post("/v1/meetings", &invalid).await;
        let errors = answer.problem(422)["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == field && e["message"].as_str().unwrap().contains(says)),
            "expected `{field}` refused with `{says}`: {}",
            answer.text
        );
    }
    // A name mixing scripts in one word is the one text rule the schema cannot state.
    let look_alike = with("participants", named("R\u{0430}món Díaz"));
    assert!(c.body_accepted(
        Method::POST,
        "/v1/meetings",
        "application/json",
        &look_alike
    ));
    let answer = c.post("/v1/meetings", &look_alike).await;
    assert!(
        answer.problem(422)["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("mixes scripts"),
        "{}",
        answer.text
    );
    // What the rules allow: names are stored cleaned, free text keeps its lines, and
    // source URLs may carry user info, a port, a query and a fragment.
    let mut fine = meeting("Text that passes", "2021-01-02", &["CUB"]);
    fine["participants"] =
        json!([{"name": "Ram\u{200B}ón\u{00A0}\u{00A0}Di\u{0301}az", "country": "CUB"}]);
    fine["summary"] = json!("One.\n\n\tTwo.");
    fine["statements"] = json!([{"speaker_participant": 0, "text": "«نعم» \u{200F}שלום\r\nYes."}]);
    fine["sources"] = json!([
        {"url": "https://example.org/a?b=c#d"},
        {"url": "HTTP://user:pw@EXAMPLE.org:8080/x"},
        {"url": "http://192.0.2.1/"},
        {"url": "https://münchen.example/"},
    ]);
    assert!(c.body_accepted(Method::POST, "/v1/meetings", "application/json", &fine));
    let stored = c.post("/v1/meetings", &fine).await;
    assert_eq!(
        stored.ok(201)["participants"][0]["person"]["name"],
        "Ramón Díaz",
        "a name is stored cleaned"
    );
    c.delete(&format!("/v1/meetings/{}", id_of(&stored))).await;
    // A key given twice is a 400 naming it, on any JSON body.
    let twice = c
        .send(
            Method::POST,
            "/v1/meetings",
            &[
                ("authorization", write_auth.as_str()),
                ("content-type", "application/json"),
            ],
            br#"{"title": "Talks", "date": "2021-10-12", "title": "Other talks"}"#.to_vec(),
        )
        .await;
    assert!(
        twice.problem(400)["detail"]
            .as_str()
            .unwrap()
            .contains("`title` is given more than once"),
        "{}",
        twice.text
    );

    let post_headers = [
        ("authorization", write_auth.as_str()),
        ("content-type", "application/json"),
    ];
    c.send(
        Method::POST,
        "/v1/meetings",
        &post_headers,
        b"{not json".to_vec(),
    )
    .await
    .problem(400);
    c.send(
        Method::POST,
        "/v1/meetings",
        &[
            ("authorization", write_auth.as_str()),
            ("content-type", "text/plain"),
        ],
        b"hello".to_vec(),
    )
    .await
    .problem(415);
    let huge = format!(
        r#"{{"title": "Huge", "date": "2021-01-01", "summary": "{}"}}"#,
        "x".repeat(chancery::MAX_BODY_BYTES + 1)
    );
    c.send(
        Method::POST,
        "/v1/meetings",
        &post_headers,
        huge.into_bytes(),
    )
    .await
    .problem(413);

    // --- Meetings: read ---
    let fetched = c.get(&meeting_uri).await;
    fetched.ok(200);
    let etag = fetched.headers["etag"].to_str().unwrap().to_owned();
    let unchanged = c
        .send(
            Method::GET,
            &meeting_uri,
            &[("if-none-match", etag.as_str())],
            vec![],
        )
        .await;
    assert_eq!(unchanged.status, 304);
    // A write's consistency token, sent back on a read.
    let token = created.headers["chancery-consistency"].to_str().unwrap();
    c.send(
        Method::GET,
        &meeting_uri,
        &[("chancery-consistency", token)],
        vec![],
    )
    .await
    .ok(200);
    c.send(
        Method::GET,
        &meeting_uri,
        &[("chancery-consistency", "not-a-token")],
        vec![],
    )
    .await
    .problem(400);
    c.get(&format!("/v1/meetings/{UNKNOWN_ID}"))
        .await
        .problem(404);
    c.get("/v1/meetings/not-a-uuid").await.problem(400);

    // --- Meetings: list ---
    let all = c.get("/v1/meetings").await;
    assert_eq!(all.ok(200)["items"].as_array().unwrap().len(), 3);
    let filters = query(&[
        ("country", "cu"),
        ("country", "RUS"),
        ("person", "miguel diaz-canel"),
        ("topic", "Trade"),
        ("kind", "bilateral"),
        ("from", "2021-01-01"),
        ("to", "2021-12-31"),
        ("city", "havana"),
        ("q", "oil"),
        ("sort", "date"),
        ("limit", "10"),
        ("include_total", "true"),
    ]);
    let filtered = c.get(&format!("/v1/meetings{filters}")).await;
    assert_eq!(filtered.ok(200)["total"], 1, "{}", filtered.text);
    let by_id = c
        .get(&format!("/v1/meetings?person={borisov_person}"))
        .await;
    assert_eq!(by_id.ok(200)["items"].as_array().unwrap().len(), 1);
    let first_page = c.get("/v1/meetings?limit=1&sort=-date").await;
    let cursor = first_page.ok(200)["next_cursor"]
        .as_str()
        .expect("a next cursor")
        .to_owned();
    let next = c
        .get(&format!(
            "/v1/meetings?limit=1&sort=-date&cursor={}",
            percent_encode(&cursor)
        ))
        .await;
    next.ok(200);
    let foreign = c
        .get(&format!(
            "/v1/meetings?limit=1&sort=date&cursor={}",
            percent_encode(&cursor)
        ))
        .await;
    foreign.problem(400);
    let ranked = c.get("/v1/meetings?q=havana%20OR%20moscow&limit=1").await;
    let cursor = ranked.ok(200)["next_cursor"]
        .as_str()
        .expect("a next cursor for a ranked search")
        .to_owned();
    c.get(&format!(
        "/v1/meetings?q=havana%20OR%20moscow&limit=1&cursor={}",
        percent_encode(&cursor)
    ))
    .await
    .ok(200);
    c.get(&format!(
        "/v1/meetings?q=havana%20OR%20moscow&sort=-date&limit=1&cursor={}",
        percent_encode(&cursor)
    ))
    .await
    .problem(400);
    for (name, value) in [
        ("limit", "0"),
        ("limit", "501"),
        ("limit", "ten"),
        ("sort", "newest"),
        ("kind", "tea_party"),
        ("from", "2021-13-01"),
        ("include_total", "yes"),
        ("colour", "red"),
    ] {
        assert!(
            !c.parameter_accepts("/v1/meetings", &Method::GET, name, value),
            "the spec should not accept {name}={value} on GET /v1/meetings"
        );
        c.get(&format!("/v1/meetings{}", query(&[(name, value)])))
            .await
            .problem(400);
    }
    c.get("/v1/meetings?country=ZZZ").await.problem(400);
    c.get("/v1/meetings?q=%20").await.problem(400);
    // A NUL in any query parameter is a 400 naming it.
    for uri in ["/v1/meetings?city=Havana%00", "/v1/people?q=%00"] {
        let nul = c.get(uri).await;
        assert!(
            nul.problem(400)["detail"].as_str().unwrap().contains("NUL"),
            "{}",
            nul.text
        );
    }
    // A cursor is good only for the list that made it.
    let people_page = c.get("/v1/people?limit=1").await;
    let people_cursor = people_page.ok(200)["next_cursor"]
        .as_str()
        .expect("a next cursor for people")
        .to_owned();
    let foreign = c
        .get(&format!(
            "/v1/meetings?limit=1&cursor={}",
            percent_encode(&people_cursor)
        ))
        .await;
    assert!(
        foreign.problem(400)["detail"]
            .as_str()
            .unwrap()
            .contains("another list"),
        "{}",
        foreign.text
    );

    // --- Meetings: patch ---
    let patched = c
        .patch(
            &meeting_uri,
            &json!({"summary": "Updated.", "start_time": "14:30", "location": {"venue": "Palace of the Revolution"}}),
        )
        .await;
    assert_eq!(patched.ok(200)["start_time"], "14:30:00");
    let as_json = c
        .send(
            Method::PATCH,
            &meeting_uri,
            &post_headers,
            json!({"kind": null, "topics": ["energy", "trade"]})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(as_json.ok(200)["kind"], "other");
    let stale = c
        .send(
            Method::PATCH,
            &meeting_uri,
            &[
                ("authorization", write_auth.as_str()),
                ("content-type", "application/merge-patch+json"),
                ("if-match", "\"1\""),
            ],
            br#"{"title": "Stale"}"#.to_vec(),
        )
        .await;
    stale.problem(412);
    for invalid in [
        json!({"participants": []}),
        json!({"version": 7}),
        json!({"title": null}),
        json!({"colour": "red"}),
    ] {
        assert!(
            !c.body_accepted(
                Method::PATCH,
                &meeting_uri,
                "application/merge-patch+json",
                &invalid
            ),
            "the MeetingPatch schema should reject {invalid}"
        );
        c.patch(&meeting_uri, &invalid).await.problem(422);
    }
    c.patch(&meeting_uri, &json!(["not", "an", "object"]))
        .await
        .problem(400);
    c.patch(
        &format!("/v1/meetings/{UNKNOWN_ID}"),
        &json!({"title": "Ghost"}),
    )
    .await
    .problem(404);
    let mut clash = meeting("Clash", "2023-01-01", &[]);
    clash["identifiers"] = json!([{"scheme": "clash", "value": "1"}]);
    c.post("/v1/meetings", &clash).await.ok(201);
    c.patch(
        &format!("/v1/meetings/{second_id}"),
        &json!({"identifiers": [{"scheme": "clash", "value": "1"}]}),
    )
    .await
    .problem(409);

    // --- Participants ---
    let participants_uri = format!("{meeting_uri}/participants");
    let added = c
        .post(
            &participants_uri,
            &json!({"name": "Vladimir Putin", "country": "ru", "role": "President", "side": "guest"}),
        )
        .await;
    added.ok(201);
    let participant_uri = format!("/v1/participants/{}", id_of(&added));
    let body_only = c
        .post(
            &participants_uri,
            &json!({"organization": "Cuban Chamber of Commerce", "side": "host"}),
        )
        .await;
    body_only.ok(201);
    let by_person = c
        .post(
            &participants_uri,
            &json!({"person_id": borisov_person, "organization": "Rosatom"}),
        )
        .await;
    by_person.ok(201);
    for invalid in [
        json!({"role": "nobody"}),
        json!({"name": "Someone", "side": "king"}),
        json!({"name": "Someone", "rank": 1}),
    ] {
        assert!(
            !c.body_accepted(
                Method::POST,
                &participants_uri,
                "application/json",
                &invalid
            ),
            "the ParticipantInput schema should reject {invalid}"
        );
        c.post(&participants_uri, &invalid).await.problem(422);
    }
    c.post(
        &participants_uri,
        &json!({"person_id": UNKNOWN_ID, "role": "ghost"}),
    )
    .await
    .problem(422);
    c.post(
        &format!("/v1/meetings/{UNKNOWN_ID}/participants"),
        &json!({"name": "Nobody"}),
    )
    .await
    .problem(404);
    c.get(&participant_uri).await.ok(200);
    c.get(&format!("/v1/participants/{UNKNOWN_ID}"))
        .await
        .problem(404);
    let moved = c
        .patch(&participant_uri, &json!({"country": "US", "role": null}))
        .await;
    assert_eq!(moved.ok(200)["country"], "USA");
    let renamed = c
        .patch(&participant_uri, &json!({"name": "V. Putin"}))
        .await;
    assert_eq!(renamed.ok(200)["person"]["name"], "V. Putin");
    c.patch(&participant_uri, &json!({"side": "king"}))
        .await
        .problem(422);

    // --- Statements ---
    let statements_uri = format!("{meeting_uri}/statements");
    let said = c
        .post(
            &statements_uri,
            &json!({"participant_id": first_participant, "text": "Cuba and Russia stand together.", "language": "EN", "topics": ["Trade"], "source": {"url": "https://example.org/a", "published_on": "2021-10-13"}}),
        )
        .await;
    said.ok(201);
    let statement_uri = format!("/v1/statements/{}", id_of(&said));
    c.post(
        &statements_uri,
        &json!({"speaker_name": "An unnamed official", "text": "No comment.", "kind": "paraphrase"}),
    )
    .await
    .ok(201);
    c.post(&statements_uri, &json!({"text": "Anonymous."}))
        .await
        .ok(201);
    for invalid in [
        json!({"speaker_participant": 0, "text": "By index"}),
        json!({"speaker": "someone", "text": "Typo"}),
        json!({"text": "Wrong kind", "kind": "rumour"}),
        json!({"person_id": diaz_canel_person}),
    ] {
        assert!(
            !c.body_accepted(Method::POST, &statements_uri, "application/json", &invalid),
            "the StatementInput schema should reject {invalid}"
        );
        c.post(&statements_uri, &invalid).await.problem(422);
    }
    c.post(
        &statements_uri,
        &json!({"participant_id": UNKNOWN_ID, "text": "Whose?"}),
    )
    .await
    .problem(422);
    c.post(
        &format!("/v1/meetings/{UNKNOWN_ID}/statements"),
        &json!({"text": "Into the void"}),
    )
    .await
    .problem(404);
    c.get(&statement_uri).await.ok(200);
    c.get(&format!("/v1/statements/{UNKNOWN_ID}"))
        .await
        .problem(404);
    let paraphrased = c
        .patch(
            &statement_uri,
            &json!({"kind": "paraphrase", "source": null}),
        )
        .await;
    assert_eq!(paraphrased.ok(200)["kind"], "paraphrase");
    let reassigned = c
        .patch(&statement_uri, &json!({"person_id": borisov_person}))
        .await;
    assert_eq!(reassigned.ok(200)["speaker"]["name"], "Yuri Borisov");
    c.patch(&statement_uri, &json!({"text": null}))
        .await
        .problem(422);

    let searched = c
        .get(&format!(
            "/v1/statements{}",
            query(&[("q", "humanitarian aid"), ("limit", "5")])
        ))
        .await;
    let hit = &searched.ok(200)["items"][0];
    assert!(
        hit["headline"].is_string() && hit["rank"].is_number(),
        "{hit}"
    );
    let statement_filters = query(&[
        ("speaker", "yuri borisov"),
        ("country", "ru"),
        ("meeting_id", &meeting_id),
        ("topic", "trade"),
        ("language", "en"),
        ("from", "2021-10-01"),
        ("to", "2021-10-31"),
        ("limit", "1"),
    ]);
    let narrowed = c.get(&format!("/v1/statements{statement_filters}")).await;
    assert_eq!(narrowed.ok(200)["items"].as_array().unwrap().len(), 1);
    let paged = c.get("/v1/statements?limit=2").await;
    let cursor = paged.ok(200)["next_cursor"].as_str().unwrap().to_owned();
    c.get(&format!(
        "/v1/statements?limit=2&cursor={}",
        percent_encode(&cursor)
    ))
    .await
    .ok(200);
    let searched_page = c.get("/v1/statements?q=cuba&limit=1").await;
    let cursor = searched_page.ok(200)["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    c.get(&format!(
        "/v1/statements?q=cuba&limit=1&cursor={}",
        percent_encode(&cursor)
    ))
    .await
    .ok(200);
    for (name, value) in [
        ("meeting_id", "xyz"),
        ("language", "not a tag"),
        ("limit", "0"),
        ("speaker", ""),
        ("sort", "date"),
    ] {
        assert!(
            !c.parameter_accepts("/v1/statements", &Method::GET, name, value),
            "the spec should not accept {name}={value} on GET /v1/statements"
        );
        c.get(&format!("/v1/statements{}", query(&[(name, value)])))
            .await
            .problem(400);
    }

    // --- Agreements ---
    let agreements_uri = format!("{meeting_uri}/agreements");
    let agreed = c
        .post(
            &agreements_uri,
            &json!({"title": "Joint declaration on cooperation", "kind": "joint_declaration", "status": "signed", "parties": ["ru", "CU", "cub"], "topics": ["Energy"], "signed_on": "2021-10-12", "due_by": "2022-06-30"}),
        )
        .await;
    assert_eq!(agreed.ok(201)["parties"], json!(["CUB", "RUS"]));
    let agreement_uri = format!("/v1/agreements/{}", id_of(&agreed));
    for invalid in [
        json!({"kind": "plan"}),
        json!({"title": "Bad status", "status": "pending"}),
        json!({"title": "Typo", "partys": ["CUB"]}),
    ] {
        assert!(
            !c.body_accepted(Method::POST, &agreements_uri, "application/json", &invalid),
            "the AgreementInput schema should reject {invalid}"
        );
        c.post(&agreements_uri, &invalid).await.problem(422);
    }
    c.post(
        &format!("/v1/meetings/{UNKNOWN_ID}/agreements"),
        &json!({"title": "Nothing"}),
    )
    .await
    .problem(404);
    c.get(&agreement_uri).await.ok(200);
    c.get(&format!("/v1/agreements/{UNKNOWN_ID}"))
        .await
        .problem(404);
    let fulfilled = c
        .patch(
            &agreement_uri,
            &json!({"status": "fulfilled", "description": "Done."}),
        )
        .await;
    assert_eq!(fulfilled.ok(200)["status"], "fulfilled");
    for invalid in [json!({"id": UNKNOWN_ID}), json!({"meeting_id": second_id})] {
        assert!(
            !c.body_accepted(
                Method::PATCH,
                &agreement_uri,
                "application/merge-patch+json",
                &invalid
            ),
            "the AgreementPatch schema should reject {invalid}"
        );
        c.patch(&agreement_uri, &invalid).await.problem(422);
    }
    let agreement_filters = query(&[
        ("party", "cu"),
        ("party", "RUS"),
        ("status", "agreed"),
        ("status", "fulfilled"),
        ("kind", "plan"),
        ("kind", "joint_declaration"),
        ("topic", "energy"),
        ("due_before", "2030-01-01"),
        ("due_after", "2020-01-01"),
        ("from", "2021-01-01"),
        ("to", "2021-12-31"),
        ("meeting_id", &meeting_id),
        ("q", "cooperation"),
        ("limit", "5"),
    ]);
    let found = c.get(&format!("/v1/agreements{agreement_filters}")).await;
    assert_eq!(found.ok(200)["items"].as_array().unwrap().len(), 1);
    let paged = c.get("/v1/agreements?limit=2").await;
    let cursor = paged.ok(200)["next_cursor"].as_str().unwrap().to_owned();
    c.get(&format!(
        "/v1/agreements?limit=2&cursor={}",
        percent_encode(&cursor)
    ))
    .await
    .ok(200);
    for (name, value) in [
        ("status", "pending"),
        ("due_before", "soon"),
        ("party", "ZZZ"),
        ("colour", "red"),
    ] {
        if name != "party" {
            assert!(
                !c.parameter_accepts("/v1/agreements", &Method::GET, name, value),
                "the spec should not accept {name}={value} on GET /v1/agreements"
            );
        }
        c.get(&format!("/v1/agreements{}", query(&[(name, value)])))
            .await
            .problem(400);
    }

    // --- People ---
    let people = c.get("/v1/people").await;
    assert!(people.ok(200)["items"].as_array().unwrap().len() >= 4);
    let found = c
        .get(&format!(
            "/v1/people{}",
            query(&[("q", "díaz"), ("country", "cu"), ("limit", "5")])
        ))
        .await;
    assert_eq!(found.ok(200)["items"][0]["name"], "Miguel Díaz-Canel");
    let paged = c.get("/v1/people?limit=1").await;
    let cursor = paged.ok(200)["next_cursor"].as_str().unwrap().to_owned();
    c.get(&format!(
        "/v1/people?limit=1&cursor={}",
        percent_encode(&cursor)
    ))
    .await
    .ok(200);
    c.get("/v1/people?q=").await.problem(400);
    c.get("/v1/people?name=x").await.problem(400);
    let person_uri = format!("/v1/people/{diaz_canel_person}");
    c.get(&person_uri).await.ok(200);
    c.get(&format!("/v1/people/{UNKNOWN_ID}"))
        .await
        .problem(404);
    let aliased = c
        .patch(
            &person_uri,
            &json!({"aliases": ["Miguel Mario Díaz-Canel Bermúdez"], "identifiers": [{"scheme": "wikidata", "value": "Q5834"}]}),
        )
        .await;
    assert_eq!(aliased.ok(200)["identifiers"][0]["value"], "Q5834");
    c.patch(
        &format!("/v1/people/{borisov_person}"),
        &json!({"identifiers": [{"scheme": "wikidata", "value": "Q5834"}]}),
    )
    .await
    .problem(409);
    for invalid in [json!({"meeting_count": 3}), json!({"name": null})] {
        assert!(
            !c.body_accepted(
                Method::PATCH,
                &person_uri,
                "application/merge-patch+json",
                &invalid
            ),
            "the PersonPatch schema should reject {invalid}"
        );
        c.patch(&person_uri, &invalid).await.problem(422);
    }
    c.patch(
        &format!("/v1/people/{UNKNOWN_ID}"),
        &json!({"name": "Nobody"}),
    )
    .await
    .problem(404);

    // --- Countries ---
    let cuba = c.get("/v1/countries/cu").await;
    assert_eq!(cuba.ok(200)["code"], "CUB");
    let soviet = c.get("/v1/countries/SUN").await;
    assert_eq!(soviet.ok(200)["former"], true);
    c.get("/v1/countries/ZZZ").await.problem(404);
    let partners = c
        .get("/v1/countries/CUB/partners?from=2021-01-01&to=2022-12-31&limit=10")
        .await;
    assert_eq!(partners.ok(200)["items"][0]["country"], "RUS");
    c.get("/v1/countries/cub/partners").await.ok(200);
    c.get("/v1/countries/ZZZ/partners").await.problem(404);
    for (name, value) in [("limit", "0"), ("from", "yesterday"), ("cursor", "x")] {
        assert!(
            !c.parameter_accepts("/v1/countries/{code}/partners", &Method::GET, name, value),
            "the spec should not accept {name}={value} on partners"
        );
        c.get(&format!(
            "/v1/countries/CUB/partners{}",
            query(&[(name, value)])
        ))
        .await
        .problem(400);
    }

    // --- Stats ---
    for group_by in ["year", "month", "country", "kind", "topic"] {
        let counts = c
            .get(&format!("/v1/stats/meetings?group_by={group_by}"))
            .await;
        assert!(!counts.ok(200)["items"].as_array().unwrap().is_empty());
    }
    let meeting_filters = query(&[
        ("group_by", "country"),
        ("country", "cu"),
        ("person", "díaz"),
        ("topic", "energy"),
        ("kind", "other"),
        ("from", "2021-01-01"),
        ("to", "2021-12-31"),
        ("city", "Havana"),
        ("q", "trade"),
    ]);
    let counts = c.get(&format!("/v1/stats/meetings{meeting_filters}")).await;
    assert_eq!(
        counts.ok(200)["items"][0],
        json!({"key": "CUB", "count": 1})
    );
    for group_by in ["status", "kind", "party", "topic"] {
        let counts = c
            .get(&format!("/v1/stats/agreements?group_by={group_by}"))
            .await;
        assert!(!counts.ok(200)["items"].as_array().unwrap().is_empty());
    }
    let agreement_filters = query(&[
        ("group_by", "party"),
        ("party", "ru"),
        ("status", "agreed"),
        ("status", "fulfilled"),
        ("kind", "plan"),
        ("kind", "pledge"),
        ("topic", "tourism"),
        ("from", "2021-01-01"),
        ("to", "2021-12-31"),
        ("meeting_id", &meeting_id),
        ("q", "flights"),
    ]);
    let counts = c
        .get(&format!("/v1/stats/agreements{agreement_filters}"))
        .await;
    assert_eq!(
        counts.ok(200)["items"],
        json!([{"key": "CUB", "count": 1}, {"key": "RUS", "count": 1}])
    );
    let due = c
        .get("/v1/stats/agreements?group_by=status&due_before=2030-01-01&due_after=2021-01-01")
        .await;
    assert_eq!(due.ok(200)["items"].as_array().unwrap().len(), 2);
    for uri in [
        "/v1/stats/meetings",
        "/v1/stats/meetings?group_by=planet",
        "/v1/stats/meetings?group_by=year&group_by=month",
        "/v1/stats/meetings?group_by=year&colour=red",
        "/v1/stats/agreements?group_by=year",
        "/v1/stats/agreements?group_by=status&party=XX",
    ] {
        c.get(uri).await.problem(400);
    }
    for (path, group_by) in [
        ("/v1/stats/meetings", "planet"),
        ("/v1/stats/agreements", "year"),
    ] {
        assert!(
            !c.parameter_accepts(path, &Method::GET, "group_by", group_by),
            "the spec should not accept group_by={group_by} on {path}"
        );
    }

    // --- Import ---
    let ndjson_headers = [
        ("authorization", write_auth.as_str()),
        ("content-type", "application/x-ndjson"),
    ];
    let mut imported = meeting("Imported talks in Caracas", "2019-04-04", &["CUB", "VEN"]);
    imported["identifiers"] = json!([{"scheme": "import-test", "value": "1"}]);
    let no_date = json!({"title": "No date"});
    let lines = [
        imported.to_string(),
        String::new(),
        no_date.to_string(),
        "{oops".into(),
    ];
    let report = c
        .send(
            Method::POST,
            "/v1/import",
            &ndjson_headers,
            lines.join("\n").into_bytes(),
        )
        .await;
    let report = report.ok(200).clone();
    assert_eq!(
        report["totals"],
        json!({"lines": 3, "created": 1, "updated": 0, "unchanged": 0, "failed": 2})
    );
    assert_eq!(report["items"][0]["status"], "created");
    assert_eq!(report["items"][1]["line"], 3);
    assert!(report["items"][2]["error"].is_string());
    // The lines that failed are the ones the documented item schema refuses.
    assert!(c.line_accepted(
        Method::POST,
        "/v1/import",
        "application/x-ndjson",
        &imported
    ));
    assert!(!c.line_accepted(Method::POST, "/v1/import", "application/x-ndjson", &no_date));
    let again = c
        .send(
            Method::POST,
            "/v1/import?mode=upsert",
            &[
                ("authorization", write_auth.as_str()),
                ("content-type", "application/jsonl"),
            ],
            imported.to_string().into_bytes(),
        )
        .await;
    assert_eq!(again.ok(200)["items"][0]["status"], "unchanged");
    let duplicate = c
        .send(
            Method::POST,
            "/v1/import?mode=insert",
            &ndjson_headers,
            imported.to_string().into_bytes(),
        )
        .await;
    assert!(duplicate.ok(200)["items"][0]["error"].is_string());
    imported["summary"] = json!("Revised.");
    let revised = c
        .send(
            Method::POST,
            "/v1/import?mode=upsert",
            &ndjson_headers,
            imported.to_string().into_bytes(),
        )
        .await;
    assert_eq!(revised.ok(200)["items"][0]["status"], "updated");
    assert!(!c.parameter_accepts("/v1/import", &Method::POST, "mode", "merge"));
    c.send(
        Method::POST,
        "/v1/import?mode=merge",
        &ndjson_headers,
        imported.to_string().into_bytes(),
    )
    .await
    .problem(400);
    c.send(
        Method::POST,
        "/v1/import",
        &post_headers,
        imported.to_string().into_bytes(),
    )
    .await
    .problem(415);
    c.send(
        Method::POST,
        "/v1/import",
        &[("content-type", "application/x-ndjson")],
        imported.to_string().into_bytes(),
    )
    .await
    .problem(401);
    c.send(
        Method::POST,
        "/v1/import",
        &[
            ("authorization", read_auth.as_str()),
            ("content-type", "application/x-ndjson"),
        ],
        imported.to_string().into_bytes(),
    )
    .await
    .problem(403);

    // --- Export ---
    let exported = c.get("/v1/export").await;
    assert_eq!(exported.status, 200);
    let documents: Vec<Value> = exported
        .text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(documents.len() >= 5, "{}", exported.text);
    // What is exported goes back in: every line satisfies the documented input schema.
    for document in &documents {
        assert!(
            c.body_accepted(Method::POST, "/v1/meetings", "application/json", document),
            "an exported document the MeetingInput schema refuses: {document}"
        );
        assert!(
            c.line_accepted(Method::POST, "/v1/import", "application/jsonl", document),
            "an exported document the import's line schema refuses: {document}"
        );
    }
    let export_filters = query(&[
        ("format", "ndjson"),
        ("country", "cu"),
        ("person", "borisov"),
        ("topic", "energy"),
        ("kind", "other"),
        ("from", "2021-01-01"),
        ("to", "2021-12-31"),
        ("city", "havana"),
        ("q", "oil"),
        ("sort", "date"),
    ]);
    let filtered = c.get(&format!("/v1/export{export_filters}")).await;
    assert_eq!(filtered.status, 200);
    assert_eq!(filtered.text.lines().count(), 1);
    let csv = c.get("/v1/export?format=csv&country=CU&sort=-date").await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.text.starts_with(
            "id,date,end_date,title,kind,city,location_country,host_country,countries,topics,\
             participants,statements,agreements,identifiers,summary\r\n"
        ),
        "{}",
        csv.text
    );
    for (name, value) in [("format", "xml"), ("cursor", "abc"), ("colour", "red")] {
        if name != "cursor" {
            assert!(
                !c.parameter_accepts("/v1/export", &Method::GET, name, value),
                "the spec should not accept {name}={value} on GET /v1/export"
            );
        }
        c.get(&format!("/v1/export{}", query(&[(name, value)])))
            .await
            .problem(400);
    }

    // --- Deletes ---
    let unauthenticated = c
        .send(Method::DELETE, &statement_uri, &[], Vec::new())
        .await;
    unauthenticated.problem(401);
    let read_only = c
        .send(
            Method::DELETE,
            &agreement_uri,
            &[("authorization", read_auth.as_str())],
            Vec::new(),
        )
        .await;
    read_only.problem(403);
    for uri in [&statement_uri, &agreement_uri, &participant_uri] {
        assert_eq!(c.delete(uri).await.status, 204, "{uri}");
        c.delete(uri).await.problem(404);
    }
    c.delete("/v1/participants/not-a-uuid").await.problem(400);
    let stale = c
        .send(
            Method::DELETE,
            &meeting_uri,
            &[
                ("authorization", write_auth.as_str()),
                ("if-match", "\"1\""),
            ],
            Vec::new(),
        )
        .await;
    stale.problem(412);
    assert_eq!(c.delete(&meeting_uri).await.status, 204);
    c.delete(&meeting_uri).await.problem(404);

    // --- History, which outlives the meeting ---
    let history = c.get(&format!("{meeting_uri}/history?limit=3")).await;
    history.ok(200);
    let cursor = history.json["next_cursor"].as_str().unwrap().to_owned();
    c.get(&format!(
        "{meeting_uri}/history{}",
        query(&[("limit", "3"), ("cursor", &cursor)])
    ))
    .await
    .ok(200);
    c.get(&format!("/v1/meetings/{UNKNOWN_ID}/history"))
        .await
        .problem(404);
    c.get(&format!("{meeting_uri}/history?cursor=nonsense"))
        .await
        .problem(400);
    c.get("/v1/meetings/not-a-uuid/history").await.problem(400);

    c.assert_complete();
    for ((path, method), statuses) in &c.seen {
        eprintln!("{method:<6} {path:<34} {statuses:?}");
    }
}

#[tokio::test]
async fn reads_need_a_key_when_the_server_says_so() {
    let spec = load_spec();
    let app = TestApp::spawn_with(Settings {
        require_read_key: true,
        ..Settings::default()
    })
    .await;
    let mut c = Contract::new(&app, &spec);
    let denied = c.get("/v1/meetings").await;
    denied.problem(401);
    let auth = format!("Bearer {}", app.read_key);
    let allowed = c
        .send(
            Method::GET,
            "/v1/people",
            &[("authorization", auth.as_str())],
            Vec::new(),
        )
        .await;
    allowed.ok(200);
    assert_eq!(c.get("/health").await.status, 200, "liveness stays open");
}

/// Collects a response the router gave to a request sent past the `Contract`, for checking.
async fn collected(response: axum::response::Response) -> TestResponse {
    use http_body_util::BodyExt;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    TestResponse {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
        json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

#[tokio::test]
async fn imports_and_expensive_reads_past_their_limits_answer_as_documented() {
    use tower::ServiceExt;

    let spec = load_spec();
    let mut settings = Settings::default();
    settings.imports.max_lines = 2;
    settings.imports.concurrent = 1;
    settings.imports.idle_timeout = std::time::Duration::from_secs(1);
    settings.max_expensive_per_client = 1;
    settings.max_expensive_requests = 1;
    let app = TestApp::spawn_with(settings).await;
    let mut c = Contract::new(&app, &spec);
    let auth = format!("Bearer {}", app.write_key);
    let ndjson = [
        ("authorization", auth.as_str()),
        ("content-type", "application/x-ndjson"),
    ];
    let line = |title: &str| meeting(title, "2020-01-01", &["FRA"]).to_string();

    // Past the cap on lines: the lines before it are imported, and `stopped` says where.
    let report = c
        .send(
            Method::POST,
            "/v1/import",
            &ndjson,
            [line("First"), String::new(), line("Second"), line("Third")]
                .join("\n")
                .into_bytes(),
        )
        .await;
    let report = report.ok(200);
    assert_eq!(report["totals"]["created"], 2, "{report}");
    assert_eq!(report["items"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(report["stopped"]["line"], 4, "{report}");
    assert!(
        report["stopped"]["reason"]
            .as_str()
            .unwrap()
            .contains("at most 2 lines"),
        "{report}"
    );

    // A body that goes idle ends its import, and while it runs another import is a 503.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    sender
        .send(Ok(format!("{}\n", line("Idle")).into_bytes()))
        .await
        .unwrap();
    let body = axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(receiver));
    let request = axum::http::Request::post("/v1/import")
        .header("authorization", &auth)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .unwrap();
    let router = app.router.clone();
    let running = tokio::spawn(async move { router.oneshot(request).await.unwrap() });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let busy = c
        .send(
            Method::POST,
            "/v1/import",
            &ndjson,
            line("Busy").into_bytes(),
        )
        .await;
    assert!(
        busy.problem(503)["detail"]
            .as_str()
            .unwrap()
            .contains("imports are running"),
        "{}",
        busy.text
    );
    assert!(busy.headers.contains_key("retry-after"));
    let idle = collected(running.await.unwrap()).await;
    c.check(
        &Method::POST,
        "/v1/import",
        &ndjson,
        line("Idle").as_bytes(),
        &idle,
    );
    drop(sender);
    let idle = idle.ok(200);
    assert_eq!(idle["totals"]["created"], 1, "{idle}");
    assert_eq!(idle["stopped"]["line"], 2, "{idle}");
    assert!(
        idle["stopped"]["reason"]
            .as_str()
            .unwrap()
            .contains("sent nothing"),
        "{idle}"
    );

    // Expensive reads: one at a time per client and on the instance here. An export
    // holds its place until its body is dropped.
    let export = app
        .router
        .clone()
        .oneshot(
            axum::http::Request::get("/v1/export")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    let per_client = c.get("/v1/meetings?q=talks").await;
    assert!(
        per_client.problem(429)["detail"]
            .as_str()
            .unwrap()
            .contains("already has 1 searches"),
        "{}",
        per_client.text
    );
    let read_auth = format!("Bearer {}", app.read_key);
    let instance = c
        .send(
            Method::GET,
            "/v1/meetings?include_total=true",
            &[("authorization", read_auth.as_str())],
            vec![],
        )
        .await;
    instance.problem(503);
    assert!(instance.headers.contains_key("retry-after"));
    drop(export);
    let total = c.get("/v1/meetings?include_total=true").await;
    assert_eq!(total.ok(200)["total"], 3, "{}", total.text);
}
