//! Participants: people and bodies resolved and written under their meeting.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::error::{ApiError, ApiResult};
use crate::domain::participant::ParticipantInput;
use crate::domain::vocabulary::{Checks, Side, field_path};
use crate::store::items::Batch;

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

/// Who each participant names, as far as the service can tell before writing: the
/// person given by id or found by Wikidata id, or the name (and country) the database
/// finds or creates a person for.
struct People<'a> {
    known: Vec<Option<Uuid>>,
    /// Each distinct name and country once, with the id a new person would take.
    named: Vec<Named<'a>>,
    /// For each participant, its name's place in `named`.
    by_name: Vec<Option<usize>>,
}

#[derive(Serialize)]
struct Named<'a> {
    idx: usize,
    new_id: Uuid,
    name: &'a str,
    country: Option<&'static str>,
}

/// Checks the people participants give by id and finds those they give by Wikidata id.
async fn identify<'a>(
    conn: &mut PgConnection,
    new: &[NewParticipant<'a>],
) -> ApiResult<People<'a>> {
    let by_id: Vec<(String, Uuid)> = new
        .iter()
        .filter_map(|p| {
            p.input
                .person_id
                .map(|id| (field_path(&p.field, "person_id"), id))
        })
        .collect();
    require_people(conn, &by_id).await?;

    let mut known: Vec<Option<Uuid>> = new.iter().map(|p| p.input.person_id).collect();
    // People named by Wikidata id first, in the order of their ids (the order their
    // locks are taken in).
    let mut by_qid: Vec<usize> = (0..new.len())
        .filter(|&i| new[i].input.wikidata.is_some())
        .collect();
    by_qid.sort_by_key(|&i| new[i].input.wikidata.as_ref().map(|q| q.as_str()));
    let mut checks = Checks::default();
    for i in by_qid {
        let input = new[i].input;
        let Some(qid) = input.wikidata.as_ref() else {
            continue;
        };
        let country = input.country.map(|c| c.as_str());
        known[i] =
            crate::store::people::resolve_wikidata(conn, qid, input.name.as_deref(), country)
                .await?;
        if known[i].is_none() {
            checks.fail(
                field_path(&new[i].field, "wikidata"),
                format!("no person has the Wikidata id {qid}; give their `name` too to add them"),
            );
        }
    }
    checks.finish()?;

    // Each distinct name and country is resolved once.
    let name_of = |p: &NewParticipant<'a>| -> Option<(&'a str, Option<&'static str>)> {
        let input: &'a ParticipantInput = p.input;
        if input.wikidata.is_some() {
            return None;
        }
        Some((input.name.as_deref()?, input.country.map(|c| c.as_str())))
    };
    let distinct: BTreeSet<(&'a str, Option<&'static str>)> =
        new.iter().filter_map(name_of).collect();
    let place: HashMap<(&str, Option<&str>), usize> = distinct
        .iter()
        .enumerate()
        .map(|(idx, key)| (*key, idx))
        .collect();
    let by_name = new
        .iter()
        .map(|p| name_of(p).and_then(|key| place.get(&key).copied()))
        .collect();
    let named = distinct
        .into_iter()
        .enumerate()
        .map(|(idx, (name, country))| Named {
            idx,
            new_id: Uuid::now_v7(),
            name,
            country,
        })
        .collect();
    Ok(People {
        known,
        named,
        by_name,
    })
}

/// The person each participant names: the given id, or the person found or created
/// for its name and country.
async fn resolve_people(
    conn: &mut PgConnection,
    new: &[NewParticipant<'_>],
) -> ApiResult<Vec<Option<Uuid>>> {
    let People {
        mut known,
        named,
        by_name,
    } = identify(conn, new).await?;
    if named.is_empty() {
        return Ok(known);
    }
    let resolved: HashMap<i32, Uuid> =
        sqlx::query_as("SELECT idx, person_id FROM resolve_people($1)")
            .bind(sqlx::types::Json(&named))
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
    for (person, place) in known.iter_mut().zip(by_name) {
        if let Some(place) = place {
            *person = i32::try_from(place)
                .ok()
                .and_then(|idx| resolved.get(&idx))
                .copied();
        }
    }
    Ok(known)
}

/// Stages participants to write after any their meetings already have, their people
/// found or created by the same call; returns their ids.
pub async fn stage(
    conn: &mut PgConnection,
    batch: &mut Batch,
    new: &[NewParticipant<'_>],
) -> ApiResult<Vec<Uuid>> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let people = identify(conn, new).await?;
    // Names are numbered across the batch: earlier participants' may be staged already.
    let first = batch.people.len();
    for named in &people.named {
        Batch::stage(
            &mut batch.people,
            Named {
                idx: first + named.idx,
                ..*named
            },
        )?;
    }

    #[derive(Serialize)]
    struct Row<'a> {
        id: Uuid,
        meeting_id: Uuid,
        idx: usize,
        person_id: Option<Uuid>,
        named: Option<usize>,
        organization: Option<&'a str>,
        role: Option<&'a str>,
        country: Option<&'static str>,
        side: Option<&'static str>,
    }
    let mut ids = Vec::with_capacity(new.len());
    let first_row = batch.participants.len();
    for (i, p) in new.iter().enumerate() {
        let id = Uuid::now_v7();
        ids.push(id);
        Batch::stage(
            &mut batch.participants,
            Row {
                id,
                meeting_id: p.meeting_id,
                idx: first_row + i,
                person_id: people.known[i],
                named: people.by_name[i].map(|place| first + place),
                organization: p.input.organization.as_deref(),
                role: p.input.role.as_deref().map(str::trim),
                country: p.input.country.map(|c| c.as_str()),
                side: p.input.side.map(Side::as_str),
            },
        )?;
    }
    Ok(ids)
}

/// Writes participants after any their meetings already have, in the caller's
/// transaction, in one round trip (and one more for people given by Wikidata id).
pub async fn insert_all(
    conn: &mut PgConnection,
    new: &[NewParticipant<'_>],
) -> ApiResult<Vec<Uuid>> {
    let mut batch = Batch::default();
    let ids = stage(conn, &mut batch, new).await?;
    if !ids.is_empty() {
        batch.write(conn).await?;
    }
    Ok(ids)
}

/// Participant `id`'s meeting, and the participant as an input (what a merge patch
/// applies to), locked for the update.
pub async fn for_update(conn: &mut PgConnection, id: Uuid) -> ApiResult<(Uuid, serde_json::Value)> {
    let current: Option<(Uuid, serde_json::Value)> = sqlx::query_as(
        "SELECT meeting_id, json_build_object('person_id', person_id, 'name', NULL::text, 'wikidata', NULL::text, 'organization', organization,
                                              'role', role, 'country', country, 'side', side)::jsonb
         FROM participants WHERE id = $1 FOR NO KEY UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    current.ok_or(ApiError::NotFound("participant"))
}

/// Writes `input` over participant `id` of meeting `meeting_id`, and gives what it
/// said to whoever it now names.
pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    meeting_id: Uuid,
    input: &ParticipantInput,
) -> ApiResult<()> {
    let new = NewParticipant {
        meeting_id,
        input,
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
    Ok(())
}
