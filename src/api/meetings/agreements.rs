//! What a meeting agreed, pledged, planned or signed, and the filters across all of it.

use axum::extract::State;
use axum::response::Response;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::AppState;
use crate::api::meetings::items::{self, Item, Kind};
use crate::domain::agreement::AgreementInput;
use crate::domain::error::ApiResult;
use crate::http::extract::{Patch, Query};
use crate::http::json::JsonText;
use crate::http::replica::ReadPool;
use crate::http::routes::{Routes, get};
use crate::store::agreements::{self, AgreementFilters};
use crate::store::history::Resource;
use crate::store::items::Table;

pub fn routes() -> Routes<AppState> {
    items::routes::<Agreements, _, _>(update).route("/v1/agreements", get(list))
}

/// How one agreement is stored, read and written.
pub struct Agreements;

impl Kind for Agreements {
    const ITEM: Item = Item {
        resource: Resource::Agreement,
        table: Table::Agreements,
        route: "/v1/agreements/{id}",
        added_at: "/v1/meetings/{id}/agreements",
    };

    type Input = AgreementInput;

    async fn insert(
        conn: &mut PgConnection,
        meeting_id: Uuid,
        input: &AgreementInput,
    ) -> ApiResult<Uuid> {
        Ok(agreements::insert_all(conn, &[(meeting_id, input)]).await?[0])
    }
}

async fn update(
    State(state): State<AppState>,
    Patch(actor, id, headers, patch): Patch,
) -> ApiResult<Response> {
    Agreements::ITEM
        .update(&state.db, &actor, id, &headers, &patch, async |conn| {
            let (meeting_id, mut value) = agreements::for_update(conn, id).await?;
            if !crate::http::extract::merge_patch(&mut value, &patch)? {
                return Ok(None);
            }
            let input: AgreementInput = crate::http::extract::deserialize(value)?;
            Agreements::check(&input)?;
            agreements::update(conn, id, &input).await?;
            Ok(Some(meeting_id))
        })
        .await
}

async fn list(
    ReadPool(db): ReadPool,
    Query(filters): Query<AgreementFilters>,
) -> ApiResult<JsonText> {
    Ok(JsonText(agreements::page(&db, &filters).await?))
}
