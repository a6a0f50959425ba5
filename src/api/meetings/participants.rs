//! Who took part in a meeting: a named person, a body without one, or both.

use crate::http::routes::Routes;
use crate::http::routes::{get, post};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::AppState;
use crate::api::history::{Actor, Resource};
use crate::api::meetings::items::{self, Item};
use crate::domain::country::CountryCode;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::text::Name;
use crate::domain::vocabulary::{Checks, Side, field_path};
use crate::http::etag::{self, Table};
use crate::http::extract::{Json, MergePatch, Path};
use crate::http::idempotency::Idempotency;
use crate::http::replica::ReadPool;
use crate::store::representation;

pub fn routes() -> Routes<AppState> {
    Routes::new()
        .route("/v1/meetings/{id}/participants", post(add))
        .route(
            "/v1/participants/{id}",
            get(show).patch(update).delete(remove),
        )
}

/// A participant as clients send it: a person by `person_id` or by `name` (+ `country`),
/// or an `organization`, or a person on behalf of an organization.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_id: Option<Uuid>,
    /// Cleaned as it is read (see [`Name`]), so it matches the person it names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    #[serde(default)]
    pub organization: Option<Name>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub country: Option<CountryCode>,
    #[serde(default)]
    pub side: Option<Side>,
}

impl ParticipantInput {
    pub fn check(&self, field: &str, checks: &mut Checks) {
        if self.person_id.is_some() && self.name.is_some() {
            checks.fail(
                field_path(field, "name"),
                "give `person_id` or `name`, not both",
            );
        }
        if self.person_id.is_none() && self.name.is_none() && self.organization.is_none() {
            checks.fail(
                field.to_owned(),
                "needs a `person_id`, a `name` or an `organization`",
            );
        }
        checks.optional_name(field_path(field, "name"), self.name.as_ref(), 300);
        checks.optional_name(
            field_path(field, "organization"),
            self.organization.as_ref(),
            300,
        );
        checks.optional_text(field_path(field, "role"), self.role.as_deref(), 300);
    }
}

/// A participant just written: what statements need to name their speaker.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    pub id: Uuid,
    pub person_id: Option<Uuid>,
}

/// Fails with a 422 naming each `person_id` that is not a known person.
pub async fn require_people(conn: &mut PgConnection, wanted: &[(String, Uuid)]) -> ApiResult<()> {
    if wanted.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = wanted.iter().map(|(_, id)| *id).collect();
    let known: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM people WHERE id = ANY($1)")
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
    let mut checks = Checks::default();
    for (field, id) in wanted {
        if !known.contains(id) {
            checks.fail(field.clone(), format!("there is no person {id}"));
        }
    }
    Ok(checks.finish()?)
}

/// A participant to write under its meeting; `field` names it in error messages.
pub struct NewParticipant<'a> {
    pub meeting_id: Uuid,
    pub input: &'a ParticipantInput,
    pub field: String,
}

/// The person each participant names: the given id, or the person found or created
/// for its name and country.
async fn resolve_people(
    conn: &mut PgConnection,
    new: &[NewParticipant<'_>],
) -> ApiResult<Vec<Option<Uuid>>> {
    let by_id: Vec<(String, Uuid)> = new
        .iter()
        .filter_map(|p| {
            p.input
                .person_id
                .map(|id| (field_path(&p.field, "person_id"), id))
        })
        .collect();
    require_people(conn, &by_id).await?;

    // Each distinct name and country is resolved once.
    let named: BTreeSet<(&str, Option<&'static str>)> = new
        .iter()
        .filter_map(|p| {
            Some((
                p.input.name.as_deref()?,
                p.input.country.map(|c| c.as_str()),
            ))
        })
        .collect();
    let mut people: Vec<Option<Uuid>> = new.iter().map(|p| p.input.person_id).collect();
    if named.is_empty() {
        return Ok(people);
    }
    #[derive(Serialize)]
    struct Named<'a> {
        idx: usize,
        new_id: Uuid,
        name: &'a str,
        country: Option<&'static str>,
    }
    let named: Vec<Named> = named
        .into_iter()
        .enumerate()
        .map(|(idx, (name, country))| Named {
            idx,
            new_id: Uuid::now_v7(),
            name,
            country,
        })
        .collect();
    let resolved: Vec<(i32, Uuid)> =
        sqlx::query_as("SELECT idx, person_id FROM resolve_people($1)")
            .bind(sqlx::types::Json(&named))
            .fetch_all(&mut *conn)
            .await?;
    let by_name: HashMap<(&str, Option<&str>), Uuid> = resolved
        .into_iter()
        .map(|(idx, person)| {
            let named = &named[idx as usize];
            ((named.name, named.country), person)
        })
        .collect();
    for (person, p) in people.iter_mut().zip(new) {
        if let Some(name) = p.input.name.as_deref() {
            *person = by_name
                .get(&(name, p.input.country.map(|c| c.as_str())))
                .copied();
        }
    }
    Ok(people)
}

/// Writes participants after any their meetings already have, in the caller's
/// transaction, in one round trip for the rows plus one for the people.
pub async fn insert_all(
    conn: &mut PgConnection,
    new: &[NewParticipant<'_>],
) -> ApiResult<Vec<Written>> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let people = resolve_people(conn, new).await?;

    #[derive(Serialize)]
    struct Row<'a> {
        id: Uuid,
        meeting_id: Uuid,
        idx: usize,
        person_id: Option<Uuid>,
        organization: Option<&'a str>,
        role: Option<&'a str>,
        country: Option<&'static str>,
        side: Option<&'static str>,
    }
    let rows: Vec<Row> = new
        .iter()
        .zip(&people)
        .enumerate()
        .map(|(idx, (p, person_id))| Row {
            id: Uuid::now_v7(),
            meeting_id: p.meeting_id,
            idx,
            person_id: *person_id,
            organization: p.input.organization.as_deref(),
            role: p.input.role.as_deref().map(str::trim),
            country: p.input.country.map(|c| c.as_str()),
            side: p.input.side.map(Side::as_str),
        })
        .collect();
    let sql = items::positioned_insert(
        "participants",
        "id, meeting_id, person_id, organization, role, country, side",
        "id uuid, meeting_id uuid, idx int, person_id uuid, organization text, role text, country text, side text",
        "r.id, r.meeting_id, r.person_id, r.organization, r.role, r.country, r.side",
        "",
    );
    sqlx::query(sql)
        .bind(sqlx::types::Json(&rows))
        .execute(&mut *conn)
        .await?;
    Ok(rows
        .iter()
        .map(|row| Written {
            id: row.id,
            person_id: row.person_id,
        })
        .collect())
}

