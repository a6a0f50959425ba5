//! The change feed, `GET /v1/changes`: every committed change exactly once, read from
//! the history.
//!
//! Each change records the id of the transaction that wrote it (`changes.xid`,
//! migration 0010). A page is read in one statement, with the watermark of that
//! statement's snapshot (`pg_snapshot_xmin(pg_current_snapshot())`, less what runs in
//! other databases), below which every transaction has finished. Only changes below the watermark are listed, in
//! `(xid, id)` order, so a change that is not listed yet can only ever land after the
//! cursor: a transaction still open, whatever it took as its id or its time, holds the
//! watermark back until it ends.

use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::country::CountryCode;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::vocabulary::{FilterDate, MeetingKind, Topic};
use crate::store::filters::MeetingFilters;
use crate::store::history::Resource;
use crate::store::pagination::{self, Limit};
use crate::store::people::PersonRef;

/// The value of `after` that asks for only what comes next.
pub const NOW: &str = "now";

/// The parameters of `GET /v1/changes`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedFilters {
    /// Only changes to this kind of record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<Resource>,
    /// Only changes to this meeting and to its items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_id: Option<Uuid>,
    /// Only changes to meetings that every listed country takes part in, and to their
    /// items; like the other meeting filters below, as `GET /v1/meetings` has them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub country: Vec<CountryCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topic: Vec<Topic>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MeetingKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<FilterDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<FilterDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing)]
    pub limit: Limit,
    /// A cursor from the feed, `now`, or nothing (from the start).
    #[serde(default, skip_serializing)]
    pub after: Option<String>,
}

impl pagination::Listed for FeedFilters {
    const LIST: &'static str = "changes";
}

/// A place in the feed: after the change `id` of transaction `xid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Position(u64, i64);

impl Position {
    /// Before every change.
    pub const START: Position = Position(0, 0);

    /// Before every change of transaction `xid` and of those after it.
    fn at_watermark(xid: u64) -> Position {
        Position(xid, 0)
    }
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    After(Position),
    /// At the watermark: only what commits from now on.
    Now,
}

/// The watermark of the statement's snapshot, as `xmin`: its oldest transaction still
/// running, or past them all. The snapshot's own xmin would do, but transaction ids
/// are the whole server's: a long transaction in another database (a migration, a
/// test's) would hold the feed back though it can write no change here. So running
/// transactions that `pg_stat_activity` shows in another database are passed over; one
/// it does not show there (ended since, in this database, prepared, or hidden from this
/// role) still holds the watermark, which is never too far.
macro_rules! watermark {
    () => {
        "SELECT least(pg_snapshot_xmax(snap.s),
                      (SELECT min(running.xid) FROM pg_snapshot_xip(snap.s) AS running(xid)
                        WHERE NOT EXISTS (SELECT FROM pg_stat_activity a
                                           WHERE a.backend_xid = running.xid::xid
                                             AND a.datname <> current_database()))) AS xmin
           FROM (SELECT pg_current_snapshot() AS s) snap"
    };
}

impl FeedFilters {
    /// Where the page starts, from `after`; a cursor that the feed did not make for
    /// these filters is a 400 naming `after`.
    pub fn start(&self) -> ApiResult<Start> {
        match self.after.as_deref().map(str::trim) {
            None | Some("") => Ok(Start::After(Position::START)),
            Some(NOW) => Ok(Start::Now),
            Some(cursor) => pagination::decode(cursor, self)
                .map(Start::After)
                .map_err(|error| match error {
                    ApiError::BadRequest(message) => {
                        ApiError::BadRequest(message.replacen("`cursor`", "`after`", 1))
                    }
                    other => other,
                }),
        }
    }

    /// The cursor for `position` in this feed.
    fn cursor(&self, position: Position) -> String {
        pagination::encode(&position, self)
    }

    /// The meeting filters given, as the meetings list takes them; `None` when none is.
    fn meetings(&self) -> Option<MeetingFilters> {
        let meetings = MeetingFilters {
            country: self.country.clone(),
            person: self.person.clone(),
            role: self.role.clone(),
            topic: self.topic.clone(),
            kind: self.kind,
            from: self.from,
            to: self.to,
            city: self.city.clone(),
            ..MeetingFilters::default()
        };
        (!meetings.is_unfiltered()).then_some(meetings)
    }

