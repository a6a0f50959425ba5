//! Opaque keyset cursors and page sizes shared by every list.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// A page size: 1 to 500, 50 when not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Limit(u16);

impl Limit {
    pub const MAX: u16 = 500;

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

/// The position after the last item of a page, bound to the filters that made it:
/// a cursor carried over to other filters would skip or repeat items, so it is refused.
#[derive(Serialize, Deserialize)]
struct Envelope<K> {
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

/// Encodes the position after `key` for the filter set `filters`.
pub fn encode<K: Serialize, F: Serialize>(key: &K, filters: &F) -> String {
    let envelope = Envelope {
        f: fingerprint(filters),
        k: key,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&envelope).unwrap_or_default())
}

/// Decodes a cursor made by `encode` for the same filter set.
pub fn decode<K: DeserializeOwned, F: Serialize>(cursor: &str, filters: &F) -> Result<K, ApiError> {
    let invalid = || {
        ApiError::BadRequest("invalid `cursor`: pass back a `next_cursor` exactly as given".into())
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let envelope: Envelope<K> = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if envelope.f != fingerprint(filters) {
        return Err(ApiError::BadRequest(
            "invalid `cursor`: it was made for different filters; start again without a cursor"
                .into(),
        ));
    }
    Ok(envelope.k)
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
    fn cursors_round_trip_and_bind_to_their_filters() {
        let cursor = encode(&("2021-10-12", 7), &["CUB"]);
        let key: (String, i32) = decode(&cursor, &["CUB"]).unwrap();
        assert_eq!(key, ("2021-10-12".to_owned(), 7));
        assert!(decode::<(String, i32), _>(&cursor, &["RUS"]).is_err());
        assert!(decode::<(String, i32), _>("garbage!", &["CUB"]).is_err());
    }
}
