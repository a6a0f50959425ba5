//! `POST /v1/meetings`, written together: documents posted at the same moment share one
//! transaction and one call of `write_items`, as an import's lines do.
//!
//! One document written alone costs the database a hundred small statements (its
//! rows, their checks and triggers, the derived tables), most of whose cost is in
//! starting each one rather than in its rows; a batch starts each once for all of its
//! documents. So posts queue here, and a few writers each take whatever has queued
//! while they were busy (up to the `write_batch` setting) and write it in one transaction: each
//! document with its own id, its own change recorded under its own key and request,
//! and its own idempotency answer. When nothing else is waiting a document goes alone,
//! at once, as before.
//!
//! A batch commits or fails whole. When one of several fails (a person id that is not
//! stored, an `Idempotency-Key` another request took first), each is written again
//! alone, so that each gets its own answer and none is lost for another's error. A
//! commit that fails is not retried: it may have happened.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use crate::domain::error::{ApiError, ApiResult};
use crate::domain::meeting::MeetingInput;
use crate::http::etag;
use crate::http::idempotency::Idempotency;
use crate::http::json::created_headers;
use crate::store::history::Actor;
use crate::store::meetings::{self, NewMeeting};

/// Transactions writing posted documents at once.
const WRITERS: usize = 4;

/// One posted document, checked, and where its answer goes.
struct Post {
    meeting: MeetingInput,
    actor: Actor,
    idempotency: Idempotency,
    answer: oneshot::Sender<ApiResult<Response>>,
}

/// Where handlers hand posted documents.
#[derive(Clone)]
pub struct Writer {
    queue: Option<mpsc::Sender<Post>>,
    db: PgPool,
}

impl Writer {
    /// Writes to `db`, up to `most` documents in one transaction. Within a Tokio
    /// runtime posts are written together; outside one, or when `most` is 1, each alone.
    pub fn new(db: PgPool, most: usize) -> Writer {
        let runtime = tokio::runtime::Handle::try_current().ok();
        let queue = runtime.filter(|_| most > 1).map(|runtime| {
            let (queue, posts) = mpsc::channel(most * WRITERS);
            runtime.spawn(take_turns(db.clone(), posts, most));
            queue
        });
        Writer { queue, db }
    }

    /// Writes a checked document as a new meeting; its `201` answer.
    pub async fn create(
        &self,
        meeting: MeetingInput,
        actor: Actor,
        idempotency: Idempotency,
    ) -> ApiResult<Response> {
        let Some(queue) = &self.queue else {
            return write_alone(&self.db, &meeting, &actor, &idempotency).await;
        };
        let (answer, answered) = oneshot::channel();
        let post = Post {
            meeting,
            actor,
            idempotency,
            answer,
        };
        queue
            .send(post)
            .await
            .map_err(|_| anyhow::anyhow!("the writer of posted meetings has stopped"))?;
        answered
            .await
            .map_err(|_| anyhow::anyhow!("the writer of posted meetings dropped a document"))?
    }
}

/// Hands what has queued to the next free writer, until every sender is gone.
async fn take_turns(db: PgPool, mut posts: mpsc::Receiver<Post>, most: usize) {
    let writers = Arc::new(Semaphore::new(WRITERS));
    while let Some(first) = posts.recv().await {
        // While every writer is busy, posts gather in the queue for the next batch.
        let Ok(turn) = writers.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < most {
            match posts.try_recv() {
                Ok(post) => batch.push(post),
                Err(_) => break,
            }
        }
        let db = db.clone();
        tokio::spawn(async move {
            write(&db, batch).await;
            drop(turn);
        });
    }
}

/// Writes a batch, together when it can and else each alone, and answers each post.
async fn write(db: &PgPool, batch: Vec<Post>) {
    // A post whose request has ended (its client gone, or its time up and answered 503)
    // is not written: as before, a write either answers or does not happen.
    let batch: Vec<Post> = batch
        .into_iter()
        .filter(|post| !post.answer.is_closed())
        .collect();
    if batch.len() > 1 {
        let posts: Vec<_> = batch
            .iter()
            .map(|post| (&post.meeting, &post.actor, &post.idempotency))
            .collect();
        match write_documents(db, &posts).await {
            Ok((tx, responses)) => {
                // A commit that fails may still have happened, so no post is written
                // again: each is told to ask again (with its key, a retry is safe).
                let committed = tx.commit().await;
                if let Err(error) = &committed {
                    tracing::warn!(%error, documents = batch.len(), "a batch of posts failed to commit");
                }
                for (post, response) in batch.into_iter().zip(responses) {
                    let answer = match &committed {
                        Ok(()) => Ok(response),
                        Err(_) => Err(ApiError::Unavailable),
                    };
                    let _ = post.answer.send(answer);
                }
                return;
            }
            Err(error) => {
                tracing::debug!(%error, documents = batch.len(), "a batch of posts failed; each is written alone");
            }
        }
    }
    for post in batch {
        let response = write_alone(db, &post.meeting, &post.actor, &post.idempotency).await;
        let _ = post.answer.send(response);
    }
}

async fn write_alone(
    db: &PgPool,
    meeting: &MeetingInput,
    actor: &Actor,
    idempotency: &Idempotency,
) -> ApiResult<Response> {
    let (tx, mut responses) = write_documents(db, &[(meeting, actor, idempotency)]).await?;
    tx.commit().await?;
    Ok(responses.remove(0))
}

/// Writes documents in one transaction, left for the caller to commit: new meetings,
/// each's creation recorded by its actor, each's answer stored under its idempotency
/// key; the answers in order.
async fn write_documents(
    db: &PgPool,
    posts: &[(&MeetingInput, &Actor, &Idempotency)],
) -> ApiResult<(Transaction<'static, Postgres>, Vec<Response>)> {
    let mut tx = db.begin().await?;
    let wanted: Vec<Option<Uuid>> = posts.iter().map(|(meeting, ..)| meeting.id).collect();
    let ids = meetings::free_ids(&mut tx, &wanted).await?;
    let new: Vec<NewMeeting> = posts
        .iter()
        .zip(&ids)
        .map(|((meeting, actor, _), id)| NewMeeting {
            created_by: Some(actor.author()),
            ..NewMeeting::new(*id, meeting)
        })
        .collect();
    meetings::insert_many(&mut tx, &new).await?;
    let mut responses = Vec::with_capacity(posts.len());
    for ((_, _, idempotency), id) in posts.iter().zip(&ids) {
        // One document at a time: the document's query is planned for one meeting.
        let (body, stamp) = meetings::fetch(&mut tx, *id)
            .await?
            .ok_or(ApiError::NotFound("meeting"))?;
        let mut headers = created_headers(&format!("/v1/meetings/{id}"));
        headers.insert(
            header::ETAG,
            HeaderValue::from_str(&etag::of_meeting(stamp)).expect("quoted numbers"),
        );
        responses.push(
            idempotency
                .answer(&mut tx, StatusCode::CREATED, headers, body)
                .await?,
        );
    }
    Ok((tx, responses))
}
