//! What was said at a meeting, by whom, and the search across all of it.

use crate::http::routes::Routes;
use crate::http::routes::{get, post};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::AppState;
use crate::api::history::{Actor, Resource};
use crate::api::meetings::items::{self, Item};
use crate::api::meetings::participants::{Written, require_people};
use crate::api::people::PersonRef;
use crate::domain::country::CountryCode;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::text::Name;
use crate::domain::vocabulary::{Checks, Language, Source, StatementKind, Topic, field_path};
use crate::http::etag::{self, Table};
use crate::http::extract::{Json, MergePatch, Path, Query};
use crate::http::idempotency::Idempotency;
use crate::http::json::JsonText;
use crate::http::replica::ReadPool;
use crate::store::pagination::{self, Limit};
use crate::store::representation;

pub fn routes() -> Routes<AppState> {
    Routes::new()
        .route("/v1/statements", get(list))
        .route("/v1/meetings/{id}/statements", post(add))
        .route(
            "/v1/statements/{id}",
            get(show).patch(update).delete(remove),
        )
}

/// A statement as clients send it. The speaker is named by at most one of
/// `speaker_participant` (index into the same document's participants),
/// `participant_id`, `person_id` or `speaker_name`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementInput {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number"
    )]
    pub speaker_participant: Option<usize>,
    #[serde(default)]
    pub participant_id: Option<Uuid>,
    #[serde(default)]
    pub person_id: Option<Uuid>,
    /// Cleaned as it is read (see [`Name`]), so it matches the participant it names.
    #[serde(default)]
    pub speaker_name: Option<Name>,
    pub text: String,
    #[serde(default)]
    pub kind: Option<StatementKind>,
    #[serde(default)]
    pub language: Option<Language>,
    #[serde(default)]
    pub topics: Vec<Topic>,
    #[serde(default)]
    pub source: Option<Source>,
}

impl StatementInput {
    pub fn check(&self, field: &str, checks: &mut Checks) {
        let speakers = [
            self.speaker_participant.is_some(),
            self.participant_id.is_some(),
            self.person_id.is_some(),
            self.speaker_name.is_some(),
        ];
        if speakers.iter().filter(|given| **given).count() > 1 {
            checks.fail(
                field_path(field, "speaker"),
                "name the speaker once: by `speaker_participant`, `participant_id`, `person_id` or `speaker_name`",
            );
        }
        checks.prose(field_path(field, "text"), &self.text, 20_000);
        let topics = self.topics.len();
        crate::domain::limits::check(
            checks,
            field_path(field, "topics"),
            topics,
            crate::domain::limits::TOPICS,
        );
        checks.optional_name(
            field_path(field, "speaker_name"),
            self.speaker_name.as_ref(),
            300,
        );
        if let Some(source) = &self.source {
            checks.source(&field_path(field, "source"), source);
        }
    }
}

/// A statement to write under its meeting; `speaker` is the participant that
/// `speaker_participant` indexes, already written; `field` names it in errors.
pub struct NewStatement<'a> {
    pub meeting_id: Uuid,
    pub input: &'a StatementInput,
    pub speaker: Option<Written>,
    pub field: String,
}

