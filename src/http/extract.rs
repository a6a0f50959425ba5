//! Extractors whose every rejection is a problem+json naming what was wrong.

use std::fmt;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode, header, request::Parts};
use serde::Deserializer;
use serde::de::{DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use uuid::Uuid;

use crate::domain::error::{ApiError, FieldError};
use crate::store::history::Actor;

/// A JSON request body, checked for content type, syntax, repeated keys, NUL characters
/// and shape.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        require_content_type(&req, &["application/json"])?;
        let value = json_body(req, state).await?;
        require_object(&value)?;
        deserialize(value).map(Json)
    }
}

/// An RFC 7396 JSON Merge Patch body (`application/merge-patch+json`; plain JSON is
/// accepted too, since curl users rarely set the precise type).
pub struct MergePatch(pub Value);

impl<S: Send + Sync> FromRequest<S> for MergePatch {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        require_content_type(&req, &["application/merge-patch+json", "application/json"])?;
        let value = json_body(req, state).await?;
        if !value.is_object() {
            return Err(ApiError::BadRequest(
                "a merge patch must be a JSON object".into(),
            ));
        }
        Ok(MergePatch(value))
    }
}

/// A merge patch to the resource named by the path's id: who sends it (`Actor`), the
/// id, the request's headers (for `If-Match`) and the patch, extracted in that order, as each
/// would be alone.
pub struct Patch(pub Actor, pub Uuid, pub HeaderMap, pub Value);

impl<S: Send + Sync> FromRequest<S> for Patch {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (mut parts, body) = req.into_parts();
        let Ok(actor) = Actor::from_request_parts(&mut parts, state).await;
        let Path(id) = Path::<Uuid>::from_request_parts(&mut parts, state).await?;
        let headers = parts.headers.clone();
        let MergePatch(patch) =
            MergePatch::from_request(Request::from_parts(parts, body), state).await?;
        Ok(Patch(actor, id, headers, patch))
    }
}

/// Refuses a body whose `Content-Type` is not one of `accepted`, with 415.
pub fn require_content_type(req: &Request, accepted: &[&str]) -> Result<(), ApiError> {
    let given = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match given {
        Some(media) if accepted.contains(&media.as_str()) => Ok(()),
        Some(media) => Err(ApiError::UnsupportedMediaType(format!(
            "expected a body of type {}, got `{media}`",
            accepted.join(" or ")
        ))),
        None => Err(ApiError::UnsupportedMediaType(format!(
            "expected a body of type {}; set the Content-Type header",
            accepted.join(" or ")
        ))),
    }
}

async fn json_body<S: Send + Sync>(req: Request, state: &S) -> Result<Value, ApiError> {
    let bytes = Bytes::from_request(req, state)
        .await
        .map_err(body_rejection)?;
    let value = parse_json(&bytes, "the body")?;
    check_shape(&value)?;
    Ok(value)
}

/// Parses JSON text (`what` names it in messages: "the body"), refusing with a 400 an
/// object that gives a key twice, named by its path (`participants[1].name`). serde_json
/// would keep the last silently, so the request would mean something other than
/// what its reader sees; every JSON body and import line is read here.
pub fn parse_json(bytes: &[u8], what: &str) -> Result<Value, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = Strict(&Place::Root)
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    value.map_err(|error| match error.classify() {
        // The only data error reading into a `Value` can raise: a repeated key.
        serde_json::error::Category::Data => ApiError::BadRequest(error.to_string()),
        _ => ApiError::BadRequest(format!("{what} is not valid JSON: {error}")),
    })
}

/// Where a value sits in a JSON document, built on the stack as it is read: only a
/// repeated key, which is refused, ever spells it out.
enum Place<'a> {
    Root,
    Key(&'a Place<'a>, &'a str),
    Index(&'a Place<'a>, usize),
}

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Root => Ok(()),
            Place::Key(Place::Root, key) => write!(f, "{key}"),
            Place::Key(parent, key) => write!(f, "{parent}.{key}"),
            Place::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// Reads the JSON value at a place, as `serde_json::Value` does, but refuses an
