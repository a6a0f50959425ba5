//! Entity tags for the single resources that hang off meetings, and for people: a
//! strong tag is a hash of the representation itself, so it changes exactly when what
//! `GET` answers changes. `If-None-Match` on `GET` answers 304; `If-Match` on `PATCH`
//! and `DELETE` answers 412 unless it names the current representation. (Meetings
//! have a version of their own and tag it instead.)

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::json::JsonText;

/// The tag of a representation: the first 128 bits of its SHA-256, in hex, quoted.
pub fn of(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
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

/// A representation with its `ETag`.
pub fn tagged(body: String) -> Response {
    ([(header::ETAG, header_value(&of(&body)))], JsonText(body)).into_response()
}

/// A representation for `GET`: with its `ETag`, or 304 when `If-None-Match` names it.
pub fn respond(headers: &HeaderMap, body: String) -> Response {
    let tag = of(&body);
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|given| names(given, &tag))
    {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, header_value(&tag))],
        )
            .into_response();
    }
    tagged(body)
}

/// The tables whose rows [`require_current`] can lock.
#[derive(Clone, Copy)]
pub enum Table {
    Participants,
    Statements,
    Agreements,
    People,
}

impl Table {
    /// What one row is called in messages.
    fn what(self) -> &'static str {
        match self {
            Table::Participants => "participant",
            Table::Statements => "statement",
            Table::Agreements => "agreement",
            Table::People => "person",
        }
    }

    fn lock_sql(self) -> &'static str {
        match self {
            Table::Participants => "SELECT 1 FROM participants WHERE id = $1 FOR NO KEY UPDATE",
            Table::Statements => "SELECT 1 FROM statements WHERE id = $1 FOR NO KEY UPDATE",
            Table::Agreements => "SELECT 1 FROM agreements WHERE id = $1 FOR NO KEY UPDATE",
            Table::People => "SELECT 1 FROM people WHERE id = $1 FOR NO KEY UPDATE",
        }
    }
}

/// Honours `If-Match` on a write: locks the row (`FOR NO KEY UPDATE`: nobody changes it
/// between the check and the write, while rows referring to it can still be written), then refuses with 412 unless the tag names what `current`
/// (the resource's `GET` representation, read after the lock) holds. Without
/// `If-Match` it does nothing.
pub async fn require_current<F>(
    conn: &mut PgConnection,
    headers: &HeaderMap,
    table: Table,
    id: Uuid,
    current: F,
) -> ApiResult<()>
where
    F: AsyncFnOnce(&mut PgConnection) -> ApiResult<String>,
{
    let Some(wanted) = headers.get(header::IF_MATCH) else {
        return Ok(());
    };
    sqlx::query(table.lock_sql())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let tag = of(&current(conn).await?);
    if names_strongly(wanted, &tag) {
        Ok(())
    } else {
        Err(ApiError::PreconditionFailed(format!(
            "the {} has changed: its current ETag is {tag}; fetch it again and retry",
            table.what()
        )))
    }
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
