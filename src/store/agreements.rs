//! Agreements: written under their meeting, and listed across every meeting.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::agreement::{AgreementInput, EventInput, Relation};
use crate::domain::country::CountryCode;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::vocabulary::{AgreementKind, AgreementStatus, FilterDate, Topic};
use crate::store::items::Batch;
use crate::store::pagination::{self, Limit};
use crate::store::representation;

/// Where the agreements `insert_all` writes came from, for naming their fields.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Each on its own (`relates_to[0]`).
    Alone,
    /// In whole documents (`agreements[2].relates_to[0]`).
    InDocuments,
}

/// Agreements staged in a batch: their ids, and their links, written once the batch is.
pub struct Staged<'a> {
    pub ids: Vec<Uuid>,
    links: Vec<(Uuid, String, &'a AgreementInput)>,
}

impl Staged<'_> {
    /// Writes the staged agreements' links, once the agreements are written.
    pub async fn link(&self, conn: &mut PgConnection) -> ApiResult<()> {
        // New agreements have no links to replace.
        write_links(conn, &self.links, false).await
    }
}

/// Stages agreements to write, each after any its meeting already has, with their
/// history (their creation on their meeting's date, or the events they carry); their
/// links are written by [`Staged::link`] after the batch. Events may name the meetings
/// `staged_meetings`, written by the same batch.
pub async fn stage<'a>(
    conn: &mut PgConnection,
    batch: &mut Batch,
    new: &[(Uuid, &'a AgreementInput)],
    sent: Sent,
    staged_meetings: &[Uuid],
) -> ApiResult<Staged<'a>> {
    if new.is_empty() {
        return Ok(Staged {
            ids: Vec::new(),
            links: Vec::new(),
        });
    }
    #[derive(Serialize)]
    struct Row<'a> {
        id: Uuid,
        meeting_id: Uuid,
        idx: usize,
        title: &'a str,
        description: Option<&'a str>,
        kind: &'static str,
        status: &'static str,
        parties: Vec<&'static str>,
        topics: Vec<&'a str>,
        signed_on: Option<NaiveDate>,
        due_by: Option<NaiveDate>,
    }
    // An agreement keeps the id it was exported with while that is free: a copy of a
    // document stored beside its original gets ids of its own.
    let wanted: Vec<Uuid> = new.iter().filter_map(|(_, a)| a.id).collect();
    let mut taken: std::collections::HashSet<Uuid> = if wanted.is_empty() {
        Default::default()
    } else {
        sqlx::query_scalar::<_, Uuid>("SELECT id FROM agreements WHERE id = ANY($1)")
            .bind(&wanted)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect()
    };
    let ids: Vec<Uuid> = new
        .iter()
        .map(|(_, a)| match a.id {
            Some(id) if taken.insert(id) => id,
            _ => Uuid::now_v7(),
        })
        .collect();
    let first = batch.agreements.len();
    for (idx, ((meeting_id, a), id)) in new.iter().zip(&ids).enumerate() {
        Batch::stage(
            &mut batch.agreements,
            Row {
                id: *id,
                meeting_id: *meeting_id,
                idx: first + idx,
                title: a.title.trim(),
                description: a.description.as_deref(),
                kind: a.kind.unwrap_or(AgreementKind::Other).as_str(),
                status: status_of(a).as_str(),
                parties: a.parties(),
                topics: a.topics.iter().map(Topic::as_str).collect(),
                signed_on: a.signed_on,
                due_by: a.due_by,
            },
        )?;
    }
    let mut field_names = Vec::with_capacity(new.len());
    let mut seen: std::collections::HashMap<Uuid, usize> = std::collections::HashMap::new();
    for (meeting_id, _) in new {
        let index = seen.entry(*meeting_id).or_default();
        field_names.push(match sent {
            Sent::Alone => String::new(),
            Sent::InDocuments => format!("agreements[{index}]."),
        });
        *index += 1;
    }

    let mut events = Vec::new();
    let mut created = Vec::new();
    let mut named = Vec::new();
    for ((id, (_, input)), prefix) in ids.iter().zip(new).zip(&field_names) {
        match &input.events {
            Some(given) => {
                for (index, event) in given.iter().enumerate() {
                    events.push((*id, event));
                    if let Some(meeting_id) = event.meeting_id {
                        named.push((meeting_id, format!("{prefix}events[{index}].meeting_id")));
                    }
                }
            }
            None => created.push(*id),
        }
    }
    named.retain(|(id, _)| !staged_meetings.contains(id));
    if !named.is_empty() {
        let meetings: Vec<Uuid> = named.iter().map(|(id, _)| *id).collect();
        let missing: Option<Uuid> = sqlx::query_scalar(
            "SELECT given FROM unnest($1::uuid[]) AS given
              WHERE NOT EXISTS (SELECT 1 FROM meetings m WHERE m.id = given) LIMIT 1",
        )
        .bind(&meetings)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(missing) = missing {
            let field = named
                .iter()
                .find(|(id, _)| *id == missing)
                .map_or("meeting_id", |(_, field)| field.as_str());
            return Err(ApiError::field(
                field,
                format!("there is no meeting {missing}"),
            ));
        }
    }
    stage_events(batch, &events)?;
    #[derive(Serialize)]
    struct Created {
        agreement_id: Uuid,
        event_id: Uuid,
        n: usize,
    }
    for agreement_id in created {
        let n = batch.created_events.len();
        Batch::stage(
            &mut batch.created_events,
            Created {
                agreement_id,
                event_id: Uuid::now_v7(),
                n,
            },
        )?;
    }

    let links = ids
        .iter()
        .zip(field_names)
        .zip(new)
        .map(|((id, field), (_, input))| (*id, field, *input))
        .collect();
    Ok(Staged { ids, links })
}

