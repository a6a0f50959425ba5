//! The records the contract tests start from, written through the `Contract`, so every
//! answer on the way is checked against the spec too.

use axum::http::Method;
use serde_json::json;

use super::support::{Contract, id_of};
use crate::common::{TestResponse, meeting, seed_meeting};

/// The sample meeting from the seed article (Díaz-Canel and Borisov in Havana), and the
/// ids a test needs from it.
pub struct Sample {
    pub meeting_id: String,
    pub meeting_uri: String,
    pub borisov_person: String,
    pub diaz_canel_person: String,
    pub first_participant: String,
    /// The answer to the `POST` that created it.
    pub created: TestResponse,
}

impl Sample {
    pub async fn create(c: &mut Contract<'_>) -> Sample {
        let created = c.post("/v1/meetings", &seed_meeting()).await;
        created.ok(201);
        let meeting_id = id_of(&created);
        let meeting_uri = format!("/v1/meetings/{meeting_id}");
        let doc = created.json.clone();
        let borisov_person = doc["participants"][1]["person"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let diaz_canel_person = doc["participants"][0]["person"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let first_participant = doc["participants"][0]["id"].as_str().unwrap().to_owned();
        Sample {
            meeting_id,
            meeting_uri,
            borisov_person,
            diaz_canel_person,
            first_participant,
            created,
        }
    }
}

/// Three statements on a meeting: by its participant `first_participant`, by a name
/// alone, and by nobody. The first one's URI.
pub async fn three_statements(
    c: &mut Contract<'_>,
    meeting_uri: &str,
    first_participant: &str,
) -> String {
    let statements_uri = format!("{meeting_uri}/statements");
    let said = c
        .post(
            &statements_uri,
            &json!({"participant_id": first_participant, "text": "Cuba and Russia stand together.", "language": "EN", "topics": ["Trade"], "source": {"url": "https://example.org/a", "published_on": "2021-10-13"}}),
        )
        .await;
    said.ok(201);
    c.post(
        &statements_uri,
        &json!({"speaker_name": "An unnamed official", "text": "No comment.", "kind": "paraphrase"}),
    )
    .await
    .ok(201);
    c.post(&statements_uri, &json!({"text": "Anonymous."}))
        .await
        .ok(201);
    format!("/v1/statements/{}", id_of(&said))
}

/// Two more meetings: the same countries in Moscow in 2022 (with a start time, a place and
/// a topic), and the United States alone in 2020. The Moscow meeting's id.
pub async fn more_meetings(c: &mut Contract<'_>) -> String {
    let mut second = meeting("Second meeting in Moscow", "2022-02-01", &["CUB", "RUS"]);
    second["start_time"] = json!("09:15");
    second["location"] = json!({"city": "Moscow", "country": "ru", "venue": null});
    second["topics"] = json!(["Energy"]);
    let second = c.post("/v1/meetings", &second).await;
    second.ok(201);
    let second_id = id_of(&second);
    c.post("/v1/meetings", &meeting("Third", "2020-05-05", &["USA"]))
        .await
        .ok(201);
    second_id
}

/// Every kind of record the API writes, as the resources' tests leave them: the sample
/// meeting and two more; the sample edited (its kind cleared, so `other`) and a meeting
/// with an identifier of its own; a participant, statement and agreement of each kind
/// added to the sample and edited; and a person's aliases and identifiers. What the stats,
/// the export and the history read.
pub struct Everything {
    pub sample: Sample,
    pub participant_uri: String,
    pub statement_uri: String,
    pub agreement_uri: String,
}

impl Everything {
    pub async fn create(c: &mut Contract<'_>) -> Everything {
        let sample = Sample::create(c).await;
        let meeting_uri = &sample.meeting_uri;
        let write_auth = format!("Bearer {}", c.app.write_key);
        more_meetings(c).await;

        // The meeting, edited as a merge patch and as plain JSON.
        c.patch(
            meeting_uri,
            &json!({"summary": "Updated.", "start_time": "14:30", "location": {"venue": "Palace of the Revolution"}}),
        )
        .await
        .ok(200);
        c.send(
            Method::PATCH,
            meeting_uri,
            &[
                ("authorization", write_auth.as_str()),
                ("content-type", "application/json"),
            ],
            json!({"kind": null, "topics": ["energy", "trade"]})
                .to_string()
                .into_bytes(),
        )
        .await
        .ok(200);
        let mut clash = meeting("Clash", "2023-01-01", &[]);
        clash["identifiers"] = json!([{"scheme": "clash", "value": "1"}]);
        c.post("/v1/meetings", &clash).await.ok(201);

        // Participants: a person, an organization alone, a known person; one moved and renamed.
        let participants_uri = format!("{meeting_uri}/participants");
        let added = c
            .post(
                &participants_uri,
                &json!({"name": "Vladimir Putin", "country": "ru", "role": "President", "side": "guest"}),
            )
            .await;
        added.ok(201);
        let participant_uri = format!("/v1/participants/{}", id_of(&added));
        c.post(
            &participants_uri,
            &json!({"organization": "Cuban Chamber of Commerce", "side": "host"}),
        )
        .await
        .ok(201);
        c.post(
            &participants_uri,
            &json!({"person_id": sample.borisov_person, "organization": "Rosatom"}),
        )
        .await
        .ok(201);
        c.patch(&participant_uri, &json!({"country": "US", "role": null}))
            .await
            .ok(200);
        c.patch(&participant_uri, &json!({"name": "V. Putin"}))
            .await
            .ok(200);

        // Statements: by a participant, by a name, by nobody; one edited and reassigned.
        let statement_uri = three_statements(c, meeting_uri, &sample.first_participant).await;
        c.patch(
            &statement_uri,
            &json!({"kind": "paraphrase", "source": null}),
        )
        .await
        .ok(200);
        c.patch(&statement_uri, &json!({"person_id": sample.borisov_person}))
            .await
            .ok(200);

        // An agreement, fulfilled.
        let agreed = c
            .post(
                &format!("{meeting_uri}/agreements"),
                &json!({"title": "Joint declaration on cooperation", "kind": "joint_declaration", "status": "signed", "parties": ["ru", "CU", "cub"], "topics": ["Energy"], "signed_on": "2021-10-12", "due_by": "2022-06-30"}),
            )
            .await;
        agreed.ok(201);
        let agreement_uri = format!("/v1/agreements/{}", id_of(&agreed));
        c.patch(
            &agreement_uri,
            &json!({"status": "fulfilled", "description": "Done."}),
        )
        .await
        .ok(200);

        // A person's aliases and identifiers.
        c.patch(
            &format!("/v1/people/{}", sample.diaz_canel_person),
            &json!({"aliases": ["Miguel Mario Díaz-Canel Bermúdez"], "identifiers": [{"scheme": "wikidata", "value": "Q5834"}]}),
        )
        .await
        .ok(200);

        Everything {
            sample,
            participant_uri,
            statement_uri,
            agreement_uri,
        }
    }
}
