//! Full-text queries: websearch syntax (`"exact phrase"`, `or`, `-not`), case- and
//! accent-insensitive, matching plain words in any language and English word forms.

use sqlx::{Postgres, QueryBuilder};

use crate::domain::error::{ApiError, ApiResult};

/// A checked search query.
#[derive(Debug, Clone)]
pub struct Query(String);

impl Query {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(text: &str) -> ApiResult<Query> {
        let length = text.chars().count();
        let text = text.trim();
        if text.is_empty() {
            return Err(ApiError::BadRequest(
                "invalid query parameter `q`: must not be empty".into(),
            ));
        }
        if length > Self::MAX_CHARS {
            return Err(ApiError::BadRequest(format!(
                "invalid query parameter `q`: must be at most {} characters",
                Self::MAX_CHARS
            )));
        }
        if text.contains('\0') {
            return Err(ApiError::BadRequest(
                "invalid query parameter `q`: must not contain NUL characters".into(),
            ));
        }
        Ok(Query(text.to_owned()))
    }

    /// Pushes the tsquery expression, binding the text as a parameter.
    pub fn push_tsquery(&self, sql: &mut QueryBuilder<Postgres>) {
        sql.push("(websearch_to_tsquery('simple', fold(")
            .push_bind(self.0.clone());
        sql.push(")) || websearch_to_tsquery('english', fold(")
            .push_bind(self.0.clone());
        sql.push(")))");
    }
}
