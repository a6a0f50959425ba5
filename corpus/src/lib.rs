//! A synthetic corpus for benchmarks and plan tests: many meetings with the shapes of
//! real ones — a few participants drawn from a skewed pool of people and countries,
//! statements in several languages, agreements with statuses and due dates — loaded
//! with COPY. Derived columns (`countries`, the search vectors, every index) come out
//! as the API would write them: `countries` is computed the same way and the rest is
//! computed by PostgreSQL itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{Days, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

/// Meetings written per transaction.
const CHUNK: u64 = 2_000;

/// What a run wrote, and how long it took.
#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    pub people: u64,
    pub roles: u64,
    pub meetings: u64,
    pub participants: u64,
    pub statements: u64,
    pub agreements: u64,
    pub loading: Duration,
    pub analyzing: Duration,
}

/// How many meetings, from which seed, over how many connections at once.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub meetings: u64,
    pub seed: u64,
    pub jobs: usize,
}

/// Writes `plan.meetings` meetings into an empty database, then vacuums and analyzes
/// the tables so the planner knows them. The same seed gives the same corpus.
pub async fn generate(pool: &PgPool, plan: Plan) -> anyhow::Result<Totals> {
    let started = Instant::now();
    let existing: i64 =
        sqlx::query_scalar("SELECT count(*) FROM (SELECT 1 FROM meetings LIMIT 1) m")
            .fetch_one(pool)
            .await?;
    if existing > 0 {
        bail!("the database already holds meetings: generate a corpus into an empty one");
    }
    // Building an index once over loaded tables is far cheaper than growing it row by
    // row: the secondary indexes are set aside and rebuilt from their own definitions.
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i
          WHERE i.schemaname = current_schema() AND i.tablename = ANY($1)
            AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                             WHERE c.conindid = (quote_ident(i.indexname))::regclass)",
    )
    .bind(&TABLES[..])
    .fetch_all(pool)
    .await?;
    for (name, _) in &indexes {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX {}", quote(name))))
            .execute(pool)
            .await?;
    }
    // Likewise the tables the triggers keep (country pairs, participant summaries,
    // meeting counts) are filled once from the loaded rows, not row by row as they
    // arrive.
    for statement in TRIGGERS_OFF {
        sqlx::query(statement).execute(pool).await?;
    }
    let loaded = load(pool, plan).await;
    let rebuilt = rebuild(pool, &indexes, plan.jobs).await;
    let mut derived = Ok(());
    for statement in TRIGGERS_ON {
        if let Err(error) = sqlx::query(statement).execute(pool).await {
            derived = Err(error).context("filling the tables the triggers keep");
        }
    }
    let mut totals = loaded?;
    rebuilt?;
    derived?;
    totals.loading = started.elapsed();

    // Vacuum too: it empties the GIN indexes' pending lists and marks pages all-visible,
    // as a database long in service would have them.
    let analyzing = Instant::now();
    for table in TABLES {
        sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM (ANALYZE) {table}")))
            .execute(pool)
            .await
            .with_context(|| format!("vacuuming {table}"))?;
    }
    totals.analyzing = analyzing.elapsed();
    Ok(totals)
}

/// Writes the people and the meetings, `plan.jobs` chunks at once.
async fn load(pool: &PgPool, plan: Plan) -> anyhow::Result<Totals> {
    let world = Arc::new(World::new(plan));
    let mut conn = pool.acquire().await?;
    let people = world.people_copy();
    copy(&mut conn, PEOPLE_COPY, people.as_bytes()).await?;
    let (roles, role_count) = world.roles_copy();
    copy(&mut conn, ROLES_COPY, roles.as_bytes()).await?;
    drop(conn);

    let next = Arc::new(AtomicU64::new(0));
    let chunks = plan.meetings.div_ceil(CHUNK);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..plan.jobs.max(1) {
        let (pool, world, next) = (pool.clone(), world.clone(), next.clone());
        workers.spawn(async move {
            let mut totals = Totals::default();
            loop {
                let chunk = next.fetch_add(1, Ordering::Relaxed);
                if chunk >= chunks {
                    return anyhow::Ok(totals);
                }
                let batch = world.chunk(chunk);
                let mut conn = pool.acquire().await?;
                let mut tx = conn.begin().await?;
                copy(&mut tx, MEETINGS_COPY, batch.meetings.as_bytes()).await?;
                copy(&mut tx, SOURCES_COPY, batch.sources.as_bytes()).await?;
                copy(&mut tx, PARTICIPANTS_COPY, batch.participants.as_bytes()).await?;
                copy(&mut tx, STATEMENTS_COPY, batch.statements.as_bytes()).await?;
                copy(&mut tx, AGREEMENTS_COPY, batch.agreements.as_bytes()).await?;
                copy(&mut tx, EVENTS_COPY, batch.events.as_bytes()).await?;
                tx.commit().await?;
                totals.meetings += batch.counts[0];
                totals.participants += batch.counts[1];
                totals.statements += batch.counts[2];
                totals.agreements += batch.counts[3];
                let done = (chunk + 1) * CHUNK;
                if done.is_multiple_of(CHUNK * 50) {
                    tracing::info!(meetings = done.min(plan.meetings), "generating");
                }
            }
        });
    }
    let mut totals = Totals {
        people: world.people.len() as u64,
        roles: role_count,
        ..Totals::default()
    };
    while let Some(result) = workers.join_next().await {
        let part = result.context("a corpus worker panicked")??;
        totals.meetings += part.meetings;
        totals.participants += part.participants;
        totals.statements += part.statements;
        totals.agreements += part.agreements;
    }
    Ok(totals)
}