/// object that gives a key twice.
struct Strict<'a>(&'a Place<'a>);

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(Strict(&Place::Index(self.0, items.len())))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let place = Place::Key(self.0, &key);
            if fields.contains_key(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "the key `{place}` is given more than once"
                )));
            }
            let value = map.next_value_seed(Strict(&place))?;
            fields.insert(key, value);
        }
        Ok(Value::Object(fields))
    }
}

/// Maps a body-reading failure: over the size limit is a 413, anything else a 400.
pub fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(crate::MAX_BODY_BYTES)
    } else {
        ApiError::BadRequest(format!("the request body could not be read: {rejection}"))
    }
}

/// A document must be a JSON object: serde would read an array by position.
pub fn require_object(value: &Value) -> Result<(), ApiError> {
    if value.is_object() {
        Ok(())
    } else {
        Err(ApiError::field("", "the body must be a JSON object"))
    }
}

/// Checks what serde would let through: NUL characters, which Postgres text cannot
/// hold, and arrays standing in for objects, which serde would read by position.
pub fn check_shape(value: &Value) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    find_unstorable(value, &mut String::new(), &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Applies an RFC 7396 merge patch to the editable fields `current`; returns whether
/// anything changed. A field the resource does not have is refused even when the
/// patch sets it to `null`, which a plain merge would silently drop.
pub fn merge_patch(current: &mut Value, patch: &Value) -> Result<bool, ApiError> {
    let mut errors = Vec::new();
    find_unknown_fields(current, patch, &mut String::new(), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let before = current.clone();
    json_patch::merge(current, patch);
    Ok(*current != before)
}

fn find_unknown_fields(
    current: &Value,
    patch: &Value,
    path: &mut String,
    errors: &mut Vec<FieldError>,
) {
    let (Value::Object(known), Value::Object(changes)) = (current, patch) else {
        return;
    };
    for (key, change) in changes {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        match known.get(key) {
            None => errors.push(FieldError::new(
                path.clone(),
                format!("unknown field `{key}`"),
            )),
            Some(inner) => find_unknown_fields(inner, change, path, errors),
        }
        path.truncate(len);
    }
}

/// Walks a request body once for what it must not hold: U+0000, which Postgres text
/// cannot store, and arrays standing in for objects. Every object in Chancery's input
/// is named by its key or stands in a list of objects, and no list holds lists, so an
/// array in such a place is an object written by position, which serde would accept.
fn find_unstorable(value: &Value, path: &mut String, errors: &mut Vec<FieldError>) {
    const OBJECT_FIELDS: [&str; 2] = ["location", "source"];
    match value {
        Value::String(text) if text.contains('\0') => {
            errors.push(FieldError::new(
                path.clone(),
                "text must not contain NUL (U+0000) characters",
            ));
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                if item.is_array() {
                    errors.push(FieldError::new(
                        path.clone(),
                        "expected an object or a value, not a list",
                    ));
                } else {
                    find_unstorable(item, path, errors);
                }
                path.truncate(len);
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                if key.contains('\0') {
                    errors.push(FieldError::new(
                        path.clone(),
                        "keys must not contain NUL characters",
                    ));
                }
                if OBJECT_FIELDS.contains(&key.as_str()) && item.is_array() {
                    errors.push(FieldError::new(
                        path.clone(),
                        "expected an object, not a list",
                    ));
                } else {
                    find_unstorable(item, path, errors);
                }
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Deserializes a JSON value into a request type, naming the failing field by path.
pub fn deserialize<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        ApiError::Validation(vec![field_error(&path, message)])
    })
}

/// serde reports a missing field at its parent; name the field itself instead.
fn field_error(path: &str, message: String) -> FieldError {
    let path = if path == "." { "" } else { path };
    if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        let field = if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return FieldError::new(field, "is required");
    }
    // serde_json appends positions that mean nothing once the body is parsed.
    let message = match message.find(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    };
    FieldError::new(path, message)
}

/// Path parameters; a malformed id is a 400 naming the parameter.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(error)) => Err(ApiError::BadRequest(
                format!("invalid path parameter: {}", error.body_text()),
            )),
            Err(other) => Err(ApiError::BadRequest(other.body_text())),
        }
    }
}

