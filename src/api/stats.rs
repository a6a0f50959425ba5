//! Counts for dashboards, over the same filters as the lists.

use crate::http::routes::Routes;
use crate::http::routes::get;
use axum::extract::RawQuery;
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::AppState;
use crate::api::meetings::agreements::AgreementFilters;
use crate::api::meetings::list::MeetingFilters;
use crate::domain::error::{ApiError, ApiResult};
use crate::http::extract::split_query;
use crate::http::json::JsonText;
use crate::http::replica::ReadPool;

pub fn routes() -> Routes<AppState> {
    Routes::new()
        .route("/v1/stats/meetings", get(meetings))
        .route("/v1/stats/agreements", get(agreements))
}

/// How a grouping names its keys: the SQL for the key, what it joins, and whether
/// keys are ordered by time (ascending) or by count (most first).
struct Grouping {
    key: &'static str,
    from: &'static str,
    chronological: bool,
}

fn meeting_grouping(group_by: &str) -> Option<Grouping> {
    let grouping = |key, from, chronological| {
        Some(Grouping {
            key,
            from,
            chronological,
        })
    };
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

fn agreement_grouping(group_by: &str) -> Option<Grouping> {
    let from = "agreements a JOIN meetings m ON m.id = a.meeting_id";
    let grouping = |key, from, chronological| {
        Some(Grouping {
            key,
            from,
            chronological,
        })
    };
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

/// The one parameter of the stats endpoints beside the list filters.
#[derive(serde::Deserialize)]
struct GroupBy {
    group_by: Option<String>,
}

fn group_by(
    GroupBy { group_by: given }: GroupBy,
    allowed: &str,
    lookup: fn(&str) -> Option<Grouping>,
) -> ApiResult<Grouping> {
    let given = given
        .ok_or_else(|| ApiError::BadRequest(format!("`group_by` is required: one of {allowed}")))?;
    lookup(&given).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "invalid query parameter `group_by`: `{given}` is not one of {allowed}"
        ))
    })
}

async fn counts(
    db: &PgPool,
    grouping: Grouping,
    push_conditions: impl FnOnce(&mut QueryBuilder<Postgres>) -> ApiResult<()>,
) -> ApiResult<JsonText> {
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
    Ok(JsonText(format!("{{\"items\":{items}}}")))
}

async fn meetings(ReadPool(db): ReadPool, RawQuery(query): RawQuery) -> ApiResult<JsonText> {
    let (given, filters): (_, MeetingFilters) = split_query(query.as_deref(), &["group_by"])?;
    let grouping = group_by(given, "year, month, country, kind, topic", meeting_grouping)?;
    counts(&db, grouping, |sql| filters.push_conditions(sql)).await
}

async fn agreements(ReadPool(db): ReadPool, RawQuery(query): RawQuery) -> ApiResult<JsonText> {
    let (given, filters): (_, AgreementFilters) = split_query(query.as_deref(), &["group_by"])?;
    let grouping = group_by(given, "status, kind, party, topic", agreement_grouping)?;
    counts(&db, grouping, |sql| filters.push_conditions(sql)).await
}