/// Recreates indexes from their definitions, `jobs` at once.
async fn rebuild(pool: &PgPool, indexes: &[(String, String)], jobs: usize) -> anyhow::Result<()> {
    let queue = Arc::new(std::sync::Mutex::new(
        indexes
            .iter()
            .map(|(_, def)| def.clone())
            .collect::<Vec<_>>(),
    ));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..jobs.max(1) {
        let (pool, queue) = (pool.clone(), queue.clone());
        workers.spawn(async move {
            let mut conn = pool.acquire().await?;
            sqlx::query("SET maintenance_work_mem = '256MB'")
                .execute(&mut *conn)
                .await?;
            loop {
                let next = queue.lock().expect("an unpoisoned queue").pop();
                let Some(definition) = next else {
                    return anyhow::Ok(());
                };
                sqlx::query(sqlx::AssertSqlSafe(definition.clone()))
                    .execute(&mut *conn)
                    .await
                    .with_context(|| definition)?;
            }
        });
    }
    while let Some(result) = workers.join_next().await {
        result.context("an index builder panicked")??;
    }
    Ok(())
}

/// A quoted SQL identifier.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Turns off the triggers that keep derived tables, for the load.
const TRIGGERS_OFF: [&str; 5] = [
    "ALTER TABLE meetings DISABLE TRIGGER USER",
    // Each agreement is written with its meeting's date and its latest event's day.
    "ALTER TABLE agreements DISABLE TRIGGER USER",
    // Each agreement is written with its latest event's status already.
    "ALTER TABLE agreement_events DISABLE TRIGGER USER",
    "ALTER TABLE participants DISABLE TRIGGER USER",
    "ALTER TABLE roles DISABLE TRIGGER USER",
];

/// Fills the derived tables from what was loaded (once the planner knows how much
/// that is), then turns their triggers back on.
const TRIGGERS_ON: [&str; 13] = [
    "ANALYZE meetings, participants, people, roles",
    "SELECT fill_meeting_country_pairs()",
    "SELECT fill_participant_summaries()",
    "SELECT fill_meeting_offices()",
    "ANALYZE meeting_offices",
    // The counts of every meeting that `GET /v1/stats/meetings` answers from.
    "INSERT INTO meeting_counts (dimension, key, n)
     SELECT k.dimension, k.key, count(*)
       FROM meetings m, meeting_count_keys(m.date, m.kind, m.countries, m.topics) k
      GROUP BY 1, 2",
    // What the roles trigger counts: each person's roles written once.
    "UPDATE people pe SET roles_version = 1 WHERE EXISTS (SELECT 1 FROM roles r WHERE r.person_id = pe.id)",
    "ALTER TABLE meetings ENABLE TRIGGER USER",
    "ALTER TABLE participants ENABLE TRIGGER USER",
    "ALTER TABLE roles ENABLE TRIGGER USER",
    "ALTER TABLE agreement_events ENABLE TRIGGER USER",
    "SELECT fill_agreement_parties()",
    "ALTER TABLE agreements ENABLE TRIGGER USER",
];

const TABLES: [&str; 12] = [
    "people",
    "roles",
    "meetings",
    "meeting_country_pairs",
    "meeting_participant_summaries",
    "meeting_offices",
    "sources",
    "participants",
    "statements",
    "agreements",
    "agreement_events",
    "agreement_parties",
];

async fn copy(conn: &mut PgConnection, statement: &str, data: &[u8]) -> anyhow::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    let mut copy = conn.copy_in_raw(statement).await?;
    copy.send(data).await?;
    copy.finish().await.with_context(|| statement.to_owned())?;
    Ok(())
}

const PEOPLE_COPY: &str = "COPY people (id, name, country) FROM STDIN";
const ROLES_COPY: &str = "COPY roles (id, person_id, title, kind, serves, posted_to, organization, \
    appointed_on, started_on, ended_on, end_note, source, position) FROM STDIN";
const MEETINGS_COPY: &str = "COPY meetings (id, title, summary, kind, date, end_date, city, \
    location_country, lat, lon, host_country, countries, topics) FROM STDIN";
const SOURCES_COPY: &str =
    "COPY sources (id, meeting_id, url, title, publisher, published_on, position) FROM STDIN";
const PARTICIPANTS_COPY: &str = "COPY participants (id, meeting_id, person_id, organization, \
    role, country, side, position) FROM STDIN";
const STATEMENTS_COPY: &str = "COPY statements (id, meeting_id, participant_id, person_id, text, \
    kind, language, topics, position) FROM STDIN";
const AGREEMENTS_COPY: &str = "COPY agreements (id, meeting_id, title, description, kind, status, \
    parties, topics, signed_on, due_by, position, meeting_date, status_on) FROM STDIN";
const EVENTS_COPY: &str =
    "COPY agreement_events (id, agreement_id, status, occurred_on, note) FROM STDIN";

/// A person of the pool.
struct Person {
    id: Uuid,
    name: String,
    country: &'static str,
}

/// Everything shared by the chunks: the pools to draw from.
struct World {
    plan: Plan,
    countries: Skewed<&'static str>,
    people: Vec<Person>,
    /// Indexes into `people`, most active first.
    people_by_activity: Skewed<usize>,
    topics: Skewed<&'static str>,
}

/// One chunk's rows, in COPY text format, and how many of each.
struct Batch {
    meetings: String,
    sources: String,
    participants: String,
    statements: String,
    agreements: String,
    /// Each agreement's creation, and for some a later change of status.
    events: String,
    counts: [u64; 4],
}

/// Values drawn with Zipf-like weights: the first is the most likely.
struct Skewed<T> {
    values: Vec<T>,
    cumulative: Vec<f64>,
}

impl<T: Copy> Skewed<T> {
    fn new(values: Vec<T>, exponent: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=values.len())
            .map(|rank| {
                total += 1.0 / (rank as f64).powf(exponent);
                total
            })
            .collect();
        Skewed { values, cumulative }
    }

    fn draw(&self, rng: &mut StdRng) -> T {
        let total = *self.cumulative.last().expect("a non-empty pool");
        let point = rng.random::<f64>() * total;
        let index = self.cumulative.partition_point(|&c| c < point);
        self.values[index.min(self.values.len() - 1)]
    }
}

