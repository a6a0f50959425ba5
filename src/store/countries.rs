//! Countries: how often and with whom each has met.

use chrono::NaiveDate;
use sqlx::PgPool;

use crate::domain::country::CountryCode;
use crate::domain::error::ApiResult;

/// How many meetings `country` took part in, and the first and last dates.
pub async fn meeting_span(
    db: &PgPool,
    country: CountryCode,
) -> ApiResult<(i64, Option<NaiveDate>, Option<NaiveDate>)> {
    Ok(sqlx::query_as(
        "SELECT count(*), min(date), max(date) FROM meetings WHERE countries @> ARRAY[$1]",
    )
    .bind(country.as_str())
    .fetch_one(db)
    .await?)
}

/// `country`'s most frequent partners between `from` and `to`, at most `limit`, as a
/// JSON array.
pub async fn partners(
    db: &PgPool,
    country: CountryCode,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    limit: i64,
) -> ApiResult<String> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(json_agg(json_build_object('country', partner, 'meetings', meetings, 'last_met_on', last_met_on)
                                  ORDER BY meetings DESC, partner), '[]')::text
         FROM (SELECT partner, count(*) AS meetings, max(m.date) AS last_met_on
               FROM meetings m, unnest(m.countries) AS partner
               WHERE m.countries @> ARRAY[$1] AND partner <> $1
                 AND ($2::date IS NULL OR m.date >= $2) AND ($3::date IS NULL OR m.date <= $3)
               GROUP BY partner
               ORDER BY meetings DESC, partner
               LIMIT $4) partners",
    )
    .bind(country.as_str())
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_one(db)
    .await?)
}

/// The counts of `commitments`: country `$1`, made from `$2` to `$3` (either may be
/// null) and by `$4`, statuses as of `$4`. One index-only range of `agreement_parties`
/// per kind; only an agreement changed after `$4` has its history read.
pub const COMMITMENTS: &str = "SELECT count(*) AS made,
                count(*) FILTER (WHERE s.status = 'fulfilled') AS fulfilled,
                count(*) FILTER (WHERE s.status NOT IN ('fulfilled', 'lapsed', 'withdrawn')) AS open,
                count(*) FILTER (WHERE s.status NOT IN ('fulfilled', 'lapsed', 'withdrawn')
                                   AND c.due_by < $4) AS overdue,
                count(*) FILTER (WHERE s.status = 'lapsed') AS lapsed,
                count(*) FILTER (WHERE s.status = 'withdrawn') AS withdrawn,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY s.occurred_on - c.meeting_date)
                    FILTER (WHERE s.status = 'fulfilled') AS median_days_to_fulfil
           FROM agreement_parties c
           CROSS JOIN LATERAL (SELECT c.status, c.status_on AS occurred_on WHERE c.status_on <= $4
                               UNION ALL
                               (SELECT e.status, e.occurred_on FROM agreement_events e
                                 WHERE c.status_on > $4 AND e.agreement_id = c.id
                                   AND e.occurred_on <= $4
                                 ORDER BY e.occurred_on DESC, e.seq DESC LIMIT 1)) s
          WHERE c.party = $1 AND c.kind IN ('pledge', 'plan')
            AND c.meeting_date BETWEEN coalesce($2::date, '-infinity') AND least(coalesce($3::date, 'infinity'), $4)";

/// `country`'s record on its pledges and plans made between `from` and `to` (by meeting
/// date), as their statuses stood at the end of `as_of`: (made, fulfilled, open,
/// overdue, lapsed, withdrawn, median days from making to fulfilment).
pub async fn commitments(
    db: &PgPool,
    country: CountryCode,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    as_of: NaiveDate,
) -> ApiResult<CommitmentCounts> {
    Ok(sqlx::query_as(COMMITMENTS)
        .bind(country.as_str())
        .bind(from)
        .bind(to)
        .bind(as_of)
        .fetch_one(db)
        .await?)
}

/// What `commitments` counts.
#[derive(Debug, sqlx::FromRow)]
pub struct CommitmentCounts {
    pub made: i64,
    pub fulfilled: i64,
    pub open: i64,
    pub overdue: i64,
    pub lapsed: i64,
    pub withdrawn: i64,
    pub median_days_to_fulfil: Option<f64>,
}