/// Writes statements after any their meetings already have, in the caller's transaction.
pub async fn insert_all(conn: &mut PgConnection, new: &[NewStatement<'_>]) -> ApiResult<Vec<Uuid>> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let named_people: Vec<(String, Uuid)> = new
        .iter()
        .filter_map(|s| {
            s.input
                .person_id
                .map(|id| (field_path(&s.field, "person_id"), id))
        })
        .collect();
    require_people(conn, &named_people).await?;
    require_participants_of(conn, new).await?;

    #[derive(Serialize)]
    struct Row<'a> {
        id: Uuid,
        meeting_id: Uuid,
        idx: usize,
        participant_id: Option<Uuid>,
        person_id: Option<Uuid>,
        speaker_name: Option<&'a str>,
        text: &'a str,
        kind: &'static str,
        language: Option<&'a str>,
        topics: Vec<&'a str>,
        source_url: Option<&'a str>,
        source_title: Option<&'a str>,
        source_publisher: Option<&'a str>,
        source_published_on: Option<NaiveDate>,
    }
    let rows: Vec<Row> = new
        .iter()
        .enumerate()
        .map(|(idx, new)| {
            let s = new.input;
            let source = s.source.as_ref();
            Row {
                id: Uuid::now_v7(),
                meeting_id: new.meeting_id,
                idx,
                participant_id: new.speaker.map(|p| p.id).or(s.participant_id),
                person_id: new.speaker.and_then(|p| p.person_id).or(s.person_id),
                speaker_name: s.speaker_name.as_deref(),
                text: &s.text,
                kind: s.kind.unwrap_or(StatementKind::Quote).as_str(),
                language: s.language.as_ref().map(Language::as_str),
                topics: s.topics.iter().map(Topic::as_str).collect(),
                source_url: source.and_then(|s| s.url.as_deref()),
                source_title: source.and_then(|s| s.title.as_deref()),
                source_publisher: source.and_then(|s| s.publisher.as_deref()),
                source_published_on: source.and_then(|s| s.published_on),
            }
        })
        .collect();
    let sql = items::positioned_insert(
        "statements",
        "id, meeting_id, participant_id, person_id, speaker_name, text, kind, language, topics, \
         source_url, source_title, source_publisher, source_published_on",
        "id uuid, meeting_id uuid, idx int, participant_id uuid, person_id uuid, speaker_name text, \
         text text, kind text, language text, topics text[], source_url text, source_title text, \
         source_publisher text, source_published_on date",
        "r.id, r.meeting_id, r.participant_id, coalesce(r.person_id, p.person_id), r.speaker_name, r.text, \
         r.kind, r.language, r.topics, r.source_url, r.source_title, r.source_publisher, r.source_published_on",
        "LEFT JOIN participants p ON p.id = r.participant_id",
    );
    sqlx::query(sql)
        .bind(sqlx::types::Json(&rows))
        .execute(&mut *conn)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    if rows.iter().any(|row| row.speaker_name.is_some()) {
        link_speakers_by_name(conn, &ids).await?;
    }
    Ok(ids)
}

/// Writes one statement sent on its own (no `speaker_participant`) as the meeting's last.
async fn insert_one(
    conn: &mut PgConnection,
    meeting_id: Uuid,
    input: &StatementInput,
) -> ApiResult<Uuid> {
    let new = NewStatement {
        meeting_id,
        input,
        speaker: None,
        field: String::new(),
    };
    Ok(insert_all(conn, std::slice::from_ref(&new)).await?[0])
}