/// A v7 id, as the API gives, made from the seed's random numbers so runs repeat.
fn id(rng: &mut StdRng, millis: u64) -> Uuid {
    let random: [u8; 10] = rng.random();
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

fn pick<T: Copy>(rng: &mut StdRng, values: &[T]) -> T {
    values[rng.random_range(0..values.len())]
}

impl World {
    fn new(plan: Plan) -> World {
        let mut rng = StdRng::seed_from_u64(plan.seed);
        let mut codes: Vec<&'static str> = MAJOR_POWERS.to_vec();
        codes.extend(
            rust_iso3166::ALL_ALPHA3
                .iter()
                .copied()
                .filter(|code| !MAJOR_POWERS.contains(code)),
        );
        let countries = Skewed::new(codes, 1.0);
        let pool = (plan.meetings / 8).clamp(500, 150_000) as usize;
        let people: Vec<Person> = (0..pool)
            .map(|i| {
                let first = FIRST_NAMES[i % FIRST_NAMES.len()];
                let last = LAST_NAMES[(i / FIRST_NAMES.len()) % LAST_NAMES.len()];
                let initial =
                    (b'A' + ((i / (FIRST_NAMES.len() * LAST_NAMES.len())) % 26) as u8) as char;
                Person {
                    id: id(&mut rng, BASE_MILLIS + i as u64),
                    name: format!("{first} {initial}. {last}"),
                    country: countries.draw(&mut rng),
                }
            })
            .collect();
        let people_by_activity = Skewed::new((0..pool).collect(), 0.9);
        let topics = Skewed::new(TOPICS.to_vec(), 1.0);
        World {
            plan,
            countries,
            people,
            people_by_activity,
            topics,
        }
    }

    fn people_copy(&self) -> String {
        let mut out = String::with_capacity(self.people.len() * 64);
        for person in &self.people {
            row(
                &mut out,
                &[&person.id.to_string(), &person.name, person.country],
            );
        }
        out
    }

    /// The people's offices: most people hold one to three in turn, over the years the
    /// meetings span, some with dates known only to the month or the year, or not at
    /// all, as sources give them. Rows in COPY text format, and how many.
    fn roles_copy(&self) -> (String, u64) {
        let mut rng = StdRng::seed_from_u64(self.plan.seed ^ 0x5EED_0F0F_F1CE);
        let mut out = String::with_capacity(self.people.len() * 200);
        let mut count = 0;
        let span = LAST_DAY.signed_duration_since(FIRST_DAY).num_days() as u64;
        for (index, person) in self.people.iter().enumerate() {
            let held = [0, 1, 1, 1, 2, 2, 3][rng.random_range(0..7)];
            let mut start = FIRST_DAY + Days::new(rng.random_range(0..span));
            for position in 0..held {
                let (title, kind) = pick(&mut rng, ROLE_TITLES);
                let posted_to = (kind == "chief_of_mission").then(|| self.countries.draw(&mut rng));
                let organization = match kind {
                    "chief_of_mission_to_organization" => Some(pick(&mut rng, ORGANIZATIONS)),
                    _ => None,
                };
                let end = start + Days::new(rng.random_range(200..2_500));
                let partial = |rng: &mut StdRng, day: NaiveDate| -> Option<String> {
                    match rng.random_range(0..20) {
                        0 => None,
                        1 => Some(day.format("%Y").to_string()),
                        2 | 3 => Some(day.format("%Y-%m").to_string()),
                        _ => Some(day.to_string()),
                    }
                };
                let started_on = partial(&mut rng, start);
                let ended_on = if end > LAST_DAY {
                    None
                } else {
                    partial(&mut rng, end)
                };
                let appointed_on = (rng.random_range(0..3) > 0)
                    .then(|| (start - Days::new(rng.random_range(10..90))).to_string());
                let role = id(
                    &mut rng,
                    BASE_MILLIS + 5_000_000 + (index * 4 + position) as u64,
                );
                let position = position.to_string();
                row(
                    &mut out,
                    &[
                        &role.to_string(),
                        &person.id.to_string(),
                        title,
                        kind,
                        person.country,
                        opt(posted_to),
                        opt(organization),
                        opt(appointed_on.as_deref()),
                        opt(started_on.as_deref()),
                        opt(ended_on.as_deref()),
                        NULL,
                        NULL,
                        &position,
                    ],
                );
                count += 1;
                start = end + Days::new(rng.random_range(0..400));
                if start > LAST_DAY {
                    break;
                }
            }
        }
        (out, count)
    }

    fn chunk(&self, chunk: u64) -> Batch {
        let mut rng =
            StdRng::seed_from_u64(self.plan.seed ^ (chunk + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut batch = Batch {
            meetings: String::with_capacity(CHUNK as usize * 400),
            sources: String::with_capacity(CHUNK as usize * 150),
            participants: String::with_capacity(CHUNK as usize * 600),
            statements: String::with_capacity(CHUNK as usize * 1200),
            agreements: String::with_capacity(CHUNK as usize * 500),
            events: String::with_capacity(CHUNK as usize * 200),
            counts: [0; 4],
        };
        // Events draw from a stream of their own, so the rest of the corpus is what the
        // same seed gave before agreements had events.
        let mut events_rng =
            StdRng::seed_from_u64(self.plan.seed ^ (chunk + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
        let first = chunk * CHUNK;
        let last = (first + CHUNK).min(self.plan.meetings);
        for n in first..last {
            self.meeting(&mut rng, &mut events_rng, n, &mut batch);
        }
        batch
    }

    fn meeting(&self, rng: &mut StdRng, events_rng: &mut StdRng, n: u64, batch: &mut Batch) {
        // Ids grow with load order, as they would with meetings created one by one.
        let millis = BASE_MILLIS + 10_000_000 + n * 10;
        let meeting_id = id(rng, millis);
        let meeting = meeting_id.to_string();

        // Most meetings are recent: dates skew toward the end of the range.
        let span = LAST_DAY.signed_duration_since(FIRST_DAY).num_days() as f64;
        let back = (span * rng.random::<f64>().powi(2)) as u64;
        let date = LAST_DAY - Days::new(back);
        let kind = pick(rng, MEETING_KINDS);
        let end_date =
            (rng.random_range(0..10) == 0).then(|| date + Days::new(rng.random_range(1..4)));

        let participant_count = [2, 2, 2, 2, 3, 3, 4, 5, 6][rng.random_range(0..9)];
        let mut people: Vec<usize> = Vec::with_capacity(participant_count);
        while people.len() < participant_count {
            let person = self.people_by_activity.draw(rng);
            if !people.contains(&person) {
                people.push(person);
            }
        }
        let host = &self.people[people[0]];
        let (city, location_country, lat, lon) = match rng.random_range(0..10) {
            0 => (None, None, None, None),
            1..=6 => (
                Some(pick(rng, CITIES)),
                Some(host.country),
                Some(rng.random_range(-60.0..70.0_f64)),
                Some(rng.random_range(-170.0..170.0_f64)),
            ),
            _ => (
                Some(pick(rng, CITIES)),
                Some(self.countries.draw(rng)),
                None,
                None,
            ),
        };

        let mut participant_ids = Vec::with_capacity(participant_count);
        let mut countries: Vec<&'static str> = vec![host.country];
        countries.extend(location_country);
        for (position, &index) in people.iter().enumerate() {
            let person = &self.people[index];
            let participant = id(rng, millis);
            participant_ids.push((participant, person.id));
            countries.push(person.country);
            let side = if position == 0 {
                "host"
            } else {
                pick(rng, &["guest", "guest", "guest", "observer"])
            };
            row(
                &mut batch.participants,
                &[
                    &participant.to_string(),
                    &meeting,
                    &person.id.to_string(),
                    NULL,
                    pick(rng, ROLES),
                    person.country,
                    side,
                    &position.to_string(),
                ],
            );
        }
        if rng.random_range(0..12) == 0 {
            // An organisation at the table, with no person or country.
            let participant = id(rng, millis);
            row(
                &mut batch.participants,
                &[
                    &participant.to_string(),
                    &meeting,
                    NULL,
                    pick(rng, ORGANIZATIONS),
                    "Delegation",
                    NULL,
                    "observer",
                    &participant_count.to_string(),
                ],
            );
            batch.counts[1] += 1;
        }
        batch.counts[1] += participant_count as u64;
        countries.sort_unstable();
        countries.dedup();

        let mut topics: Vec<&'static str> = (0..rng.random_range(0..4))
            .map(|_| self.topics.draw(rng))
            .collect();
        topics.sort_unstable();
        topics.dedup();
        let guest = &self.people[people[1]];
        let title = match rng.random_range(0..3) {
            0 => format!("{} meets {}", host.name, guest.name),
            1 => format!(
                "{} of {} and {}",
                pick(rng, TITLE_KINDS),
                host.country,
                guest.country
            ),
            _ => format!(
                "{} visit of {} to {}",
                pick(rng, TITLE_KINDS),
                guest.name,
                city.unwrap_or(host.country)
            ),
        };
        let summary = (rng.random_range(0..4) != 0).then(|| sentence(rng, &ENGLISH, 18, 60));
        row(
            &mut batch.meetings,
            &[
                &meeting,
                &title,
                opt(summary.as_deref()),
                kind,
                &date.to_string(),
                opt(end_date.map(|d| d.to_string()).as_deref()),
                opt(city),
                opt(location_country),
                opt(lat.map(|v| format!("{v:.4}")).as_deref()),
                opt(lon.map(|v| format!("{v:.4}")).as_deref()),
                host.country,
                &array(&countries),
                &array(&topics),
            ],
        );
        batch.counts[0] += 1;

        if rng.random_range(0..10) < 7 {
            row(
                &mut batch.sources,
                &[
                    &id(rng, millis).to_string(),
                    &meeting,
                    &format!("https://press.example.org/{}/{n}", date.format("%Y/%m")),
                    &title,
                    pick(rng, PUBLISHERS),
                    &date.to_string(),
                    "0",
                ],
            );
        }

        let statement_count = [0, 0, 1, 1, 1, 2, 2, 3, 4][rng.random_range(0..9)];
        for position in 0..statement_count {
            let (participant, person) = participant_ids[rng.random_range(0..participant_ids.len())];
            let language = LANGUAGES.draw(rng);
            let words = match language {
                "es" => &SPANISH,
                "fr" => &FRENCH,
                "de" => &GERMAN,
                "ru" => &RUSSIAN,
                "pt" => &PORTUGUESE,
                "ar" => &ARABIC,
                _ => &ENGLISH,
            };
            let statement_topics: Vec<&str> =
                topics.iter().copied().filter(|_| rng.random()).collect();
            row(
                &mut batch.statements,
                &[
                    &id(rng, millis).to_string(),
                    &meeting,
                    &participant.to_string(),
                    &person.to_string(),
                    &sentence(rng, words, 12, 80),
                    pick(rng, STATEMENT_KINDS),
                    language,
                    &array(&statement_topics),
                    &position.to_string(),
                ],
            );
        }
        batch.counts[2] += statement_count as u64;

        let agreement_count = [0, 0, 0, 0, 1, 1, 2, 3][rng.random_range(0..8)];
        for position in 0..agreement_count {
            let topic = topics
                .first()
                .copied()
                .unwrap_or_else(|| self.topics.draw(rng));
            let status = pick(rng, AGREEMENT_STATUSES);
            let signed = matches!(status, "signed" | "in_force" | "fulfilled" | "lapsed");
            let due_by =
                (rng.random_range(0..3) != 0).then(|| date + Days::new(rng.random_range(30..1500)));
            let mut parties: Vec<&str> = vec![host.country, guest.country];
            parties.sort_unstable();
            parties.dedup();
            let agreement_id = id(rng, millis);
            // Made with `status`; one in three changes later, up to the end of 2025 (a
            // fixed day, so that the same seed gives the same corpus).
            let mut now = status;
            let mut status_on = date;
            row(
                &mut batch.events,
                &[
                    &id(events_rng, millis).to_string(),
                    &agreement_id.to_string(),
                    status,
                    &date.to_string(),
                    NULL,
                ],
            );
            let later = date + Days::new(events_rng.random_range(10..900));
            if events_rng.random_range(0..3) == 0 && later <= LAST_EVENT_DAY {
                now = pick(events_rng, LATER_STATUSES);
                status_on = later;
                row(
                    &mut batch.events,
                    &[
                        &id(events_rng, millis).to_string(),
                        &agreement_id.to_string(),
                        now,
                        &later.to_string(),
                        pick(events_rng, EVENT_NOTES),
                    ],
                );
            }
            row(
                &mut batch.agreements,
                &[
                    &agreement_id.to_string(),
                    &meeting,
                    &format!(
                        "{} on {}",
                        pick(rng, AGREEMENT_TITLES),
                        topic.replace('-', " ")
                    ),
                    opt((rng.random_range(0..2) == 0)
                        .then(|| sentence(rng, &ENGLISH, 10, 40))
                        .as_deref()),
                    pick(rng, AGREEMENT_KINDS),
                    now,
                    &array(&parties),
                    &array(&[topic]),
                    opt(signed.then(|| date.to_string()).as_deref()),
                    opt(due_by.map(|d| d.to_string()).as_deref()),
                    &position.to_string(),
                    &date.to_string(),
                    &status_on.to_string(),
                ],
            );
        }
        batch.counts[3] += agreement_count as u64;
    }
}

const NULL: &str = "\\N";

fn opt(value: Option<&str>) -> &str {
    value.unwrap_or(NULL)
}

/// A text-format array literal of plain words (codes and topic slugs need no quoting).
fn array(values: &[&str]) -> String {
    format!("{{{}}}", values.join(","))
}

/// Appends one COPY text-format row; `\N` fields are NULL.
fn row(out: &mut String, fields: &[&str]) {
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            out.push('\t');
        }
        if *field == NULL {
            out.push_str(NULL);
            continue;
        }
        for c in field.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
    }
    out.push('\n');
}

/// A word bank for one language, common words first.
struct Words {
    words: &'static [&'static str],
    skew: std::sync::OnceLock<Skewed<&'static str>>,
}

impl Words {
    const fn new(words: &'static [&'static str]) -> Words {
        Words {
            words,
            skew: std::sync::OnceLock::new(),
        }
    }

    fn draw(&self, rng: &mut StdRng) -> &'static str {
        self.skew
            .get_or_init(|| Skewed::new(self.words.to_vec(), 0.8))
            .draw(rng)
    }
}

