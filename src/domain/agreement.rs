//! An agreement as clients send it, and its rules.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::country::CountryCode;
use crate::domain::vocabulary::{
    AgreementKind, AgreementStatus, Check, Checks, Source, Topic, vocabulary,
};

vocabulary!(
    /// How one agreement bears on an earlier one.
    Relation {
        Reaffirms => "reaffirms",
        Amends => "amends",
        Supersedes => "supersedes",
        Implements => "implements",
    }
);

/// The most links one agreement may carry.
pub const LINKS: usize = 100;
/// The most events one agreement may be written with at once (an imported history).
pub const EVENTS: usize = 1000;

/// One agreement's link to another: `relates_to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub agreement_id: Uuid,
    pub relation: Relation,
}

/// A change of an agreement's status, as clients send it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    pub status: AgreementStatus,
    pub on: NaiveDate,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub source: Option<Source>,
    /// A later meeting at which the change happened.
    #[serde(default)]
    pub meeting_id: Option<Uuid>,
}

impl Check for EventInput {
    fn check(&self, field: &str, checks: &mut Checks) {
        let prefix = if field.is_empty() {
            String::new()
        } else {
            format!("{field}.")
        };
        checks.date(format!("{prefix}on"), Some(self.on));
        checks.optional_prose(format!("{prefix}note"), self.note.as_deref(), 20_000);
        if let Some(source) = &self.source {
            checks.source(&format!("{prefix}source"), source);
        }
    }
}

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
    /// Earlier agreements this one bears on.
    #[serde(default)]
    pub relates_to: Vec<Link>,
    /// The id to store it under while it is free: an exported agreement keeps its id,
    /// so links to it hold when it is imported again. Taken only by whole documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// Its history, oldest first, the first being its creation: an exported agreement
    /// keeps it. Without it, the agreement is created with `status` on its meeting's
    /// date. Taken only by whole documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventInput>>,
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
        crate::domain::limits::check(
            checks,
            format!("{prefix}relates_to"),
            self.relates_to.len(),
            LINKS,
        );
        for (index, link) in self.relates_to.iter().enumerate() {
            if self.relates_to[..index].contains(link) {
                checks.fail(format!("{prefix}relates_to[{index}]"), "is listed twice");
            }
            if Some(link.agreement_id) == self.id {
                checks.fail(
                    format!("{prefix}relates_to[{index}].agreement_id"),
                    "an agreement cannot relate to itself",
                );
            }
        }
        if let Some(events) = &self.events {
            crate::domain::limits::check(checks, format!("{prefix}events"), events.len(), EVENTS);
            if events.is_empty() {
                checks.fail(
                    format!("{prefix}events"),
                    "must hold at least the agreement's creation",
                );
            }
            if self.status.is_some()
                && let Some(latest) = latest(events)
                && Some(latest.status) != self.status
            {
                checks.fail(
                    format!("{prefix}status"),
                    format!(
                        "must be the status of the latest event ({}), or be left out",
                        latest.status
                    ),
                );
            }
            for (index, event) in events.iter().enumerate() {
                event.check(&format!("{prefix}events[{index}]"), checks);
            }
        }
    }
}

impl AgreementInput {
    /// Checks that its events, if given, begin with its creation on `made_on` (its
    /// meeting's date) and come no earlier.
    pub fn check_made_on(&self, field: &str, made_on: NaiveDate, checks: &mut Checks) {
        let Some(events) = &self.events else { return };
        for (index, event) in events.iter().enumerate() {
            if event.on < made_on {
                checks.fail(
                    format!("{field}.events[{index}].on"),
                    format!("is before the agreement was made ({made_on})"),
                );
            }
        }
    }
}

/// The latest of `events` by date, ties going to the one listed last.
pub fn latest(events: &[EventInput]) -> Option<&EventInput> {
    events.iter().max_by_key(|event| event.on)
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
