//! Entity tags, one mechanism for every resource: `If-None-Match` on `GET` answers 304;
//! `If-Match` on `PATCH` and `DELETE` answers 412 unless it names the current tag. A
//! meeting's tag is its version, which every change to it or its items bumps (and the
//! count of changes to its participants' roles, which its document shows); the
//! tag of an item or a person is a hash of its representation, so it changes exactly
//! when what `GET` answers changes.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::error::{ApiError, ApiResult};
use crate::http::json::JsonText;
use crate::store::items::Table;
use crate::store::meetings::Stamp;

/// The tag of a versioned resource (a meeting): its version, quoted.
pub fn of_version(version: i32) -> String {
    format!("\"{version}\"")
}

/// The tag of a meeting: its version, and, once its participants' roles have changed,
/// how often (`"7-3"`), since the document shows the roles they held on its date.
pub fn of_meeting(stamp: Stamp) -> String {
    match stamp.roles {
        0 => of_version(stamp.version),
        roles => format!("\"{}-{roles}\"", stamp.version),
    }
}

/// The tag of a representation: the first 128 bits of its SHA-256, in hex, quoted.
pub fn of(body: &str) -> String {
    of_bytes(body.as_bytes())
}

/// The tag of a representation given as bytes.
pub fn of_bytes(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether an `If-None-Match` value names `current`: a list of tags, weak or strong
/// (RFC 9110's weak comparison), or `*`.
pub fn names(given: &HeaderValue, current: &str) -> bool {
    given
        .to_str()
        .unwrap_or_default()
        .split(',')
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == current)
}

/// Whether an `If-Match` value names `current`: RFC 9110's strong comparison, so a
/// weak tag (`W/"…"`) never matches; or `*`.
pub fn names_strongly(given: &HeaderValue, current: &str) -> bool {
    given
        .to_str()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == current)
}

fn header_value(tag: &str) -> HeaderValue {
    HeaderValue::from_str(tag).expect("a quoted hex digest is a valid header")
}

/// A representation with its `ETag`, the hash of `body`.
pub fn tagged(body: String) -> Response {
    let tag = of(&body);
    tagged_as(&tag, body)
}

/// A representation with the `ETag` `tag`.
pub fn tagged_as(tag: &str, body: String) -> Response {
    ([(header::ETAG, header_value(tag))], JsonText(body)).into_response()
}

/// A representation for `GET`, tagged with the hash of `body`: 304 when
/// `If-None-Match` names it.
pub fn respond(headers: &HeaderMap, body: String) -> Response {
    let tag = of(&body);
    respond_as(headers, &tag, body)
}

/// 304 with the `ETag` `tag`, when `If-None-Match` names it.
pub fn not_modified(headers: &HeaderMap, tag: &str) -> Option<Response> {
    headers
        .get(header::IF_NONE_MATCH)
        .filter(|given| names(given, tag))
        .map(|_| {
            (
                StatusCode::NOT_MODIFIED,
                [(header::ETAG, header_value(tag))],
            )
                .into_response()
        })
}

/// A representation for `GET` with the `ETag` `tag`, or 304 when `If-None-Match`
/// names it.
pub fn respond_as(headers: &HeaderMap, tag: &str, body: String) -> Response {
    not_modified(headers, tag).unwrap_or_else(|| tagged_as(tag, body))
}

/// Honours `If-Match` on a write: 412 unless it names `current`, the tag of the
/// `what` as it is now. Without `If-Match` it does nothing.
pub fn require_match(headers: &HeaderMap, current: &str, what: &str) -> ApiResult<()> {
    match headers.get(header::IF_MATCH) {
        Some(wanted) if !names_strongly(wanted, current) => {
            Err(ApiError::PreconditionFailed(format!(
                "the {what} has changed: its current ETag is {current}; fetch it again and retry"
            )))
        }
        _ => Ok(()),
    }
}

/// Honours `If-Match` on a write to row `id` of `table`: locks the row (`FOR NO KEY
/// UPDATE`: nobody changes it between the check and the write, while rows referring to
/// it can still be written), then refuses with 412 unless the tag names its
/// representation as `GET` answers it, read after the lock. Without `If-Match` it does
/// nothing.
pub async fn require_current(
    conn: &mut PgConnection,
    headers: &HeaderMap,
    table: Table,
    id: Uuid,
) -> ApiResult<()> {
    if !headers.contains_key(header::IF_MATCH) {
        return Ok(());
    }
    table.lock(conn, id).await?;
    let tag = of(&table.fetch(conn, id).await?);
    require_match(headers, &tag, table.what())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_strong(tag: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("\"0\", {tag}")).unwrap()
    }

    #[test]
    fn tags_name_exactly_their_representation() {
        let tag = of(r#"{"id":1}"#);
        assert_eq!(tag.len(), 34);
        assert_ne!(tag, of(r#"{"id":2}"#));
        assert!(names(&HeaderValue::from_str(&tag).unwrap(), &tag));
        let list = HeaderValue::from_str(&format!("\"0\", W/{tag}")).unwrap();
        assert!(names(&list, &tag));
        assert!(names(&HeaderValue::from_static("*"), &tag));
        assert!(!names(&HeaderValue::from_static("\"0\""), &tag));
        assert!(!names_strongly(
            &HeaderValue::from_str(&format!("W/{tag}")).unwrap(),
            &tag
        ));
        assert!(names_strongly(&list_strong(&tag), &tag));
    }
}
