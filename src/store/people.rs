//! People: found by name or alias regardless of accents, and edited.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::country::CountryCode;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::person::PersonInput;
use crate::domain::role::{PartialDate, PersonRecord};
use crate::domain::text::{Name, clean_name};
use crate::domain::vocabulary::Identifier;
use crate::domain::wikidata::{Qid, SCHEME};
use crate::store::pagination::{self, Limit};
use crate::store::representation;

/// Pushes a condition on `people` columns: some name or alias contains `text`,
/// ignoring case and accents (`diaz-canel` matches "Miguel Díaz-Canel").
fn push_name_match(sql: &mut QueryBuilder<Postgres>, text: &str) {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    sql.push("person_search_text(name, aliases) LIKE '%' || fold(")
        .push_bind(escaped)
        .push(") || '%'");
}

/// A person named in a filter: by id, or by part of a name or alias in any case or
/// accents.
#[derive(Debug, Clone)]
pub enum PersonRef {
    Id(Uuid),
    Name(String),
}

impl PersonRef {
    /// Pushes a subquery selecting the ids of the people this names.
    pub fn push_people(&self, sql: &mut QueryBuilder<Postgres>) {
        match self {
            PersonRef::Id(id) => {
                sql.push("SELECT ").push_bind(*id);
            }
            PersonRef::Name(name) => {
                sql.push("SELECT id FROM people WHERE ");
                push_name_match(sql, name);
            }
        }
    }
}

impl<'de> Deserialize<'de> for PersonRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let refused =
            || serde::de::Error::custom("give a person's id, or a name of 1 to 300 characters");
        if text.chars().count() > 300 {
            return Err(refused());
        }
        if let Ok(id) = Uuid::parse_str(text.trim()) {
            return Ok(PersonRef::Id(id));
        }
        match search_name(&text) {
            Some(name) => Ok(PersonRef::Name(name)),
            None => Err(refused()),
        }
    }
}

/// Part of a name to look for, cleaned as stored names are (see [`clean_name`]), so
/// text pasted with a no-break space or a zero-width space finds the person; `None`
/// when nothing is left.
fn search_name(text: &str) -> Option<String> {
    let name = clean_name(text);
    (!name.is_empty()).then_some(name)
}

impl Serialize for PersonRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            PersonRef::Id(id) => id.serialize(serializer),
            PersonRef::Name(name) => name.serialize(serializer),
        }
    }
}

/// Filters of `GET /v1/people`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeopleFilters {
    /// Part of a name or alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    country: Option<CountryCode>,
    /// The person's Wikidata QID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wikidata: Option<Qid>,
    #[serde(default, skip_serializing)]
    limit: Limit,
    #[serde(default, skip_serializing)]
    cursor: Option<String>,
}

impl crate::store::pagination::Listed for PeopleFilters {
    const LIST: &'static str = "people";
}

