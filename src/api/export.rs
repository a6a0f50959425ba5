//! Streaming every matching meeting out, as NDJSON documents or as CSV rows; or every
//! person with their roles, as NDJSON the people import takes.

use crate::http::routes::Routes;
use crate::http::routes::get;
use axum::body::{Body, Bytes};
use axum::extract::RawQuery;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use crate::AppState;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::vocabulary::Collection;
use crate::http::extract::split_query;
use crate::http::replica::ReadPool;
use crate::store::export;
use crate::store::filters::MeetingFilters;

pub fn routes() -> Routes<AppState> {
    Routes::new().route("/v1/export", get(export))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum Format {
    #[default]
    Ndjson,
    Csv,
    /// PLOVER event records (Draft 2.0), one per line: what event-data pipelines read.
    Plover,
}

/// The export's own parameters, beside the meetings-list filters.
#[derive(serde::Deserialize)]
struct Options {
    /// Meetings, or people with their roles.
    #[serde(default, rename = "type")]
    collection: Collection,
    #[serde(default)]
    format: Format,
    /// Starts a CSV with a UTF-8 byte order mark, without which Excel reads UTF-8 as
    /// its local code page and garbles "Díaz-Canel".
    #[serde(default)]
    bom: bool,
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

const CSV_HEADER: [&str; 15] = [
    "id",
    "date",
    "end_date",
    "title",
    "kind",
    "city",
    "location_country",
    "host_country",
    "countries",
    "topics",
    "participants",
    "statements",
    "agreements",
    "identifiers",
    "summary",
];

/// A cell a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab or carriage
/// return first) is prefixed with `'`, as OWASP recommends against CSV injection, so
/// `=HYPERLINK(...)` shows as text instead of running.
fn neutralised(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

fn csv_line(fields: &[&str]) -> Bytes {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = writer.write_record(fields.iter().map(|cell| neutralised(cell).into_owned()));
    Bytes::from(writer.into_inner().unwrap_or_default())
}

async fn export(ReadPool(db): ReadPool, RawQuery(query): RawQuery) -> ApiResult<Response> {
    let (
        Options {
            collection,
            format,
            bom,
        },
        filters,
    ): (_, MeetingFilters) = split_query(query.as_deref(), &["type", "format", "bom"])?;
    if collection == Collection::People {
        return people(db, format, &filters);
    }
    if bom && format != Format::Csv {
        return Err(ApiError::BadRequest(
            "invalid query parameter `bom`: a byte order mark applies to `format=csv` only".into(),
        ));
    }
    if filters.cursor.is_some() {
        return Err(ApiError::BadRequest(
            "`cursor` does not apply to an export, which has no pages".into(),
        ));
    }
    let rows = match format {
        Format::Ndjson => export::documents(db, &filters)?
            .map(|row| row.map(|json| Bytes::from(json + "\n")))
            .boxed(),
        Format::Plover => export::plover(db, &filters)?
            .map(|row| row.map(|lines| Bytes::from(lines + "\n")))
            .boxed(),
        Format::Csv => export::rows(db, &filters)?
            .map(|row| {
                row.map(|r| {
                    let (date, end_date) = (
                        r.1.to_string(),
                        r.2.map(|d| d.to_string()).unwrap_or_default(),
                    );
                    let id = r.0.to_string();
                    csv_line(&[
                        &id,
                        &date,
                        &end_date,
                        &r.3,
                        &r.4,
                        r.5.as_deref().unwrap_or(""),
                        r.6.as_deref().unwrap_or(""),
                        r.7.as_deref().unwrap_or(""),
                        &r.8,
                        &r.9,
                        r.10.as_deref().unwrap_or(""),
                        &r.11,
                        &r.12,
                        r.13.as_deref().unwrap_or(""),
                        r.14.as_deref().unwrap_or(""),
                    ])
                })
            })
            .boxed(),
    };
    let body = async_stream::stream! {
        if bom {
            yield Ok::<_, sqlx::Error>(Bytes::from_static(UTF8_BOM));
        }
        if format == Format::Csv {
            yield Ok::<_, sqlx::Error>(csv_line(&CSV_HEADER));
        }
        let mut rows = rows;
        while let Some(chunk) = rows.next().await {
            let failed = chunk.is_err();
            yield chunk;
            if failed {
                break;
            }
        }
    };
    let content_type = match format {
        Format::Ndjson | Format::Plover => "application/x-ndjson",
        Format::Csv => "text/csv; charset=utf-8",
    };
    let disposition = match format {
        Format::Ndjson => "attachment; filename=\"meetings.ndjson\"",
        Format::Csv => "attachment; filename=\"meetings.csv\"",
        Format::Plover => "attachment; filename=\"meetings.plover.ndjson\"",
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// `GET /v1/export?type=people`: every person as the line the people import takes.
fn people(db: sqlx::PgPool, format: Format, filters: &MeetingFilters) -> ApiResult<Response> {
    if format != Format::Ndjson {
        return Err(ApiError::BadRequest(
            "invalid query parameter `format`: people are exported as `ndjson` only".into(),
        ));
    }
    let filtered = serde_json::to_value(filters).map_err(anyhow::Error::from)?;
    if filtered.as_object().is_some_and(|f| !f.is_empty()) || filters.cursor.is_some() {
        return Err(ApiError::BadRequest(
            "the meetings' filters do not apply to `type=people`, which exports every person"
                .into(),
        ));
    }
    let lines = export::people(db).map(|row| row.map(|json| Bytes::from(json + "\n")));
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"people.ndjson\"",
            ),
        ],
        Body::from_stream(lines),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::neutralised;

    #[test]
    fn every_formula_lead_is_prefixed_and_nothing_else_is() {
        for lead in ["=", "+", "-", "@", "\t", "\r"] {
            assert_eq!(neutralised(&format!("{lead}1+1")), format!("'{lead}1+1"));
        }
        for plain in ["", "Havana", "1+1", " =1", "'=1", "2021-10-12"] {
            assert_eq!(neutralised(plain), plain);
        }
    }
}
