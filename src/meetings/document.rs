//! The meeting document as clients send it, its checks, and its one-transaction write.

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::agreements::AgreementInput;
use crate::country::CountryCode;
use crate::error::{ApiError, ApiResult};
use crate::participants::ParticipantInput;
use crate::statements::StatementInput;
use crate::vocabulary::{Checks, Identifier, MeetingKind, Source, Topic};

/// Where a meeting took place.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub country: Option<CountryCode>,
    #[serde(default)]
    pub venue: Option<String>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
}

/// A whole meeting as `POST /v1/meetings` takes it. Also the shape a merge patch is
/// applied to, without the embedded lists, which have endpoints of their own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingInput {
    pub title: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub kind: Option<MeetingKind>,
    pub date: NaiveDate,
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
    #[serde(default)]
    pub start_time: Option<NaiveTime>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub host_country: Option<CountryCode>,
    #[serde(default)]
    pub topics: Vec<Topic>,
    #[serde(default)]
    pub participants: Vec<ParticipantInput>,
    #[serde(default)]
    pub statements: Vec<StatementInput>,
    #[serde(default)]
    pub agreements: Vec<AgreementInput>,
    #[serde(default)]
    pub sources: Vec<Source>,
    #[serde(default)]
    pub identifiers: Vec<Identifier>,
}

impl MeetingInput {
    /// Checks every rule serde cannot express, reporting all failures at once.
    pub fn check(&self) -> ApiResult<()> {
        let mut checks = Checks::default();
        self.check_own_fields(&mut checks);
        for (index, participant) in self.participants.iter().enumerate() {
            participant.check(&format!("participants[{index}]"), &mut checks);
        }
        for (index, statement) in self.statements.iter().enumerate() {
            let field = format!("statements[{index}]");
            statement.check(&field, &mut checks);
            if let Some(speaker) = statement.speaker_participant
                && speaker >= self.participants.len()
            {
                checks.fail(
                    format!("{field}.speaker_participant"),
                    format!(
                        "there is no participant {speaker} (the document has {})",
                        self.participants.len()
                    ),
                );
            }
        }
        for (index, agreement) in self.agreements.iter().enumerate() {
            agreement.check(&format!("agreements[{index}]"), &mut checks);
        }
        checks.finish()
    }

    /// The checks on the meeting's own fields, shared with PATCH.
    pub fn check_own_fields(&self, checks: &mut Checks) {
        checks.text("title", &self.title, 500);
        if let Some(summary) = &self.summary
            && summary.chars().count() > 20_000
        {
            checks.fail("summary", "must be at most 20000 characters");
        }
        if let Some(end_date) = self.end_date
            && end_date < self.date
        {
            checks.fail(
                "end_date",
                format!("must not be before `date` ({})", self.date),
            );
        }
        if let Some(location) = &self.location {
            checks.optional_text("location.city", location.city.as_deref(), 200);
            checks.optional_text("location.venue", location.venue.as_deref(), 500);
            if location
                .lat
                .is_some_and(|lat| !(-90.0..=90.0).contains(&lat))
            {
                checks.fail("location.lat", "must be between -90 and 90");
            }
            if location
                .lon
                .is_some_and(|lon| !(-180.0..=180.0).contains(&lon))
            {
                checks.fail("location.lon", "must be between -180 and 180");
            }
        }
        for (index, source) in self.sources.iter().enumerate() {
            checks.source(&format!("sources[{index}]"), source);
        }
        checks.identifiers("identifiers", &self.identifiers);
    }

    /// The derived country list: host, location and participants, sorted and distinct.
    fn countries(&self) -> Vec<&'static str> {
        let location = self.location.as_ref().and_then(|location| location.country);
        let participants = self
            .participants
            .iter()
            .filter_map(|participant| participant.country);
        let all: BTreeSet<&'static str> = self
            .host_country
            .into_iter()
            .chain(location)
            .chain(participants)
            .map(|code| code.as_str())
            .collect();
        all.into_iter().collect()
    }
}

