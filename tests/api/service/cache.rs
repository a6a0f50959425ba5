//! The cache of rendered answers: served from memory until a change is heard, right
//! across instances, emptied when its listener is lost, within its bound, and 304 for
//! lists and counts while nothing changed.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::http::Method;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::common::{TestApp, eventually, meeting, send_to};
use chancery::http::cache::Cache;
use chancery::{AppState, Settings};

/// One more instance of the service on `db`, once its cache listens.
async fn instance(db: &PgPool, settings: Settings) -> (Router, Arc<Cache>) {
    let state = AppState::new(db.clone(), settings);
    let cache = state.cache.clone().expect("the cache is on");
    eventually("the cache listens", async || cache.is_listening()).await;
    (chancery::app(state), cache)
}

async fn get(router: &Router, uri: &str) -> Value {
    let answer = send_to(router, Method::GET, uri, &[], None).await;
    answer.ok(200).clone()
}

/// Changes a meeting's title with the triggers off: nothing is announced, as if the
/// notification had been lost.
async fn retitle_unannounced(db: &PgPool, id: &str, title: &str) {
    let mut tx = db.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE meetings SET title = $2 WHERE id = $1::uuid")
        .bind(id)
        .bind(title)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_write_through_one_instance_is_seen_on_another() {
    let app = TestApp::spawn().await;
    let created = app
        .create_meeting(&meeting("Talks in Havana", "2021-10-13", &["CU", "RU"]))
        .await;
    let id = created["id"].as_str().unwrap();
    let (a, _) = instance(&app.db, Settings::default()).await;
    let (b, _) = instance(&app.db, Settings::default()).await;
    let doc = format!("/v1/meetings/{id}");
    let list = "/v1/meetings?country=CU";
    let stats = "/v1/stats/meetings?group_by=year";
    // B keeps the document, a list and a count.
    for _ in 0..2 {
        assert_eq!(get(&b, &doc).await["title"], "Talks in Havana");
        assert_eq!(get(&b, list).await["items"][0]["title"], "Talks in Havana");
        assert_eq!(
            get(&b, stats).await["items"],
            json!([{"key": "2021", "count": 1}])
        );
    }

    // A changes the meeting and adds another.
    let auth = format!("Bearer {}", app.write_key);
    let patched = send_to(
        &a,
        Method::PATCH,
        &doc,
        &[
            ("authorization", &auth),
            ("content-type", "application/merge-patch+json"),
        ],
        Some(&json!({"title": "Talks in Havana, second day"})),
    )
    .await;
    patched.ok(200);
    let token = patched.headers["chancery-consistency"].to_str().unwrap();
    let posted = send_to(
        &a,
        Method::POST,
        "/v1/meetings",
        &[("authorization", &auth)],
        Some(&meeting("Talks in Moscow", "2022-05-01", &["CU", "RU"])),
    )
    .await;
    posted.ok(201);

    // With A's token, B's very next read is the new one.
    let read = send_to(
        &b,
        Method::GET,
        &doc,
        &[("chancery-consistency", token)],
        None,
    )
    .await;
    assert_eq!(read.ok(200)["title"], "Talks in Havana, second day");
    // Without it, B hears the change within milliseconds (seconds on a loaded machine).
    let written = Instant::now();
    eventually("B hears A's write", async || {
        get(&b, &doc).await["title"] == "Talks in Havana, second day"
    })
    .await;
    assert!(
        written.elapsed().as_secs_f64() < 5.0,
        "{:?}",
        written.elapsed()
    );
    assert_eq!(get(&b, list).await["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        get(&b, stats).await["items"],
        json!([{"key": "2021", "count": 1}, {"key": "2022", "count": 1}])
    );

    // A delete through A empties B's copy too.
    let deleted = send_to(&a, Method::DELETE, &doc, &[("authorization", &auth)], None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    eventually("B hears the delete", async || {
        send_to(&b, Method::GET, &doc, &[], None).await.status == 404
    })
    .await;
}

#[tokio::test]
async fn answers_come_from_memory_until_a_change_and_a_lost_listener_drops_them() {
    let app = TestApp::spawn().await;
    let created = app
        .create_meeting(&meeting("Talks in Havana", "2021-10-13", &["CU", "RU"]))
        .await;
    let id = created["id"].as_str().unwrap();
    let (a, cache) = instance(&app.db, Settings::default()).await;
    let doc = format!("/v1/meetings/{id}");
    assert_eq!(get(&a, &doc).await["title"], "Talks in Havana");

    // A change nobody announced is not seen: the answer came from memory.
    retitle_unannounced(&app.db, id, "Quietly renamed").await;
    assert_eq!(get(&a, &doc).await["title"], "Talks in Havana");
    // Unless the client asks for the database.
    let fresh = send_to(
        &a,
        Method::GET,
        &doc,
        &[("cache-control", "no-cache")],
        None,
    )
    .await;
    assert_eq!(fresh.ok(200)["title"], "Quietly renamed");

    // The listening connection is cut: whatever it may have missed is dropped.
    let listened = cache.listens();
    let cut: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND query LIKE 'LISTEN %'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(!cut.is_empty(), "the instances listen");
    for pid in &cut {
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .execute(&app.db)
            .await
            .unwrap();
    }
    eventually("the cache listens again", async || {
        cache.listens() > listened && cache.is_listening()
    })
    .await;
    assert_eq!(get(&a, &doc).await["title"], "Quietly renamed");

    // And it keeps answers again once it listens.
    retitle_unannounced(&app.db, id, "Renamed once more").await;
    assert_eq!(get(&a, &doc).await["title"], "Quietly renamed");
}

#[tokio::test]
async fn the_cache_keeps_within_its_bound() {
    let app = TestApp::spawn().await;
    for n in 0..5 {
        app.create_meeting(&meeting(&format!("Talks {n}"), "2021-10-13", &["CU", "RU"]))
            .await;
    }
    let bound = 48 * 1024;
    let (a, cache) = instance(
        &app.db,
        Settings {
            cache_bytes: bound,
            ..Settings::default()
        },
    )
    .await;
    for limit in 1..=100 {
        for _ in 0..2 {
            let page = get(&a, &format!("/v1/meetings?limit={limit}")).await;
            assert_eq!(page["items"].as_array().unwrap().len(), limit.min(5));
        }
    }
    let kept = cache.weighted_size();
    assert!(kept > 0, "answers are kept");
    assert!(kept <= bound, "{kept} bytes kept past a bound of {bound}");
}

#[tokio::test]
async fn lists_and_counts_answer_304_while_nothing_changed() {
    for cache_bytes in [Settings::default().cache_bytes, 0] {
        let app = TestApp::spawn_with(Settings {
            cache_bytes,
            ..Settings::default()
        })
        .await;
        app.create_meeting(&meeting("Talks in Havana", "2021-10-13", &["CU", "RU"]))
            .await;
        for uri in [
            "/v1/meetings",
            "/v1/stats/meetings?group_by=year",
            "/v1/countries/CU/partners",
        ] {
            let first = app.get(uri).await;
            first.ok(200);
            let tag = first.headers["etag"].to_str().unwrap().to_owned();
            let again = app
                .send(Method::GET, uri, &[("if-none-match", &tag)], Vec::new())
                .await;
            assert_eq!(again.status, 304, "{uri} with cache of {cache_bytes}");
            assert_eq!(again.headers["etag"], tag.as_str());
            assert!(again.text.is_empty());
            // From the database too, the answer is tagged and the condition applied.
            let fresh = app
                .send(
                    Method::GET,
                    uri,
                    &[("if-none-match", &tag), ("cache-control", "no-cache")],
                    Vec::new(),
                )
                .await;
            assert_eq!(fresh.status, 304, "{uri} from the database");
            let other = app
                .send(
                    Method::GET,
                    uri,
                    &[("if-none-match", "\"other\"")],
                    Vec::new(),
                )
                .await;
            assert_eq!(other.ok(200), first.ok(200));
        }
        let before = app.get("/v1/stats/meetings?group_by=year").await;
        let tag = before.headers["etag"].to_str().unwrap().to_owned();
        app.create_meeting(&meeting("Talks in Moscow", "2022-05-01", &["CU", "RU"]))
            .await;
        let after = app
            .send(
                Method::GET,
                "/v1/stats/meetings?group_by=year",
                &[("if-none-match", &tag)],
                Vec::new(),
            )
            .await;
        assert_eq!(after.ok(200)["items"].as_array().unwrap().len(), 2);
        assert_ne!(after.headers["etag"], tag.as_str());
    }
}
