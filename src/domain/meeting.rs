//! A meeting document as clients send it, and its rules.

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::domain::agreement::AgreementInput;
use crate::domain::country::CountryCode;
use crate::domain::error::ApiResult;
use crate::domain::limits;
use crate::domain::participant::ParticipantInput;
use crate::domain::statement::StatementInput;
use crate::domain::vocabulary::{Check, Checks, Identifier, MeetingKind, Source, Topic};

/// Where a meeting took place.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub country: Option<CountryCode>,
    #[serde(default)]
    pub venue: Option<String>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
}

/// A whole meeting as `POST /v1/meetings` takes it. Also the shape a merge patch is
/// applied to, without the embedded lists, which have endpoints of their own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingInput {
    /// The id to store it under while that is free: an exported meeting keeps its id, so
    /// the agreement events naming it hold when it is imported again.
    #[serde(default)]
    pub id: Option<uuid::Uuid>,
    pub title: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub kind: Option<MeetingKind>,
    pub date: NaiveDate,
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
    #[serde(default)]
    pub start_time: Option<NaiveTime>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub host_country: Option<CountryCode>,
    #[serde(default)]
    pub topics: Vec<Topic>,
    #[serde(default)]
    pub participants: Vec<ParticipantInput>,
    #[serde(default)]
    pub statements: Vec<StatementInput>,
    #[serde(default)]
    pub agreements: Vec<AgreementInput>,
    #[serde(default)]
    pub sources: Vec<Source>,
    #[serde(default)]
    pub identifiers: Vec<Identifier>,
}

impl MeetingInput {
    /// Checks every rule serde cannot express, reporting all failures at once.
    pub fn check(&self) -> ApiResult<()> {
        let mut checks = Checks::default();
        self.check_own_fields(&mut checks);
        limits::check(
            &mut checks,
            "participants",
            self.participants.len(),
            limits::PARTICIPANTS,
        );
        limits::check(
            &mut checks,
            "statements",
            self.statements.len(),
            limits::STATEMENTS,
        );
        limits::check(
            &mut checks,
            "agreements",
            self.agreements.len(),
            limits::AGREEMENTS,
        );
        if !checks.0.is_empty() {
            // Past a cap, checking every item would be work the request must not cause.
            return Ok(checks.finish()?);
        }
        for (index, participant) in self.participants.iter().enumerate() {
            participant.check(&format!("participants[{index}]"), &mut checks);
        }
        for (index, statement) in self.statements.iter().enumerate() {
            let field = format!("statements[{index}]");
            statement.check(&field, &mut checks);
            if let Some(speaker) = statement.speaker_participant
                && speaker >= self.participants.len()
            {
                checks.fail(
                    format!("{field}.speaker_participant"),
                    format!(
                        "there is no participant {speaker} (the document has {})",
                        self.participants.len()
                    ),
                );
            }
        }
        for (index, agreement) in self.agreements.iter().enumerate() {
            agreement.check(&format!("agreements[{index}]"), &mut checks);
            agreement.check_made_on(&format!("agreements[{index}]"), self.date, &mut checks);
        }
        Ok(checks.finish()?)
    }

    /// The checks on the meeting's own fields, shared with PATCH.
    pub fn check_own_fields(&self, checks: &mut Checks) {
        checks.text("title", &self.title, 500);
        limits::check(checks, "topics", self.topics.len(), limits::TOPICS);
        limits::check(checks, "sources", self.sources.len(), limits::SOURCES);
        limits::check(
            checks,
            "identifiers",
            self.identifiers.len(),
            limits::IDENTIFIERS,
        );
        checks.date("date", Some(self.date));
        checks.date("end_date", self.end_date);
        checks.time("start_time", self.start_time);
        checks.optional_prose("summary", self.summary.as_deref(), 20_000);
        if let Some(end_date) = self.end_date
            && end_date < self.date
        {
            checks.fail(
                "end_date",
                format!("must not be before `date` ({})", self.date),
            );
        }
        if let Some(location) = &self.location {
            checks.optional_text("location.city", location.city.as_deref(), 200);
            checks.optional_text("location.venue", location.venue.as_deref(), 500);
            if location
                .lat
                .is_some_and(|lat| !(-90.0..=90.0).contains(&lat))
            {
                checks.fail("location.lat", "must be between -90 and 90");
            }
            if location
                .lon
                .is_some_and(|lon| !(-180.0..=180.0).contains(&lon))
            {
                checks.fail("location.lon", "must be between -180 and 180");
            }
        }
        for (index, source) in self.sources.iter().enumerate() {
            checks.source(&format!("sources[{index}]"), source);
        }
        checks.identifiers("identifiers", &self.identifiers);
    }

    /// The derived country list: host, location and participants, sorted and distinct.
    /// Every country the document names, sorted and each once.
    pub fn countries(&self) -> Vec<&'static str> {
        let location = self.location.as_ref().and_then(|location| location.country);
        let participants = self
            .participants
            .iter()
            .filter_map(|participant| participant.country);
        let all: BTreeSet<&'static str> = self
            .host_country
            .into_iter()
            .chain(location)
            .chain(participants)
            .map(|code| code.as_str())
            .collect();
        all.into_iter().collect()
    }
}
