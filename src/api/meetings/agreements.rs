//! What a meeting agreed, pledged, planned or signed, and the filters across all of it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::AppState;
use crate::api::meetings::items::{self, Item, Kind};
use crate::domain::agreement::{AgreementInput, EventInput};
use crate::domain::error::ApiResult;
use crate::domain::vocabulary::{Check, Checks};
use crate::http::extract::{Json, Patch, Path, Query};
use crate::http::idempotency::Idempotency;
use crate::http::json::JsonText;
use crate::http::json::created_headers;
use crate::http::replica::ReadPool;
use crate::http::routes::{Routes, get};
use crate::store::aggregate;
use crate::store::agreements::{self, AgreementFilters, Sent};
use crate::store::history::Resource;
use crate::store::history::{self, Action, Actor, Change};
use crate::store::items::Table;

pub fn routes() -> Routes<AppState> {
    items::routes::<Agreements, _, _>(update)
        .route("/v1/agreements", get(list))
        .route("/v1/agreements/{id}/events", get(events).post(add_event))
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
        Ok(agreements::insert_all(conn, &[(meeting_id, input)], Sent::Alone).await?[0])
    }

    fn check(input: &AgreementInput) -> ApiResult<()> {
        let mut checks = Checks::default();
        input.check("", &mut checks);
        if input.id.is_some() {
            checks.fail("id", "is set by the server and cannot be given here");
        }
        if input.events.is_some() {
            checks.fail(
                "events",
                "record events through POST /v1/agreements/{id}/events",
            );
        }
        Ok(checks.finish()?)
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
            let links_changed = patch.get("relates_to").is_some();
            let today = chrono::Utc::now().date_naive();
            agreements::update(conn, id, &input, links_changed, today).await?;
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

/// `POST /v1/agreements/{id}/events`: records a change of status. It changes the
/// agreement, so it runs like an item write: its meeting is locked, touched (a new
/// version, so caches and `ETag`s move) and the change recorded in its history.
async fn add_event(
    State(state): State<AppState>,
    actor: Actor,
    idempotency: Idempotency,
    Path(id): Path<Uuid>,
    Json(event): Json<EventInput>,
) -> ApiResult<Response> {
    let mut checks = Checks::default();
    event.check("", &mut checks);
    let today = chrono::Utc::now().date_naive();
    if event.on > today {
        checks.fail("on", format!("is in the future (today is {today} UTC)"));
    }
    checks.finish()?;

    let mut tx = state.db.begin().await?;
    let (meeting_id, made_on) = agreements::lock_meeting(&mut tx, id).await?;
    let mut checks = Checks::default();
    if event.on < made_on {
        checks.fail(
            "on",
            format!("is before the agreement was made, at its meeting on {made_on}"),
        );
    }
    if let Some(later) = event.meeting_id {
        match agreements::meeting_date(&mut tx, later).await? {
            None => checks.fail("meeting_id", format!("there is no meeting {later}")),
            Some(date) if date < made_on => checks.fail(
                "meeting_id",
                format!("that meeting ({date}) came before the agreement was made ({made_on})"),
            ),
            Some(_) => {}
        }
    }
    checks.finish()?;
    let event_id = agreements::insert_events(&mut tx, &[(id, &event)]).await?[0];
    aggregate::touch(&mut tx, meeting_id).await?;
    let sent = serde_json::json!({ "event": event });
    let change = Change::item(
        Action::Update,
        Resource::Agreement,
        id,
        meeting_id,
        Some(&sent),
    );
    history::record(&mut tx, &actor, change).await?;
    let body = agreements::event(&mut tx, event_id).await?;
    let headers = created_headers(&format!("/v1/agreements/{id}/events"));
    let response = idempotency
        .answer(&mut tx, StatusCode::CREATED, headers, body)
        .await?;
    tx.commit().await?;
    Ok(response)
}

/// `GET /v1/agreements/{id}/events`: oldest first.
async fn events(ReadPool(db): ReadPool, Path(id): Path<Uuid>) -> ApiResult<JsonText> {
    Ok(JsonText(agreements::events(&db, id).await?))
}
