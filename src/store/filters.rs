//! The filters of `GET /v1/meetings`, shared with stats and export.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, QueryBuilder};

use crate::domain::country::CountryCode;
use crate::domain::error::ApiResult;
use crate::domain::vocabulary::{FilterDate, FilterInstant, MeetingKind, Topic};
use crate::store::pagination::{self, Limit};
use crate::store::people::PersonRef;
use crate::store::representation;
use uuid::Uuid;

/// What the key a page is read from holds already, so its condition need not be
/// pushed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Given {
    /// Nothing (or two of several wanted countries): every filter is a condition.
    All,
    /// Every wanted country.
    Countries,
    /// The office (`role`); the countries are checked.
    Office,
}

/// Which way the list runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sort {
    #[serde(rename = "date")]
    Oldest,
    #[default]
    #[serde(rename = "-date")]
    Newest,
}

/// Filters over meetings. Dates are inclusive and apply to the meeting's `date`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingFilters {
    /// Every listed country took part.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub country: Vec<CountryCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonRef>,
    /// Someone who took part held an office of this title on the meeting's date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Every listed topic is among the meeting's.
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
    /// Created or last changed after this instant (the start of the writing
    /// transaction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_after: Option<FilterInstant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Newest first unless given; with `q` and no `sort`, best match first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<Sort>,
    #[serde(default, skip_serializing)]
    pub limit: Limit,
    #[serde(default, skip_serializing)]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing)]
    pub include_total: bool,
}

impl crate::store::pagination::Listed for MeetingFilters {
    const LIST: &'static str = "meetings";
}

impl MeetingFilters {
    /// Pushes ` AND ...` conditions on meetings aliased `m`.
    pub fn push_conditions(&self, sql: &mut QueryBuilder<Postgres>) -> ApiResult<()> {
        self.push_filters(sql, Given::All)
    }

    /// Whether no filter narrows the meetings. Every filter given is serialized (the
    /// cursors' fingerprint relies on it), so one added later cannot be missed here.
    pub fn is_unfiltered(&self) -> bool {
        matches!(
            serde_json::to_value(self),
            Ok(serde_json::Value::Object(given)) if given.keys().all(|name| name == "sort")
        )
    }

    /// Whether countries are the only filter.
    fn only_countries(&self) -> bool {
        self.person.is_none()
            && self.role.is_none()
            && self.topic.is_empty()
            && self.kind.is_none()
            && self.from.is_none()
            && self.to.is_none()
            && self.city.is_none()
            && self.updated_after.is_none()
            && self.q.is_none()
    }

    /// The conditions of [`Self::push_conditions`], but those `given` says the page's
    /// key already holds.
    fn push_filters(&self, sql: &mut QueryBuilder<Postgres>, given: Given) -> ApiResult<()> {
        if given != Given::Countries && !self.country.is_empty() {
            let countries: Vec<&str> = self.country.iter().map(|c| c.as_str()).collect();
            sql.push(" AND m.countries @> ").push_bind(countries);
        }
        if let Some(person) = &self.person {
            sql.push(
                " AND m.id IN (SELECT p.meeting_id FROM participants p WHERE p.person_id IN (",
            );
            person.push_people(sql);
            sql.push("))");
        }
        if let Some(role) = self.role.as_ref().filter(|_| given != Given::Office) {
            // A participant held a role of that title on the meeting's day: the offices
            // held at each meeting are kept (migration 0013), one key lookup a meeting.
            sql.push(
                " AND EXISTS (SELECT 1 FROM meeting_offices o
                               WHERE o.meeting_id = m.id AND o.country = '' AND o.office = fold(",
            )
            .push_bind(crate::store::roles::whole_text("role", role)?)
            .push("))");
        }
        if !self.topic.is_empty() {
            let topics: Vec<&str> = self.topic.iter().map(Topic::as_str).collect();
            sql.push(" AND m.topics @> ").push_bind(topics);
        }
        if let Some(kind) = self.kind {
            sql.push(" AND m.kind = ").push_bind(kind.as_str());
        }
        if let Some(FilterDate(from)) = self.from {
            sql.push(" AND m.date >= ").push_bind(from);
        }
        if let Some(FilterDate(to)) = self.to {
            sql.push(" AND m.date <= ").push_bind(to);
        }
        if let Some(city) = &self.city {
            sql.push(" AND fold(m.city) = fold(")
                .push_bind(city.trim().to_owned())
                .push(")");
        }
        if let Some(FilterInstant(after)) = self.updated_after {
            sql.push(" AND m.updated_at > ").push_bind(after);
        }
        if let Some(q) = &self.q {
            let query = crate::store::search::Query::parse(q)?;
            // One list of matching ids from each table's own index: an OR across the
            // three would have to test every meeting.
            sql.push(" AND m.id IN (SELECT hit.id FROM meetings hit WHERE hit.search @@ ");
            query.push_tsquery(sql);
            sql.push(" UNION SELECT s.meeting_id FROM statements s WHERE s.search @@ ");
            query.push_tsquery(sql);
            sql.push(" UNION SELECT a.meeting_id FROM agreements a WHERE a.search @@ ");
            query.push_tsquery(sql);
            sql.push(")");
        }
        Ok(())
    }
}

/// Where the last page ended: by rank when searching, by date otherwise.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum MeetingKey {
    Ranked(f32, Uuid),
    Dated(NaiveDate, Uuid),
}

fn push_rank(sql: &mut QueryBuilder<Postgres>, query: &crate::store::search::Query) {
    sql.push("meeting_rank(m, ");
    query.push_tsquery(sql);
    sql.push(")");
}

