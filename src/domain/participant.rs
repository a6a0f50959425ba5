//! A participant as clients send it, and its rules.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::country::CountryCode;
use crate::domain::text::Name;
use crate::domain::vocabulary::{Check, Checks, Side, field_path};
use crate::domain::wikidata::Qid;

/// A participant as clients send it: a person by `person_id` or by `name` (+ `country`),
/// or an `organization`, or a person on behalf of an organization.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_id: Option<Uuid>,
    /// Cleaned as it is read (see [`Name`]), so it matches the person it names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// The person's Wikidata QID: the person holding it; else, with `name`, the person
    /// found or created by name and country, who is given it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wikidata: Option<Qid>,
    #[serde(default)]
    pub organization: Option<Name>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub country: Option<CountryCode>,
    #[serde(default)]
    pub side: Option<Side>,
}

impl Check for ParticipantInput {
    fn check(&self, field: &str, checks: &mut Checks) {
        if self.person_id.is_some() && self.name.is_some() {
            checks.fail(
                field_path(field, "name"),
                "give `person_id` or `name`, not both",
            );
        }
        if self.person_id.is_some() && self.wikidata.is_some() {
            checks.fail(
                field_path(field, "wikidata"),
                "give `person_id` or `wikidata`, not both",
            );
        }
        if self.person_id.is_none()
            && self.name.is_none()
            && self.wikidata.is_none()
            && self.organization.is_none()
        {
            checks.fail(
                field.to_owned(),
                "needs a `person_id`, a `name`, a `wikidata` id or an `organization`",
            );
        }
        checks.optional_name(field_path(field, "name"), self.name.as_ref(), 300);
        checks.optional_name(
            field_path(field, "organization"),
            self.organization.as_ref(),
            300,
        );
        checks.optional_text(field_path(field, "role"), self.role.as_deref(), 300);
    }
}
