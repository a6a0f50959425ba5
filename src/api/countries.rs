//! Countries as meeting parties: how often they meet, and with whom.

use crate::http::routes::Routes;
use crate::http::routes::get;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::domain::country::{Country, CountryCode};
use crate::domain::error::{ApiError, ApiResult};
use crate::http::extract::{Path, Query};
use crate::http::json::JsonText;
use crate::http::replica::ReadPool;

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
    let (meetings, first, last): (i64, Option<NaiveDate>, Option<NaiveDate>) = sqlx::query_as(
        "SELECT count(*), min(date), max(date) FROM meetings WHERE countries @> ARRAY[$1]",
    )
    .bind(country.code.as_str())
    .fetch_one(&db)
    .await?;
    Ok(axum::Json(serde_json::json!({
        "code": country.code,
        "alpha2": country.alpha2,
        "name": country.name,
        "former": country.former,
        "meetings": meetings,
        "first_met_on": first,
        "last_met_on": last,
    })))
}

/// Filters of `/v1/countries/{code}/partners`: the meetings' date range, inclusive.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartnerFilters {
    #[serde(default, deserialize_with = "crate::domain::vocabulary::filter_date")]
    from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::domain::vocabulary::filter_date")]
    to: Option<NaiveDate>,
    #[serde(default)]
    limit: Option<crate::store::pagination::Limit>,
}

async fn partners(
    ReadPool(db): ReadPool,
    Path(code): Path<String>,
    Query(filters): Query<PartnerFilters>,
) -> ApiResult<JsonText> {
    let country: CountryCode = known(&code)?.code;
    let items: String = sqlx::query_scalar(
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
    .bind(filters.from)
    .bind(filters.to)
    .bind(filters.limit.map_or(i64::from(crate::store::pagination::Limit::MAX), |limit| limit.get()))
    .fetch_one(&db)
    .await?;
    Ok(JsonText(format!("{{\"items\":{items}}}")))
}
