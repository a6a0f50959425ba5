//! Participants: people and bodies resolved and written under their meeting.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::error::{ApiError, ApiResult};
use crate::domain::participant::ParticipantInput;
use crate::domain::vocabulary::{Checks, Side, field_path};
use crate::store::items;

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

    let mut people: Vec<Option<Uuid>> = new.iter().map(|p| p.input.person_id).collect();
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
        people[i] =
            crate::store::people::resolve_wikidata(conn, qid, input.name.as_deref(), country)
                .await?;
        if people[i].is_none() {
            checks.fail(
                field_path(&new[i].field, "wikidata"),
                format!("no person has the Wikidata id {qid}; give their `name` too to add them"),
            );
        }
    }
    checks.finish()?;

    // Each distinct name and country is resolved once.
    let named: BTreeSet<(&str, Option<&'static str>)> = new
        .iter()
        .filter(|p| p.input.wikidata.is_none())
        .filter_map(|p| {
            Some((
                p.input.name.as_deref()?,
                p.input.country.map(|c| c.as_str()),
            ))
        })
        .collect();
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
        if let Some(name) = p
            .input
            .name
            .as_deref()
            .filter(|_| p.input.wikidata.is_none())
        {
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
