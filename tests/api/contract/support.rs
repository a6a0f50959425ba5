//! The contract's machinery. The spec is read strictly (`load_spec`), and every schema in
//! it validates against the whole document (`Validators`). A `Contract` sends requests to
//! a live application and checks each answer against the spec: the status must be
//! documented, required headers present, and the body must validate against the
//! documented schema for its status and content type. Successful requests must
//! themselves satisfy the documented parameter and request body schemas, and the tests
//! check that the invalid ones they choose do not. It records every operation it
//! exercised, so that each resource's test can show it exercised all of its own.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use axum::http::Method;
use serde_json::{Value, json};

use super::coverage::Resource;
use crate::common::{TestApp, TestResponse, sse};

pub const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The spec, as JSON, parsed strictly.
pub fn load_spec() -> Value {
    let text = std::fs::read_to_string(manifest_dir().join("openapi.yaml"))
        .expect("openapi.yaml at the project root");
    strict_yaml(&text).unwrap_or_else(|error| panic!("openapi.yaml is not strict YAML: {error}"))
}

/// YAML as JSON, refusing what a lenient parser lets through: a mapping key given twice
/// (serde_norway keeps the last when it deserializes straight into JSON), keys that
/// differ in YAML but collide as JSON object keys (`200` and `'200'`), keys that are
/// not scalars, and tags. serde_norway's own `Value` refuses exact duplicates with the
/// key's place; the conversion refuses the rest with a JSON-pointer-like path.
pub fn strict_yaml(text: &str) -> Result<Value, String> {
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

/// Follows `$ref`s within the spec until a value without one.
pub fn resolve<'a>(spec: &'a Value, mut value: &'a Value) -> &'a Value {
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
pub fn spec_operations(spec: &Value) -> BTreeSet<(String, String)> {
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

/// The parameters that apply to an operation: the path item's, then the operation's.
pub fn parameters<'a>(spec: &'a Value, item: &'a Value, operation: &'a Value) -> Vec<&'a Value> {
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
pub struct Validators {
    compiled: HashMap<String, jsonschema::Validator>,
}

impl Validators {
    pub fn get(&mut self, spec: &Value, schema: &Value) -> &jsonschema::Validator {
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
    pub fn errors(&mut self, spec: &Value, schema: &Value, instance: &Value) -> Vec<String> {
        self.get(spec, schema)
            .iter_errors(instance)
            .map(|error| format!("at `{}`: {error}", error.instance_path()))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// The contract: live requests checked against the spec.
// ---------------------------------------------------------------------------------------

pub fn percent_encode(text: &str) -> String {
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
pub fn query(pairs: &[(&str, &str)]) -> String {
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
pub fn is_json_lines(media: &str) -> bool {
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

pub struct Contract<'a> {
    pub app: &'a TestApp,
    spec: &'a Value,
    validators: Validators,
    /// Statuses seen for each `(path template, METHOD)`.
    seen: BTreeMap<(String, String), BTreeSet<u16>>,
}

impl<'a> Contract<'a> {
    pub fn new(app: &'a TestApp, spec: &'a Value) -> Self {
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
    pub fn parameter_accepts(
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
        if media == "text/event-stream" {
            return self.event_errors(schema, text);
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

    /// The errors of each event of a Server-Sent Events body against `schema`, which
    /// describes one event as its fields parse (`id`, `event`, `data`, `retry`), as
    /// schemathesis reads it; a string field with a `contentSchema` is JSON checked
    /// against it too. Comments, and blocks with no data, are no event.
    fn event_errors(&mut self, schema: &Value, text: &str) -> Vec<String> {
        let mut errors = Vec::new();
        let resolved = resolve(self.spec, schema).clone();
        for (index, block) in text.split("\n\n").map(sse::block).enumerate() {
            let Some(data) = block.data else { continue };
            let mut event = serde_json::Map::new();
            event.insert("data".into(), json!(data));
            event.insert(
                "event".into(),
                json!(block.event.as_deref().unwrap_or("message")),
            );
            if let Some(id) = block.id {
                event.insert("id".into(), json!(id));
            }
            if let Some(retry) = block.retry {
                event.insert("retry".into(), json!(retry));
            }
            let event = Value::Object(event);
            let context = |e: String| format!("event {index}: {e}");
            errors.extend(
                self.validators
                    .errors(self.spec, schema, &event)
                    .into_iter()
                    .map(context),
            );
            if let Some(properties) = resolved["properties"].as_object() {
                for (name, property) in properties {
                    let (Some(content), Some(text)) =
                        (property.get("contentSchema"), event[name].as_str())
                    else {
                        continue;
                    };
                    match serde_json::from_str::<Value>(text) {
                        Ok(value) => errors.extend(
                            self.validators
                                .errors(self.spec, content, &value)
                                .into_iter()
                                .map(|e| context(format!("{name}: {e}"))),
                        ),
                        Err(error) => {
                            errors.push(context(format!("{name}: invalid JSON: {error}")))
                        }
                    }
                }
            }
        }
        errors
    }

    /// Whether a body satisfies the documented request schema.
    pub fn body_accepted(&mut self, method: Method, uri: &str, media: &str, body: &Value) -> bool {
        let template = self.template(uri.split('?').next().unwrap());
        let documented = self
            .request_media(&template, &method, media)
            .unwrap_or_else(|| panic!("{method} {template} documents no {media} body"));
        self.validators
            .errors(self.spec, &documented["schema"], body)
            .is_empty()
    }

    /// Whether one line of a line-delimited body satisfies the documented schema of a line.
    pub fn line_accepted(&mut self, method: Method, uri: &str, media: &str, line: &Value) -> bool {
        assert!(is_json_lines(media), "{media} is not line-delimited JSON");
        self.body_accepted(method, uri, media, line)
    }

    /// Sends a request and checks the answer against the spec.
    pub async fn send(
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

    pub async fn get(&mut self, uri: &str) -> TestResponse {
        self.send(Method::GET, uri, &[], Vec::new()).await
    }

    pub async fn post(&mut self, uri: &str, body: &Value) -> TestResponse {
        let auth = format!("Bearer {}", self.app.write_key);
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ];
        self.send(Method::POST, uri, &headers, body.to_string().into_bytes())
            .await
    }

    pub async fn patch(&mut self, uri: &str, body: &Value) -> TestResponse {
        let auth = format!("Bearer {}", self.app.write_key);
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/merge-patch+json"),
        ];
        self.send(Method::PATCH, uri, &headers, body.to_string().into_bytes())
            .await
    }

    pub async fn delete(&mut self, uri: &str) -> TestResponse {
        let auth = format!("Bearer {}", self.app.write_key);
        self.send(
            Method::DELETE,
            uri,
            &[("authorization", auth.as_str())],
            Vec::new(),
        )
        .await
    }

    pub fn check(
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

    /// Asserts every operation on the paths `resource` answers for was exercised (the
    /// coverage test shows that the resources' paths together are all the spec's), then
    /// lists the statuses seen.
    pub fn assert_complete(&self, resource: Resource) {
        let exercised: BTreeSet<(String, String)> = self.seen.keys().cloned().collect();
        let missing: Vec<_> = spec_operations(self.spec)
            .into_iter()
            .filter(|(path, _)| Resource::owning(path) == Some(resource))
            .filter(|operation| !exercised.contains(operation))
            .collect();
        assert!(
            missing.is_empty(),
            "{resource:?}: operations never exercised: {missing:?}"
        );
        for ((path, method), statuses) in &self.seen {
            eprintln!("{method:<6} {path:<34} {statuses:?}");
        }
    }
}

pub fn id_of(response: &TestResponse) -> String {
    response.json["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {}", response.text))
        .to_owned()
}

pub const UNKNOWN_ID: &str = "01930000-0000-7000-8000-000000000000";
