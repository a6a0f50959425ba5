//! Importing NDJSON, one record per line, from a file or an HTTP body: meeting
//! documents, or people with their roles (`people`).
//!
//! Lines are written in batches: meetings with one call of `write_items` for a whole
//! batch, people one after another in the batch's transaction. When a batch fails, it
//! is written again one line at a time, each under a savepoint, so a bad line is
//! reported and never loses the good ones.

pub mod people;

use std::collections::HashMap;
use std::io;

use bytes::{Bytes, BytesMut};
use futures::future::Either;
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use tokio_util::codec::{Decoder, LinesCodec, LinesCodecError};
use uuid::Uuid;

use crate::http::routes::Routes;
use crate::http::routes::post;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::AppState;
use crate::config::ImportLimits;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::meeting::MeetingInput;
use crate::domain::role::PersonRecord;
use crate::domain::vocabulary::vocabulary;
use crate::domain::vocabulary::{Collection, Mode};
use crate::http::extract::{Query, require_content_type};
use crate::http::idempotency::Idempotency;
use crate::store::history::{self, Action, Actor};
use crate::store::meetings::{self, NewMeeting};

/// The longest line accepted: one meeting document.
pub const MAX_LINE_BYTES: usize = crate::MAX_BODY_BYTES;

/// Lines written per batch: bigger batches spread each statement's fixed cost (plans,
/// triggers' statements) over more documents; 2,000 imported the real data set 12 %
/// faster than 500.
pub const BATCH: usize = 2000;

vocabulary!(
    /// What happened to a line's document.
    Status { Created => "created", Updated => "updated", Unchanged => "unchanged" }
);

/// The outcome of one line.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum LineResult {
    Written {
        line: usize,
        id: Uuid,
        status: Status,
    },
    Failed {
        line: usize,
        error: String,
    },
}

impl LineResult {
    fn line(&self) -> usize {
        match self {
            LineResult::Written { line, .. } | LineResult::Failed { line, .. } => *line,
        }
    }
}

/// Totals of an import.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Totals {
    pub lines: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
}

impl Totals {
    fn count(&mut self, result: &LineResult) {
        self.lines += 1;
        match result {
            LineResult::Written {
                status: Status::Created,
                ..
            } => self.created += 1,
            LineResult::Written {
                status: Status::Updated,
                ..
            } => self.updated += 1,
            LineResult::Written {
                status: Status::Unchanged,
                ..
            } => self.unchanged += 1,
            LineResult::Failed { .. } => self.failed += 1,
        }
    }
}

/// A line that parsed and passed its checks.
struct Parsed {
    line: usize,
    record: Record,
}

/// What a line holds.
enum Record {
    Meeting {
        input: MeetingInput,
        /// SHA-256 of the document in canonical form (keys sorted), to spot re-imports.
        hash: Vec<u8>,
    },
    Person {
        record: PersonRecord,
        /// The line as sent: the keys it gives are the ones it changes.
        given: serde_json::Value,
    },
}

impl Parsed {
    fn meeting(&self) -> Option<(&MeetingInput, &Vec<u8>)> {
        match &self.record {
            Record::Meeting { input, hash } => Some((input, hash)),
            Record::Person { .. } => None,
        }
    }
}

fn parse(line: usize, text: &str, collection: Collection) -> Result<Parsed, LineResult> {
    let fail = |error: ApiError| LineResult::Failed {
        line,
        error: describe(&error),
    };
    let value = crate::http::extract::parse_json(text.as_bytes(), "the line").map_err(fail)?;
    crate::http::extract::require_object(&value).map_err(fail)?;
    crate::http::extract::check_shape(&value).map_err(fail)?;
    if collection == Collection::People {
        let record = people::parse(value.clone()).map_err(fail)?;
        return Ok(Parsed {
            line,
            record: Record::Person {
                record,
                given: value,
            },
        });
    }
    let hash = Sha256::digest(value.to_string().as_bytes()).to_vec();
    let input: MeetingInput = crate::http::extract::deserialize(value).map_err(fail)?;
    input.check().map_err(fail)?;
    Ok(Parsed {
        line,
        record: Record::Meeting { input, hash },
    })
}

