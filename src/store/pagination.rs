//! Opaque keyset cursors and page sizes shared by every list.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::error::ApiError;

/// A page size: 1 to 500, 50 when not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Limit(u16);

impl Limit {
    pub const MAX: u16 = 500;

    /// A page of `n`, within 1 and [`Limit::MAX`].
    pub fn new(n: u16) -> Limit {
        Limit(n.clamp(1, Self::MAX))
    }

    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

impl Default for Limit {
    fn default() -> Self {
        Limit(50)
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.parse::<u16>() {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Limit(n)),
            _ => Err(serde::de::Error::custom(format!(
                "`{text}` is not a page size: use a whole number from 1 to {}",
                Self::MAX
            ))),
        }
    }
}

/// The filters of a paged list, and the list's name. A cursor carries the name, so
/// one made by a list is refused by any other: the keys of two lists can share a shape
/// (an agreement's and a statement's are both a date, a position and an id), and a
/// cursor carried over would page through the wrong rows.
pub trait Listed: Serialize {
    /// The list's name, distinct for every list.
    const LIST: &'static str;
}

/// The position after the last item of a page, bound to the list and the filters that
/// made it: a cursor carried over to other filters would skip or repeat items, so it
/// is refused.
#[derive(Serialize, Deserialize)]
struct Envelope<K> {
    /// The list's name.
    l: String,
    /// Fingerprint of the filters.
    f: String,
    /// The sort key of the last item served.
    k: K,
}

/// A fingerprint of a filter set, stable across requests.
pub fn fingerprint<F: Serialize>(filters: &F) -> String {
    let canonical = serde_json::to_vec(filters).unwrap_or_default();
    let digest = Sha256::digest(&canonical);
    digest[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Encodes the position after `key` in the list of `filters`.
pub fn encode<K: Serialize, F: Listed>(key: &K, filters: &F) -> String {
    let envelope = Envelope {
        l: F::LIST.to_owned(),
        f: fingerprint(filters),
        k: key,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&envelope).unwrap_or_default())
}

/// Decodes a cursor made by `encode` for the same list and filter set. Anything else,
/// forged or garbled, is a 400 in our words: nothing of it reaches SQL unless it
/// could have been made by `encode`.
pub fn decode<K: DeserializeOwned, F: Listed>(cursor: &str, filters: &F) -> Result<K, ApiError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim_end_matches('='))
        .map_err(|_| invalid_cursor())?;
    let envelope: Envelope<serde_json::Value> =
        serde_json::from_slice(&bytes).map_err(|_| invalid_cursor())?;
    if envelope.l != F::LIST {
        return Err(refused(
            "this cursor belongs to another list; start again without a cursor",
        ));
    }
    if envelope.f != fingerprint(filters) {
        return Err(refused(
            "it was made for different filters; start again without a cursor",
        ));
    }
    if !could_be_stored(&envelope.k) {
        return Err(invalid_cursor());
    }
    serde_json::from_value(envelope.k).map_err(|_| invalid_cursor())
}

/// The answer to a cursor that `encode` did not make, forged or garbled, or whose key
/// does not fit the query it came back with: the one wording of it, for every list.
pub fn invalid_cursor() -> ApiError {
    refused("pass back a `next_cursor` exactly as given")
}

/// The 400 for a refused cursor, saying why.
fn refused(reason: &str) -> ApiError {
    ApiError::BadRequest(format!("invalid `cursor`: {reason}"))
}

/// Whether every value in a cursor's key is one a stored row could have: no text with
/// NUL, which Postgres text cannot hold, and no date the API would not store
/// (`vocabulary::is_storable_date`), past which Postgres may fail.
fn could_be_stored(key: &serde_json::Value) -> bool {
    use serde_json::Value;
    match key {
        Value::String(text) => {
            !text.contains('\0')
                && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .ok()
                    .is_none_or(crate::domain::vocabulary::is_storable_date)
        }
        Value::Array(items) => items.iter().all(could_be_stored),
        Value::Object(fields) => fields.values().all(could_be_stored),
        Value::Null | Value::Bool(_) | Value::Number(_) => true,
    }
}

/// Splits one extra fetched row off a page: its presence means there is a next page.
pub fn split_page<T>(mut rows: Vec<T>, limit: Limit) -> (Vec<T>, bool) {
    let more = rows.len() > limit.0 as usize;
    rows.truncate(limit.0 as usize);
    (rows, more)
}

/// Writes `{"items":[...],"next_cursor":...}` from JSON texts already built by Postgres.
pub fn page_json(items: &[String], next_cursor: Option<String>, total: Option<i64>) -> String {
    let mut body =
        String::with_capacity(items.iter().map(|item| item.len() + 1).sum::<usize>() + 64);
    body.push_str("{\"items\":[");
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            body.push(',');
        }
        body.push_str(item);
    }
    body.push_str("],\"next_cursor\":");
    body.push_str(&serde_json::to_string(&next_cursor).unwrap_or_else(|_| "null".into()));
    if let Some(total) = total {
        body.push_str(",\"total\":");
        body.push_str(&total.to_string());
    }
    body.push('}');
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bind_to_their_list_and_filters() {
        let meeting = crate::store::history::Subject::Meeting(uuid::Uuid::now_v7());
        let cursor = encode(&("2021-10-12", 7), &meeting);
        let key: (String, i32) = decode(&cursor, &meeting).unwrap();
        assert_eq!(key, ("2021-10-12".to_owned(), 7));
        assert!(
            decode::<(String, i32), _>(
                &cursor,
                &crate::store::history::Subject::Person(uuid::Uuid::now_v7()),
            )
            .is_err()
        );
        let garbled = decode::<(String, i32), _>("garbage!", &meeting).err();
        assert_eq!(
            garbled.map(|error| error.to_string()),
            Some(invalid_cursor().to_string())
        );
        #[derive(serde::Serialize)]
        struct Other;
        impl Listed for Other {
            const LIST: &'static str = "other";
        }
        let error = decode::<(String, i32), _>(&cursor, &Other).err();
        assert!(format!("{error:?}").contains("another list"), "{error:?}");
    }

    #[test]
    fn cursors_holding_what_no_row_holds_are_refused() {
        let meeting = crate::store::history::Subject::Meeting(uuid::Uuid::now_v7());
        for key in [
            serde_json::json!(["Ana\u{0}", 1]),
            serde_json::json!(["-100000-01-01", 1]),
            serde_json::json!(["+10000-01-01", 1]),
        ] {
            let cursor = encode(&key, &meeting);
            assert!(
                decode::<(String, i32), _>(&cursor, &meeting).is_err(),
                "{key}"
            );
        }
        let fine = encode(&("0001-01-01", 1), &meeting);
        assert!(decode::<(String, i32), _>(&fine, &meeting).is_ok());
    }
}
