//! The meeting document as clients send it, its checks, and its one-transaction write.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::api::meetings::agreements::AgreementInput;
use crate::api::meetings::participants::{NewParticipant, ParticipantInput};
use crate::api::meetings::statements::{NewStatement, StatementInput};
use crate::domain::country::CountryCode;
use crate::domain::error::ApiResult;
use crate::domain::limits;
use crate::domain::vocabulary::{Checks, Identifier, MeetingKind, Source, Topic};
use crate::store::representation;

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
        limits::check(
            &mut checks,
            "participants",
            self.participants.len(),
            limits::PARTICIPANTS,
        );
        limits::check(
            &mut checks,
            "statements",
            self.statements.len(),
            limits::STATEMENTS,
        );
        limits::check(
            &mut checks,
            "agreements",
            self.agreements.len(),
            limits::AGREEMENTS,
        );
        if !checks.0.is_empty() {
            // Past a cap, checking every item would be work the request must not cause.
            return Ok(checks.finish()?);
        }
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
        Ok(checks.finish()?)
    }

    /// The checks on the meeting's own fields, shared with PATCH.
    pub fn check_own_fields(&self, checks: &mut Checks) {
        checks.text("title", &self.title, 500);
        limits::check(checks, "topics", self.topics.len(), limits::TOPICS);
        limits::check(checks, "sources", self.sources.len(), limits::SOURCES);
        limits::check(
            checks,
            "identifiers",
            self.identifiers.len(),
            limits::IDENTIFIERS,
        );
        checks.date("date", Some(self.date));
        checks.date("end_date", self.end_date);
        checks.time("start_time", self.start_time);
        checks.optional_prose("summary", self.summary.as_deref(), 20_000);
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

/// A checked document to write as meeting `id`.
pub struct NewMeeting<'a> {
    pub id: Uuid,
    pub input: &'a MeetingInput,
    /// The hash of the document as imported, when it came from an import.
    pub hash: Option<Vec<u8>>,
    /// Kept when a document replaces an earlier version of itself.
    pub created_at: Option<DateTime<Utc>>,
    pub version: i32,
}

impl<'a> NewMeeting<'a> {
    pub fn new(id: Uuid, input: &'a MeetingInput) -> Self {
        NewMeeting {
            id,
            input,
            hash: None,
            created_at: None,
            version: 1,
        }
    }
}

/// Writes a checked document as meeting `id`, all in the caller's transaction.
pub async fn insert(conn: &mut PgConnection, id: Uuid, meeting: &MeetingInput) -> ApiResult<()> {
    insert_many(conn, &[NewMeeting::new(id, meeting)]).await
}

/// Writes checked documents in the caller's transaction: one statement for each
/// table, however many documents.
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
    let rows: Vec<Row> = meetings
        .iter()
        .map(|new| {
            let m = new.input;
            let location = m.location.as_ref();
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
            }
        })
        .collect();
    sqlx::query(
        "INSERT INTO meetings (id, title, summary, kind, date, end_date, start_time, city, location_country,
                               venue, lat, lon, host_country, countries, topics, document_hash, created_at, version)
         SELECT r.id, r.title, r.summary, r.kind, r.date, r.end_date, r.start_time, r.city, r.location_country,
                r.venue, r.lat, r.lon, r.host_country, r.countries, r.topics, decode(r.hash, 'hex'),
                coalesce(r.created_at, now()), r.version
         FROM jsonb_to_recordset($1) AS r(id uuid, title text, summary text, kind text, date date, end_date date,
                                          start_time time, city text, location_country text, venue text,
                                          lat double precision, lon double precision, host_country text,
                                          countries text[], topics text[], hash text, created_at timestamptz,
                                          version int)",
    )
    .bind(sqlx::types::Json(&rows))
    .execute(&mut *conn)
    .await?;

    let sources: Vec<(Uuid, &[Source])> = meetings
        .iter()
        .map(|m| (m.id, m.input.sources.as_slice()))
        .collect();
    let identifiers: Vec<(Uuid, &[Identifier])> = meetings
        .iter()
        .map(|m| (m.id, m.input.identifiers.as_slice()))
        .collect();
    insert_sources_and_identifiers(conn, &sources, &identifiers).await?;

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
    let written = crate::api::meetings::participants::insert_all(conn, &participants).await?;

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
    crate::api::meetings::statements::insert_all(conn, &statements).await?;

    let agreements: Vec<(Uuid, &AgreementInput)> = meetings
        .iter()
        .flat_map(|m| m.input.agreements.iter().map(move |a| (m.id, a)))
        .collect();
    crate::api::meetings::agreements::insert_all(conn, &agreements).await?;
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
    insert_sources_and_identifiers(conn, &[(meeting_id, sources)], &[(meeting_id, identifiers)])
        .await
}

async fn insert_sources_and_identifiers(
    conn: &mut PgConnection,
    sources: &[(Uuid, &[Source])],
    identifiers: &[(Uuid, &[Identifier])],
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
    let source_rows: Vec<SourceRow> = sources
        .iter()
        .flat_map(|(meeting_id, sources)| {
            sources
                .iter()
                .enumerate()
                .map(|(position, source)| SourceRow {
                    id: Uuid::now_v7(),
                    meeting_id: *meeting_id,
                    position,
                    source,
                })
        })
        .collect();
    if !source_rows.is_empty() {
        sqlx::query(
            "INSERT INTO sources (id, meeting_id, url, title, publisher, published_on, position)
             SELECT r.id, r.meeting_id, r.url, r.title, r.publisher, r.published_on, r.position
             FROM jsonb_to_recordset($1) AS r(id uuid, meeting_id uuid, url text, title text, publisher text,
                                              published_on date, position int)",
        )
        .bind(sqlx::types::Json(&source_rows))
        .execute(&mut *conn)
        .await?;
    }
    let identifier_rows: Vec<IdentifierRow> = identifiers
        .iter()
        .flat_map(|(meeting_id, identifiers)| {
            identifiers
                .iter()
                .enumerate()
                .map(|(position, identifier)| IdentifierRow {
                    meeting_id: *meeting_id,
                    position,
                    scheme: identifier.scheme.trim(),
                    value: identifier.value.trim(),
                })
        })
        .collect();
    if !identifier_rows.is_empty() {
        sqlx::query(
            "INSERT INTO meeting_identifiers (meeting_id, scheme, value, position)
             SELECT r.meeting_id, r.scheme, r.value, r.position
             FROM jsonb_to_recordset($1) AS r(meeting_id uuid, scheme text, value text, position int)",
        )
        .bind(sqlx::types::Json(&identifier_rows))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The whole document of a meeting, as JSON text built by Postgres.
pub async fn fetch(conn: &mut PgConnection, id: Uuid) -> ApiResult<Option<(String, i32)>> {
    let row: Option<(String, i32)> = sqlx::query_as(representation::DOCUMENT_QUERY)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row)
}