    /// Pushes the query for one page after `after`: one row holding the watermark,
    /// with each change below it that the page holds (`limit + 1` of them, to tell
    /// whether more follow), or one row with the watermark alone.
    pub fn push_page(&self, after: Position, sql: &mut QueryBuilder<Postgres>) -> ApiResult<()> {
        sql.push(concat!("WITH mark AS (", watermark!(), ")"));
        sql.push(
            " SELECT mark.xmin::text, page.item, page.xid::text, page.id
               FROM mark LEFT JOIN LATERAL (
                    SELECT json_build_object(
                               'at', c.changed_at,
                               'action', c.action,
                               'resource', c.resource,
                               'id', c.resource_id,
                               'meeting_id', c.meeting_id,
                               'version', c.version)::text AS item,
                           c.xid, c.id
                      FROM changes c
                     WHERE c.xid < mark.xmin AND (c.xid, c.id) > (",
        )
        .push_bind(after.0.to_string())
        .push("::text::xid8, ")
        .push_bind(after.1)
        .push(")");
        if let Some(resource) = self.resource {
            sql.push(" AND c.resource = ").push_bind(resource.as_str());
        }
        if let Some(meeting_id) = self.meeting_id {
            sql.push(" AND c.meeting_id = ").push_bind(meeting_id);
        }
        if let Some(meetings) = self.meetings() {
            // The meeting as it stands now decides. A meeting deleted since can no
            // longer be asked, so its deletion is listed to every such reader (a mirror
            // drops what it holds), and its earlier changes to none.
            sql.push(" AND (EXISTS (SELECT FROM meetings m WHERE m.id = c.meeting_id");
            meetings.push_conditions(sql)?;
            sql.push(
                ") OR (c.resource = 'meeting' AND c.action = 'delete'
                       AND NOT EXISTS (SELECT FROM meetings m WHERE m.id = c.meeting_id)))",
            );
        }
        sql.push(" ORDER BY c.xid, c.id LIMIT ")
            .push_bind(self.limit.get() + 1)
            .push(") page ON true ORDER BY page.xid, page.id");
        Ok(())
    }
}

/// The watermark now: every transaction below it has finished.
const WATERMARK: &str = concat!("SELECT xmin::text FROM (", watermark!(), ") mark");

/// A row of a page: the watermark, and a change's JSON, transaction id and id (all
/// `NULL` when no change is listed).
type PageRow = (String, Option<String>, Option<String>, Option<i64>);

/// A transaction id as Postgres writes it.
fn xid(text: &str) -> ApiResult<u64> {
    text.parse().map_err(|_| {
        ApiError::Internal(anyhow::anyhow!("a transaction id that is not one: {text}"))
    })
}

/// The changes a page lists, and where the next page starts.
pub struct Page {
    /// Each change's cursor, and its JSON with the cursor as first key.
    pub items: Vec<(String, String)>,
    /// Where the next page starts: after the last change listed when more follow,
    /// else at the watermark (past every change that can no longer appear).
    pub next: Position,
    /// Whether more changes below the watermark follow at once.
    pub more: bool,
}

impl FeedFilters {
    /// Where a stream starts: after `Last-Event-ID` when the client sent one (it
    /// resumes where it left off), else as `after` says.
    pub fn resume(&self, last_event_id: Option<&str>) -> ApiResult<Start> {
        match last_event_id.map(str::trim).filter(|id| !id.is_empty()) {
            None => self.start(),
            Some(id) => pagination::decode(id, self).map(Start::After).map_err(|_| {
                ApiError::BadRequest(
                    "`Last-Event-ID` is not an event id this stream sent with these filters; \
                     resume with the same filters, or start again without it"
                        .into(),
                )
            }),
        }
    }
}

/// The position at the watermark now: only changes committed from now on lie after it.
pub async fn now(db: &PgPool) -> ApiResult<Position> {
    let mark: String = sqlx::query_scalar(WATERMARK).fetch_one(db).await?;
    Ok(Position::at_watermark(xid(&mark)?))
}

