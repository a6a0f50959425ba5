//! What was said at a meeting, by whom, and the search across all of it.

use axum::extract::State;
use axum::response::Response;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::AppState;
use crate::api::meetings::items::{self, Item, Kind};
use crate::domain::error::ApiResult;
use crate::domain::statement::StatementInput;
use crate::domain::vocabulary::{Check, Checks};
use crate::http::extract::{Patch, Query};
use crate::http::json::JsonText;
use crate::http::replica::ReadPool;
use crate::http::routes::{Routes, get};
use crate::store::history::Resource;
use crate::store::items::Table;
use crate::store::statements::{self, StatementFilters};

pub fn routes() -> Routes<AppState> {
    items::routes::<Statements, _, _>(update).route("/v1/statements", get(list))
}

/// How one statement is stored, read and written.
pub struct Statements;

impl Kind for Statements {
    const ITEM: Item = Item {
        resource: Resource::Statement,
        table: Table::Statements,
        route: "/v1/statements/{id}",
        added_at: "/v1/meetings/{id}/statements",
    };

    type Input = StatementInput;

    fn check(input: &StatementInput) -> ApiResult<()> {
        let mut checks = Checks::default();
        if input.speaker_participant.is_some() {
            checks.fail(
                "speaker_participant",
                "only a whole meeting document can name a speaker by index; use `participant_id`",
            );
        }
        input.check("", &mut checks);
        Ok(checks.finish()?)
    }

    async fn insert(
        conn: &mut PgConnection,
        meeting_id: Uuid,
        input: &StatementInput,
    ) -> ApiResult<Uuid> {
        statements::insert_one(conn, meeting_id, input).await
    }
}

async fn update(
    State(state): State<AppState>,
    Patch(actor, id, headers, patch): Patch,
) -> ApiResult<Response> {
    Statements::ITEM
        .update(&state.db, &actor, id, &headers, &patch, async |conn| {
            let (meeting_id, position, mut value) = statements::for_update(conn, id).await?;
            // A new speaker replaces the old one, however the old one was named.
            let speaker_fields = ["participant_id", "person_id", "speaker_name"];
            if speaker_fields
                .iter()
                .any(|f| patch.get(*f).is_some_and(|v| !v.is_null()))
            {
                for field in speaker_fields {
                    value[field] = serde_json::Value::Null;
                }
            } else if value["participant_id"].is_string() {
                // The person follows from the participant; keep one speaker reference.
                value["person_id"] = serde_json::Value::Null;
                value["speaker_name"] = serde_json::Value::Null;
            } else if value["person_id"].is_string() {
                value["speaker_name"] = serde_json::Value::Null;
            }
            crate::http::extract::merge_patch(&mut value, &patch)?;
            let input: StatementInput = crate::http::extract::deserialize(value)?;
            Statements::check(&input)?;
            statements::replace(conn, id, meeting_id, position, &input).await?;
            Ok(Some(meeting_id))
        })
        .await
}

async fn list(
    ReadPool(db): ReadPool,
    Query(filters): Query<StatementFilters>,
) -> ApiResult<JsonText> {
    Ok(JsonText(statements::page(&db, &filters).await?))
}
