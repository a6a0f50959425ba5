//! Countries as meeting parties: how often they meet, and with whom.

use crate::http::routes::Routes;
use crate::http::routes::get;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::domain::country::{Country, CountryCode};
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::vocabulary::FilterDate;
use crate::http::extract::{Path, Query};
use crate::http::json::JsonText;
use crate::http::replica::ReadPool;
use crate::store::countries;
use crate::store::pagination::Limit;

pub fn routes() -> Routes<AppState> {
    Routes::new()
        .route("/v1/countries/{code}", get(show))
        .route("/v1/countries/{code}/partners", get(partners))
        .route("/v1/countries/{code}/commitments", get(commitments))
}

fn known(code: &str) -> ApiResult<Country> {
    Country::lookup(code).ok_or_else(|| ApiError::NotFound("country"))
}

async fn show(
    ReadPool(db): ReadPool,
    Path(code): Path<String>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let country = known(&code)?;
    let (meetings, first, last) = countries::meeting_span(&db, country.code).await?;
    Ok(axum::Json(serde_json::json!({
        "code": country.code,
        "alpha2": country.alpha2,
        "name": country.name,
        "former": country.former,
        "wikidata": country.wikidata(),
        "meetings": meetings,
        "first_met_on": first,
        "last_met_on": last,
    })))
}

/// Filters of `/v1/countries/{code}/partners`: the meetings' date range, inclusive.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartnerFilters {
    #[serde(default)]
    from: Option<FilterDate>,
    #[serde(default)]
    to: Option<FilterDate>,
    #[serde(default)]
    limit: Option<crate::store::pagination::Limit>,
}

async fn partners(
    ReadPool(db): ReadPool,
    Path(code): Path<String>,
    Query(filters): Query<PartnerFilters>,
) -> ApiResult<JsonText> {
    let country: CountryCode = known(&code)?.code;
    let limit = filters
        .limit
        .map_or(i64::from(Limit::MAX), |limit| limit.get());
    let items = countries::partners(
        &db,
        country,
        filters.from.map(|d| d.0),
        filters.to.map(|d| d.0),
        limit,
    )
    .await?;
    Ok(JsonText(format!("{{\"items\":{items}}}")))
}

/// Filters of `/v1/countries/{code}/commitments`: when the agreements were made
/// (inclusive), and the day their statuses are read at.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommitmentFilters {
    #[serde(default)]
    from: Option<FilterDate>,
    #[serde(default)]
    to: Option<FilterDate>,
    #[serde(default)]
    as_of: Option<FilterDate>,
}

/// A country's record on its pledges and plans: how many it made, and how many of them
/// were fulfilled, are open or overdue, lapsed or were withdrawn, as of a day.
async fn commitments(
    ReadPool(db): ReadPool,
    Path(code): Path<String>,
    Query(filters): Query<CommitmentFilters>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let country: CountryCode = known(&code)?.code;
    let as_of = filters
        .as_of
        .map_or_else(|| chrono::Utc::now().date_naive(), |d| d.0);
    let (from, to) = (filters.from.map(|d| d.0), filters.to.map(|d| d.0));
    let counts = countries::commitments(&db, country, from, to, as_of).await?;
    // Of the commitments whose fate is settled or whose time is up, the share kept.
    let judged = counts.fulfilled + counts.lapsed + counts.withdrawn + counts.overdue;
    let rate =
        (judged > 0).then(|| (counts.fulfilled as f64 / judged as f64 * 1000.0).round() / 1000.0);
    let mut items_url = format!(
        "/v1/agreements?party={}&kind=pledge&kind=plan&as_of={as_of}",
        country.as_str()
    );
    if let Some(from) = from {
        items_url.push_str(&format!("&from={from}"));
    }
    if let Some(to) = to {
        items_url.push_str(&format!("&to={to}"));
    }
    Ok(axum::Json(serde_json::json!({
        "country": country.as_str(),
        "as_of": as_of,
        "made": counts.made,
        "fulfilled": counts.fulfilled,
        "open": counts.open,
        "overdue": counts.overdue,
        "lapsed": counts.lapsed,
        "withdrawn": counts.withdrawn,
        "fulfilment_rate": rate,
        "median_days_to_fulfil": counts.median_days_to_fulfil,
        "items_url": items_url,
    })))
}