/// Writes a checked document as meeting `id`, all in the caller's transaction.
pub async fn insert(conn: &mut PgConnection, id: Uuid, meeting: &MeetingInput) -> ApiResult<()> {
    let location = meeting.location.clone().unwrap_or_default();
    sqlx::query(
        "INSERT INTO meetings (id, title, summary, kind, date, end_date, start_time, city, location_country,
                               venue, lat, lon, host_country, countries, topics)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
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
    .bind(meeting.countries())
    .bind(meeting.topics.iter().map(Topic::as_str).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;

    write_sources_and_identifiers(conn, id, &meeting.sources, &meeting.identifiers).await?;
    let participants =
        crate::participants::insert_all(conn, id, &meeting.participants, "participants").await?;
    crate::statements::insert_all(conn, id, &meeting.statements, &participants, "statements")
        .await?;
    crate::agreements::insert_all(conn, id, &meeting.agreements).await?;
    Ok(())
}

/// Replaces a meeting's sources and identifiers.
pub async fn write_sources_and_identifiers(
    conn: &mut PgConnection,
    meeting_id: Uuid,
    sources: &[Source],
    identifiers: &[Identifier],
) -> ApiResult<()> {
    #[derive(Serialize)]
    struct SourceRow<'a> {
        id: Uuid,
        position: usize,
        #[serde(flatten)]
        source: &'a Source,
    }
    #[derive(Serialize)]
    struct IdentifierRow<'a> {
        position: usize,
        scheme: &'a str,
        value: &'a str,
    }
    sqlx::query("DELETE FROM sources WHERE meeting_id = $1")
        .bind(meeting_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM meeting_identifiers WHERE meeting_id = $1")
        .bind(meeting_id)
        .execute(&mut *conn)
        .await?;
    if !sources.is_empty() {
        let rows: Vec<_> = sources
            .iter()
            .enumerate()
            .map(|(position, source)| SourceRow {
                id: Uuid::now_v7(),
                position,
                source,
            })
            .collect();
        sqlx::query(
            "INSERT INTO sources (id, meeting_id, url, title, publisher, published_on, position)
             SELECT r.id, $1, r.url, r.title, r.publisher, r.published_on, r.position
             FROM jsonb_to_recordset($2) AS r(id uuid, url text, title text, publisher text,
                                              published_on date, position int)",
        )
        .bind(meeting_id)
        .bind(sqlx::types::Json(rows))
        .execute(&mut *conn)
        .await?;
    }
    if !identifiers.is_empty() {
        let rows: Vec<_> = identifiers
            .iter()
            .enumerate()
            .map(|(position, identifier)| IdentifierRow {
                position,
                scheme: identifier.scheme.trim(),
                value: identifier.value.trim(),
            })
            .collect();
        sqlx::query(
            "INSERT INTO meeting_identifiers (meeting_id, scheme, value, position)
             SELECT $1, r.scheme, r.value, r.position
             FROM jsonb_to_recordset($2) AS r(scheme text, value text, position int)",
        )
        .bind(meeting_id)
        .bind(sqlx::types::Json(rows))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The whole document of a meeting, as JSON text built by Postgres.
pub async fn fetch(conn: &mut PgConnection, id: Uuid) -> ApiResult<Option<(String, i32)>> {
    let row: Option<(String, i32)> = sqlx::query_as(
        "SELECT meeting_document(m)::text, m.version FROM meetings m WHERE m.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row)
}

/// Fails with 404 unless meeting `id` exists; locks it against concurrent edits.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> ApiResult<i32> {
    let version: Option<i32> =
        sqlx::query_scalar("SELECT version FROM meetings WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    version.ok_or(ApiError::NotFound("meeting"))
}

/// Records that something under meeting `id` changed: new version, new countries.
pub async fn touch(conn: &mut PgConnection, id: Uuid) -> ApiResult<()> {
    sqlx::query("SELECT refresh_meeting_countries($1)")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE meetings SET version = version + 1, updated_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
