//! Counts for dashboards, over the same filters as the lists.

use crate::http::routes::Routes;
use crate::http::routes::get;
use axum::extract::RawQuery;

use crate::AppState;
use crate::domain::error::{ApiError, ApiResult};
use crate::http::extract::split_query;
use crate::http::json::JsonText;
use crate::http::replica::ReadPool;
use crate::store::agreements::AgreementFilters;
use crate::store::filters::MeetingFilters;
use crate::store::stats::{self, Grouping};

pub fn routes() -> Routes<AppState> {
    Routes::new()
        .route("/v1/stats/meetings", get(meetings))
        .route("/v1/stats/agreements", get(agreements))
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

async fn meetings(ReadPool(db): ReadPool, RawQuery(query): RawQuery) -> ApiResult<JsonText> {
    let (given, filters): (_, MeetingFilters) = split_query(query.as_deref(), &["group_by"])?;
    let grouping = group_by(
        given,
        "year, month, country, kind, topic",
        stats::meeting_grouping,
    )?;
    // Every meeting's counts are kept as meetings are written.
    if filters.is_unfiltered() {
        return Ok(JsonText(stats::kept_meeting_counts(&db, grouping).await?));
    }
    Ok(JsonText(
        stats::counts(&db, grouping, |sql| filters.push_conditions(sql)).await?,
    ))
}

async fn agreements(ReadPool(db): ReadPool, RawQuery(query): RawQuery) -> ApiResult<JsonText> {
    let (given, filters): (_, AgreementFilters) = split_query(query.as_deref(), &["group_by"])?;
    let grouping = group_by(
        given,
        "status, kind, party, topic",
        stats::agreement_grouping,
    )?;
    // As of a date, the status is the one the agreement had then.
    let push_key = (stats::by_status(&grouping) && filters.as_of.is_some())
        .then_some(|sql: &mut sqlx::QueryBuilder<sqlx::Postgres>| filters.push_status(sql));
    Ok(JsonText(
        stats::counts_by(&db, grouping, push_key, |sql| filters.push_conditions(sql)).await?,
    ))
}
