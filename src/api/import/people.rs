//! The people import: one person per line with their roles, in the shape of the Office
//! of the Historian's `pocom` data set. A line names a stored person by any of its
//! identifiers first, then by name and country as meetings do; it changes only the
//! keys it gives (identifiers are added to the stored ones, roles replace theirs), so
//! importing the same line again finds nothing to change.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::Status;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::role::PersonRecord;
use crate::domain::vocabulary::{Checks, Mode};
use crate::store::history::{self, Action, Actor, Resource};
use crate::store::{people, roles};

/// Reads and checks one line.
pub fn parse(value: Value) -> ApiResult<PersonRecord> {
    let record: PersonRecord = crate::http::extract::deserialize(value)?;
    let mut checks = Checks::default();
    record.check(&mut checks);
    checks.finish()?;
    Ok(record)
}

/// A record as the comparison sees it: texts trimmed, identifiers in one order, as
/// JSON shaped like the export.
fn canonical(record: &PersonRecord) -> ApiResult<Value> {
    let mut record = record.clone();
    record.roles = record.roles.into_iter().map(|r| r.trimmed()).collect();
    for identifier in &mut record.identifiers {
        identifier.scheme = identifier.scheme.trim().to_owned();
        identifier.value = identifier.value.trim().to_owned();
    }
    let mut value = serde_json::to_value(&record).map_err(anyhow::Error::from)?;
    sort_identifiers(&mut value);
    Ok(value)
}

fn sort_identifiers(record: &mut Value) {
    if let Some(identifiers) = record["identifiers"].as_array_mut() {
        identifiers.sort_by(|a, b| {
            (a["scheme"].as_str(), a["value"].as_str())
                .cmp(&(b["scheme"].as_str(), b["value"].as_str()))
        });
        identifiers.dedup();
    }
}

/// `stored` with the keys `given` gives: identifiers added to the stored ones, every
/// other key replaced.
fn merged(stored: &Value, given: &Value) -> Value {
    let mut merged = stored.clone();
    for (key, value) in given.as_object().into_iter().flatten() {
        if key == "identifiers"
            && let (Some(held), Some(new)) = (merged[key].as_array_mut(), value.as_array())
        {
            let same = |a: &Value, b: &Value| {
                let text = |v: &Value, k: &str| v[k].as_str().map(str::trim).map(str::to_owned);
                text(a, "scheme") == text(b, "scheme") && text(a, "value") == text(b, "value")
            };
            for identifier in new {
                if !held.iter().any(|h| same(h, identifier)) {
                    held.push(identifier.clone());
                }
            }
        } else {
            merged[key] = value.clone();
        }
    }
    merged
}

/// Writes one line: the person's id, and what became of them.
pub async fn write(
    conn: &mut PgConnection,
    actor: &Actor,
    mode: Mode,
    record: &PersonRecord,
    given: &Value,
) -> ApiResult<(Uuid, Status)> {
    let country = record.country.map(|c| c.as_str());
    people::lock_name(conn, &record.name, country).await?;
    let schemes: Vec<&str> = record.identifiers.iter().map(|i| i.scheme.trim()).collect();
    let values: Vec<&str> = record.identifiers.iter().map(|i| i.value.trim()).collect();
    let by_identifier = people::find_by_identifiers(conn, &schemes, &values).await?;
    let found = match by_identifier.as_slice() {
        [] => people::find_by_name(conn, &record.name, country, &schemes).await?,
        [id] if mode == Mode::Insert => {
            return Err(ApiError::Conflict(format!(
                "a person with this identifier already exists ({id}); import with mode=upsert to update them"
            )));
        }
        [id] => Some(*id),
        _ => {
            return Err(ApiError::Conflict(
                "the identifiers name more than one stored person".into(),
            ));
        }
    };
    let Some(id) = found else {
        let id = Uuid::now_v7();
        people::insert_record(conn, id, record).await?;
        let written = roles::insert_all(conn, id, &record.roles).await?;
        let mut created = vec![(Resource::Person, id, id)];
        created.extend(written.into_iter().map(|role| (Resource::Role, role, id)));
        history::record_about_people(conn, actor, Action::Create, &created).await?;
        return Ok((id, Status::Created));
    };

    let mut stored = people::record(conn, id).await?;
    sort_identifiers(&mut stored);
    let record = parse(merged(&stored, given))?;
    let wanted = canonical(&record)?;
    if wanted == stored {
        return Ok((id, Status::Unchanged));
    }
    people::update_record(conn, id, &record).await?;
    if !same_but_roles(&wanted, &stored) {
        let updated = [(Resource::Person, id, id)];
        history::record_about_people(conn, actor, Action::Update, &updated).await?;
    }
    if wanted["roles"] != stored["roles"] {
        let roles: Vec<_> = record.roles.iter().cloned().map(|r| r.trimmed()).collect();
        let (removed, written) = roles::replace_all(conn, id, &roles).await?;
        let removed: Vec<_> = removed
            .into_iter()
            .map(|r| (Resource::Role, r, id))
            .collect();
        history::record_about_people(conn, actor, Action::Delete, &removed).await?;
        let created: Vec<_> = written
            .into_iter()
            .map(|r| (Resource::Role, r, id))
            .collect();
        history::record_about_people(conn, actor, Action::Create, &created).await?;
    }
    Ok((id, Status::Updated))
}

/// Whether two records differ in their roles alone.
fn same_but_roles(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(fields) = v.as_object_mut() {
            fields.remove("roles");
        }
        v
    };
    strip(a) == strip(b)
}