/// One page of `GET /v1/people`, as its JSON.
pub async fn page(db: &PgPool, filters: &PeopleFilters) -> ApiResult<String> {
    let after: Option<(String, Uuid)> = filters
        .cursor
        .as_deref()
        .map(|cursor| pagination::decode(cursor, filters))
        .transpose()?;
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new("SELECT ");
    sql.push(representation::PERSON)
        .push("::text, fold(pe.name), pe.id FROM people pe WHERE true");
    if let Some(q) = &filters.q {
        let name = search_name(q)
            .filter(|_| q.chars().count() <= 300)
            .ok_or_else(|| {
                ApiError::BadRequest("invalid query parameter `q`: give 1 to 300 characters".into())
            })?;
        sql.push(" AND ");
        push_name_match(&mut sql, &name);
    }
    if let Some(country) = filters.country {
        sql.push(" AND pe.country = ").push_bind(country.as_str());
    }
    if let Some(qid) = &filters.wikidata {
        sql.push(
            " AND EXISTS (SELECT 1 FROM person_identifiers i WHERE i.person_id = pe.id
                 AND i.scheme = 'wikidata' AND i.value = ",
        )
        .push_bind(qid.as_str().to_owned())
        .push(")");
    }
    if let Some((name, id)) = after {
        sql.push(" AND (fold(pe.name), pe.id) > (")
            .push_bind(name)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    sql.push(" ORDER BY fold(pe.name), pe.id LIMIT ")
        .push_bind(filters.limit.get() + 1);
    let rows: Vec<(String, String, Uuid)> = sql.build_query_as().fetch_all(db).await?;
    let (rows, more) = pagination::split_page(rows, filters.limit);
    let next = match rows.last() {
        Some((_, name, id)) if more => Some(pagination::encode(&(name, id), filters)),
        _ => None,
    };
    let items: Vec<String> = rows.into_iter().map(|row| row.0).collect();
    Ok(pagination::page_json(&items, next, None))
}

/// Person `id` as an input (what a merge patch applies to), locked for the update.
pub async fn for_update(conn: &mut PgConnection, id: Uuid) -> ApiResult<serde_json::Value> {
    let current: Option<serde_json::Value> = sqlx::query_scalar(representation::PERSON_FOR_UPDATE)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    current.ok_or(ApiError::NotFound("person"))
}

/// Writes a person's own fields over person `id`.
async fn set_fields(
    conn: &mut PgConnection,
    id: Uuid,
    name: &Name,
    aliases: &[Name],
    country: Option<CountryCode>,
    born: Option<PartialDate>,
    died: Option<PartialDate>,
) -> ApiResult<()> {
    let aliases: Vec<&str> = aliases.iter().map(Name::as_str).collect();
    sqlx::query(
        "UPDATE people SET name = $2, aliases = $3, country = $4, born = $5, died = $6, updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(name.as_str())
    .bind(aliases)
    .bind(country.map(|c| c.as_str()))
    .bind(born.map(|d| d.to_string()))
    .bind(died.map(|d| d.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes `input` over person `id`.
pub async fn update(conn: &mut PgConnection, id: Uuid, input: &PersonInput) -> ApiResult<()> {
    set_fields(
        conn,
        id,
        &input.name,
        &input.aliases,
        input.country,
        input.born,
        input.died,
    )
    .await?;
    sqlx::query("DELETE FROM person_identifiers WHERE person_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for identifier in &input.identifiers {
        sqlx::query(
            "INSERT INTO person_identifiers (person_id, scheme, value) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(identifier.scheme.trim())
        .bind(identifier.value.trim())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Locks person `id` (`FOR NO KEY UPDATE`, so rows referring to them can still be
/// written) while one of their roles is added; 404 when there is none.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> ApiResult<()> {
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM people WHERE id = $1 FOR NO KEY UPDATE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    found.map(|_| ()).ok_or(ApiError::NotFound("person"))
}

/// Holds, until the transaction ends, the lock every writer creating a person named
/// `name` of `country` takes (`resolve_people`'s), so an import and a meeting naming
/// the same new person create them once.
pub async fn lock_name(
    conn: &mut PgConnection,
    name: &str,
    country: Option<&str>,
) -> ApiResult<()> {
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended(fold($1) || '|' || coalesce($2, ''), 0))",
    )
    .bind(name)
    .bind(country)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The person Wikidata id `qid` names: the one holding it; else, given a `name`, the
/// person of that name and `country` who holds no Wikidata id yet, or a new person,
/// either way given `qid`; `None` when nobody holds it and no name was given.
pub async fn resolve_wikidata(
    conn: &mut PgConnection,
    qid: &Qid,
    name: Option<&str>,
    country: Option<&str>,
) -> ApiResult<Option<Uuid>> {
    // Writers naming the same new id add it once.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('wikidata|' || $1, 0))")
        .bind(qid.as_str())
        .execute(&mut *conn)
        .await?;
    let held = find_by_identifiers(conn, &[SCHEME], &[qid.as_str()]).await?;
    if let Some(id) = held.first() {
        return Ok(Some(*id));
    }
    let Some(name) = name else {
        return Ok(None);
    };
    lock_name(conn, name, country).await?;
    let id = match find_by_name(conn, name, country, &[SCHEME]).await? {
        Some(id) => id,
        None => {
            let id = Uuid::now_v7();
            sqlx::query("INSERT INTO people (id, name, country) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(name)
                .bind(country)
                .execute(&mut *conn)
                .await?;
            id
        }
    };
    sqlx::query("INSERT INTO person_identifiers (person_id, scheme, value) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(SCHEME)
        .bind(qid.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(Some(id))
}

/// The stored people that identifiers `(schemes[i], values[i])` name.
pub async fn find_by_identifiers(
    conn: &mut PgConnection,
    schemes: &[&str],
    values: &[&str],
) -> ApiResult<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT person_id FROM person_identifiers
          WHERE (scheme, value) IN (SELECT * FROM unnest($1::text[], $2::text[]))
          ORDER BY person_id",
    )
    .bind(schemes)
    .bind(values)
    .fetch_all(&mut *conn)
    .await?)
}

/// The person named `name` (or known by it as an alias) of `country`, as meetings find
/// people, but never one holding an identifier in one of `schemes`: that one is
/// somebody else of the same name.
pub async fn find_by_name(
    conn: &mut PgConnection,
    name: &str,
    country: Option<&str>,
    schemes: &[&str],
) -> ApiResult<Option<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT pe.id FROM people pe
          WHERE person_names(pe.name, pe.aliases) @> ARRAY[fold($1)]
            AND pe.country IS NOT DISTINCT FROM $2
            AND NOT EXISTS (SELECT 1 FROM person_identifiers i
                             WHERE i.person_id = pe.id AND i.scheme = ANY($3::text[]))
          ORDER BY fold(pe.name) = fold($1) DESC, pe.id
          LIMIT 1",
    )
    .bind(name)
    .bind(country)
    .bind(schemes)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Person `id` as a line of the people export, which the people import takes.
pub async fn record(conn: &mut PgConnection, id: Uuid) -> ApiResult<serde_json::Value> {
    let record: Option<serde_json::Value> = sqlx::query_scalar(representation::PERSON_RECORD_BY_ID)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    record.ok_or(ApiError::NotFound("person"))
}

/// Writes a new person `id` from an import line, with their identifiers (not their
/// roles).
pub async fn insert_record(
    conn: &mut PgConnection,
    id: Uuid,
    record: &PersonRecord,
) -> ApiResult<()> {
    let aliases: Vec<&str> = record.aliases.iter().map(Name::as_str).collect();
    sqlx::query(
        "INSERT INTO people (id, name, aliases, country, born, died) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(record.name.as_str())
    .bind(aliases)
    .bind(record.country.map(|c| c.as_str()))
    .bind(record.born.map(|d| d.to_string()))
    .bind(record.died.map(|d| d.to_string()))
    .execute(&mut *conn)
    .await?;
    add_identifiers(conn, id, &record.identifiers).await
}

/// Writes an import line's own fields over person `id`, and adds the identifiers they
/// do not hold yet (one held by somebody else is a 409).
pub async fn update_record(
    conn: &mut PgConnection,
    id: Uuid,
    record: &PersonRecord,
) -> ApiResult<()> {
    set_fields(
        conn,
        id,
        &record.name,
        &record.aliases,
        record.country,
        record.born,
        record.died,
    )
    .await?;
    let held: Vec<(String, String)> =
        sqlx::query_as("SELECT scheme, value FROM person_identifiers WHERE person_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    let new: Vec<Identifier> = record
        .identifiers
        .iter()
        .filter(|i| {
            !held
                .iter()
                .any(|(scheme, value)| scheme == i.scheme.trim() && value == i.value.trim())
        })
        .cloned()
        .collect();
    add_identifiers(conn, id, &new).await
}

async fn add_identifiers(
    conn: &mut PgConnection,
    id: Uuid,
    identifiers: &[Identifier],
) -> ApiResult<()> {
    if identifiers.is_empty() {
        return Ok(());
    }
    let schemes: Vec<&str> = identifiers.iter().map(|i| i.scheme.trim()).collect();
    let values: Vec<&str> = identifiers.iter().map(|i| i.value.trim()).collect();
    sqlx::query(
        "INSERT INTO person_identifiers (person_id, scheme, value)
         SELECT $1, i.scheme, i.value FROM unnest($2::text[], $3::text[]) AS i(scheme, value)",
    )
    .bind(id)
    .bind(schemes)
    .bind(values)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
