//! A person's editable fields as clients send them, and their rules.

use serde::Deserialize;

use crate::domain::country::CountryCode;
use crate::domain::error::ApiResult;
use crate::domain::limits;
use crate::domain::role::PartialDate;
use crate::domain::text::Name;
use crate::domain::vocabulary::{Checks, Identifier};

/// The editable fields of a person.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    pub name: Name,
    #[serde(default)]
    pub aliases: Vec<Name>,
    #[serde(default)]
    pub country: Option<CountryCode>,
    #[serde(default)]
    pub identifiers: Vec<Identifier>,
    #[serde(default)]
    pub born: Option<PartialDate>,
    #[serde(default)]
    pub died: Option<PartialDate>,
}

impl PersonInput {
    pub fn check(&self) -> ApiResult<()> {
        let mut checks = Checks::default();
        checks.name("name", &self.name, 300);
        limits::check(&mut checks, "aliases", self.aliases.len(), limits::ALIASES);
        for (index, alias) in self.aliases.iter().enumerate() {
            checks.name(format!("aliases[{index}]"), alias, 300);
        }
        checks.identifiers("identifiers", &self.identifiers);
        Ok(checks.finish()?)
    }
}
