//! The sample meeting loaded into an empty database, so the first request shows
//! something real: the Havana meeting of 12 October 2021 in full.

use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::meeting::MeetingInput;
use crate::store::history::Actor;
use crate::store::meetings;

/// The sample meeting document, as a client would POST it.
pub const SAMPLE_MEETING: &str = include_str!("../../data/seed-meeting.json");

/// Loads the sample meeting into a database that has never held a meeting; returns
/// whether it did. One whose meetings were all deleted stays empty: the history of
/// those deletions says it was in use.
pub async fn load_if_empty(db: &PgPool) -> anyhow::Result<bool> {
    let mut tx = db.begin().await?;
    // Two instances starting together must not both load it.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('chancery-seed', 0))")
        .execute(&mut *tx)
        .await?;
    let empty: bool = sqlx::query_scalar(
        "SELECT NOT EXISTS (SELECT 1 FROM meetings)
            AND NOT EXISTS (SELECT 1 FROM changes WHERE meeting_id IS NOT NULL)",
    )
    .fetch_one(&mut *tx)
    .await?;
    if !empty {
        return Ok(false);
    }
    let meeting: MeetingInput = serde_json::from_str(SAMPLE_MEETING)?;
    let id = Uuid::now_v7();
    meetings::insert(&mut tx, id, &meeting, Actor::default().author())
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    tx.commit().await?;
    Ok(true)
}