/// Between `min` and `max` words of one language, with sentence breaks.
fn sentence(rng: &mut StdRng, words: &Words, min: usize, max: usize) -> String {
    let count = rng.random_range(min..=max);
    let mut text = String::with_capacity(count * 9);
    let mut capital = true;
    for index in 0..count {
        let word = if rng.random_range(0..40) == 0 {
            pick(rng, SPECIFIC)
        } else {
            words.draw(rng)
        };
        if index > 0 {
            text.push(' ');
        }
        if capital {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                text.extend(first.to_uppercase());
                text.push_str(chars.as_str());
            }
        } else {
            text.push_str(word);
        }
        capital = index + 1 < count && rng.random_range(0..12) == 0;
        if capital || index + 1 == count {
            text.push('.');
        } else if rng.random_range(0..15) == 0 {
            text.push(',');
        }
    }
    text
}

/// Words that make a text about something: drawn evenly from a long list, a few to a
/// text, so searching for one finds a small share of the texts, as in real ones.
const SPECIFIC: &[&str] = &[
    "nuclear",
    "non-proliferation",
    "maritime",
    "fisheries",
    "semiconductors",
    "vaccines",
    "pipeline",
    "refugees",
    "tariffs",
    "scholarships",
    "satellites",
    "hydrogen",
    "desalination",
    "cybersecurity",
    "biodiversity",
    "drought",
    "earthquake",
    "reconstruction",
    "corridor",
    "railway",
    "uranium",
    "lithium",
    "wheat",
    "fertilizer",
    "microchips",
    "shipbuilding",
    "archaeology",
    "orchestra",
    "ammonia",
    "aquifer",
    "avocados",
    "bauxite",
    "biofuels",
    "broadband",
    "cement",
    "cobalt",
    "cocoa",
    "coffee",
    "copper",
    "cotton",
    "dams",
    "dredging",
    "electrolysers",
    "ethanol",
    "fibre-optic",
    "forestry",
    "geothermal",
    "glaciers",
    "granaries",
    "graphite",
    "helium",
    "irrigation",
    "jute",
    "locusts",
    "mangroves",
    "methane",
    "monsoon",
    "nickel",
    "oilseeds",
    "olives",
    "palladium",
    "pharmaceuticals",
    "phosphate",
    "platinum",
    "potash",
    "quarantine",
    "quinoa",
    "rainforest",
    "reactors",
    "rice",
    "rubber",
    "salmon",
    "sardines",
    "seaports",
    "sorghum",
    "soybeans",
    "steel",
    "sugar",
    "tea",
    "telescopes",
    "timber",
    "tin",
    "titanium",
    "tobacco",
    "tungsten",
    "turbines",
    "uranium-enrichment",
    "vanilla",
    "wind-farms",
    "wool",
    "zinc",
    "airports",
    "aluminium",
    "antibiotics",
    "aqueducts",
    "asbestos",
    "batteries",
    "beef",
    "bridges",
    "canals",
    "cassava",
    "cattle",
    "chemicals",
    "chromium",
    "coal",
    "coral",
    "cranes",
    "cybercrime",
    "dairy",
    "diamonds",
    "diesel",
    "dolphins",
    "drones",
    "dykes",
    "electricity",
    "embassies",
    "emeralds",
    "fisheries-quota",
    "flooding",
    "fuel",
    "gas",
    "gold",
    "grain",
    "gravel",
    "highways",
    "hospitals",
    "icebreakers",
    "insulin",
    "jet-fuel",
    "kerosene",
    "lignite",
    "livestock",
    "maize",
    "manganese",
    "marble",
    "mercury",
    "metro",
    "microfinance",
    "mines",
    "molybdenum",
    "mosquitoes",
    "museums",
    "natural-gas",
    "nurses",
    "observatories",
    "oil",
    "orchards",
    "paddy",
    "peanuts",
    "pesticides",
    "pilgrims",
    "plutonium",
    "polio",
    "ports",
    "poultry",
    "railcars",
    "refineries",
    "reservoirs",
    "roads",
    "robots",
    "satellites-launch",
    "seeds",
    "shrimp",
    "silver",
    "smuggling",
    "snowmelt",
    "solar",
    "spices",
    "stadiums",
    "submarines",
    "sulphur",
    "tankers",
    "textiles",
    "trawlers",
    "tuna",
    "tunnels",
    "universities",
    "vaccine-plants",
    "vessels",
    "warships",
    "wetlands",
    "whaling",
    "wildfires",
    "yachts",
    "Danube",
    "Mekong",
    "Nile",
    "Amazon",
    "Zambezi",
    "Euphrates",
    "Tigris",
    "Indus",
    "Ganges",
    "Yangtze",
    "Volga",
    "Dnieper",
    "Orinoco",
    "Niger",
    "Sahel",
    "Arctic",
    "Antarctic",
    "Caspian",
    "Baltic",
    "Adriatic",
    "Aegean",
    "Andes",
    "Himalaya",
    "Balkans",
    "Caucasus",
    "Patagonia",
    "Sahara",
    "Gobi",
    "Kalahari",
    "Siberia",
    "Bosphorus",
    "Suez",
    "Panama",
    "Malacca",
    "Hormuz",
    "Gibraltar",
    "Mozambique",
    "Benguela",
];