/// Parses an endpoint's own query parameters `O` (`format`, `bom`, `group_by`), named
/// in `own`, apart from the rest, which are the filters `F`, so endpoints share a
/// filter type without sharing their extra keys. Each own parameter is given at most once.
pub fn split_query<O: DeserializeOwned, F: DeserializeOwned>(
    query: Option<&str>,
    own: &[&str],
) -> Result<(O, F), ApiError> {
    let query = query.unwrap_or_default();
    require_utf8(query)?;
    let mut mine = form_urlencoded::Serializer::new(String::new());
    let mut seen: Vec<&str> = Vec::new();
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match own.iter().find(|name| **name == key) {
            Some(name) if seen.contains(name) => {
                return Err(ApiError::BadRequest(format!(
                    "invalid query parameter `{name}`: give it once"
                )));
            }
            Some(name) => {
                seen.push(name);
                mine.append_pair(&key, &value);
            }
            None => {
                rest.append_pair(&key, &value);
            }
        }
    }
    Ok((parse_query(&mine.finish())?, parse_query(&rest.finish())?))
}

/// Refuses a query whose percent-decoded bytes are not UTF-8 (`%FF%FE`): decoding
/// would otherwise replace them silently, and a filter would look for something else.
fn require_utf8(query: &str) -> Result<(), ApiError> {
    match percent_encoding::percent_decode_str(query).decode_utf8() {
        Ok(_) => Ok(()),
        Err(_) => Err(ApiError::BadRequest(
            "invalid query: percent-encoded bytes that are not UTF-8".into(),
        )),
    }
}

/// Refuses a query parameter holding NUL (`%00`), which Postgres text cannot hold,
/// naming it, before any filter reaches SQL. Every query is parsed by `parse_query`,
/// so this is the one place.
fn require_no_nul(query: &str) -> Result<(), ApiError> {
    let Some((key, _)) = form_urlencoded::parse(query.as_bytes())
        .find(|(key, value)| key.contains('\0') || value.contains('\0'))
    else {
        return Ok(());
    };
    Err(ApiError::BadRequest(if key.contains('\0') {
        "invalid query: parameter names must not contain NUL (U+0000) characters".into()
    } else {
        format!("invalid query parameter `{key}`: must not contain NUL (U+0000) characters")
    }))
}

/// Parses a query string as the `Query` extractor does.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    require_utf8(query)?;
    require_no_nul(query)?;
    let deserializer = serde_html_form::Deserializer::from_bytes(query.as_bytes());
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        ApiError::BadRequest(if path == "." || path.is_empty() {
            format!("invalid query: {message}")
        } else {
            format!("invalid query parameter `{path}`: {message}")
        })
    })
}

/// Query parameters, with repeated keys (`country=CUB&country=RUS`) as lists and
/// unknown or malformed parameters refused by name.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or_default()).map(Query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(text: &str) -> String {
        match parse_json(text.as_bytes(), "the body") {
            Err(ApiError::BadRequest(message)) => message,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn json_is_read_as_serde_json_reads_it() {
        let text = r#"{"a": [1, -2, 2.5, "x", null, true, {"b": {}}], "c": 18446744073709551615}"#;
        let strict = parse_json(text.as_bytes(), "the body").unwrap();
        assert_eq!(strict, serde_json::from_str::<Value>(text).unwrap());
    }

    #[test]
    fn a_repeated_key_is_named_by_its_path() {
        assert!(refusal(r#"{"a": 1, "a": 2}"#).contains("the key `a` is given more than once"));
        assert!(refusal(r#"{"p": [{}, {"n": {"x": 1, "x": 1}}]}"#).contains("`p[1].n.x`"));
        assert!(refusal(r#"[{"k": 1, "k": 1}]"#).contains("`[0].k`"));
        assert!(refusal(r#"{"a": 1"#).starts_with("the body is not valid JSON"));
        assert!(refusal(r#"{"a": 1} {}"#).starts_with("the body is not valid JSON"));
    }
}
