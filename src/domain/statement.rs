//! A statement as clients send it, and its rules.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::text::Name;
use crate::domain::vocabulary::{
    Check, Checks, Language, Source, StatementKind, Topic, field_path,
};

/// A statement as clients send it. The speaker is named by at most one of
/// `speaker_participant` (index into the same document's participants),
/// `participant_id`, `person_id` or `speaker_name`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementInput {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number"
    )]
    pub speaker_participant: Option<usize>,
    #[serde(default)]
    pub participant_id: Option<Uuid>,
    #[serde(default)]
    pub person_id: Option<Uuid>,
    /// Cleaned as it is read (see [`Name`]), so it matches the participant it names.
    #[serde(default)]
    pub speaker_name: Option<Name>,
    pub text: String,
    #[serde(default)]
    pub kind: Option<StatementKind>,
    #[serde(default)]
    pub language: Option<Language>,
    #[serde(default)]
    pub topics: Vec<Topic>,
    #[serde(default)]
    pub source: Option<Source>,
}

impl Check for StatementInput {
    fn check(&self, field: &str, checks: &mut Checks) {
        let speakers = [
            self.speaker_participant.is_some(),
            self.participant_id.is_some(),
            self.person_id.is_some(),
            self.speaker_name.is_some(),
        ];
        if speakers.iter().filter(|given| **given).count() > 1 {
            checks.fail(
                field_path(field, "speaker"),
                "name the speaker once: by `speaker_participant`, `participant_id`, `person_id` or `speaker_name`",
            );
        }
        checks.prose(field_path(field, "text"), &self.text, 20_000);
        let topics = self.topics.len();
        crate::domain::limits::check(
            checks,
            field_path(field, "topics"),
            topics,
            crate::domain::limits::TOPICS,
        );
        checks.optional_name(
            field_path(field, "speaker_name"),
            self.speaker_name.as_ref(),
            300,
        );
        if let Some(source) = &self.source {
            checks.source(&field_path(field, "source"), source);
        }
    }
}

/// A list index: a whole number from 0, which JSON may also write as `2.0` (the spec
/// says `integer`, and JSON Schema counts `2.0` as one).
fn whole_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<usize>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if let Some(whole) = number.as_u64().and_then(|n| usize::try_from(n).ok()) {
        return Ok(Some(whole));
    }
    match number.as_f64() {
        // Any whole number is an index, as the spec's `integer` has it; one past every
        // participant (however far) is refused later as naming no participant.
        Some(value) if value >= 0.0 && value.fract() == 0.0 => Ok(Some(value as usize)),
        _ => Err(serde::de::Error::custom(format!(
            "`{number}` is not a whole number from 0"
        ))),
    }
}