/// A speaker given only by name is linked to the meeting's participant of that name.
async fn link_speakers_by_name(conn: &mut PgConnection, ids: &[Uuid]) -> ApiResult<()> {
    sqlx::query(
        "UPDATE statements s SET participant_id = match.participant_id, person_id = match.person_id
         FROM (SELECT DISTINCT ON (s2.id) s2.id AS statement_id, p.id AS participant_id, p.person_id
               FROM statements s2
               JOIN participants p ON p.meeting_id = s2.meeting_id
               JOIN people pe ON pe.id = p.person_id
               WHERE s2.id = ANY($1) AND s2.speaker_name IS NOT NULL
                 AND person_names(pe.name, pe.aliases) @> ARRAY[fold(s2.speaker_name)]
               ORDER BY s2.id, p.position) match
         WHERE s.id = match.statement_id AND s.participant_id IS NULL AND s.person_id IS NULL",
    )
    .bind(ids)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Fails with a 422 for each `participant_id` that is not a participant of its meeting.
async fn require_participants_of(
    conn: &mut PgConnection,
    new: &[NewStatement<'_>],
) -> ApiResult<()> {
    let ids: Vec<Uuid> = new.iter().filter_map(|s| s.input.participant_id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let known: Vec<(Uuid, Uuid)> =
        sqlx::query_as("SELECT id, meeting_id FROM participants WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(&mut *conn)
            .await?;
    let mut checks = Checks::default();
    for s in new {
        if let Some(id) = s.input.participant_id
            && !known.contains(&(id, s.meeting_id))
        {
            checks.fail(
                field_path(&s.field, "participant_id"),
                format!("{id} is not a participant of this meeting"),
            );
        }
    }
    Ok(checks.finish()?)
}

/// How one statement is stored, read and written.
const ITEM: Item = Item {
    resource: Resource::Statement,
    table: Table::Statements,
    what: "statement",
    path: "/v1/statements",
    fetch: representation::STATEMENT_BY_ID,
    delete: "DELETE FROM statements WHERE id = $1 RETURNING meeting_id",
};

/// A list index: a whole number from 0, which JSON may also write as `2.0` (the spec
/// says `integer`, and JSON Schema counts `2.0` as one).
fn whole_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<usize>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if let Some(whole) = number.as_u64().and_then(|n| usize::try_from(n).ok()) {
        return Ok(Some(whole));
    }
    match number.as_f64() {
        // Any whole number is an index, as the spec's `integer` has it; one past every
        // participant (however far) is refused later as naming no participant.
        Some(value) if value >= 0.0 && value.fract() == 0.0 => Ok(Some(value as usize)),
        _ => Err(serde::de::Error::custom(format!(
            "`{number}` is not a whole number from 0"
        ))),
    }
}

fn check_single(input: &StatementInput) -> ApiResult<()> {
    let mut checks = Checks::default();
    if input.speaker_participant.is_some() {
        checks.fail(
            "speaker_participant",
            "only a whole meeting document can name a speaker by index; use `participant_id`",
        );
    }
    input.check("", &mut checks);
    Ok(checks.finish()?)
}

async fn add(
    State(state): State<AppState>,
    actor: Actor,
    idempotency: Idempotency,
    Path(meeting_id): Path<Uuid>,
    Json(input): Json<StatementInput>,
) -> ApiResult<Response> {
    check_single(&input)?;
    ITEM.add(
        &state.db,
        &actor,
        idempotency,
        meeting_id,
        &input,
        async |conn| insert_one(conn, meeting_id, &input).await,
    )
    .await
}

async fn show(
    ReadPool(db): ReadPool,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let mut conn = db.acquire().await?;
    Ok(etag::respond(&headers, ITEM.fetch(&mut conn, id).await?))
}

async fn update(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    MergePatch(patch): MergePatch,
) -> ApiResult<Response> {
    ITEM.update(&state.db, &actor, id, &headers, &patch, async |conn| {
        let current: Option<(Uuid, i32, serde_json::Value)> =
            sqlx::query_as(representation::STATEMENT_FOR_UPDATE)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
        let (meeting_id, position, mut value) = current.ok_or(ApiError::NotFound(ITEM.what))?;
        // A new speaker replaces the old one, however the old one was named.
        let speaker_fields = ["participant_id", "person_id", "speaker_name"];
        if speaker_fields
            .iter()
            .any(|f| patch.get(*f).is_some_and(|v| !v.is_null()))
        {
            for field in speaker_fields {
                value[field] = serde_json::Value::Null;
            }
        } else if value["participant_id"].is_string() {
            // The person follows from the participant; keep one speaker reference.
            value["person_id"] = serde_json::Value::Null;
            value["speaker_name"] = serde_json::Value::Null;
        } else if value["person_id"].is_string() {
            value["speaker_name"] = serde_json::Value::Null;
        }
        crate::http::extract::merge_patch(&mut value, &patch)?;
        let input: StatementInput = crate::http::extract::deserialize(value)?;
        check_single(&input)?;
        sqlx::query("DELETE FROM statements WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        // Re-insert under the same id and position: one code path checks and links speakers.
        let new_id = insert_one(conn, meeting_id, &input).await?;
        sqlx::query("UPDATE statements SET id = $1, position = $3 WHERE id = $2")
            .bind(id)
            .bind(new_id)
            .bind(position)
            .execute(&mut *conn)
            .await?;
        Ok(Some(meeting_id))
    })
    .await
}

async fn remove(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    ITEM.remove(&state.db, &actor, id, &headers).await
}

/// Filters of `GET /v1/statements`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementFilters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<PersonRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topic: Vec<Topic>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::domain::vocabulary::filter_date"
    )]
    pub from: Option<NaiveDate>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::domain::vocabulary::filter_date"
    )]
    pub to: Option<NaiveDate>,
    #[serde(default, skip_serializing)]
    pub limit: Limit,
    #[serde(default, skip_serializing)]
    pub cursor: Option<String>,
}

