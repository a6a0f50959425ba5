//! Who took part in a meeting: a named person, a body without one, or both.

use axum::extract::State;
use axum::response::Response;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::AppState;
use crate::api::meetings::items::{self, Item, Kind};
use crate::domain::error::ApiResult;
use crate::domain::participant::ParticipantInput;
use crate::http::extract::Patch;
use crate::http::routes::Routes;
use crate::store::history::Resource;
use crate::store::items::Table;
use crate::store::participants::{self, NewParticipant};

pub fn routes() -> Routes<AppState> {
    items::routes::<Participants, _, _>(update)
}

/// How one participant is stored, read and written.
pub struct Participants;

impl Kind for Participants {
    const ITEM: Item = Item {
        resource: Resource::Participant,
        table: Table::Participants,
        route: "/v1/participants/{id}",
        added_at: "/v1/meetings/{id}/participants",
    };

    type Input = ParticipantInput;

    async fn insert(
        conn: &mut PgConnection,
        meeting_id: Uuid,
        input: &ParticipantInput,
    ) -> ApiResult<Uuid> {
        let new = NewParticipant {
            meeting_id,
            input,
            field: String::new(),
        };
        Ok(participants::insert_all(conn, std::slice::from_ref(&new)).await?[0])
    }
}

async fn update(
    State(state): State<AppState>,
    Patch(actor, id, headers, patch): Patch,
) -> ApiResult<Response> {
    Participants::ITEM
        .update(&state.db, &actor, id, &headers, &patch, async |conn| {
            let (meeting_id, mut value) = participants::for_update(conn, id).await?;
            // Naming a person by name or Wikidata id replaces the person given by id.
            let names = |key: &str| patch.get(key).is_some_and(|value| !value.is_null());
            if names("name") || names("wikidata") {
                value["person_id"] = serde_json::Value::Null;
            }
            crate::http::extract::merge_patch(&mut value, &patch)?;
            let input: ParticipantInput = crate::http::extract::deserialize(value)?;
            Participants::check(&input)?;
            participants::update(conn, id, meeting_id, &input).await?;
            Ok(Some(meeting_id))
        })
        .await
}