const BASE_MILLIS: u64 = 1_700_000_000_000;
const FIRST_DAY: NaiveDate = NaiveDate::from_ymd_opt(1960, 1, 1).expect("a valid date");
const LAST_DAY: NaiveDate = NaiveDate::from_ymd_opt(2025, 12, 31).expect("a valid date");

static LANGUAGES: std::sync::LazyLock<Skewed<&'static str>> =
    std::sync::LazyLock::new(|| Skewed::new(vec!["en", "es", "fr", "ru", "de", "pt", "ar"], 1.3));

const MAJOR_POWERS: &[&str] = &[
    "USA", "CHN", "RUS", "GBR", "FRA", "DEU", "JPN", "IND", "BRA", "TUR", "ITA", "CAN", "KOR",
    "SAU", "MEX", "IDN", "ZAF", "UKR", "ISR", "EGY", "IRN", "ESP", "AUS", "POL", "NGA", "PAK",
    "ARG", "CUB", "VNM", "QAT",
];

const TOPICS: &[&str] = &[
    "trade",
    "security",
    "energy",
    "climate",
    "health",
    "migration",
    "defence",
    "investment",
    "nuclear",
    "human-rights",
    "education",
    "agriculture",
    "technology",
    "cyber",
    "finance",
    "infrastructure",
    "water",
    "tourism",
    "fisheries",
    "space",
    "culture",
    "sanctions",
    "counter-terrorism",
    "arms-control",
    "development-aid",
    "maritime",
    "border",
    "refugees",
    "pandemic",
    "food-security",
    "telecommunications",
    "mining",
    "transport",
    "science",
    "sport",
    "digital",
    "elections",
    "peacekeeping",
    "humanitarian",
    "visa",
];

