//! Commitments (issue 13): an agreement's history of status, status as of a date and
//! the overdue list, links between agreements, and a country's record.

mod events;
mod export;
mod links;
mod record;

use crate::common::{TestApp, seed_meeting};
use serde_json::Value;

/// The seed meeting, created; its document.
pub async fn seed(app: &TestApp) -> Value {
    app.create_meeting(&seed_meeting()).await
}

/// The id of the seed's pledge: Russia's humanitarian aid, due by 2021-12-31.
pub fn pledge(doc: &Value) -> String {
    doc["agreements"][2]["id"].as_str().unwrap().to_owned()
}