/// Writes agreements, each after any its meeting already has, with their history (their
/// creation on their meeting's date, or the events they carry) and their links;
/// returns their ids.
pub async fn insert_all(
    conn: &mut PgConnection,
    new: &[(Uuid, &AgreementInput)],
    sent: Sent,
) -> ApiResult<Vec<Uuid>> {
    let mut batch = Batch::default();
    let staged = stage(conn, &mut batch, new, sent, &[]).await?;
    if staged.ids.is_empty() {
        return Ok(Vec::new());
    }
    batch.write(conn).await?;
    staged.link(conn).await?;
    Ok(staged.ids)
}

/// The status an agreement is stored with: its latest event's, when it carries events.
fn status_of(input: &AgreementInput) -> AgreementStatus {
    input
        .events
        .as_deref()
        .and_then(crate::domain::agreement::latest)
        .map(|event| event.status)
        .or(input.status)
        .unwrap_or(AgreementStatus::Agreed)
}

/// Stages events, each `(agreement id, event)`, in the order given (which is the order
/// recorded); returns their ids.
fn stage_events(batch: &mut Batch, events: &[(Uuid, &EventInput)]) -> ApiResult<Vec<Uuid>> {
    #[derive(Serialize)]
    struct Row<'a> {
        id: Uuid,
        idx: usize,
        agreement_id: Uuid,
        status: &'static str,
        occurred_on: NaiveDate,
        note: Option<&'a str>,
        source_url: Option<&'a str>,
        source_title: Option<&'a str>,
        source_publisher: Option<&'a str>,
        source_published_on: Option<NaiveDate>,
        meeting_id: Option<Uuid>,
    }
    let mut ids = Vec::with_capacity(events.len());
    for (agreement_id, e) in events {
        let source = e.source.as_ref();
        let id = Uuid::now_v7();
        ids.push(id);
        let idx = batch.events.len();
        Batch::stage(
            &mut batch.events,
            Row {
                id,
                idx,
                agreement_id: *agreement_id,
                status: e.status.as_str(),
                occurred_on: e.on,
                note: e.note.as_deref(),
                source_url: source.and_then(|s| s.url.as_deref()),
                source_title: source.and_then(|s| s.title.as_deref()),
                source_publisher: source.and_then(|s| s.publisher.as_deref()),
                source_published_on: source.and_then(|s| s.published_on),
                meeting_id: e.meeting_id,
            },
        )?;
    }
    Ok(ids)
}

/// Writes events, each `(agreement id, event)`, in the order given (which is the order
/// recorded); returns their ids. The meetings they name must exist.
pub async fn insert_events(
    conn: &mut PgConnection,
    events: &[(Uuid, &EventInput)],
) -> ApiResult<Vec<Uuid>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let mut batch = Batch::default();
    let ids = stage_events(&mut batch, events)?;
    batch.write(conn).await?;
    Ok(ids)
}

