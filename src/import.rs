//! Importing NDJSON meeting documents: one document a line, each in its own
//! transaction, so a bad line never loses the good ones.

use std::path::Path;

use serde::Serialize;
use sqlx::PgPool;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use uuid::Uuid;

use crate::error::ApiError;
use crate::meetings::document::{self, MeetingInput};

/// The outcome of one line.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum LineResult {
    Created { line: usize, id: Uuid },
    Failed { line: usize, error: String },
}

/// Totals of an import.
#[derive(Debug, Default, Serialize)]
pub struct Totals {
    pub lines: usize,
    pub created: usize,
    pub failed: usize,
}

/// Imports one document; the error says what was wrong with it.
pub async fn import_line(db: &PgPool, text: &str) -> Result<Uuid, ApiError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|error| ApiError::BadRequest(format!("not valid JSON: {error}")))?;
    let meeting: MeetingInput = crate::extract::deserialize(value)?;
    meeting.check()?;
    let id = Uuid::now_v7();
    let mut tx = db.begin().await?;
    document::insert(&mut tx, id, &meeting).await?;
    tx.commit().await?;
    Ok(id)
}

fn describe(error: &ApiError) -> String {
    match error {
        ApiError::Validation(errors) => errors
            .iter()
            .map(|e| {
                if e.field.is_empty() {
                    e.message.clone()
                } else {
                    format!("{}: {}", e.field, e.message)
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Imports every non-blank line of `reader`, calling `each` with every line's result.
pub async fn import<R: AsyncBufRead + Unpin>(
    db: &PgPool,
    reader: R,
    mut each: impl FnMut(&LineResult),
) -> anyhow::Result<Totals> {
    let mut totals = Totals::default();
    let mut lines = reader.lines();
    let mut number = 0;
    while let Some(text) = lines.next_line().await? {
        number += 1;
        if text.trim().is_empty() {
            continue;
        }
        totals.lines += 1;
        let result = match import_line(db, &text).await {
            Ok(id) => {
                totals.created += 1;
                LineResult::Created { line: number, id }
            }
            Err(error) => {
                totals.failed += 1;
                LineResult::Failed {
                    line: number,
                    error: describe(&error),
                }
            }
        };
        each(&result);
    }
    Ok(totals)
}

/// Imports a file, or standard input for `-`.
pub async fn import_file(
    db: &PgPool,
    path: &Path,
    each: impl FnMut(&LineResult),
) -> anyhow::Result<Totals> {
    if path == Path::new("-") {
        import(db, BufReader::new(tokio::io::stdin()), each).await
    } else {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        import(db, BufReader::new(file), each).await
    }
}
