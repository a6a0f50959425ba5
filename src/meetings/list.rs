//! The filters of `GET /v1/meetings`, shared with stats and export.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, QueryBuilder};

use crate::country::CountryCode;
use crate::error::ApiResult;
use crate::pagination::Limit;
use crate::people::PersonRef;
use crate::vocabulary::{MeetingKind, Topic};

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
    /// Every listed topic is among the meeting's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topic: Vec<Topic>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MeetingKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
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

impl MeetingFilters {
    /// Pushes ` AND ...` conditions on meetings aliased `m`.
    pub fn push_conditions(&self, sql: &mut QueryBuilder<Postgres>) -> ApiResult<()> {
        if !self.country.is_empty() {
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
        if !self.topic.is_empty() {
            let topics: Vec<&str> = self.topic.iter().map(Topic::as_str).collect();
            sql.push(" AND m.topics @> ").push_bind(topics);
        }
        if let Some(kind) = self.kind {
            sql.push(" AND m.kind = ").push_bind(kind.as_str());
        }
        if let Some(from) = self.from {
            sql.push(" AND m.date >= ").push_bind(from);
        }
        if let Some(to) = self.to {
            sql.push(" AND m.date <= ").push_bind(to);
        }
        if let Some(city) = &self.city {
            sql.push(" AND fold(m.city) = fold(")
                .push_bind(city.trim().to_owned())
                .push(")");
        }
        if let Some(q) = &self.q {
            let query = crate::search::Query::parse(q)?;
            sql.push(" AND (m.search @@ ");
            query.push_tsquery(sql);
            sql.push(" OR m.id IN (SELECT s.meeting_id FROM statements s WHERE s.search @@ ");
            query.push_tsquery(sql);
            sql.push(") OR m.id IN (SELECT a.meeting_id FROM agreements a WHERE a.search @@ ");
            query.push_tsquery(sql);
            sql.push("))");
        }
        Ok(())
    }
}