/// Writes the links of agreements `(id, field prefix, input)`, replacing any they had
/// when `replacing`: every target must exist, and no chain of `supersedes` may come back
/// to where it began.
async fn write_links(
    conn: &mut PgConnection,
    agreements: &[(Uuid, String, &AgreementInput)],
    replacing: bool,
) -> ApiResult<()> {
    #[derive(Serialize)]
    struct Row {
        agreement_id: Uuid,
        position: usize,
        target_id: Uuid,
        relation: &'static str,
    }
    let mut rows = Vec::new();
    let mut fields = std::collections::HashMap::new();
    for (id, prefix, input) in agreements {
        for (position, link) in input.relates_to.iter().enumerate() {
            if link.agreement_id == *id {
                return Err(ApiError::field(
                    format!("{prefix}relates_to[{position}].agreement_id"),
                    "an agreement cannot relate to itself",
                ));
            }
            rows.push(Row {
                agreement_id: *id,
                position,
                target_id: link.agreement_id,
                relation: link.relation.as_str(),
            });
            fields.insert(
                (*id, position),
                format!("{prefix}relates_to[{position}].agreement_id"),
            );
        }
    }
    let field = |agreement_id: Uuid, position: i32| {
        usize::try_from(position)
            .ok()
            .and_then(|position| fields.get(&(agreement_id, position)).cloned())
            .unwrap_or_else(|| "relates_to".to_string())
    };
    let ids: Vec<Uuid> = agreements.iter().map(|(id, ..)| *id).collect();
    // A delete of no rows still runs the links' statement trigger, which updates (no)
    // meetings, which runs theirs: a new agreement skips all of it.
    if replacing {
        sqlx::query("DELETE FROM agreement_links WHERE agreement_id = ANY($1)")
            .bind(&ids)
            .execute(&mut *conn)
            .await?;
    }
    if rows.is_empty() {
        return Ok(());
    }
    let unknown: Option<(Uuid, i32, Uuid)> = sqlx::query_as(
        "SELECT r.agreement_id, r.position, r.target_id
           FROM jsonb_to_recordset($1) AS r(agreement_id uuid, position int, target_id uuid)
          WHERE NOT EXISTS (SELECT 1 FROM agreements t WHERE t.id = r.target_id)
          ORDER BY r.agreement_id, r.position LIMIT 1",
    )
    .bind(sqlx::types::Json(&rows))
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((agreement_id, position, target)) = unknown {
        return Err(ApiError::field(
            field(agreement_id, position),
            format!("there is no agreement {target}"),
        ));
    }
    sqlx::query(
        "INSERT INTO agreement_links (agreement_id, position, target_id, relation)
         SELECT r.agreement_id, r.position, r.target_id, r.relation
           FROM jsonb_to_recordset($1) AS r(agreement_id uuid, position int, target_id uuid, relation text)",
    )
    .bind(sqlx::types::Json(&rows))
    .execute(&mut *conn)
    .await?;
    let supersedes = Relation::Supersedes.as_str();
    if rows.iter().any(|row| row.relation == supersedes) {
        // Each chain of `supersedes` from the new links, walked until it ends or comes
        // back to its start; UNION drops the steps already taken, so a cycle ends it.
        let cycle: Option<(Uuid, i32)> = sqlx::query_as(
            "WITH RECURSIVE walk (start, position, at) AS (
                 SELECT l.agreement_id, l.position, l.target_id FROM agreement_links l
                  WHERE l.agreement_id = ANY($1) AND l.relation = 'supersedes'
                 UNION
                 SELECT w.start, w.position, l.target_id
                   FROM walk w JOIN agreement_links l ON l.agreement_id = w.at AND l.relation = 'supersedes'
             )
             SELECT start, position FROM walk WHERE at = start ORDER BY start, position LIMIT 1",
        )
        .bind(&ids)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some((agreement_id, position)) = cycle {
            return Err(ApiError::field(
                field(agreement_id, position),
                "this link would close a cycle of `supersedes`: an agreement cannot, through \
                 others, supersede itself",
            ));
        }
    }
    Ok(())
}