const MEETING_KINDS: &[&str] = &[
    "bilateral",
    "bilateral",
    "bilateral",
    "bilateral",
    "multilateral",
    "summit",
    "state_visit",
    "official_visit",
    "working_visit",
    "phone_call",
    "phone_call",
    "video_call",
    "other",
];

const TITLE_KINDS: &[&str] = &[
    "Talks",
    "Official",
    "Working",
    "State",
    "Consultations",
    "Bilateral meeting",
];

const STATEMENT_KINDS: &[&str] = &[
    "quote",
    "quote",
    "paraphrase",
    "joint_statement",
    "press_release",
];

const AGREEMENT_KINDS: &[&str] = &[
    "treaty",
    "mou",
    "mou",
    "contract",
    "joint_declaration",
    "pledge",
    "plan",
    "other",
];

/// The last day a generated event may fall on.
const LAST_EVENT_DAY: NaiveDate = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();

/// What an agreement becomes later, fulfilment most often.
const LATER_STATUSES: &[&str] = &[
    "fulfilled",
    "fulfilled",
    "fulfilled",
    "signed",
    "in_force",
    "lapsed",
    "withdrawn",
];

const EVENT_NOTES: &[&str] = &[
    "Confirmed by both foreign ministries.",
    "Reported in the press.",
    "Announced at a later meeting.",
    "Noted in the annual report.",
];

const AGREEMENT_STATUSES: &[&str] = &[
    "proposed",
    "agreed",
    "agreed",
    "signed",
    "signed",
    "in_force",
    "fulfilled",
    "lapsed",
    "withdrawn",
];

const AGREEMENT_TITLES: &[&str] = &[
    "Memorandum of understanding",
    "Agreement",
    "Joint declaration",
    "Action plan",
    "Protocol",
    "Framework agreement",
    "Roadmap",
];

