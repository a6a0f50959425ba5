//! Meetings: whole documents written in one call, read back as one query, updated,
//! deleted and listed.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::agreement::AgreementInput;
use crate::domain::error::ApiResult;
use crate::domain::meeting::MeetingInput;
use crate::domain::vocabulary::{Identifier, MeetingKind, Source, Topic};
use crate::store::agreements;
use crate::store::filters::MeetingFilters;
use crate::store::items::{Author, Batch};
use crate::store::pagination;
use crate::store::participants::{self, NewParticipant};
use crate::store::representation;
use crate::store::statements::{self, NewStatement};

/// A checked document to write as meeting `id`.
pub struct NewMeeting<'a> {
    pub id: Uuid,
    pub input: &'a MeetingInput,
    /// The hash of the document as imported, when it came from an import.
    pub hash: Option<Vec<u8>>,
    /// Kept when a document replaces an earlier version of itself.
    pub created_at: Option<DateTime<Utc>>,
    pub version: i32,
    /// Who its creation is recorded as made by; none records no change (imports
    /// record theirs themselves).
    pub created_by: Option<Author<'a>>,
}

impl<'a> NewMeeting<'a> {
    pub fn new(id: Uuid, input: &'a MeetingInput) -> Self {
        NewMeeting {
            id,
            input,
            hash: None,
            created_at: None,
            version: 1,
            created_by: None,
        }
    }
}

/// Writes a checked document as meeting `id`, and records its creation by `author`,
/// all in the caller's transaction.
pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    meeting: &MeetingInput,
    author: Author<'_>,
) -> ApiResult<()> {
    let new = NewMeeting {
        created_by: Some(author),
        ..NewMeeting::new(id, meeting)
    };
    insert_many(conn, &[new]).await
}

/// Writes checked documents in the caller's transaction, in one call of `write_items`
/// (plus a round trip for each kind of reference a document gives by id, when it does),
/// and records the creation of each that names who by.
pub async fn insert_many(conn: &mut PgConnection, meetings: &[NewMeeting<'_>]) -> ApiResult<()> {
    #[derive(Serialize)]
    struct Row<'a> {
        id: Uuid,
        title: &'a str,
        summary: Option<&'a str>,
        kind: &'static str,
        date: NaiveDate,
        end_date: Option<NaiveDate>,
        start_time: Option<NaiveTime>,
        city: Option<&'a str>,
        location_country: Option<&'static str>,
        venue: Option<&'a str>,
        lat: Option<f64>,
        lon: Option<f64>,
        host_country: Option<&'static str>,
        countries: Vec<&'static str>,
        topics: Vec<&'a str>,
        hash: Option<String>,
        created_at: Option<DateTime<Utc>>,
        version: i32,
    }
    let mut batch = Batch::default();
    for new in meetings {
        let m = new.input;
        let location = m.location.as_ref();
        Batch::stage(
            &mut batch.meetings,
            Row {
                id: new.id,
                title: m.title.trim(),
                summary: m.summary.as_deref(),
                kind: m.kind.unwrap_or(MeetingKind::Other).as_str(),
                date: m.date,
                end_date: m.end_date,
                start_time: m.start_time,
                city: location.and_then(|l| l.city.as_deref()),
                location_country: location.and_then(|l| l.country).map(|c| c.as_str()),
                venue: location.and_then(|l| l.venue.as_deref()),
                lat: location.and_then(|l| l.lat),
                lon: location.and_then(|l| l.lon),
                host_country: m.host_country.map(|c| c.as_str()),
                countries: m.countries(),
                topics: m.topics.iter().map(Topic::as_str).collect(),
                hash: new
                    .hash
                    .as_ref()
                    .map(|h| h.iter().map(|b| format!("{b:02x}")).collect()),
                created_at: new.created_at,
                version: new.version,
            },
        )?;
        stage_sources_and_identifiers(
            &mut batch,
            new.id,
            &new.input.sources,
            &new.input.identifiers,
        )?;
    }

    let participants: Vec<NewParticipant> = meetings
        .iter()
        .flat_map(|m| {
            m.input
                .participants
                .iter()
                .enumerate()
                .map(|(index, input)| NewParticipant {
                    meeting_id: m.id,
                    input,
                    field: format!("participants[{index}]"),
                })
        })
        .collect();
    let written = participants::stage(conn, &mut batch, &participants).await?;

    let mut statements = Vec::new();
    let mut first_participant = 0;
    for m in meetings {
        let own = &written[first_participant..first_participant + m.input.participants.len()];
        first_participant += m.input.participants.len();
        for (index, input) in m.input.statements.iter().enumerate() {
            statements.push(NewStatement {
                meeting_id: m.id,
                input,
                speaker: input.speaker_participant.and_then(|i| own.get(i).copied()),
                field: format!("statements[{index}]"),
            });
        }
    }
    statements::stage(conn, &mut batch, &statements).await?;

    let agreements: Vec<(Uuid, &AgreementInput)> = meetings
        .iter()
        .flat_map(|m| m.input.agreements.iter().map(move |a| (m.id, a)))
        .collect();
    let ids: Vec<Uuid> = meetings.iter().map(|m| m.id).collect();
    let staged = agreements::stage(
        conn,
        &mut batch,
        &agreements,
        agreements::Sent::InDocuments,
        &ids,
    )
    .await?;

    #[derive(Serialize)]
    struct Created<'a> {
        n: usize,
        action: &'static str,
        meeting_id: Uuid,
        api_key_id: Option<Uuid>,
        request_id: Option<&'a str>,
    }
    for (n, new) in meetings.iter().enumerate() {
        if let Some(author) = new.created_by {
            Batch::stage(
                &mut batch.changes,
                Created {
                    n,
                    action: "create",
                    meeting_id: new.id,
                    api_key_id: author.key_id,
                    request_id: author.request_id,
                },
            )?;
        }
    }
    batch.write(conn).await?;
    staged.link(conn).await?;
    Ok(())
}

