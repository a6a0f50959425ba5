//! The export: every meeting the filters select, streamed as documents or CSV rows; or
//! every person with their roles.

use futures::StreamExt;
use futures::stream::BoxStream;
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::domain::error::ApiResult;
use crate::store::filters::{MeetingFilters, Sort};
use crate::store::representation;

/// The CSV columns: one row per meeting, lists joined with "; " inside a cell.
pub const CSV_COLUMNS: &str =
    "id, date, end_date, title, kind, city, location_country, host_country, \
    array_to_string(countries, '; '), array_to_string(topics, '; '),
    (SELECT string_agg(coalesce(pe.name, p.organization) || coalesce(' (' || p.role || ')', '')
                       || coalesce(' [' || p.country || ']', ''), '; ' ORDER BY p.position, p.id)
       FROM participants p LEFT JOIN people pe ON pe.id = p.person_id WHERE p.meeting_id = m.id),
    (SELECT count(*) FROM statements s WHERE s.meeting_id = m.id)::text,
    (SELECT count(*) FROM agreements a WHERE a.meeting_id = m.id)::text,
    (SELECT string_agg(i.scheme || ':' || i.value, '; ' ORDER BY i.position)
       FROM meeting_identifiers i WHERE i.meeting_id = m.id),
    summary";

/// One CSV row, in the order of [`CSV_COLUMNS`].
pub type CsvRow = (
    uuid::Uuid,
    chrono::NaiveDate,
    Option<chrono::NaiveDate>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
);

/// The query selecting `columns` of each meeting the filters select, in their order.
fn select(columns: &[&'static str], filters: &MeetingFilters) -> ApiResult<QueryBuilder<Postgres>> {
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new("SELECT ");
    for part in columns {
        sql.push(*part);
    }
    sql.push(" FROM meetings m WHERE true");
    filters.push_conditions(&mut sql)?;
    sql.push(match filters.sort.unwrap_or_default() {
        Sort::Newest => " ORDER BY m.date DESC, m.id DESC",
        Sort::Oldest => " ORDER BY m.date, m.id",
    });
    Ok(sql)
}

/// Each meeting the filters select, as the document clients can `POST` or import.
pub fn documents(
    db: PgPool,
    filters: &MeetingFilters,
) -> ApiResult<BoxStream<'static, Result<String, sqlx::Error>>> {
    let sql = select(&[representation::EXPORT, "::text"], filters)?;
    Ok(stream::<(String,)>(db, sql)
        .map(|row| row.map(|(json,)| json))
        .boxed())
}

/// Each meeting the filters select as its PLOVER records: one text per meeting, one
/// record per line.
pub fn plover(
    db: PgPool,
    filters: &MeetingFilters,
) -> ApiResult<BoxStream<'static, Result<String, sqlx::Error>>> {
    let sql = select(&[representation::PLOVER_RECORDS], filters)?;
    Ok(stream::<(String,)>(db, sql)
        .map(|row| row.map(|(lines,)| lines))
        .boxed())
}

/// Every person with their roles, as the line the people import takes, by name.
pub fn people(db: PgPool) -> BoxStream<'static, Result<String, sqlx::Error>> {
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new("SELECT ");
    sql.push(representation::PERSON_RECORD)
        .push("::text FROM people pe ORDER BY fold(pe.name), pe.id");
    stream::<(String,)>(db, sql)
        .map(|row| row.map(|(json,)| json))
        .boxed()
}

/// Each meeting the filters select, as a CSV row.
pub fn rows(
    db: PgPool,
    filters: &MeetingFilters,
) -> ApiResult<BoxStream<'static, Result<CsvRow, sqlx::Error>>> {
    Ok(stream(db, select(&[CSV_COLUMNS], filters)?))
}

/// The rows of `sql`, read as they come.
fn stream<T>(
    db: PgPool,
    mut sql: QueryBuilder<Postgres>,
) -> BoxStream<'static, Result<T, sqlx::Error>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin + 'static,
{
    async_stream::stream! {
        let mut rows = sql.build_query_as::<T>().fetch(&db);
        while let Some(row) = rows.next().await {
            yield row;
        }
    }
    .boxed()
}