/// The changes after `after` that `filters` take, at most `filters.limit` of them.
pub async fn read(db: &PgPool, filters: &FeedFilters, after: Position) -> ApiResult<Page> {
    let mut sql = QueryBuilder::new("");
    filters.push_page(after, &mut sql)?;
    let rows: Vec<PageRow> = sql.build_query_as().fetch_all(db).await?;
    let mark = match rows.first() {
        Some(row) => xid(&row.0)?,
        None => return Err(ApiError::Internal(anyhow::anyhow!("no watermark"))),
    };
    let mut changes = Vec::with_capacity(rows.len());
    for (_, item, change_xid, id) in rows {
        if let (Some(item), Some(change_xid), Some(id)) = (item, change_xid, id) {
            changes.push((item, Position(xid(&change_xid)?, id)));
        }
    }
    let (changes, more) = pagination::split_page(changes, filters.limit);
    let last = changes.last().map_or(after, |(_, position)| *position);
    let next = if more {
        last
    } else {
        // Every change below the watermark that these filters take is listed: the
        // next page may start there. It never moves back (a replica's watermark may
        // trail the primary's that made the cursor).
        last.max(Position::at_watermark(mark))
    };
    let items = changes
        .into_iter()
        .map(|(item, position)| {
            let cursor = filters.cursor(position);
            let item = with_cursor(&cursor, &item);
            (cursor, item)
        })
        .collect();
    Ok(Page { items, next, more })
}

/// One page of the feed as its JSON: `{"items": [...], "next_cursor": "..."}`. The
/// next cursor is always given, so a client polls with it and meets each change once.
pub async fn page(db: &PgPool, filters: &FeedFilters) -> ApiResult<String> {
    let after = match filters.start()? {
        Start::Now => {
            let next = filters.cursor(now(db).await?);
            return Ok(pagination::page_json(&[], Some(next), None));
        }
        Start::After(position) => position,
    };
    let page = read(db, filters, after).await?;
    let items: Vec<String> = page.items.into_iter().map(|(_, item)| item).collect();
    Ok(pagination::page_json(
        &items,
        Some(filters.cursor(page.next)),
        None,
    ))
}

/// A change's JSON object with its cursor as the first key.
fn with_cursor(cursor: &str, item: &str) -> String {
    let rest = item
        .trim_start()
        .strip_prefix('{')
        .unwrap_or(item)
        .trim_start();
    let cursor = serde_json::to_string(cursor).unwrap_or_else(|_| "\"\"".into());
    if rest.starts_with('}') {
        format!("{{\"cursor\":{cursor}{rest}")
    } else {
        format!("{{\"cursor\":{cursor},{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_carries_its_cursor_first() {
        assert_eq!(
            with_cursor("abc", r#"{"at" : "x", "id" : 1}"#),
            r#"{"cursor":"abc","at" : "x", "id" : 1}"#
        );
        let item: serde_json::Value =
            serde_json::from_str(&with_cursor("a\"b", r#"{"id" : 1}"#)).unwrap();
        assert_eq!(item["cursor"], "a\"b");
    }

    #[test]
    fn after_is_a_cursor_now_or_nothing() {
        let mut filters = FeedFilters::default();
        assert_eq!(filters.start().unwrap(), Start::After(Position::START));
        filters.after = Some("now".into());
        assert_eq!(filters.start().unwrap(), Start::Now);
        let cursor = filters.cursor(Position(1234, 5));
        filters.after = Some(cursor.clone());
        assert_eq!(filters.start().unwrap(), Start::After(Position(1234, 5)));
        // Bound to its filters, and named by the parameter it came in.
        filters.meeting_id = Some(Uuid::now_v7());
        let error = filters.start().unwrap_err().to_string();
        assert!(error.contains("`after`"), "{error}");
        filters.after = Some("garbage!".into());
        let error = filters.start().unwrap_err().to_string();
        assert!(error.contains("`after`"), "{error}");
        // A position no transaction holds is refused.
        filters.meeting_id = None;
        filters.after = Some(pagination::encode(&(-1, 5), &filters));
        assert!(filters.start().is_err());
    }
}
