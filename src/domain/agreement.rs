//! An agreement as clients send it, and its rules.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::country::CountryCode;
use crate::domain::vocabulary::{AgreementKind, AgreementStatus, Check, Checks, Topic};

/// An agreement as clients send it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementInput {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub kind: Option<AgreementKind>,
    #[serde(default)]
    pub status: Option<AgreementStatus>,
    #[serde(default)]
    pub parties: Vec<CountryCode>,
    #[serde(default)]
    pub topics: Vec<Topic>,
    #[serde(default)]
    pub signed_on: Option<NaiveDate>,
    #[serde(default)]
    pub due_by: Option<NaiveDate>,
}

impl Check for AgreementInput {
    fn check(&self, field: &str, checks: &mut Checks) {
        let prefix = if field.is_empty() {
            String::new()
        } else {
            format!("{field}.")
        };
        checks.text(format!("{prefix}title"), &self.title, 500);
        let topics = (self.topics.len(), crate::domain::limits::TOPICS);
        crate::domain::limits::check(checks, format!("{prefix}topics"), topics.0, topics.1);
        let parties = (self.parties.len(), crate::domain::limits::PARTIES);
        crate::domain::limits::check(checks, format!("{prefix}parties"), parties.0, parties.1);
        checks.optional_prose(
            format!("{prefix}description"),
            self.description.as_deref(),
            20_000,
        );
        checks.date(format!("{prefix}signed_on"), self.signed_on);
        checks.date(format!("{prefix}due_by"), self.due_by);
    }
}

impl AgreementInput {
    /// The parties, sorted and each once, as stored.
    pub fn parties(&self) -> Vec<&'static str> {
        let mut parties: Vec<&'static str> = self.parties.iter().map(|c| c.as_str()).collect();
        parties.sort_unstable();
        parties.dedup();
        parties
    }
}
