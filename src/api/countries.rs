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
