//! Importing NDJSON meeting documents: one document a line, each in its own
//! transaction, so a bad line never loses the good ones.

use std::path::Path;

use futures::StreamExt;
use serde::Serialize;
use sqlx::PgPool;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio_stream::wrappers::LinesStream;
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

/// How many documents are written at once.
const CONCURRENCY: usize = 8;

/// Imports every non-blank line of `reader`, calling `each` with every line's result
/// in line order.
pub async fn import<R: AsyncBufRead + Unpin>(
    db: &PgPool,
    reader: R,
    mut each: impl FnMut(&LineResult),
) -> anyhow::Result<Totals> {
    let lines = LinesStream::new(reader.lines())
        .enumerate()
        .map(|(index, text)| (index + 1, text))
        .filter(|(_, text)| {
            std::future::ready(text.as_ref().map_or(true, |t| !t.trim().is_empty()))
        });
    let mut results = lines
        .map(|(line, text)| async move {
            match text {
                Ok(text) => Ok(match import_line(db, &text).await {
                    Ok(id) => LineResult::Created { line, id },
                    Err(error) => LineResult::Failed {
                        line,
                        error: describe(&error),
                    },
                }),
                Err(error) => Err(anyhow::Error::from(error)),
            }
        })
        .buffered(CONCURRENCY);
    let mut totals = Totals::default();
    while let Some(result) = results.next().await {
        let result = result?;
        totals.lines += 1;
        match result {
            LineResult::Created { .. } => totals.created += 1,
            LineResult::Failed { .. } => totals.failed += 1,
        }
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