/// Filters of `GET /v1/agreements`. Dates are inclusive.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementFilters {
    /// Every listed country is a party.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub party: Vec<CountryCode>,
    /// Any of the listed statuses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<AgreementStatus>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kind: Vec<AgreementKind>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topic: Vec<Topic>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_before: Option<FilterDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_after: Option<FilterDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<FilterDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<FilterDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Statuses as they stood at the end of this day: `status` filters on them, each
    /// item carries `status_as_of`, and agreements made later are left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<FilterDate>,
    /// Only agreements due before `as_of` (today when absent) and not then fulfilled,
    /// lapsed or withdrawn.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overdue: bool,
    #[serde(default, skip_serializing)]
    pub limit: Limit,
    #[serde(default, skip_serializing)]
    pub cursor: Option<String>,
}

impl crate::store::pagination::Listed for AgreementFilters {
    const LIST: &'static str = "agreements";
}

impl AgreementFilters {
    /// Pushes ` AND ...` conditions on agreements `a` of meetings `m`.
    pub fn push_conditions(&self, sql: &mut QueryBuilder<Postgres>) -> ApiResult<()> {
        self.push_filters(sql, Keyed::No)
    }

    /// Pushes ` AND ...` conditions on agreements `a`, the party and the columns the
    /// page's key holds checked on that key when it is `agreement_parties` `k`.
    fn push_filters(&self, sql: &mut QueryBuilder<Postgres>, keyed: Keyed) -> ApiResult<()> {
        // The columns `agreements` and `agreement_parties` share, read from the key.
        let k = keyed.alias();
        let parties: Vec<&str> = self.party.iter().map(|c| c.as_str()).collect();
        match (keyed, parties.split_first()) {
            (Keyed::ByParty, Some((first, others))) => {
                sql.push(" AND k.party = ").push_bind(*first);
                if !others.is_empty() {
                    sql.push(" AND a.parties @> ").push_bind(others.to_vec());
                }
            }
            (_, Some(_)) => {
                sql.push(" AND a.parties @> ").push_bind(parties);
            }
            (_, None) => {}
        }
        if !self.status.is_empty() {
            let statuses: Vec<&str> = self.status.iter().map(|s| s.as_str()).collect();
            if let Some(FilterDate(as_of)) = self.as_of {
                // Only agreements with an event of one of these statuses by then can have
                // one of them as of then: the planner starts from those events (by
                // status and date) rather than from every agreement.
                sql.push(format!(
                    " AND {k}.id IN (SELECT e.agreement_id FROM agreement_events e
                                     WHERE e.status = ANY("
                ))
                .push_bind(statuses.clone())
                .push(") AND e.occurred_on <= ")
                .push_bind(as_of)
                .push(")");
            }
            sql.push(" AND ");
            self.push_status_of(sql, k);
            sql.push(" = ANY(").push_bind(statuses).push(")");
        }
        if let Some(FilterDate(as_of)) = self.as_of {
            sql.push(format!(" AND {k}.meeting_date <= "))
                .push_bind(as_of);
        }
        if self.overdue {
            let due = self
                .as_of
                .map_or_else(|| chrono::Utc::now().date_naive(), |d| d.0);
            sql.push(format!(" AND {k}.due_by < "))
                .push_bind(due)
                .push(" AND ");
            self.push_status_of(sql, k);
            sql.push(" NOT IN ('fulfilled', 'lapsed', 'withdrawn')");
        }
        if !self.kind.is_empty() {
            let kinds: Vec<&str> = self.kind.iter().map(|k| k.as_str()).collect();
            sql.push(format!(" AND {k}.kind = ANY("))
                .push_bind(kinds)
                .push(")");
        }
        if !self.topic.is_empty() {
            let topics: Vec<&str> = self.topic.iter().map(Topic::as_str).collect();
            sql.push(" AND a.topics @> ").push_bind(topics);
        }
        if let Some(FilterDate(date)) = self.due_before {
            sql.push(format!(" AND {k}.due_by <= ")).push_bind(date);
        }
        if let Some(FilterDate(date)) = self.due_after {
            sql.push(format!(" AND {k}.due_by >= ")).push_bind(date);
        }
        if let Some(FilterDate(from)) = self.from {
            sql.push(format!(" AND {k}.meeting_date >= "))
                .push_bind(from);
        }
        if let Some(FilterDate(to)) = self.to {
            sql.push(format!(" AND {k}.meeting_date <= ")).push_bind(to);
        }
        if let Some(meeting_id) = self.meeting_id {
            sql.push(" AND a.meeting_id = ").push_bind(meeting_id);
        }
        if let Some(q) = &self.q {
            let q = crate::store::search::Query::parse(q)?;
            sql.push(" AND a.search @@ ");
            q.push_tsquery(sql);
        }
        Ok(())
    }

    /// Pushes agreement `a`'s status as the filters read it: as of `as_of` when given,
    /// else as it stands (events are never dated after today, so that is today's).
    pub fn push_status(&self, sql: &mut QueryBuilder<Postgres>) {
        self.push_status_of(sql, "a");
    }

    /// `push_status`, of agreement `k` (`agreements` or `agreement_parties`).
    fn push_status_of(&self, sql: &mut QueryBuilder<Postgres>, k: &str) {
        match self.as_of {
            Some(FilterDate(as_of)) => {
                // Unchanged since that day: the status it has now. Else read from its
                // history.
                sql.push(format!("CASE WHEN {k}.status_on <= "))
                    .push_bind(as_of)
                    .push(format!(" THEN {k}.status ELSE "))
                    .push(representation::status_as_of_open(k))
                    .push_bind(as_of)
                    .push(representation::STATUS_AS_OF_CLOSE)
                    .push(" END");
            }
            None => {
                sql.push(format!("{k}.status"));
            }
        }
    }

    /// Pushes the query for one page of `GET /v1/agreements`, after the cursor if any:
    /// rows of (item JSON, meeting date, position, id), one more than the page size.
    /// Filtered by a party, the page is a range of `agreement_parties`' key (party,
    /// meeting date, position, id), its other conditions checked there where it holds
    /// them; else a range of `agreements`' own (meeting date, position, id).
    pub fn push_page(&self, sql: &mut QueryBuilder<Postgres>) -> ApiResult<()> {
        let after: Option<(NaiveDate, i32, Uuid)> = self
            .cursor
            .as_deref()
            .map(|cursor| pagination::decode(cursor, self))
            .transpose()?;
        let keyed = if self.party.is_empty() {
            Keyed::No
        } else {
            Keyed::ByParty
        };
        let k = keyed.alias();
        sql.push("SELECT (").push(representation::AGREEMENT_ITEM);
        if self.as_of.is_some() {
            sql.push(" || jsonb_build_object('status_as_of', ");
            self.push_status(sql);
            sql.push(")");
        }
        sql.push(format!(
            ")::text, {k}.meeting_date, {k}.position, {k}.id FROM "
        ));
        if keyed == Keyed::ByParty {
            sql.push("agreement_parties k JOIN agreements a ON a.id = k.id ");
        } else {
            sql.push("agreements a ");
        }
        sql.push("JOIN meetings m ON m.id = a.meeting_id WHERE true");
        self.push_filters(sql, keyed)?;
        if let Some((date, position, id)) = after {
            sql.push(format!(" AND ({k}.meeting_date, {k}.position, {k}.id) < ("))
                .push_bind(date)
                .push(", ")
                .push_bind(position);
            sql.push(", ").push_bind(id).push(")");
        }
        sql.push(format!(
            " ORDER BY {k}.meeting_date DESC, {k}.position DESC, {k}.id DESC LIMIT "
        ))
        .push_bind(self.limit.get() + 1);
        Ok(())
    }
}

/// What the key of a page of agreements is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keyed {
    /// `agreements`' own columns.
    No,
    /// `agreement_parties`' rows for the first party asked for.
    ByParty,
}

