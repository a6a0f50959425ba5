//! One connection per instance listening on `chancery_changes`, handing what it hears
//! to those who follow changes: the cache of answers and the change stream.
//!
//! Notifications are delivered in commit order, and only to a connection that was
//! listening when they were sent. So a follower is told when listening starts (anything
//! it knew before may have missed changes), each change as it is heard, and when the
//! connection is lost; listening then starts again, backing off while the database
//! does not answer.

use std::sync::Weak;
use std::time::Duration;

use sqlx::PgPool;

use crate::store::notifications::{Change, Listener};

/// Longest pause between attempts to listen again.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What follows the changes this instance hears.
pub trait Follower: Send + Sync {
    /// Listening has (re)started: changes before now may have been missed.
    fn listening(&self);
    /// A change was heard.
    fn heard(&self, change: &Change);
    /// The connection was lost; nothing is heard until [`Follower::listening`] again.
    fn lost(&self);
}

/// Listens on `pool`'s database for as long as any of `followers` lives and the pool
/// is open, in a task of its own.
pub fn start(pool: PgPool, followers: Vec<Weak<dyn Follower>>) {
    tokio::spawn(listen(pool, followers));
}

/// The followers still alive; `None` when none is.
fn alive(followers: &[Weak<dyn Follower>]) -> Option<Vec<std::sync::Arc<dyn Follower>>> {
    let alive: Vec<_> = followers.iter().filter_map(Weak::upgrade).collect();
    (!alive.is_empty()).then_some(alive)
}

async fn listen(pool: PgPool, followers: Vec<Weak<dyn Follower>>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        if pool.is_closed() {
            return;
        }
        let mut listener = match Listener::start(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                if pool.is_closed() || alive(&followers).is_none() {
                    return;
                }
                tracing::warn!(%error, "cannot listen for changes; the cache is passed over and streams poll until it can");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        let Some(now) = alive(&followers) else { return };
        now.iter().for_each(|follower| follower.listening());
        loop {
            let next = listener.next().await;
            let Some(now) = alive(&followers) else { return };
            match next {
                Ok(Some(change)) => now.iter().for_each(|follower| follower.heard(&change)),
                Ok(None) | Err(_) => {
                    now.iter().for_each(|follower| follower.lost());
                    if !pool.is_closed() {
                        tracing::warn!(
                            "the connection listening for changes was lost; listening again"
                        );
                    }
                    break;
                }
            }
        }
    }
}
