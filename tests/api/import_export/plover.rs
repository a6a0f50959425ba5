//! The PLOVER export: every line a PLOVER record by the manual's schema, and the seed
//! meeting's records field by field.

use serde_json::{Value, json};

use crate::common::{TestApp, seed_meeting};

/// The JSON Schema of a PLOVER record, written from the PLOVER manual's "Data Fields".
pub fn plover_schema() -> jsonschema::Validator {
    let text = include_str!("../../data/plover.schema.json");
    let schema: Value = serde_json::from_str(text).unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .unwrap()
}

/// Every line of a PLOVER export, each checked against the schema.
#[track_caller]
pub fn valid_records(schema: &jsonschema::Validator, text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("not JSON ({error}): {line}"));
            let errors: Vec<String> = schema
                .iter_errors(&record)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{record}\n{errors:#?}");
            record
        })
        .collect()
}

fn codes(entities: &Value) -> Vec<&str> {
    entities
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["code"].as_str())
        .collect()
}

#[tokio::test]
async fn the_seed_meeting_exports_as_plover_records() {
    let app = TestApp::spawn().await;
    let meeting = app.create_meeting(&seed_meeting()).await;
    let id = meeting["id"].as_str().unwrap();
    let source = "https://www.telesurenglish.net/news/cuba-and-russia-strengthen-strategic-alliance-20211013-0010.html";

    let exported = app.get("/v1/export?format=plover").await;
    assert_eq!(exported.status, 200, "{}", exported.text);
    assert_eq!(exported.headers["content-type"], "application/x-ndjson");
    let records = valid_records(&plover_schema(), &exported.text);
    assert_eq!(records.len(), 4, "{}", exported.text);

    // The meeting: Russia's deputy prime minister visits Cuba's president.
    let consult = &records[0];
    assert_eq!(consult["id"], id);
    assert_eq!(consult["date"], "2021-10-12");
    assert_eq!(consult["event"], "CONSULT");
    assert_eq!(consult["quad_code"], 1);
    assert_eq!(consult["mode"], "visit");
    assert_eq!(consult["cameo"], "042");
    assert_eq!(codes(&consult["actor"]), ["RUS"]);
    assert_eq!(codes(&consult["recipient"]), ["CUB", "CUB"]);
    assert_eq!(
        consult["actor"][0],
        json!({"code": "RUS", "sector": "GOV", "entity_text": "Yuri Borisov",
               "office": "Deputy Prime Minister of Russia"})
    );
    // A body without a country keeps its name and invents no code.
    assert_eq!(
        consult["actor"][1],
        json!({"entity_text": "Russian-Cuban Intergovernmental Commission", "office": "members"})
    );
    assert_eq!(consult["recipient"][0]["entity_text"], "Miguel Díaz-Canel");
    assert_eq!(consult["recipient"][0]["office"], "President of Cuba");
    let context = consult["context"].as_array().unwrap();
    assert_eq!(context[0], "diplomatic");
    for expected in ["economic", "resource", "humanitarian", "disease", "legal"] {
        assert!(
            context.contains(&json!(expected)),
            "{expected}: {context:?}"
        );
    }
    assert_eq!(
        consult["event_loc"],
        json!({"name": "Havana", "latitude": 23.1136, "longitude": -82.3666, "cc3": "CUB"})
    );

    // Two plans, agreed and not signed: intents to cooperate economically.
    for (record, title) in records[1..3].iter().zip([
        "Strengthen trade agreements to extract Cuban oil reserves in the Gulf of Mexico",
        "Increase direct flights from Russia to promote tourism to Cuba",
    ]) {
        assert_eq!(record["event"], "AGREE");
        assert_eq!(record["quad_code"], 1);
        assert_eq!(record["cameo"], "031");
        assert_eq!(record["event_text"], json!([title]));
        assert_eq!(codes(&record["actor"]), ["CUB", "RUS"]);
        assert_eq!(record["recipient"], json!([]));
        assert_eq!(record["date"], "2021-10-12");
        assert_eq!(record["due_by"], Value::Null);
    }
    // The pledge: Russia promises Cuba humanitarian aid by the end of the year.
    let pledge = &records[3];
    assert_eq!(pledge["event"], "AGREE");
    assert_eq!(pledge["cameo"], "033");
    assert_eq!(codes(&pledge["actor"]), ["RUS"]);
    assert_eq!(codes(&pledge["recipient"]), ["CUB"]);
    assert_eq!(pledge["due_by"], "2021-12-31");
    assert_eq!(pledge["context"], json!(["diplomatic", "humanitarian"]));

    // One meeting, one link; every record cites the article.
    for record in &records {
        assert_eq!(record["link"], id, "{record}");
        assert_eq!(record["cite_info"]["url"], source, "{record}");
        assert_eq!(record["cite_info"]["publication"], "teleSUR");
    }
    let ids: std::collections::HashSet<&str> =
        records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 4, "record ids are unique");

    // The same filters as every export.
    let none = app.get("/v1/export?format=plover&country=USA").await;
    assert_eq!(none.status, 200);
    assert_eq!(none.text, "");
    let havana = app
        .get("/v1/export?format=plover&city=havana&topic=energy")
        .await;
    assert_eq!(havana.text.lines().count(), 4);
}

