//! Statements: written under their meeting with their speakers linked, and listed or
//! searched across every meeting.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::country::CountryCode;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::statement::StatementInput;
use crate::domain::vocabulary::{Checks, FilterDate, Language, StatementKind, Topic, field_path};
use crate::store::items::Batch;
use crate::store::pagination::{self, Limit};
use crate::store::participants::require_people;
use crate::store::people::PersonRef;
use crate::store::representation;

/// A statement to write under its meeting; `speaker` is the participant that
/// `speaker_participant` indexes, staged or written already; `field` names it in errors.
pub struct NewStatement<'a> {
    pub meeting_id: Uuid,
    pub input: &'a StatementInput,
    pub speaker: Option<Uuid>,
    pub field: String,
}

/// Stages statements to write after any their meetings already have; returns their ids.
pub async fn stage(
    conn: &mut PgConnection,
    batch: &mut Batch,
    new: &[NewStatement<'_>],
) -> ApiResult<Vec<Uuid>> {
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
        /// Whether `participant_id` is the speaker's: their person comes first.
        speaker: bool,
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
    let first = batch.statements.len();
    let mut ids = Vec::with_capacity(new.len());
    for (i, new) in new.iter().enumerate() {
        let s = new.input;
        let source = s.source.as_ref();
        let id = Uuid::now_v7();
        ids.push(id);
        Batch::stage(
            &mut batch.statements,
            Row {
                id,
                meeting_id: new.meeting_id,
                idx: first + i,
                participant_id: new.speaker.or(s.participant_id),
                person_id: s.person_id,
                speaker: new.speaker.is_some(),
                speaker_name: s.speaker_name.as_deref(),
                text: &s.text,
                kind: s.kind.unwrap_or(StatementKind::Quote).as_str(),
                language: s.language.as_ref().map(Language::as_str),
                topics: s.topics.iter().map(Topic::as_str).collect(),
                source_url: source.and_then(|s| s.url.as_deref()),
                source_title: source.and_then(|s| s.title.as_deref()),
                source_publisher: source.and_then(|s| s.publisher.as_deref()),
                source_published_on: source.and_then(|s| s.published_on),
            },
        )?;
    }
    Ok(ids)
}

/// Writes one statement sent on its own (no `speaker_participant`) as the meeting's last.
pub async fn insert_one(
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
    let mut batch = Batch::default();
    let id = stage(conn, &mut batch, std::slice::from_ref(&new)).await?[0];
    batch.write(conn).await?;
    Ok(id)
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<FilterDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<FilterDate>,
    #[serde(default, skip_serializing)]
    pub limit: Limit,
    #[serde(default, skip_serializing)]
    pub cursor: Option<String>,
}

impl crate::store::pagination::Listed for StatementFilters {
    const LIST: &'static str = "statements";
}

/// How many of the newest matching statements a search ranks.
pub const SEARCH_CANDIDATES: i64 = 1000;

/// Up to how many matches a search collects through the text index before it walks the
/// statements newest first instead. Collecting costs a visit per match; walking costs a
/// look at every statement until [`SEARCH_CANDIDATES`] match, which is cheap only for
/// common words. At 1,000,000 meetings the two meet near this bound.
pub const SEARCH_COLLECTED: i64 = 20_000;

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

    /// Best match first among the newest [`SEARCH_CANDIDATES`] matches (every match,
    /// when there are no more): a query that matches half the corpus ranks a bounded
    /// set rather than reading every match. The newest matches are found one of two
    /// ways, chosen by the query's own matches rather than the planner's estimate: up to
    /// [`SEARCH_COLLECTED`] matches are collected through the text index and the newest
    /// taken; past that, the words are common and the statements are walked newest
    /// first until enough match. The candidates are ranked and cut to a page on the
    /// statements alone; only the page's rows are then joined to their meetings.
    fn push_search_page(
        &self,
        sql: &mut QueryBuilder<Postgres>,
        q: &crate::store::search::Query,
        after: Option<StatementKey>,
    ) -> ApiResult<()> {
        sql.push("WITH collected AS MATERIALIZED (SELECT s.id FROM statements s WHERE ");
        self.push_matching(sql, q);
        sql.push(" LIMIT ")
            .push_bind(SEARCH_COLLECTED + 1)
            .push(
                "), matches AS (SELECT count(*) AS n FROM collected),
                 candidates AS ((SELECT s.id, s.search FROM (SELECT c.id FROM collected c
                                  WHERE (SELECT n FROM matches) <= ",
            )
            .push_bind(SEARCH_COLLECTED)
            .push(" ORDER BY c.id DESC LIMIT ")
            .push_bind(SEARCH_CANDIDATES)
            .push(
                ") newest JOIN statements s ON s.id = newest.id)
                 UNION ALL (SELECT s.id, s.search FROM statements s WHERE (SELECT n FROM matches) > ",
            )
            .push_bind(SEARCH_COLLECTED)
            .push(" AND ");
        self.push_matching(sql, q);
        sql.push(" ORDER BY s.id DESC LIMIT ")
            .push_bind(SEARCH_CANDIDATES)
            .push("))");
        sql.push(" SELECT ")
            .push(representation::STATEMENT_ITEM_OPEN)
            .push(", 'headline', ts_headline('folded', s.text, ");
        q.push_tsquery(sql);
        sql.push(
            ", 'StartSel=«, StopSel=», MaxFragments=2, MinWords=8, MaxWords=30'),
                        'rank', hit.rank))::text, hit.rank, m.date, s.position, s.id
             FROM (SELECT c.id, ts_rank(c.search, ",
        );
        q.push_tsquery(sql);
        sql.push(") AS rank FROM candidates c");
        match after {
            Some(StatementKey::Ranked(rank, id)) => {
                sql.push(" WHERE (ts_rank(c.search, ");
                q.push_tsquery(sql);
                sql.push("), c.id) < (")
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
        sql.push("SELECT ")
            .push(representation::STATEMENT_ITEM_OPEN)
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

    /// Pushes what a statement `s` must be to match the search `q` and the filters.
    fn push_matching(&self, sql: &mut QueryBuilder<Postgres>, q: &crate::store::search::Query) {
        sql.push("s.search @@ ");
        q.push_tsquery(sql);
        self.push_conditions(sql, false);
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
        if let Some(FilterDate(from)) = self.from {
            sql.push(" AND m.date >= ").push_bind(from);
        }
        if let Some(FilterDate(to)) = self.to {
            sql.push(" AND m.date <= ").push_bind(to);
        }
        if !joined {
            sql.push(")");
        }
    }
}

/// One page of `GET /v1/statements`, as its JSON.
pub async fn page(db: &PgPool, filters: &StatementFilters) -> ApiResult<String> {
    let mut sql = QueryBuilder::new("");
    filters.push_page(&mut sql)?;
    let rows: Vec<(String, f32, NaiveDate, i32, Uuid)> = sql.build_query_as().fetch_all(db).await?;
    let (rows, more) = pagination::split_page(rows, filters.limit);
    let next = match rows.last() {
        Some((_, rank, date, position, id)) if more => Some(pagination::encode(
            &match filters.q {
                Some(_) => StatementKey::Ranked(*rank, *id),
                None => StatementKey::Dated(*date, *position, *id),
            },
            filters,
        )),
        _ => None,
    };
    let items: Vec<String> = rows.into_iter().map(|row| row.0).collect();
    Ok(pagination::page_json(&items, next, None))
}

/// Statement `id`'s meeting and position, and the statement as an input (what a merge
/// patch applies to), locked for the update.
pub async fn for_update(
    conn: &mut PgConnection,
    id: Uuid,
) -> ApiResult<(Uuid, i32, serde_json::Value)> {
    let current: Option<(Uuid, i32, serde_json::Value)> =
        sqlx::query_as(representation::STATEMENT_FOR_UPDATE)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    current.ok_or(ApiError::NotFound("statement"))
}

/// Writes `input` over statement `id`, keeping its id and position: it is deleted and
/// written again, so one code path checks and links speakers.
pub async fn replace(
    conn: &mut PgConnection,
    id: Uuid,
    meeting_id: Uuid,
    position: i32,
    input: &StatementInput,
) -> ApiResult<()> {
    sqlx::query("DELETE FROM statements WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let new_id = insert_one(conn, meeting_id, input).await?;
    sqlx::query("UPDATE statements SET id = $1, position = $3 WHERE id = $2")
        .bind(id)
        .bind(new_id)
        .bind(position)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