impl MeetingFilters {
    /// The search that orders the list: `q` without an explicit `sort`.
    fn ranking(&self) -> ApiResult<Option<crate::store::search::Query>> {
        match (&self.q, self.sort) {
            (Some(q), None) => Ok(Some(crate::store::search::Query::parse(q)?)),
            _ => Ok(None),
        }
    }

    /// Pushes the query for one page of `GET /v1/meetings`, after the cursor if any:
    /// rows of (summary JSON, date, id, rank), one more than the page size.
    pub fn push_page(&self, sql: &mut QueryBuilder<Postgres>) -> ApiResult<()> {
        let search = self.ranking()?;
        let after: Option<MeetingKey> = self
            .cursor
            .as_deref()
            .map(|cursor| pagination::decode(cursor, self))
            .transpose()?;
        // The page is chosen first, from the index alone where the filters allow;
        // only its meetings are then read and written out as JSON.
        sql.push("SELECT ")
            .push(representation::SUMMARY)
            .push("::text, m.date, m.id, page.rank FROM (SELECT ");
        // Filtered by country and listed by date, the page is a range of the pairs'
        // key: (a, b, date, id) for two of the countries, or for one and itself. When
        // the pair is the whole filter, the page comes from that key alone.
        let pair = self.country_pair().filter(|_| search.is_none());
        let office = self.role.as_ref().filter(|_| search.is_none());
        let first_country = pair.as_ref().map(|(a, _, _)| a.clone()).unwrap_or_default();
        let (date_column, id_column) = match (office, pair) {
            // By office, the page is a range of `meeting_offices`' key: (office, one of
            // the countries or '', date, id).
            (Some(role), _) => {
                sql.push(
                    "m.id, 0::real AS rank FROM meeting_offices o JOIN meetings m ON m.id = o.meeting_id
                      WHERE o.office = fold(",
                )
                .push_bind(crate::store::roles::whole_text("role", role)?)
                .push(") AND o.country = ")
                .push_bind(first_country);
                self.push_filters(sql, Given::Office)?;
                ("o.date", "o.meeting_id")
            }
            (None, Some((a, b, covers_countries))) => {
                let alone = covers_countries && self.only_countries();
                sql.push(if alone {
                    "cp.meeting_id AS id, 0::real AS rank FROM meeting_country_pairs cp"
                } else {
                    "m.id, 0::real AS rank FROM meeting_country_pairs cp JOIN meetings m ON m.id = cp.meeting_id"
                });
                sql.push(" WHERE cp.a = ")
                    .push_bind(a)
                    .push(" AND cp.b = ")
                    .push_bind(b);
                if !alone {
                    let given = if covers_countries {
                        Given::Countries
                    } else {
                        Given::All
                    };
                    self.push_filters(sql, given)?;
                }
                ("cp.date", "cp.meeting_id")
            }
            (None, None) => {
                sql.push("m.id, ");
                match &search {
                    Some(q) => push_rank(sql, q),
                    None => {
                        sql.push("0::real");
                    }
                }
                sql.push(" AS rank FROM meetings m WHERE true");
                self.push_conditions(sql)?;
                ("m.date", "m.id")
            }
        };
        let sort = self.sort.unwrap_or_default();
        match (&search, after) {
            (Some(q), Some(MeetingKey::Ranked(rank, id))) => {
                sql.push(" AND (");
                push_rank(sql, q);
                sql.push(", m.id) < (")
                    .push_bind(rank)
                    .push("::real, ")
                    .push_bind(id)
                    .push(")");
            }
            (None, Some(MeetingKey::Dated(date, id))) => {
                let comparison = if sort == Sort::Newest { " < " } else { " > " };
                sql.push(format!(" AND ({date_column}, {id_column})"))
                    .push(comparison)
                    .push("(")
                    .push_bind(date);
                sql.push(", ").push_bind(id).push(")");
            }
            (_, Some(_)) => {
                return Err(pagination::invalid_cursor());
            }
            (_, None) => {}
        }
        let (inner, outer) = match (&search, sort) {
            (Some(_), _) => (
                " ORDER BY 2 DESC, m.id DESC".to_owned(),
                " ORDER BY page.rank DESC, m.id DESC",
            ),
            (None, Sort::Newest) => (
                format!(" ORDER BY {date_column} DESC, {id_column} DESC"),
                " ORDER BY m.date DESC, m.id DESC",
            ),
            (None, Sort::Oldest) => (
                format!(" ORDER BY {date_column}, {id_column}"),
                " ORDER BY m.date, m.id",
            ),
        };
        sql.push(inner)
            .push(" LIMIT ")
            .push_bind(self.limit.get() + 1);
        sql.push(") page JOIN meetings m ON m.id = page.id")
            .push(outer);
        Ok(())
    }

    /// Two of the wanted countries in order (`a <= b`), or one twice: the key of
    /// `meeting_country_pairs` that holds every meeting with both; and whether those
    /// are all the wanted countries.
    fn country_pair(&self) -> Option<(String, String, bool)> {
        let mut codes: Vec<&str> = self.country.iter().map(|c| c.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        match codes.as_slice() {
            [] => None,
            [one] => Some((one.to_string(), one.to_string(), true)),
            [a, b, rest @ ..] => Some((a.to_string(), b.to_string(), rest.is_empty())),
        }
    }

    /// The cursor for the page after a row that `push_page` returned.
    pub fn cursor_after(&self, date: NaiveDate, id: Uuid, rank: f32) -> String {
        let key = if self.q.is_some() && self.sort.is_none() {
            MeetingKey::Ranked(rank, id)
        } else {
            MeetingKey::Dated(date, id)
        };
        pagination::encode(&key, self)
    }
}
