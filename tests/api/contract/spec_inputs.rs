//! The spec's input patterns say exactly what the server accepts, so a client (or a
//! fuzzer) that follows the spec is never refused for the shape of a value, and one
//! that breaks it always is.

use chancery::domain::country::CountryCode;
use chancery::domain::vocabulary::{Language, Topic};
use serde_json::{Value, json};

fn schema(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml");
    let spec: Value = serde_norway::from_str(&text).unwrap();
    let schema = spec["components"]["schemas"][name].clone();
    assert!(schema.is_object(), "{name} is in the spec");
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn the_country_pattern_is_the_servers_table() {
    let spec = schema("CountryCodeInput");
    let letters: Vec<char> = ('A'..='Z').collect();
    let mut codes = Vec::new();
    for a in &letters {
        for b in &letters {
            codes.push(format!("{a}{b}"));
            for c in &letters {
                codes.push(format!("{a}{b}{c}"));
            }
        }
    }
    let mut known = 0;
    for code in codes {
        let mixed: String = code
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_lowercase()
                } else {
                    c
                }
            })
            .collect();
        for text in [code.clone(), code.to_lowercase(), mixed] {
            let accepted = CountryCode::parse(&text).is_some();
            assert_eq!(spec.is_valid(&json!(text)), accepted, "{text:?}");
            known += usize::from(accepted);
        }
    }
    assert!(known > 3 * 500, "{known}");
    for text in ["", " CU", "CU ", "CUBA", "C"] {
        assert!(!spec.is_valid(&json!(text)), "{text:?}");
        assert!(CountryCode::parse(text).is_none(), "{text:?}");
    }
}

#[test]
fn topics_valid_by_the_spec_are_accepted_and_others_refused() {
    let spec = schema("TopicInput");
    let valid = [
        "energy",
        "Humanitarian Aid",
        "covid_19",
        " energy ",
        "cooperación-económica",
        "Международное право",
        "a--b__c  d",
        &"a".repeat(64),
    ];
    let invalid = [
        "",
        " ",
        "-",
        "a/b",
        "a\tb",
        "a.b",
        "energy!",
        &"a".repeat(65),
    ];
    for text in valid {
        assert!(spec.is_valid(&json!(text)), "spec refuses {text:?}");
        assert!(Topic::parse(text).is_some(), "server refuses {text:?}");
    }
    for text in invalid {
        assert!(!spec.is_valid(&json!(text)), "spec accepts {text:?}");
        assert!(Topic::parse(text).is_none(), "server accepts {text:?}");
    }
}

#[test]
fn language_tags_valid_by_the_spec_are_accepted_and_others_refused() {
    let spec = schema("LanguageInput");
    let valid = [
        "en",
        "EN",
        "pt-br",
        "zh-yue-HK",
        "en-Latn-US",
        "sr-Cyrl",
        "es-419",
        "de-CH-1901",
        "en-US-x-twain",
        "en-a-bb",
        "abc-def-ghi",
    ];
    let invalid = [
        "",
        "e",
        "english",
        "en-",
        "en-a",
        "en-x",
        "en-12",
        "en-123-US",
        "en-abc-def-ghi-jkl",
        "i-klingon",
        "en_US",
    ];
    for text in valid {
        assert!(spec.is_valid(&json!(text)), "spec refuses {text:?}");
        assert!(Language::parse(text).is_some(), "server refuses {text:?}");
    }
    for text in invalid {
        assert!(!spec.is_valid(&json!(text)), "spec accepts {text:?}");
        assert!(Language::parse(text).is_none(), "server accepts {text:?}");
    }
}

#[test]
fn times_valid_by_the_spec_are_accepted() {
    let spec = schema("TimeInput");
    for text in [
        "00:00",
        "14:30",
        "23:59:59",
        "14:30:00.5",
        "09:05:07.123456789",
    ] {
        assert!(spec.is_valid(&json!(text)), "spec refuses {text:?}");
        assert!(
            text.parse::<chrono::NaiveTime>().is_ok(),
            "server refuses {text:?}"
        );
    }
    for text in ["24:00", "14:60", "23:59:60", "14", "14:30Z", "2pm", ""] {
        assert!(!spec.is_valid(&json!(text)), "spec accepts {text:?}");
    }
}

#[test]
fn not_blank_means_what_trim_means() {
    for name in ["SearchQuery", "PersonFilter", "NameQuery"] {
        not_blank_is_trim(name);
    }
}

fn not_blank_is_trim(name: &str) {
    let spec = schema(name);
    let white: Vec<char> = (0..=0x3000u32)
        .chain([0xFEFF])
        .filter_map(char::from_u32)
        .filter(|c| c.is_whitespace())
        .collect();
    for c in white {
        let text = format!("{c}{c}");
        assert!(text.trim().is_empty());
        assert!(!spec.is_valid(&json!(text)), "{name} accepts {:?}", c);
    }
    for text in ["a", " a ", "-"] {
        assert!(!text.trim().is_empty());
        assert!(spec.is_valid(&json!(text)), "{name} refuses {text:?}");
    }
    // A byte order mark is not white space to `trim`, but names are matched cleaned of
    // invisible characters, so a name filter of nothing else names no one.
    let invisible_only = !spec.is_valid(&json!("\u{FEFF}"));
    assert_eq!(
        invisible_only,
        name != "SearchQuery",
        "{name} and a lone byte order mark"
    );
}

#[tokio::test]
async fn an_integer_written_with_a_fraction_is_still_an_integer() {
    // JSON Schema counts `1.0` as an integer, so a client following the spec may send it.
    let app = crate::common::TestApp::spawn().await;
    let mut doc = crate::common::meeting("Index as 1.0", "2024-01-01", &["CU", "RU"]);
    doc["statements"] = json!([{"speaker_participant": 1.0, "text": "Hello."}]);
    let stored = app.create_meeting(&doc).await;
    assert_eq!(
        stored["statements"][0]["speaker"]["participant_id"],
        stored["participants"][1]["id"]
    );
    for index in [json!(1.5), json!(-1), json!(-1.0)] {
        doc["statements"][0]["speaker_participant"] = index.clone();
        let refused = app.post("/v1/meetings", &doc).await;
        refused.problem(422);
        assert_eq!(
            refused.error_fields(),
            ["statements[0].speaker_participant"],
            "{index}"
        );
    }
    // However large, a whole number is an index: one naming no participant.
    for index in [
        json!(45473308959626.0_f64),
        json!(45473308959626_u64),
        json!(1e30),
    ] {
        doc["statements"][0]["speaker_participant"] = index.clone();
        let refused = app.post("/v1/meetings", &doc).await;
        let message = refused.problem(422)["errors"][0]["message"].clone();
        assert!(
            message
                .as_str()
                .unwrap()
                .starts_with("there is no participant "),
            "{index}: {message}"
        );
    }
}