fn describe(error: &ApiError) -> String {
    match error {
        ApiError::Validation(errors) => errors
            .iter()
            .map(|e| {
                if e.field.is_empty() {
                    e.message.clone()
                } else {
                    format!("{}: {}", e.field, e.message)
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// What reading a body can go wrong with.
#[derive(Debug, Clone)]
pub enum LineError {
    /// This line cannot be read (too long, not UTF-8); reading goes on after it.
    Unreadable(String),
    /// Reading stopped here: the body broke off, went idle, came too slowly or grew
    /// past its limit. Lines before it are imported; this one and any after are not.
    Stopped(String),
}

/// Splits a byte stream into lines of at most `MAX_LINE_BYTES`. An overlong line or one
/// that is not UTF-8 is an error for that line alone; reading goes on after it. A body
/// that fails ends the lines with [`LineError::Stopped`], after every complete line.
pub fn lines<S>(bytes: S) -> impl Stream<Item = Result<String, LineError>>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    struct State<S> {
        bytes: S,
        buffer: BytesMut,
        codec: LinesCodec,
        done: bool,
        failed: bool,
    }
    let state = State {
        bytes,
        buffer: BytesMut::new(),
        codec: LinesCodec::new_with_max_length(MAX_LINE_BYTES),
        done: false,
        failed: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        if state.failed {
            return None;
        }
        loop {
            let decoded = if state.done {
                state.codec.decode_eof(&mut state.buffer)
            } else {
                state.codec.decode(&mut state.buffer)
            };
            match decoded {
                Ok(Some(line)) => return Some((Ok(line), state)),
                Ok(None) if state.done => return None,
                Ok(None) => match state.bytes.next().await {
                    Some(Ok(chunk)) => state.buffer.extend_from_slice(&chunk),
                    Some(Err(error)) => {
                        // The half line in the buffer is dropped with the rest: the
                        // codec is never asked to decode it.
                        state.failed = true;
                        return Some((Err(LineError::Stopped(error.to_string())), state));
                    }
                    None => state.done = true,
                },
                Err(LinesCodecError::MaxLineLengthExceeded) => {
                    let error = format!("the line is longer than {MAX_LINE_BYTES} bytes");
                    return Some((Err(LineError::Unreadable(error)), state));
                }
                Err(LinesCodecError::Io(_)) => {
                    let error = "the line is not valid UTF-8".to_owned();
                    return Some((Err(LineError::Unreadable(error)), state));
                }
            }
        }
    })
}

/// Where and why an import ended before its body did.
#[derive(Debug, Clone, Serialize)]
pub struct Stopped {
    /// The first line not imported: every non-blank line before it has its result.
    pub line: usize,
    pub reason: String,
}

/// The outcome of an import.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub totals: Totals,
    pub stopped: Option<Stopped>,
}

/// Imports every non-blank line, calling `each` with every line's result in line order.
/// With `max_lines`, the import stops at the first non-blank line past it. Results are
/// handed to `each` batch by batch and not kept, so memory stays flat however long the
/// body is.
///
/// Reading and parsing run one batch ahead of writing: the next batch is parsed while
/// PostgreSQL writes this one, so the service's work and the database's overlap. The
/// batches are still written one after another, each in its own transaction on one
/// connection, so a line sees every line before it written.
pub async fn import<S>(
    db: &PgPool,
    actor: &Actor,
    lines: S,
    collection: Collection,
    mode: Mode,
    max_lines: Option<usize>,
    mut each: impl FnMut(&LineResult),
) -> anyhow::Result<Report>
where
    S: Stream<Item = Result<String, LineError>>,
{
    // One batch waits while one is written and the next is read: three at most in memory.
    let (ready, mut chunks) = tokio::sync::mpsc::channel::<Chunk>(1);
    let read = read_chunks(lines, collection, max_lines, ready);
    let write = async {
        let mut totals = Totals::default();
        while let Some(chunk) = chunks.recv().await {
            let mut results = chunk.failed;
            if !chunk.parsed.is_empty() {
                results.extend(write_batch(db, actor, mode, chunk.parsed).await?);
            }
            results.sort_by_key(LineResult::line);
            for result in &results {
                totals.count(result);
                let outcome = match result {
                    LineResult::Written { status, .. } => status.as_str(),
                    LineResult::Failed { .. } => "failed",
                };
                metrics::counter!("chancery_import_lines_total", "status" => outcome).increment(1);
                each(result);
            }
        }
        anyhow::Ok(totals)
    };
    // Both run on this task: parsing goes on whenever the writer waits for PostgreSQL.
    // A writer that fails ends the import at once, however long the body has to go.
    match futures::future::select(std::pin::pin!(read), std::pin::pin!(write)).await {
        Either::Left((stopped, write)) => Ok(Report {
            totals: write.await?,
            stopped,
        }),
        // The writer ran out of batches: the reader has returned already.
        Either::Right((totals, read)) => {
            let totals = totals?;
            Ok(Report {
                totals,
                stopped: read.await,
            })
        }
    }
}

/// Consecutive lines, read and parsed: the documents to write as one batch, and the
/// lines among them that failed already.
#[derive(Default)]
struct Chunk {
    parsed: Vec<Parsed>,
    failed: Vec<LineResult>,
}

impl Chunk {
    fn lines(&self) -> usize {
        self.parsed.len() + self.failed.len()
    }
}

/// Reads and parses lines, handing them to `ready` a batch at a time, in order; where
/// reading stopped before the body's end, if it did. Stops early, too, once nobody
/// takes the batches any more (the writer failed).
async fn read_chunks<S>(
    lines: S,
    collection: Collection,
    max_lines: Option<usize>,
    ready: tokio::sync::mpsc::Sender<Chunk>,
) -> Option<Stopped>
where
    S: Stream<Item = Result<String, LineError>>,
{
    let mut read = 0;
    let mut chunk = Chunk::default();
    let mut stopped = None;
    let mut lines = std::pin::pin!(lines.enumerate());
    while let Some((index, text)) = lines.next().await {
        let line = index + 1;
        let blank = matches!(&text, Ok(text) if text.trim().is_empty());
        match text {
            // The body ended badly: what came before it is all there is.
            Err(LineError::Stopped(reason)) => {
                stopped = Some(Stopped { line, reason });
                break;
            }
            _ if !blank && max_lines.is_some_and(|max| read >= max) => {
                let max = max_lines.unwrap_or_default();
                stopped = Some(Stopped {
                    line,
                    reason: format!(
                        "an import holds at most {max} lines; send the rest, from line {line} \
                         on, in another import"
                    ),
                });
                break;
            }
            Ok(_) if blank => continue,
            Ok(text) => {
                read += 1;
                match parse(line, &text, collection) {
                    Ok(parsed) => chunk.parsed.push(parsed),
                    Err(failed) => chunk.failed.push(failed),
                }
            }
            Err(LineError::Unreadable(error)) => {
                read += 1;
                chunk.failed.push(LineResult::Failed { line, error });
            }
        }
        // Failed lines count too, so a body of bad lines is answered as it goes.
        if chunk.lines() >= BATCH && ready.send(std::mem::take(&mut chunk)).await.is_err() {
            return stopped;
        }
        // Parsing is all CPU: let the writer in between lines when it has work to do.
        tokio::task::consume_budget().await;
    }
    if chunk.lines() > 0 {
        // A writer gone has failed the import; its error is the answer.
        let _ = ready.send(chunk).await;
    }
    stopped
}

/// Writes a batch in one transaction, or document by document when that fails.
async fn write_batch(
    db: &PgPool,
    actor: &Actor,
    mode: Mode,
    batch: Vec<Parsed>,
) -> anyhow::Result<Vec<LineResult>> {
    let mut tx = db.begin().await?;
    match write(&mut tx, actor, mode, &batch).await {
        Ok(results) => {
            tx.commit().await?;
            return Ok(results);
        }
        // Roll back now, on this connection: a transaction merely dropped is rolled
        // back only when its connection is next used, and until then its locks would
        // block the retry below.
        Err(_) => tx.rollback().await?,
    }
    let mut tx = db.begin().await?;
    let mut results = Vec::with_capacity(batch.len());
    for parsed in &batch {
        let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
        match write(&mut savepoint, actor, mode, std::slice::from_ref(parsed)).await {
            Ok(mut written) => {
                savepoint.commit().await?;
                results.append(&mut written);
            }
            Err(error) => {
                savepoint.rollback().await?;
                results.push(LineResult::Failed {
                    line: parsed.line,
                    error: describe(&error),
                });
            }
        }
    }
    tx.commit().await?;
    Ok(results)
}

/// Writes parsed lines, all of one collection.
async fn write(
    conn: &mut PgConnection,
    actor: &Actor,
    mode: Mode,
    batch: &[Parsed],
) -> ApiResult<Vec<LineResult>> {
    let mut results = Vec::with_capacity(batch.len());
    let mut meetings = Vec::new();
    for parsed in batch {
        match &parsed.record {
            Record::Person { record, given } => {
                let (id, status) = people::write(conn, actor, mode, record, given).await?;
                results.push(LineResult::Written {
                    line: parsed.line,
                    id,
                    status,
                });
            }
            Record::Meeting { .. } => meetings.push(parsed),
        }
    }
    if !meetings.is_empty() {
        results.extend(write_meetings(conn, actor, mode, &meetings).await?);
    }
    Ok(results)
}

/// Writes parsed documents: new ones are created; in upsert mode, changed ones
/// replace the meeting their identifiers name, keeping its id.
async fn write_meetings(
    conn: &mut PgConnection,
    actor: &Actor,
    mode: Mode,
    batch: &[&Parsed],
) -> ApiResult<Vec<LineResult>> {
    let (schemes, values): (Vec<&str>, Vec<&str>) = batch
        .iter()
        .filter_map(|p| p.meeting())
        .flat_map(|(input, _)| {
            input
                .identifiers
                .iter()
                .map(|i| (i.scheme.trim(), i.value.trim()))
        })
        .unzip();
    let found = meetings::find_by_identifiers(conn, &schemes, &values).await?;
    let stored: HashMap<(&str, &str), &meetings::Stored> = found
        .iter()
        .map(|s| ((s.scheme.as_str(), s.value.as_str()), s))
        .collect();

    let wanted: Vec<Option<Uuid>> = batch
        .iter()
        .filter_map(|p| p.meeting())
        .map(|(input, _)| input.id)
        .collect();
    let mut free_ids = meetings::free_ids(conn, &wanted).await?.into_iter();

    let mut results = Vec::with_capacity(batch.len());
    let mut writes = Vec::with_capacity(batch.len());
    let mut replaced = Vec::new();
    for parsed in batch {
        let Some((input, hash)) = parsed.meeting() else {
            continue;
        };
        let free_id = free_ids.next().unwrap_or_else(Uuid::now_v7);
        let mut matches: Vec<&meetings::Stored> = input
            .identifiers
            .iter()
            .filter_map(|i| stored.get(&(i.scheme.trim(), i.value.trim())).copied())
            .collect();
        matches.sort_by_key(|s| s.id);
        matches.dedup_by_key(|s| s.id);
        let line = parsed.line;
        match (mode, matches.as_slice()) {
            (_, []) => {
                let id = free_id;
                writes.push(NewMeeting {
                    hash: Some(hash.clone()),
                    ..NewMeeting::new(id, input)
                });
                results.push(LineResult::Written {
                    line,
                    id,
                    status: Status::Created,
                });
            }
            (Mode::Insert, [existing, ..]) => {
                return Err(ApiError::Conflict(format!(
                    "a meeting with this identifier already exists ({}); import with mode=upsert to update it",
                    existing.id
                )));
            }
            (Mode::Upsert, [existing]) if existing.hash.as_deref() == Some(hash.as_slice()) => {
                results.push(LineResult::Written {
                    line,
                    id: existing.id,
                    status: Status::Unchanged,
                });
            }
            (Mode::Upsert, [existing]) => {
                replaced.push(existing.id);
                writes.push(NewMeeting {
                    id: existing.id,
                    input,
                    hash: Some(hash.clone()),
                    created_at: Some(existing.created_at),
                    version: existing.version + 1,
                    created_by: None,
                });
                results.push(LineResult::Written {
                    line,
                    id: existing.id,
                    status: Status::Updated,
                });
            }
            (Mode::Upsert, _) => {
                return Err(ApiError::Conflict(
                    "the identifiers name more than one stored meeting".into(),
                ));
            }
        }
    }
    // The new version replaces the old whole; what hung off it goes with it, but what
    // other meetings' agreements say about it stays.
    let references = crate::store::agreements::references_into(conn, &replaced).await?;
    if !replaced.is_empty() {
        meetings::delete_many(conn, &replaced).await?;
    }
    meetings::insert_many(conn, &writes).await?;
    crate::store::agreements::restore(conn, references).await?;
    let created: Vec<Uuid> = writes
        .iter()
        .map(|w| w.id)
        .filter(|id| !replaced.contains(id))
        .collect();
    history::record_meetings(conn, actor, Action::Create, &created).await?;
    history::record_meetings(conn, actor, Action::Update, &replaced).await?;
    Ok(results)
}

pub fn routes() -> Routes<AppState> {
    // The body is streamed line by line, so the whole-body size limit does not apply.
    Routes::new().route(
        "/v1/import",
        post(import_body).map(|endpoint| endpoint.layer(DefaultBodyLimit::disable())),
    )
}

/// Parameters of `POST /v1/import`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportParams {
    #[serde(default)]
    mode: Mode,
    /// What each line holds.
    #[serde(default, rename = "type")]
    collection: Collection,
}

/// Imports an `application/x-ndjson` body, answering each line's result and the totals.
async fn import_body(
    State(state): State<AppState>,
    actor: Actor,
    idempotency: Idempotency,
    Query(params): Query<ImportParams>,
    request: Request,
) -> ApiResult<Response> {
    require_content_type(&request, &["application/x-ndjson", "application/jsonl"])?;
    let limits = &state.settings.imports;
    let Ok(_place) = state.imports.clone().try_acquire_owned() else {
        return Err(ApiError::Busy(format!(
            "{} imports are running on this instance, as many as it allows; retry when one \
             has finished",
            limits.concurrent
        )));
    };
    let mut body = guarded(request.into_body().into_data_stream(), limits);
    // Each line's result is written out as it comes, not kept: the answer is the only
    // copy, and it is bounded by the cap on lines.
    let mut items = Vec::from(&b"{\"items\":["[..]);
    let mut first = true;
    let report = import(
        &state.db,
        &actor,
        lines(&mut body),
        params.collection,
        params.mode,
        Some(limits.max_lines),
        |result| {
            if !std::mem::take(&mut first) {
                items.push(b',');
            }
            // Writing to memory cannot fail.
            let _ = serde_json::to_writer(&mut items, result);
        },
    )
    .await?;
    if report.stopped.is_some() {
        // Read what is left (bounded by the same guards) and drop it, so that the client,
        // which may still be sending, gets its answer instead of a broken connection.
        while let Some(Ok(_)) = body.next().await {}
    }
    items.extend_from_slice(b"],\"totals\":");
    let _ = serde_json::to_writer(&mut items, &report.totals);
    if let Some(stopped) = &report.stopped {
        tracing::info!(line = stopped.line, reason = %stopped.reason, "import stopped early");
        items.extend_from_slice(b",\"stopped\":");
        let _ = serde_json::to_writer(&mut items, stopped);
    }
    items.push(b'}');
    let body = String::from_utf8(items).map_err(|e| ApiError::Internal(e.into()))?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // An import commits batch by batch, so its answer is stored once the last batch
    // has committed, on its own; a retry after a crash in between runs the import
    // again, which `mode=upsert` makes harmless.
    let mut conn = state.db.acquire().await?;
    idempotency
        .answer(&mut conn, StatusCode::OK, headers, body)
        .await
}

/// The body's chunks, ended with an error when it grows past its byte limit, sends
/// nothing for the idle timeout, or arrives slower on average than the minimum rate
/// once the idle timeout's span has passed: a client that drip-feeds its body holds an
/// import's place for seconds, not hours.
fn guarded<S>(body: S, limits: &ImportLimits) -> impl Stream<Item = io::Result<Bytes>> + Unpin
where
    S: Stream<Item = Result<Bytes, axum::Error>> + Unpin + Send + 'static,
{
    let limits = limits.clone();
    let started = tokio::time::Instant::now();
    Box::pin(async_stream::stream! {
        let mut body = body;
        let mut received: u64 = 0;
        loop {
            let chunk = match tokio::time::timeout(limits.idle_timeout, body.next()).await {
                Err(_) => {
                    yield Err(io::Error::other(format!(
                        "the body sent nothing for {} s",
                        limits.idle_timeout.as_secs()
                    )));
                    return;
                }
                Ok(None) => return,
                Ok(Some(Err(error))) => {
                    yield Err(io::Error::other(format!("the body broke off: {error}")));
                    return;
                }
                Ok(Some(Ok(chunk))) => chunk,
            };
            received += chunk.len() as u64;
            if received > limits.max_bytes {
                yield Err(io::Error::other(format!(
                    "an import body holds at most {} bytes; send the rest in another import",
                    limits.max_bytes
                )));
                return;
            }
            let elapsed = started.elapsed();
            if elapsed > limits.idle_timeout
                && (received as f64) < limits.min_bytes_per_second as f64 * elapsed.as_secs_f64()
            {
                yield Err(io::Error::other(format!(
                    "the body came slower than {} bytes a second",
                    limits.min_bytes_per_second
                )));
                return;
            }
            yield Ok(chunk);
        }
    })
}

/// Imports a file, or standard input for `-`, showing progress on a terminal.
pub async fn import_file(
    db: &PgPool,
    path: &std::path::Path,
    collection: Collection,
    mode: Mode,
    mut each: impl FnMut(&LineResult),
) -> anyhow::Result<Report> {
    let reader: Box<dyn tokio::io::AsyncRead + Unpin + Send> = if path == std::path::Path::new("-")
    {
        Box::new(tokio::io::stdin())
    } else {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Box::new(file)
    };
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let progress = indicatif::ProgressBar::new(size);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {per_sec} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let counter = progress.clone();
    let bytes = tokio_util::io::ReaderStream::new(reader).inspect(move |chunk| {
        if let Ok(chunk) = chunk {
            counter.inc(chunk.len() as u64);
        }
    });
    let report = import(
        db,
        &Actor::default(),
        lines(bytes),
        collection,
        mode,
        None,
        |result| progress.suspend(|| each(result)),
    )
    .await;
    progress.finish_and_clear();
    report
}
