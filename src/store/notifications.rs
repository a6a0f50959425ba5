//! What PostgreSQL announces on `LISTEN "chancery_changes"`: the triggers of
//! migration 0007 name each changed meeting, and changes to people, from inside the
//! writing transaction; an instance announces a sync of its own to learn when it has
//! heard everything committed before it.

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use uuid::Uuid;

/// The channel the triggers notify.
pub const CHANNEL: &str = "chancery_changes";

/// One notification, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A meeting, or one of its items, was created, changed or deleted.
    Meeting(Uuid),
    /// People were added; no stored document names them yet.
    PeopleAdded,
    /// People or their identifiers changed or went: documents naming them changed.
    PeopleChanged,
    /// A sync announced by [`announce_sync`].
    Sync(String),
    /// Anything else on the channel, taken as a change to everything.
    Unknown,
}

impl Change {
    pub fn parse(payload: &str) -> Change {
        match payload.split_once(':') {
            Some(("meeting", id)) => id.parse().map_or(Change::Unknown, Change::Meeting),
            Some(("people", "insert")) => Change::PeopleAdded,
            Some(("people", _)) => Change::PeopleChanged,
            Some(("sync", token)) => Change::Sync(token.to_owned()),
            _ => Change::Unknown,
        }
    }
}

/// A connection listening on [`CHANNEL`], taken from `pool` and kept.
pub struct Listener(PgListener);

impl Listener {
    /// Listens from now on: every change committed after this returns is heard.
    pub async fn start(pool: &PgPool) -> sqlx::Result<Listener> {
        let mut listener = PgListener::connect_with(pool).await?;
        // A lost connection is reported at once rather than silently replaced, so
        // that the cache can tell it may have missed notifications.
        listener.eager_reconnect(false);
        listener.listen(CHANNEL).await?;
        Ok(Listener(listener))
    }

    /// The next change; `None` when the connection was lost, and notifications with it.
    pub async fn next(&mut self) -> sqlx::Result<Option<Change>> {
        Ok(self
            .0
            .try_recv()
            .await?
            .map(|notification| Change::parse(notification.payload())))
    }
}

/// Announces `token` on [`CHANNEL`] in a transaction of its own. Notifications are
/// delivered in commit order, so a listener that hears it has heard every change
/// committed before this was called.
pub async fn announce_sync(pool: &PgPool, token: &str) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_notify($1, 'sync:' || $2)")
        .bind(CHANNEL)
        .bind(token)
        .execute(pool)
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::Change;

    #[test]
    fn payloads_read_as_the_triggers_write_them() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(Change::parse(&format!("meeting:{id}")), Change::Meeting(id));
        assert_eq!(Change::parse("people:insert"), Change::PeopleAdded);
        assert_eq!(Change::parse("people:update"), Change::PeopleChanged);
        assert_eq!(Change::parse("people:delete"), Change::PeopleChanged);
        assert_eq!(Change::parse("sync:a:1"), Change::Sync("a:1".into()));
        assert_eq!(Change::parse("meeting:nope"), Change::Unknown);
        assert_eq!(Change::parse(""), Change::Unknown);
    }
}