/// Replaces a meeting's sources and identifiers.
pub async fn write_sources_and_identifiers(
    conn: &mut PgConnection,
    meeting_id: Uuid,
    sources: &[Source],
    identifiers: &[Identifier],
) -> ApiResult<()> {
    sqlx::query("DELETE FROM sources WHERE meeting_id = $1")
        .bind(meeting_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM meeting_identifiers WHERE meeting_id = $1")
        .bind(meeting_id)
        .execute(&mut *conn)
        .await?;
    if sources.is_empty() && identifiers.is_empty() {
        return Ok(());
    }
    let mut batch = Batch::default();
    stage_sources_and_identifiers(&mut batch, meeting_id, sources, identifiers)?;
    batch.write(conn).await
}

/// Stages meeting `meeting_id`'s sources and identifiers, in their order.
fn stage_sources_and_identifiers(
    batch: &mut Batch,
    meeting_id: Uuid,
    sources: &[Source],
    identifiers: &[Identifier],
) -> ApiResult<()> {
    #[derive(Serialize)]
    struct SourceRow<'a> {
        id: Uuid,
        meeting_id: Uuid,
        position: usize,
        #[serde(flatten)]
        source: &'a Source,
    }
    #[derive(Serialize)]
    struct IdentifierRow<'a> {
        meeting_id: Uuid,
        position: usize,
        scheme: &'a str,
        value: &'a str,
    }
    for (position, source) in sources.iter().enumerate() {
        Batch::stage(
            &mut batch.sources,
            SourceRow {
                id: Uuid::now_v7(),
                meeting_id,
                position,
                source,
            },
        )?;
    }
    for (position, identifier) in identifiers.iter().enumerate() {
        Batch::stage(
            &mut batch.identifiers,
            IdentifierRow {
                meeting_id,
                position,
                scheme: identifier.scheme.trim(),
                value: identifier.value.trim(),
            },
        )?;
    }
    Ok(())
}

/// What a meeting's `ETag` is made of: its version, and how many times its
/// participants' roles have changed (the document shows the roles they held).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub version: i32,
    pub roles: i64,
}

/// The whole document of a meeting, as JSON text built by Postgres, and its stamp.
pub async fn fetch(conn: &mut PgConnection, id: Uuid) -> ApiResult<Option<(String, Stamp)>> {
    let row: Option<(String, i32, i64)> = sqlx::query_as(representation::DOCUMENT_QUERY)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|(body, version, roles)| (body, Stamp { version, roles })))
}

/// Meeting `id`'s stamp, if it exists: what its `ETag` says, read without the document.
pub async fn stamp(conn: &mut PgConnection, id: Uuid) -> ApiResult<Option<Stamp>> {
    let row: Option<(i32, i64)> = sqlx::query_as(representation::STAMP_QUERY)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|(version, roles)| Stamp { version, roles }))
}