const ROLES: &[&str] = &[
    "President",
    "Prime Minister",
    "Minister of Foreign Affairs",
    "Minister of Defence",
    "Minister of Trade",
    "Ambassador",
    "Deputy Foreign Minister",
    "Special Envoy",
    "Secretary of State",
    "Chancellor",
    "King",
    "Vice President",
    "National Security Adviser",
];

const ORGANIZATIONS: &[&str] = &[
    "United Nations",
    "European Union",
    "African Union",
    "World Bank",
    "International Monetary Fund",
    "NATO",
    "ASEAN",
    "World Health Organization",
    "OSCE",
    "Arab League",
];

const PUBLISHERS: &[&str] = &[
    "Ministry of Foreign Affairs",
    "Office of the President",
    "State news agency",
    "Embassy press office",
    "Government press service",
];

const CITIES: &[&str] = &[
    "Washington",
    "Beijing",
    "Moscow",
    "London",
    "Paris",
    "Berlin",
    "Tokyo",
    "New Delhi",
    "Brasília",
    "Ankara",
    "Rome",
    "Ottawa",
    "Seoul",
    "Riyadh",
    "Mexico City",
    "Jakarta",
    "Pretoria",
    "Kyiv",
    "Jerusalem",
    "Cairo",
    "Tehran",
    "Madrid",
    "Canberra",
    "Warsaw",
    "Abuja",
    "Islamabad",
    "Buenos Aires",
    "Havana",
    "Hanoi",
    "Doha",
    "Geneva",
    "Vienna",
    "Brussels",
    "New York",
    "Nairobi",
    "Addis Ababa",
    "Bogotá",
    "Lima",
    "Santiago",
    "Caracas",
    "Bangkok",
    "Singapore",
    "Manila",
    "Kuala Lumpur",
    "Astana",
    "Baku",
    "Tbilisi",
    "Yerevan",
    "Minsk",
    "Belgrade",
    "Athens",
    "Lisbon",
    "Stockholm",
    "Oslo",
    "Helsinki",
    "Copenhagen",
    "Dublin",
    "Reykjavík",
    "São Paulo",
    "Montevideo",
    "Dakar",
    "Algiers",
    "Rabat",
    "Tunis",
    "Amman",
    "Beirut",
    "Baghdad",
    "Kabul",
    "Tashkent",
    "Ulaanbaatar",
    "Wellington",
];

/// Offices people hold, and their kinds.
const ROLE_TITLES: &[(&str, &str)] = &[
    ("Foreign Minister", "minister"),
    ("Minister of Trade", "minister"),
    ("Minister of Defence", "minister"),
    ("Minister of Energy", "minister"),
    ("Deputy Foreign Minister", "minister"),
    ("Prime Minister", "head_of_government"),
    ("President", "head_of_state"),
    (
        "Ambassador Extraordinary and Plenipotentiary",
        "chief_of_mission",
    ),
    ("Chargé d’Affaires ad interim", "chief_of_mission"),
    (
        "Permanent Representative",
        "chief_of_mission_to_organization",
    ),
    ("Secretary of State", "principal_officer"),
    ("Under Secretary for Political Affairs", "principal_officer"),
    ("Special Envoy", "other"),
];

const FIRST_NAMES: &[&str] = &[
    "Miguel",
    "Anna",
    "Sergei",
    "Olaf",
    "Emmanuel",
    "Xi",
    "Narendra",
    "Luiz",
    "Recep",
    "Giorgia",
    "Justin",
    "Yoon",
    "Mohammed",
    "Andrés",
    "Joko",
    "Cyril",
    "Volodymyr",
    "Benjamin",
    "Abdel",
    "Ebrahim",
    "Pedro",
    "Anthony",
    "Andrzej",
    "Bola",
    "Shehbaz",
    "Javier",
    "Nguyen",
    "Tamim",
    "Ursula",
    "Charles",
    "Kamala",
    "Fumio",
    "Li",
    "Dmitry",
    "Heiko",
    "Annalena",
    "Catherine",
    "José",
    "María",
    "Ana",
    "Jean",
    "François",
    "Ahmed",
    "Fatima",
    "Ali",
    "Hassan",
    "Olga",
    "Irina",
    "Ivan",
    "Wang",
    "Zhang",
    "Hiroshi",
    "Yuki",
    "Min-jun",
    "Ji-woo",
    "Aisha",
    "Kwame",
    "Amina",
    "Thabo",
    "Ngozi",
    "Carlos",
    "Lucía",
    "Sofía",
    "Mateo",
    "Élodie",
    "Søren",
    "Björn",
    "Ingrid",
    "Mehmet",
    "Ayşe",
];

const LAST_NAMES: &[&str] = &[
    "Díaz-Canel",
    "Lavrov",
    "Scholz",
    "Macron",
    "Jinping",
    "Modi",
    "da Silva",
    "Erdoğan",
    "Meloni",
    "Trudeau",
    "Suk-yeol",
    "bin Salman",
    "López Obrador",
    "Widodo",
    "Ramaphosa",
    "Zelensky",
    "Netanyahu",
    "el-Sisi",
    "Raisi",
    "Sánchez",
    "Albanese",
    "Duda",
    "Tinubu",
    "Sharif",
    "Milei",
    "Phú Trọng",
    "Al Thani",
    "von der Leyen",
    "Windsor",
    "Harris",
    "Kishida",
    "Qiang",
    "Medvedev",
    "Maas",
    "Baerbock",
    "Colonna",
    "Rodríguez",
    "García",
    "Martínez",
    "Hernández",
    "Dubois",
    "Lefèvre",
    "Hassan",
    "Rahman",
    "Khan",
    "Ivanov",
    "Petrov",
    "Smirnova",
    "Wei",
    "Tanaka",
    "Suzuki",
    "Kim",
    "Park",
    "Mensah",
    "Okafor",
    "Nkosi",
    "Mbeki",
    "Kenyatta",
    "Fernández",
    "Álvarez",
    "Moreau",
    "Nielsen",
    "Andersson",
    "Johansson",
    "Yılmaz",
    "Öztürk",
    "Kowalski",
    "Nowak",
    "Novák",
    "Horváth",
    "Papadopoulos",
    "Rossi",
    "Bianchi",
    "Costa",
    "Santos",
    "Pereira",
    "O'Brien",
    "Murphy",
    "Müller",
    "Schmidt",
    "Schneider",
];

