//! What the database refused, as the client's mistake it stands for.

use crate::domain::error::ApiError;

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        use sqlx::Error;
        let mapped = match &error {
            // No connection could be had in time, or the one in use broke: the server
            // is down, restarting or unreachable.
            Error::PoolTimedOut | Error::PoolClosed | Error::Io(_) | Error::WorkerCrashed => {
                Some(Self::Unavailable)
            }
            Error::Database(db) => from_database_error(db.code().as_deref(), db.constraint()),
            _ => None,
        };
        match mapped {
            Some(Self::Unavailable) => {
                // The client hears only that the database is unavailable; the log says why.
                tracing::warn!(%error, "database unavailable");
                Self::Unavailable
            }
            Some(mapped) => mapped,
            None => Self::Internal(error.into()),
        }
    }
}

/// Maps what the database refused to the client's mistake it stands for.
fn from_database_error(code: Option<&str>, constraint: Option<&str>) -> Option<ApiError> {
    let mapped = match (code?, constraint) {
        ("23505", Some("meeting_identifier_key")) => {
            ApiError::Conflict("a meeting with this identifier already exists".into())
        }
        ("23505", Some("person_identifier_key")) => {
            ApiError::Conflict("a person with this identifier already exists".into())
        }
        ("23505", Some("person_one_wikidata_id")) => {
            ApiError::Conflict("this person already has another Wikidata id".into())
        }
        ("23505", _) => ApiError::Conflict("this would duplicate an existing record".into()),
        ("23503", _) => ApiError::Conflict(
            "this record is referenced by others, or references one that does not exist".into(),
        ),
        ("23514", Some(name)) => {
            ApiError::field(constraint_field(name), format!("breaks the rule `{name}`"))
        }
        // Our words only: PostgreSQL's messages name its internals, not the request.
        ("23514" | "23502", None) => {
            ApiError::field("", "a value breaks a rule of the stored data")
        }
        ("22021" | "22P05", _) => ApiError::field(
            "",
            "text must be valid UTF-8 without NUL characters (U+0000)",
        ),
        ("22001" | "54000", _) => ApiError::field(
            "",
            "a value is too large to store or index; shorten the longest texts or lists",
        ),
        ("22007" | "22008", _) => ApiError::field("", "a date or time is out of range"),
        // statement_timeout: the statement ran past the time limit and was cancelled.
        ("57014", _) => ApiError::TimedOut,
        // Serialisation failures and deadlocks: the client may retry.
        ("40001" | "40P01", _) => {
            ApiError::Conflict("a concurrent write conflicted; retry the request".into())
        }
        // The server is shutting down, starting, refusing connections or has lost
        // ours: admin_shutdown, crash_shutdown, cannot_connect_now,
        // too_many_connections and every connection exception (class 08).
        ("57P01" | "57P02" | "57P03" | "53300", _) => ApiError::Unavailable,
        (code, _) if code.starts_with("08") => ApiError::Unavailable,
        _ => return None,
    };
    Some(mapped)
}

/// The request field a named check constraint guards, e.g. `meeting_dates_ordered` → `end_date`.
fn constraint_field(constraint: &str) -> &'static str {
    match constraint {
        "meeting_dates_ordered" => "end_date",
        "meeting_title_length" | "agreement_title_length" => "title",
        "meeting_summary_length" => "summary",
        "meeting_lat_range" => "location.lat",
        "meeting_lon_range" => "location.lon",
        "participant_is_someone" => "participant",
        "statement_text_length" => "text",
        "person_name_length" => "name",
        _ => "",
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        match error.downcast::<sqlx::Error>() {
            Ok(database) => Self::from(database),
            Err(other) => Self::Internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_going_away_is_unavailable_not_internal() {
        for code in [
            "57P01", "57P02", "57P03", "53300", "08000", "08003", "08006",
        ] {
            let mapped = from_database_error(Some(code), None);
            assert!(
                matches!(mapped, Some(ApiError::Unavailable)),
                "{code}: {mapped:?}"
            );
        }
        assert!(from_database_error(Some("42601"), None).is_none());
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(matches!(
            ApiError::from(sqlx::Error::Io(refused)),
            ApiError::Unavailable
        ));
        assert!(matches!(
            ApiError::from(sqlx::Error::PoolTimedOut),
            ApiError::Unavailable
        ));
    }
}