/// The meeting's CONSULT record in a PLOVER export of only it.
async fn consult_of(app: &TestApp, title: &str) -> Value {
    let exported = app
        .get(&format!(
            "/v1/export?format=plover&q=%22{}%22",
            title.replace(' ', "%20")
        ))
        .await;
    let records = valid_records(&plover_schema(), &exported.text);
    assert_eq!(records.len(), 1, "{}", exported.text);
    records[0].clone()
}

#[tokio::test]
async fn cameo_codes_and_modes_follow_sides_ground_and_status() {
    let app = TestApp::spawn().await;
    let seed = app.create_meeting(&seed_meeting()).await;
    assert_eq!(seed["cameo"], "042");
    let cameos: Vec<&Value> = seed["agreements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["cameo"])
        .collect();
    assert_eq!(cameos, [&json!("031"), &json!("031"), &json!("033")]);

    // Signed: 057, and a SUPPORT record dated the day of signing.
    let plan = seed["agreements"][0]["id"].as_str().unwrap();
    let signed = app
        .patch(
            &format!("/v1/agreements/{plan}"),
            &json!({"status": "signed", "signed_on": "2021-11-02"}),
        )
        .await;
    assert_eq!(signed.ok(200)["cameo"], "057", "{}", signed.text);
    assert_eq!(
        app.get(&format!("/v1/agreements/{plan}")).await.json["cameo"],
        "057"
    );
    let listed = app.get("/v1/agreements?status=signed").await;
    assert_eq!(listed.ok(200)["items"][0]["cameo"], "057");
    let records = valid_records(
        &plover_schema(),
        &app.get("/v1/export?format=plover").await.text,
    );
    let support = records.iter().find(|r| r["id"] == plan).unwrap();
    assert_eq!(support["event"], "SUPPORT");
    assert_eq!(support["date"], "2021-11-02");

    // An agreement of another kind, not signed: 030; a plan on topics with no intent: 030.
    let meeting = seed["id"].as_str().unwrap();
    for (agreement, cameo) in [
        (
            json!({"title": "A treaty to come", "kind": "treaty", "status": "proposed",
                "topics": ["trade"]}),
            "030",
        ),
        (
            json!({"title": "A plan on culture", "kind": "plan", "topics": ["culture"]}),
            "030",
        ),
        (
            json!({"title": "A pledge of arms", "kind": "pledge", "topics": ["culture", "defense"]}),
            "031",
        ),
        (
            json!({"title": "A reform", "kind": "plan", "topics": ["democracy"]}),
            "034",
        ),
        (
            json!({"title": "An old MoU", "kind": "mou", "status": "in_force"}),
            "057",
        ),
    ] {
        let added = app
            .post(&format!("/v1/meetings/{meeting}/agreements"), &agreement)
            .await;
        assert_eq!(added.ok(201)["cameo"], cameo, "{agreement}");
    }

    // A call; third ground without sides; no sides at home; hosts alone.
    let shapes = [
        (
            json!({"title": "Call one", "date": "2020-01-01", "kind": "phone_call",
                   "participants": [{"name": "A", "country": "USA", "side": "host"},
                                    {"name": "B", "country": "RUS", "side": "guest"}]}),
            "041",
            json!("phone"),
        ),
        (
            json!({"title": "Geneva talks", "date": "2020-01-02", "kind": "bilateral",
                   "location": {"city": "Geneva", "country": "CHE"},
                   "participants": [{"name": "A", "country": "USA"}, {"name": "B", "country": "SUN"}]}),
            "044",
            json!("third-party"),
        ),
        (
            json!({"title": "Moscow talks", "date": "2020-01-03", "kind": "bilateral",
                   "location": {"city": "Moscow", "country": "RUS"},
                   "participants": [{"name": "A", "country": "USA"}, {"name": "B", "country": "RUS"}]}),
            "040",
            Value::Null,
        ),
        (
            json!({"title": "Belgrade welcome", "date": "1975-01-04", "kind": "official_visit",
                   "host_country": "YUG",
                   "participants": [{"name": "Host", "country": "YUG", "side": "host", "role": "President"},
                                    {"name": "Visitor", "country": "DDR"}]}),
            "043",
            json!("visit"),
        ),
        (
            json!({"title": "Empty talks", "date": "2020-01-05"}),
            "040",
            Value::Null,
        ),
    ];
    for (document, cameo, mode) in shapes {
        let created = app.create_meeting(&document).await;
        assert_eq!(created["cameo"], cameo, "{document}");
        let title = document["title"].as_str().unwrap();
        let consult = consult_of(&app, title).await;
        assert_eq!(consult["cameo"], cameo, "{consult}");
        assert_eq!(consult["mode"], mode, "{consult}");
        match cameo {
            // No clear sides: everyone acts, nobody receives.
            "044" | "040" => assert_eq!(consult["recipient"], json!([]), "{consult}"),
            _ => assert!(
                !consult["recipient"].as_array().unwrap().is_empty(),
                "{consult}"
            ),
        }
    }
    // Former states stay former.
    let geneva = consult_of(&app, "Geneva talks").await;
    assert_eq!(codes(&geneva["actor"]), ["USA", "SUN"]);
    let belgrade = consult_of(&app, "Belgrade welcome").await;
    assert_eq!(codes(&belgrade["actor"]), ["YUG"]);
    assert_eq!(codes(&belgrade["recipient"]), ["DDR"]);
    assert_eq!(belgrade["actor"][0]["sector"], "GOV");
    assert!(
        belgrade["recipient"][0].get("sector").is_none(),
        "no office, no sector"
    );
    let empty = consult_of(&app, "Empty talks").await;
    assert_eq!(empty["actor"], json!([]));
    assert_eq!(empty["event_loc"], Value::Null);
    assert_eq!(empty["cite_info"], Value::Null);
}

#[tokio::test]
async fn the_plover_export_refuses_what_it_cannot_do() {
    let app = TestApp::spawn().await;
    for query in [
        "format=plover&bom=true",
        "format=plover&cursor=abc",
        "format=PLOVER2",
        "type=people&format=plover",
        "format=plover&from=2021-13-01",
    ] {
        app.get(&format!("/v1/export?{query}")).await.problem(400);
    }
}

/// The agreements' "express intent" codes agree with the CAMEO-to-PLOVER mapping file:
/// for each PLOVER context the file gives an 03 code, a plan on that topic answers the
/// first such code, cut to three digits.
#[tokio::test]
async fn intent_codes_follow_the_mapping_file() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/CAMEO2PLOVER-2021.txt"
    );
    let text = std::fs::read_to_string(path).expect("../shared/data/CAMEO2PLOVER-2021.txt");
    let mut first_code: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let Some((code, rest)) = line.split_once(':') else {
            continue;
        };
        let fields: Vec<&str> = rest.split('#').next().unwrap().split(',').collect();
        let context = fields.get(2).map(|c| c.trim()).unwrap_or("");
        if !code.starts_with("03") || fields[0].trim() != "AGREE" || context.is_empty() {
            continue;
        }
        if !first_code.iter().any(|(known, _)| known == context) {
            first_code.push((context.to_owned(), code[..3].to_owned()));
        }
    }
    assert!(first_code.len() >= 8, "{first_code:?}");
    let app = TestApp::spawn().await;
    for (context, code) in &first_code {
        let answered: String = sqlx::query_scalar("SELECT cameo_intent(ARRAY[$1])")
            .bind(context)
            .fetch_one(&app.db)
            .await
            .unwrap();
        assert_eq!(&answered, code, "{context}");
    }
}