static ENGLISH: Words = Words::new(&[
    "the",
    "of",
    "and",
    "to",
    "in",
    "cooperation",
    "our",
    "countries",
    "we",
    "agreed",
    "will",
    "relations",
    "between",
    "support",
    "partnership",
    "development",
    "strengthen",
    "trade",
    "security",
    "peace",
    "economic",
    "dialogue",
    "bilateral",
    "region",
    "important",
    "continue",
    "discussed",
    "leaders",
    "both",
    "sides",
    "mutual",
    "investment",
    "energy",
    "stability",
    "agreement",
    "international",
    "sovereignty",
    "framework",
    "commitment",
    "climate",
    "health",
    "prosperity",
    "friendship",
    "sanctions",
    "negotiations",
    "humanitarian",
    "infrastructure",
    "ministers",
    "reaffirmed",
    "welcomed",
    "expressed",
    "concern",
    "progress",
    "implementation",
    "strategic",
    "regional",
    "global",
    "challenges",
    "opportunities",
    "people",
    "future",
    "historic",
    "visit",
    "talks",
    "productive",
    "constructive",
    "fruitful",
    "ceasefire",
]);

static SPANISH: Words = Words::new(&[
    "la",
    "de",
    "y",
    "el",
    "en",
    "cooperación",
    "nuestros",
    "países",
    "relaciones",
    "entre",
    "acordamos",
    "fortalecer",
    "comercio",
    "seguridad",
    "paz",
    "desarrollo",
    "diálogo",
    "bilateral",
    "región",
    "importante",
    "apoyo",
    "económica",
    "inversión",
    "energía",
    "estabilidad",
    "acuerdo",
    "soberanía",
    "compromiso",
    "salud",
    "prosperidad",
    "amistad",
    "bloqueo",
    "solidaridad",
    "hermanos",
    "pueblos",
    "integración",
    "latinoamericana",
    "caribeña",
    "ministros",
    "visita",
    "conversaciones",
    "histórica",
    "futuro",
    "desafíos",
    "reconstrucción",
    "migración",
    "frontera",
]);

static FRENCH: Words = Words::new(&[
    "la",
    "de",
    "et",
    "le",
    "les",
    "coopération",
    "nos",
    "pays",
    "relations",
    "entre",
    "renforcer",
    "commerce",
    "sécurité",
    "paix",
    "développement",
    "dialogue",
    "bilatéral",
    "région",
    "important",
    "soutien",
    "économique",
    "investissement",
    "énergie",
    "stabilité",
    "accord",
    "souveraineté",
    "engagement",
    "santé",
    "prospérité",
    "amitié",
    "francophonie",
    "partenariat",
    "ministres",
    "visite",
    "entretiens",
    "historique",
    "avenir",
    "défis",
    "climat",
    "jeunesse",
    "culture",
]);

static GERMAN: Words = Words::new(&[
    "die",
    "der",
    "und",
    "zu",
    "den",
    "Zusammenarbeit",
    "unsere",
    "Länder",
    "Beziehungen",
    "zwischen",
    "stärken",
    "Handel",
    "Sicherheit",
    "Frieden",
    "Entwicklung",
    "Dialog",
    "bilateral",
    "Region",
    "wichtig",
    "Unterstützung",
    "wirtschaftliche",
    "Investitionen",
    "Energie",
    "Stabilität",
    "Abkommen",
    "Partnerschaft",
    "Gesundheit",
    "Wohlstand",
    "Freundschaft",
    "Klimaschutz",
    "Wasserstoff",
    "Minister",
    "Besuch",
    "Gespräche",
    "Zukunft",
    "Herausforderungen",
]);

static RUSSIAN: Words = Words::new(&[
    "и",
    "в",
    "на",
    "с",
    "сотрудничество",
    "наши",
    "страны",
    "отношения",
    "между",
    "укреплять",
    "торговля",
    "безопасность",
    "мир",
    "развитие",
    "диалог",
    "двусторонний",
    "регион",
    "важно",
    "поддержка",
    "экономический",
    "инвестиции",
    "энергетика",
    "стабильность",
    "соглашение",
    "суверенитет",
    "партнёрство",
    "здравоохранение",
    "дружба",
    "министры",
    "визит",
    "переговоры",
    "будущее",
    "вызовы",
    "стратегический",
]);

static PORTUGUESE: Words = Words::new(&[
    "a",
    "de",
    "e",
    "o",
    "em",
    "cooperação",
    "nossos",
    "países",
    "relações",
    "entre",
    "fortalecer",
    "comércio",
    "segurança",
    "paz",
    "desenvolvimento",
    "diálogo",
    "bilateral",
    "região",
    "importante",
    "apoio",
    "econômica",
    "investimento",
    "energia",
    "estabilidade",
    "acordo",
    "soberania",
    "parceria",
    "saúde",
    "prosperidade",
    "amizade",
    "ministros",
    "visita",
    "futuro",
    "desafios",
]);

static ARABIC: Words = Words::new(&[
    "في",
    "من",
    "و",
    "على",
    "التعاون",
    "بلدينا",
    "العلاقات",
    "بين",
    "تعزيز",
    "التجارة",
    "الأمن",
    "السلام",
    "التنمية",
    "الحوار",
    "الثنائية",
    "المنطقة",
    "دعم",
    "الاقتصادية",
    "الاستثمار",
    "الطاقة",
    "الاستقرار",
    "اتفاقية",
    "السيادة",
    "الشراكة",
    "الصحة",
    "الصداقة",
    "الوزراء",
    "زيارة",
]);
