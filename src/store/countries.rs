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