impl Keyed {
    /// The alias of the table whose columns the page's key and shared filters read.
    fn alias(self) -> &'static str {
        match self {
            Keyed::No => "a",
            Keyed::ByParty => "k",
        }
    }
}

/// One page of `GET /v1/agreements`, as its JSON.
pub async fn page(db: &PgPool, filters: &AgreementFilters) -> ApiResult<String> {
    let mut sql = QueryBuilder::new("");
    filters.push_page(&mut sql)?;
    let rows: Vec<(String, NaiveDate, i32, Uuid)> = sql.build_query_as().fetch_all(db).await?;
    let (rows, more) = pagination::split_page(rows, filters.limit);
    let next = match rows.last() {
        Some((_, date, position, id)) if more => {
            Some(pagination::encode(&(date, position, id), filters))
        }
        _ => None,
    };
    let items: Vec<String> = rows.into_iter().map(|row| row.0).collect();
    Ok(pagination::page_json(&items, next, None))
}

/// Agreement `id`'s meeting, and the agreement as an input (what a merge patch applies
/// to), locked for the update.
pub async fn for_update(conn: &mut PgConnection, id: Uuid) -> ApiResult<(Uuid, serde_json::Value)> {
    let current: Option<(Uuid, serde_json::Value)> =
        sqlx::query_as(representation::AGREEMENT_FOR_UPDATE)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    current.ok_or(ApiError::NotFound("agreement"))
}