/// How one participant is stored, read and written.
const ITEM: Item = Item {
    resource: Resource::Participant,
    table: Table::Participants,
    what: "participant",
    path: "/v1/participants",
    fetch: representation::PARTICIPANT_BY_ID,
    delete: "DELETE FROM participants WHERE id = $1 RETURNING meeting_id",
};

async fn add(
    State(state): State<AppState>,
    actor: Actor,
    idempotency: Idempotency,
    Path(meeting_id): Path<Uuid>,
    Json(input): Json<ParticipantInput>,
) -> ApiResult<Response> {
    let mut checks = Checks::default();
    input.check("", &mut checks);
    checks.finish()?;
    ITEM.add(
        &state.db,
        &actor,
        idempotency,
        meeting_id,
        &input,
        async |conn| {
            let new = NewParticipant {
                meeting_id,
                input: &input,
                field: String::new(),
            };
            let written = insert_all(conn, std::slice::from_ref(&new)).await?;
            Ok(written[0].id)
        },
    )
    .await
}

async fn show(
    ReadPool(db): ReadPool,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let mut conn = db.acquire().await?;
    Ok(etag::respond(&headers, ITEM.fetch(&mut conn, id).await?))
}

async fn update(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    MergePatch(patch): MergePatch,
) -> ApiResult<Response> {
    ITEM.update(&state.db, &actor, id, &headers, &patch, async |conn| {
        let current: Option<(Uuid, serde_json::Value)> = sqlx::query_as(
            "SELECT meeting_id, json_build_object('person_id', person_id, 'name', NULL::text, 'organization', organization,
                                                  'role', role, 'country', country, 'side', side)::jsonb
             FROM participants WHERE id = $1 FOR NO KEY UPDATE",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        let (meeting_id, mut value) = current.ok_or(ApiError::NotFound(ITEM.what))?;
        // Naming a person by name replaces the person given by id.
        if patch.get("name").is_some_and(|name| !name.is_null()) {
            value["person_id"] = serde_json::Value::Null;
        }
        crate::http::extract::merge_patch(&mut value, &patch)?;
        let input: ParticipantInput = crate::http::extract::deserialize(value)?;
        let mut checks = Checks::default();
        input.check("", &mut checks);
        checks.finish()?;
        let new = NewParticipant {
            meeting_id,
            input: &input,
            field: String::new(),
        };
        let people = resolve_people(conn, std::slice::from_ref(&new)).await?;
        sqlx::query(
            "UPDATE participants SET person_id = $2, organization = $3, role = $4, country = $5, side = $6
             WHERE id = $1",
        )
        .bind(id)
        .bind(people[0])
        .bind(input.organization.as_deref())
        .bind(input.role.as_deref().map(str::trim))
        .bind(input.country.map(|c| c.as_str()))
        .bind(input.side.map(Side::as_str))
        .execute(&mut *conn)
        .await?;
        // What this participant said is now attributed to whoever it now names.
        sqlx::query("UPDATE statements SET person_id = $2 WHERE participant_id = $1")
            .bind(id)
            .bind(people[0])
            .execute(&mut *conn)
            .await?;
        Ok(Some(meeting_id))
    })
    .await
}

async fn remove(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    ITEM.remove(&state.db, &actor, id, &headers).await
}