impl crate::store::pagination::Listed for StatementFilters {
    const LIST: &'static str = "statements";
}

/// Where the last page ended: by rank when searching, by meeting date otherwise.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum StatementKey {
    Ranked(f32, Uuid),
    Dated(NaiveDate, i32, Uuid),
}

impl StatementFilters {
    /// Pushes the query for one page of `GET /v1/statements`, after the cursor if any:
    /// rows of (item JSON, rank, meeting date, position, id), one more than the page size.
    pub fn push_page(&self, sql: &mut QueryBuilder<Postgres>) -> ApiResult<()> {
        let query = self
            .q
            .as_deref()
            .map(crate::store::search::Query::parse)
            .transpose()?;
        let after: Option<StatementKey> = self
            .cursor
            .as_deref()
            .map(|cursor| pagination::decode(cursor, self))
            .transpose()?;
        match query {
            Some(q) => self.push_search_page(sql, &q, after),
            None => self.push_dated_page(sql, after),
        }
    }

    /// Best match first. The matches are ranked and cut to a page on the statements
    /// alone; only the page's rows are then joined to their meetings, so a search that
    /// matches many statements never joins them all.
    fn push_search_page(
        &self,
        sql: &mut QueryBuilder<Postgres>,
        q: &crate::store::search::Query,
        after: Option<StatementKey>,
    ) -> ApiResult<()> {
        sql.push("SELECT (")
            .push(representation::STATEMENT)
            .push(
                "::jsonb || jsonb_build_object(
                        'meeting', ",
            )
            .push(representation::MEETING_STUB)
            .push(
                ",
                        'headline', ts_headline('folded', s.text, ",
            );
        q.push_tsquery(sql);
        sql.push(
            ", 'StartSel=«, StopSel=», MaxFragments=2, MinWords=8, MaxWords=30'),
                        'rank', hit.rank))::text, hit.rank, m.date, s.position, s.id
             FROM (SELECT s.id, ts_rank(s.search, ",
        );
        q.push_tsquery(sql);
        sql.push(") AS rank FROM statements s WHERE s.search @@ ");
        q.push_tsquery(sql);
        self.push_conditions(sql, false);
        match after {
            Some(StatementKey::Ranked(rank, id)) => {
                sql.push(" AND (ts_rank(s.search, ");
                q.push_tsquery(sql);
                sql.push("), s.id) < (")
                    .push_bind(rank)
                    .push("::real, ")
                    .push_bind(id)
                    .push(")");
            }
            Some(StatementKey::Dated(..)) => return Err(pagination::invalid_cursor()),
            None => {}
        }
        sql.push(" ORDER BY 2 DESC, 1 DESC LIMIT ")
            .push_bind(self.limit.get() + 1);
        sql.push(
            ") hit JOIN statements s ON s.id = hit.id JOIN meetings m ON m.id = s.meeting_id
             ORDER BY hit.rank DESC, s.id DESC",
        );
        Ok(())
    }

    /// Newest meeting first.
    fn push_dated_page(
        &self,
        sql: &mut QueryBuilder<Postgres>,
        after: Option<StatementKey>,
    ) -> ApiResult<()> {
        sql.push("SELECT (")
            .push(representation::STATEMENT)
            .push(
                "::jsonb || jsonb_build_object(
                        'meeting', ",
            )
            .push(representation::MEETING_STUB)
            .push(
                "))::text,
                    0::real, m.date, s.position, s.id
             FROM statements s JOIN meetings m ON m.id = s.meeting_id WHERE true",
            );
        self.push_conditions(sql, true);
        match after {
            Some(StatementKey::Dated(date, position, id)) => {
                sql.push(" AND (m.date, s.position, s.id) < (")
                    .push_bind(date)
                    .push(", ")
                    .push_bind(position);
                sql.push(", ").push_bind(id).push(")");
            }
            Some(StatementKey::Ranked(..)) => return Err(pagination::invalid_cursor()),
            None => {}
        }
        sql.push(" ORDER BY m.date DESC, s.position DESC, s.id DESC LIMIT ")
            .push_bind(self.limit.get() + 1);
        Ok(())
    }

    /// Pushes the filters but `q` on statements `s`; the meeting's date is matched on
    /// the joined meeting `m` when `joined`, else through a subquery.
    fn push_conditions(&self, sql: &mut QueryBuilder<Postgres>, joined: bool) {
        if let Some(speaker) = &self.speaker {
            sql.push(" AND s.person_id IN (");
            speaker.push_people(sql);
            sql.push(")");
        }
        if let Some(country) = self.country {
            sql.push(" AND coalesce((SELECT p.country FROM participants p WHERE p.id = s.participant_id), (SELECT pe.country FROM people pe WHERE pe.id = s.person_id)) = ")
                .push_bind(country.as_str());
        }
        if let Some(meeting_id) = self.meeting_id {
            sql.push(" AND s.meeting_id = ").push_bind(meeting_id);
        }
        if !self.topic.is_empty() {
            let topics: Vec<&str> = self.topic.iter().map(Topic::as_str).collect();
            sql.push(" AND s.topics @> ").push_bind(topics);
        }
        if let Some(language) = &self.language {
            sql.push(" AND (s.language = ")
                .push_bind(language.as_str().to_owned());
            sql.push(" OR s.language LIKE ")
                .push_bind(format!("{}-%", language.as_str()));
            sql.push(")");
        }
        if self.from.is_none() && self.to.is_none() {
            return;
        }
        if !joined {
            sql.push(" AND s.meeting_id IN (SELECT m.id FROM meetings m WHERE true");
        }
        if let Some(from) = self.from {
            sql.push(" AND m.date >= ").push_bind(from);
        }
        if let Some(to) = self.to {
            sql.push(" AND m.date <= ").push_bind(to);
        }
        if !joined {
            sql.push(")");
        }
    }
}

async fn list(
    ReadPool(db): ReadPool,
    Query(filters): Query<StatementFilters>,
) -> ApiResult<JsonText> {
    let mut sql = QueryBuilder::new("");
    filters.push_page(&mut sql)?;
    let rows: Vec<(String, f32, NaiveDate, i32, Uuid)> =
        sql.build_query_as().fetch_all(&db).await?;
    let (rows, more) = pagination::split_page(rows, filters.limit);
    let next = match rows.last() {
        Some((_, rank, date, position, id)) if more => Some(pagination::encode(
            &match filters.q {
                Some(_) => StatementKey::Ranked(*rank, *id),
                None => StatementKey::Dated(*date, *position, *id),
            },
            &filters,
        )),
        _ => None,
    };
    let items: Vec<String> = rows.into_iter().map(|row| row.0).collect();
    Ok(JsonText(pagination::page_json(&items, next, None)))
}