/// Writes `input` over agreement `id`; its links too when `links_changed`. A change of
/// status is recorded as an event on `today`, or on the agreement's making if that is
/// later.
pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    input: &AgreementInput,
    links_changed: bool,
    today: NaiveDate,
) -> ApiResult<()> {
    let was: String = sqlx::query_scalar("SELECT status FROM agreements WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE agreements SET title = $2, description = $3, kind = $4, status = $5, parties = $6, topics = $7,
                               signed_on = $8, due_by = $9
         WHERE id = $1",
    )
    .bind(id)
    .bind(input.title.trim())
    .bind(input.description.as_deref())
    .bind(input.kind.unwrap_or(AgreementKind::Other).as_str())
    .bind(status_of(input).as_str())
    .bind(input.parties())
    .bind(input.topics.iter().map(Topic::as_str).collect::<Vec<_>>())
    .bind(input.signed_on)
    .bind(input.due_by)
    .execute(&mut *conn)
    .await?;
    if links_changed {
        write_links(conn, &[(id, String::new(), input)], true).await?;
    }
    let status = status_of(input);
    if status.as_str() != was {
        sqlx::query(
            "INSERT INTO agreement_events (id, agreement_id, status, occurred_on)
             SELECT $2, a.id, $3, greatest($4::date, m.date)
               FROM agreements a JOIN meetings m ON m.id = a.meeting_id WHERE a.id = $1",
        )
        .bind(id)
        .bind(Uuid::now_v7())
        .bind(status.as_str())
        .bind(today)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Keeps meeting `id`'s agreements' histories in step with its date `date`: each one's
/// creation is on it, and no later event before it. Statuses and their days follow.
pub async fn follow_meeting_date(
    conn: &mut PgConnection,
    id: Uuid,
    date: NaiveDate,
) -> ApiResult<()> {
    let moved = sqlx::query(
        "WITH creation AS (
             SELECT DISTINCT ON (e.agreement_id) e.id
               FROM agreement_events e JOIN agreements a ON a.id = e.agreement_id
              WHERE a.meeting_id = $1
              ORDER BY e.agreement_id, e.seq)
         UPDATE agreement_events e
            SET occurred_on = CASE WHEN e.id IN (SELECT id FROM creation) THEN $2
                                   ELSE greatest(e.occurred_on, $2) END
           FROM agreements a
          WHERE a.id = e.agreement_id AND a.meeting_id = $1
            AND (e.occurred_on < $2 OR (e.id IN (SELECT id FROM creation) AND e.occurred_on <> $2))",
    )
    .bind(id)
    .bind(date)
    .execute(&mut *conn)
    .await?;
    if moved.rows_affected() > 0 {
        sqlx::query(
            "UPDATE agreements a
                SET (status, status_on) = (SELECT e.status, e.occurred_on FROM agreement_events e
                                            WHERE e.agreement_id = a.id
                                            ORDER BY e.occurred_on DESC, e.seq DESC LIMIT 1)
              WHERE a.meeting_id = $1",
        )
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Agreement `id`'s meeting and the date it was made (its meeting's), locking the
/// meeting against concurrent edits; 404 when there is no such agreement.
pub async fn lock_meeting(conn: &mut PgConnection, id: Uuid) -> ApiResult<(Uuid, NaiveDate)> {
    let found: Option<(Uuid, NaiveDate)> = sqlx::query_as(
        "SELECT m.id, m.date FROM agreements a JOIN meetings m ON m.id = a.meeting_id
          WHERE a.id = $1 FOR UPDATE OF m",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    found.ok_or(ApiError::NotFound("agreement"))
}

/// The date of meeting `id`, if there is one.
pub async fn meeting_date(conn: &mut PgConnection, id: Uuid) -> ApiResult<Option<NaiveDate>> {
    Ok(
        sqlx::query_scalar("SELECT date FROM meetings WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Event `id` as `GET /v1/agreements/{id}/events` lists it.
pub async fn event(conn: &mut PgConnection, id: Uuid) -> ApiResult<String> {
    let json: Option<String> = sqlx::query_scalar(representation::AGREEMENT_EVENT_BY_ID)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    json.ok_or(ApiError::NotFound("event"))
}

/// Agreement `id`'s events, oldest first, as `{"items": [...]}`; 404 when there is no
/// such agreement.
pub async fn events(db: &PgPool, id: Uuid) -> ApiResult<String> {
    let items: Option<String> = sqlx::query_scalar(representation::AGREEMENT_EVENTS)
        .bind(id)
        .fetch_optional(db)
        .await?;
    let items = items.ok_or(ApiError::NotFound("agreement"))?;
    Ok(format!("{{\"items\":{items}}}"))
}

/// What other meetings' agreements say about meetings about to be replaced whole (an
/// upsert import): links to their agreements and events naming them. Replacing a
/// meeting deletes it first, which would take these along.
pub struct References {
    links: Vec<(Uuid, i32, Uuid, String)>,
    events: Vec<(Uuid, Uuid)>,
}

/// The references into meetings `ids` from outside them, to restore with `restore`.
pub async fn references_into(conn: &mut PgConnection, ids: &[Uuid]) -> ApiResult<References> {
    let links = sqlx::query_as(
        "SELECT l.agreement_id, l.position, l.target_id, l.relation
           FROM agreement_links l
           JOIN agreements t ON t.id = l.target_id
           JOIN agreements s ON s.id = l.agreement_id
          WHERE t.meeting_id = ANY($1) AND NOT s.meeting_id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let events = sqlx::query_as(
        "SELECT e.id, e.meeting_id
           FROM agreement_events e JOIN agreements a ON a.id = e.agreement_id
          WHERE e.meeting_id = ANY($1) AND NOT a.meeting_id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(References { links, events })
}

/// Restores `references` once their meetings are written again: each link whose
/// target agreement is still there (an exported agreement keeps its id), and each
/// event's meeting.
pub async fn restore(conn: &mut PgConnection, references: References) -> ApiResult<()> {
    if !references.links.is_empty() {
        let (sources, positions, targets, relations): (
            Vec<Uuid>,
            Vec<i32>,
            Vec<Uuid>,
            Vec<String>,
        ) = references.links.into_iter().fold(
            (Vec::new(), Vec::new(), Vec::new(), Vec::new()),
            |(mut s, mut p, mut t, mut r), link| {
                s.push(link.0);
                p.push(link.1);
                t.push(link.2);
                r.push(link.3);
                (s, p, t, r)
            },
        );
        sqlx::query(
            "INSERT INTO agreement_links (agreement_id, position, target_id, relation)
             SELECT l.agreement_id, l.position, l.target_id, l.relation
               FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::text[])
                    AS l(agreement_id, position, target_id, relation)
              WHERE EXISTS (SELECT 1 FROM agreements t WHERE t.id = l.target_id)
             ON CONFLICT DO NOTHING",
        )
        .bind(sources)
        .bind(positions)
        .bind(targets)
        .bind(relations)
        .execute(&mut *conn)
        .await?;
    }
    if !references.events.is_empty() {
        let (events, meetings): (Vec<Uuid>, Vec<Uuid>) = references.events.into_iter().unzip();
        sqlx::query(
            "UPDATE agreement_events e SET meeting_id = r.meeting_id
               FROM unnest($1::uuid[], $2::uuid[]) AS r(id, meeting_id)
              WHERE e.id = r.id AND EXISTS (SELECT 1 FROM meetings m WHERE m.id = r.meeting_id)",
        )
        .bind(events)
        .bind(meetings)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
