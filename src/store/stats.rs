//! Counts of meetings and agreements, grouped by a key from an allow-list.

use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::domain::error::ApiResult;

/// How a grouping names its keys: the SQL for the key, what it joins, and whether
/// keys are ordered by time (ascending) or by count (most first).
pub struct Grouping {
    key: &'static str,
    from: &'static str,
    chronological: bool,
}

/// A grouping, in `Some` for the lookups below.
fn grouping(key: &'static str, from: &'static str, chronological: bool) -> Option<Grouping> {
    Some(Grouping {
        key,
        from,
        chronological,
    })
}

/// The groupings of `GET /v1/stats/meetings`.
pub fn meeting_grouping(group_by: &str) -> Option<Grouping> {
    match group_by {
        "year" => grouping("to_char(m.date, 'YYYY')", "meetings m", true),
        "month" => grouping("to_char(m.date, 'YYYY-MM')", "meetings m", true),
        "kind" => grouping("m.kind", "meetings m", false),
        "country" => grouping(
            "key",
            "meetings m CROSS JOIN LATERAL unnest(m.countries) AS key",
            false,
        ),
        "topic" => grouping(
            "key",
            "meetings m CROSS JOIN LATERAL unnest(m.topics) AS key",
            false,
        ),
        _ => None,
    }
}

/// The groupings of `GET /v1/stats/agreements`.
pub fn agreement_grouping(group_by: &str) -> Option<Grouping> {
    let from = "agreements a JOIN meetings m ON m.id = a.meeting_id";
    match group_by {
        "status" => grouping("a.status", from, false),
        "kind" => grouping("a.kind", from, false),
        "party" => grouping(
            "key",
            "agreements a JOIN meetings m ON m.id = a.meeting_id CROSS JOIN LATERAL unnest(a.parties) AS key",
            false,
        ),
        "topic" => grouping(
            "key",
            "agreements a JOIN meetings m ON m.id = a.meeting_id CROSS JOIN LATERAL unnest(a.topics) AS key",
            false,
        ),
        _ => None,
    }
}

/// Counts of the rows `grouping` names, as `{"items": [{"key", "count"}]}`; the
/// caller pushes its filters' conditions.
pub async fn counts(
    db: &PgPool,
    grouping: Grouping,
    push_conditions: impl FnOnce(&mut QueryBuilder<Postgres>) -> ApiResult<()>,
) -> ApiResult<String> {
    // The grouping's SQL comes from the allow-lists above; every value is bound.
    let order = if grouping.chronological {
        "key"
    } else {
        "count DESC, key"
    };
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT coalesce(json_agg(json_build_object('key', key, 'count', count) ORDER BY ",
    );
    sql.push(order)
        .push("), '[]')::text FROM (SELECT ")
        .push(grouping.key);
    sql.push(" AS key, count(*) AS count FROM ")
        .push(grouping.from)
        .push(" WHERE true");
    push_conditions(&mut sql)?;
    sql.push(" GROUP BY 1) counts");
    let items: String = sql.build_query_scalar().fetch_one(db).await?;
    Ok(format!("{{\"items\":{items}}}"))
}