/// Meeting `id`'s version, if it exists.
pub async fn version(conn: &mut PgConnection, id: Uuid) -> ApiResult<Option<i32>> {
    Ok(
        sqlx::query_scalar("SELECT version FROM meetings WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Writes `meeting`'s own fields, sources and identifiers over meeting `id`; its
/// participants, statements and agreements stay.
pub async fn update(conn: &mut PgConnection, id: Uuid, meeting: &MeetingInput) -> ApiResult<()> {
    let location = meeting.location.clone().unwrap_or_default();
    sqlx::query(
        "UPDATE meetings SET title = $2, summary = $3, kind = $4, date = $5, end_date = $6, start_time = $7,
                city = $8, location_country = $9, venue = $10, lat = $11, lon = $12, host_country = $13,
                topics = $14
         WHERE id = $1",
    )
    .bind(id)
    .bind(meeting.title.trim())
    .bind(meeting.summary.as_deref())
    .bind(meeting.kind.unwrap_or(MeetingKind::Other).as_str())
    .bind(meeting.date)
    .bind(meeting.end_date)
    .bind(meeting.start_time)
    .bind(location.city.as_deref())
    .bind(location.country.map(|code| code.as_str()))
    .bind(location.venue.as_deref())
    .bind(location.lat)
    .bind(location.lon)
    .bind(meeting.host_country.map(|code| code.as_str()))
    .bind(meeting.topics.iter().map(|topic| topic.as_str()).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    agreements::follow_meeting_date(conn, id, meeting.date).await?;
    write_sources_and_identifiers(conn, id, &meeting.sources, &meeting.identifiers).await?;
    Ok(())
}

/// Deletes meeting `id` and everything under it.
pub async fn delete(conn: &mut PgConnection, id: Uuid) -> ApiResult<()> {
    sqlx::query("DELETE FROM meetings WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// One page of `GET /v1/meetings`, as its JSON.
pub async fn page(db: &PgPool, filters: &MeetingFilters) -> ApiResult<String> {
    let mut sql = QueryBuilder::new("");
    filters.push_page(&mut sql)?;
    let rows: Vec<(String, NaiveDate, Uuid, f32)> = sql.build_query_as().fetch_all(db).await?;
    let (rows, more) = pagination::split_page(rows, filters.limit);
    let next = match rows.last() {
        Some((_, date, id, rank)) if more => Some(filters.cursor_after(*date, *id, *rank)),
        _ => None,
    };
    let total = if filters.include_total {
        let mut count: QueryBuilder<Postgres> =
            QueryBuilder::new("SELECT count(*) FROM meetings m WHERE true");
        filters.push_conditions(&mut count)?;
        Some(count.build_query_scalar::<i64>().fetch_one(db).await?)
    } else {
        None
    };
    let items: Vec<String> = rows.into_iter().map(|row| row.0).collect();
    Ok(pagination::page_json(&items, next, total))
}

/// The stored meeting an identifier points at.
#[derive(sqlx::FromRow)]
pub struct Stored {
    pub scheme: String,
    pub value: String,
    pub id: Uuid,
    pub hash: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub version: i32,
}

/// The stored meetings the identifiers `(schemes[i], values[i])` point at.
pub async fn find_by_identifiers(
    conn: &mut PgConnection,
    schemes: &[&str],
    values: &[&str],
) -> ApiResult<Vec<Stored>> {
    Ok(sqlx::query_as(
        "SELECT i.scheme, i.value, m.id, m.document_hash AS hash, m.created_at, m.version
         FROM meeting_identifiers i JOIN meetings m ON m.id = i.meeting_id
         WHERE (i.scheme, i.value) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
    )
    .bind(schemes)
    .bind(values)
    .fetch_all(&mut *conn)
    .await?)
}

/// Deletes meetings `ids` and everything under them.
pub async fn delete_many(conn: &mut PgConnection, ids: &[Uuid]) -> ApiResult<()> {
    sqlx::query("DELETE FROM meetings WHERE id = ANY($1)")
        .bind(ids)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The ids to store new meetings under: each one wanted while it is free (stored by no
/// meeting, and wanted by no earlier one), else a new one.
pub async fn free_ids(conn: &mut PgConnection, wanted: &[Option<Uuid>]) -> ApiResult<Vec<Uuid>> {
    let asked: Vec<Uuid> = wanted.iter().flatten().copied().collect();
    let mut taken: std::collections::HashSet<Uuid> = if asked.is_empty() {
        Default::default()
    } else {
        sqlx::query_scalar::<_, Uuid>("SELECT id FROM meetings WHERE id = ANY($1)")
            .bind(&asked)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect()
    };
    Ok(wanted
        .iter()
        .map(|id| match id {
            Some(id) if taken.insert(*id) => *id,
            _ => Uuid::now_v7(),
        })
        .collect())
}
