//! Counts of meetings and agreements, grouped by a key from an allow-list.

use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::domain::error::ApiResult;

/// How a grouping names its keys: the SQL for the key, what it joins, and whether
/// keys are ordered by time (ascending) or by count (most first).
pub struct Grouping {
    name: &'static str,
    key: &'static str,
    from: &'static str,
    chronological: bool,
}

/// A grouping, in `Some` for the lookups below.
fn grouping(
    name: &'static str,
    key: &'static str,
    from: &'static str,
    chronological: bool,
) -> Option<Grouping> {
    Some(Grouping {
        name,
        key,
        from,
        chronological,
    })
}

/// The groupings of `GET /v1/stats/meetings`.
pub fn meeting_grouping(group_by: &str) -> Option<Grouping> {
    match group_by {
        "year" => grouping("year", "to_char(m.date, 'YYYY')", "meetings m", true),
        "month" => grouping("month", "to_char(m.date, 'YYYY-MM')", "meetings m", true),
        "kind" => grouping("kind", "m.kind", "meetings m", false),
        "country" => grouping(
            "country",
            "key",
            "meetings m CROSS JOIN LATERAL unnest(m.countries) AS key",
            false,
        ),
        "topic" => grouping(
            "topic",
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
        "status" => grouping("status", "a.status", from, false),
        "kind" => grouping("kind", "a.kind", from, false),
        "party" => grouping(
            "party",
            "key",
            "agreements a JOIN meetings m ON m.id = a.meeting_id CROSS JOIN LATERAL unnest(a.parties) AS key",
            false,
        ),
        "topic" => grouping(
            "topic",
            "key",
            "agreements a JOIN meetings m ON m.id = a.meeting_id CROSS JOIN LATERAL unnest(a.topics) AS key",
            false,
        ),
        _ => None,
    }
}

/// The order of a grouping's keys.
fn order(grouping: &Grouping) -> &'static str {
    if grouping.chronological {
        "key"
    } else {
        "count DESC, key"
    }
}

/// Counts of every meeting by `grouping` (one of [`meeting_grouping`]'s), as
/// [`counts`] answers them, from the counts kept as meetings are written (migration
/// 0009) rather than from the meetings.
pub async fn kept_meeting_counts(db: &PgPool, grouping: Grouping) -> ApiResult<String> {
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT coalesce(json_agg(json_build_object('key', key, 'count', count) ORDER BY ",
    );
    sql.push(order(&grouping)).push(
        "), '[]')::text FROM (SELECT key, sum(n)::bigint AS count FROM meeting_counts \
         WHERE dimension = ",
    );
    sql.push_bind(grouping.name)
        .push(" GROUP BY key HAVING sum(n) > 0) counts");
    let items: String = sql.build_query_scalar().fetch_one(db).await?;
    Ok(format!("{{\"items\":{items}}}"))
}

/// Folds the rows of the kept counts into one per key, taking only the keys with more
/// than one; returns the rows it folded. Folding twice at once is safe: each row is
/// taken by one of them. What it folded away is then vacuumed: the table is small and
/// read whole by every count, and left to autovacuum its index filled with the dead
/// entries of every fold (26,557 for 66 live years at 1,000,000 meetings: 6.5 ms a
/// count where 0.3 ms will do).
pub async fn compact(db: &PgPool) -> sqlx::Result<u64> {
    let folded: i64 = sqlx::query_scalar(
        "WITH many AS (SELECT dimension, key FROM meeting_counts GROUP BY 1, 2 HAVING count(*) > 1),
              taken AS (DELETE FROM meeting_counts c USING many
                         WHERE c.dimension = many.dimension AND c.key = many.key
                        RETURNING c.dimension, c.key, c.n),
              kept AS (INSERT INTO meeting_counts (dimension, key, n)
                       SELECT dimension, key, sum(n) FROM taken GROUP BY 1, 2 HAVING sum(n) <> 0)
         SELECT count(*) FROM taken",
    )
    .fetch_one(db)
    .await?;
    if folded > 0 {
        // Outside a transaction, as VACUUM must be (the simple protocol, one statement).
        sqlx::raw_sql("VACUUM meeting_counts").execute(db).await?;
    }
    Ok(u64::try_from(folded).unwrap_or_default())
}

/// Counts of the rows `grouping` names, as `{"items": [{"key", "count"}]}`; the
/// caller pushes its filters' conditions.
pub async fn counts(
    db: &PgPool,
    grouping: Grouping,
    push_conditions: impl FnOnce(&mut QueryBuilder<Postgres>) -> ApiResult<()>,
) -> ApiResult<String> {
    counts_by(
        db,
        grouping,
        None::<fn(&mut QueryBuilder<Postgres>)>,
        push_conditions,
    )
    .await
}

/// Whether `grouping` groups by an agreement's status.
pub fn by_status(grouping: &Grouping) -> bool {
    grouping.name == "status"
}

/// `counts`, with the key pushed by `push_key` when given (a key that binds a value).
pub async fn counts_by(
    db: &PgPool,
    grouping: Grouping,
    push_key: Option<impl FnOnce(&mut QueryBuilder<Postgres>)>,
    push_conditions: impl FnOnce(&mut QueryBuilder<Postgres>) -> ApiResult<()>,
) -> ApiResult<String> {
    // The grouping's SQL comes from the allow-lists above; every value is bound.
    let order = order(&grouping);
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT coalesce(json_agg(json_build_object('key', key, 'count', count) ORDER BY ",
    );
    sql.push(order).push("), '[]')::text FROM (SELECT ");
    match push_key {
        Some(push_key) => push_key(&mut sql),
        None => {
            sql.push(grouping.key);
        }
    }
    sql.push(" AS key, count(*) AS count FROM ")
        .push(grouping.from)
        .push(" WHERE true");
    push_conditions(&mut sql)?;
    sql.push(" GROUP BY 1) counts");
    let items: String = sql.build_query_scalar().fetch_one(db).await?;
    Ok(format!("{{\"items\":{items}}}"))
}
