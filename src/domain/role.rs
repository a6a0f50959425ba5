//! Offices people hold over time, with dates as partial as their sources, and the
//! people import's line, which carries a person with their roles.

use std::cmp::Ordering;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::country::CountryCode;
use crate::domain::limits;
use crate::domain::text::Name;
use crate::domain::vocabulary::{Check, Checks, Identifier, field_path, vocabulary};

/// A date as precise as its source: a year (`1960`), a month (`1960-06`) or a day
/// (`1960-06-01`). Kept as given, never widened into a day nobody recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartialDate {
    year: i32,
    month: Option<u32>,
    day: Option<u32>,
}

/// What a malformed partial date is told.
const PARTIAL_DATE: &str =
    "is not a date: give `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, years 0001 to 9999";

impl PartialDate {
    /// Parses `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (years 1 to 9999, a real day).
    pub fn parse(text: &str) -> Option<PartialDate> {
        let digits = |part: &str, len: usize| {
            (part.len() == len && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse::<u32>().ok())
                .flatten()
        };
        let mut parts = text.split('-');
        let year = digits(parts.next()?, 4)?;
        let month = parts
            .next()
            .map(|m| digits(m, 2))
            .map_or(Ok(None), |m| m.ok_or(()).map(Some));
        let day = parts
            .next()
            .map(|d| digits(d, 2))
            .map_or(Ok(None), |d| d.ok_or(()).map(Some));
        let (Ok(month), Ok(day)) = (month, day) else {
            return None;
        };
        if parts.next().is_some() || year == 0 {
            return None;
        }
        let date = PartialDate {
            year: year as i32,
            month,
            day,
        };
        match (month, day) {
            (Some(m), None) if !(1..=12).contains(&m) => None,
            (Some(m), Some(d)) => NaiveDate::from_ymd_opt(date.year, m, d).map(|_| date),
            _ => Some(date),
        }
    }

    /// The first day it may mean.
    pub fn first(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month.unwrap_or(1), self.day.unwrap_or(1))
            .expect("a parsed partial date is a real day")
    }

    /// The last day it may mean.
    pub fn last(&self) -> NaiveDate {
        match (self.month, self.day) {
            (Some(_), Some(_)) => self.first(),
            (Some(month), None) => {
                let next = if month == 12 {
                    NaiveDate::from_ymd_opt(self.year + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(self.year, month + 1, 1)
                };
                next.and_then(|d| d.pred_opt())
                    .expect("a month has a last day")
            }
            _ => NaiveDate::from_ymd_opt(self.year, 12, 31).expect("a year has a last day"),
        }
    }

    /// Whether it is certainly before `other`: every day it may mean comes first.
    pub fn surely_before(&self, other: &PartialDate) -> bool {
        self.last().cmp(&other.first()) == Ordering::Less
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(month) = self.month {
            write!(f, "-{month:02}")?;
        }
        if let Some(day) = self.day {
            write!(f, "-{day:02}")?;
        }
        Ok(())
    }
}

impl Serialize for PartialDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PartialDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PartialDate::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` {PARTIAL_DATE}")))
    }
}

impl From<NaiveDate> for PartialDate {
    fn from(date: NaiveDate) -> Self {
        PartialDate {
            year: date.year(),
            month: Some(date.month()),
            day: Some(date.day()),
        }
    }
}

vocabulary!(
    /// What sort of office a role is.
    RoleKind {
        ChiefOfMission => "chief_of_mission",
        ChiefOfMissionToOrganization => "chief_of_mission_to_organization",
        PrincipalOfficer => "principal_officer",
        HeadOfState => "head_of_state",
        HeadOfGovernment => "head_of_government",
        Minister => "minister",
        Other => "other",
    }
);

/// A role as clients send it, and as the people import and export write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    pub title: String,
    #[serde(default = "RoleInput::default_kind")]
    pub kind: RoleKind,
    /// The country the holder served.
    #[serde(default)]
    pub serves: Option<CountryCode>,
    /// The country the holder was posted to, as it was then (`SUN`, `YUG`).
    #[serde(default)]
    pub posted_to: Option<CountryCode>,
    /// The body the holder was posted to or served in.
    #[serde(default)]
    pub organization: Option<String>,
    #[serde(default)]
    pub appointed_on: Option<PartialDate>,
    #[serde(default)]
    pub started_on: Option<PartialDate>,
    #[serde(default)]
    pub ended_on: Option<PartialDate>,
    /// How the role ended, in the source's words ("Left post on").
    #[serde(default)]
    pub end_note: Option<String>,
    /// Where the role is recorded: a URL.
    #[serde(default)]
    pub source: Option<String>,
}

/// How strictly a role's dates are held to their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dates {
    /// A role written through the API: an end before its start is refused.
    Ordered,
    /// A role imported from a source, kept as the source records it, contradictions
    /// included: they are answered `certain: false` over the days between.
    AsRecorded,
}

impl RoleInput {
    fn default_kind() -> RoleKind {
        RoleKind::Other
    }

    /// The role with its texts trimmed, as it is stored.
    pub fn trimmed(mut self) -> RoleInput {
        let trim = |text: &mut String| *text = text.trim().to_owned();
        trim(&mut self.title);
        for text in [&mut self.organization, &mut self.end_note, &mut self.source]
            .into_iter()
            .flatten()
        {
            trim(text);
        }
        self
    }

    /// Checks the role under `field`, its dates as `dates` says.
    pub fn check_as(&self, field: &str, checks: &mut Checks, dates: Dates) {
        checks.text(field_path(field, "title"), &self.title, 500);
        checks.optional_text(
            field_path(field, "organization"),
            self.organization.as_deref(),
            300,
        );
        checks.optional_text(field_path(field, "end_note"), self.end_note.as_deref(), 500);
        checks.optional_url(field_path(field, "source"), self.source.as_deref(), 2000);
        let start = self.started_on.or(self.appointed_on);
        if dates == Dates::Ordered
            && let (Some(start), Some(end)) = (start, self.ended_on)
            && end.surely_before(&start)
        {
            let which = if self.started_on.is_some() {
                "started_on"
            } else {
                "appointed_on"
            };
            checks.fail(
                field_path(field, "ended_on"),
                format!(
                    "`{end}` is before `{which}` (`{start}`): a role cannot end before it starts"
                ),
            );
        }
    }
}

impl Check for RoleInput {
    fn check(&self, field: &str, checks: &mut Checks) {
        self.check_as(field, checks, Dates::Ordered);
    }
}

/// One line of the people import, and of the people export: a person with their
/// identifiers, dates and roles (the shape of the Office of the Historian's `pocom`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonRecord {
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
    #[serde(default)]
    pub roles: Vec<RoleInput>,
}

impl PersonRecord {
    /// Checks the record; imported roles keep their dates as recorded.
    pub fn check(&self, checks: &mut Checks) {
        checks.name("name", &self.name, 300);
        limits::check(checks, "aliases", self.aliases.len(), limits::ALIASES);
        for (index, alias) in self.aliases.iter().enumerate() {
            checks.name(format!("aliases[{index}]"), alias, 300);
        }
        limits::check(
            checks,
            "identifiers",
            self.identifiers.len(),
            limits::IDENTIFIERS,
        );
        checks.identifiers("identifiers", &self.identifiers);
        limits::check(checks, "roles", self.roles.len(), limits::ROLES);
        for (index, role) in self.roles.iter().enumerate() {
            role.check_as(&format!("roles[{index}]"), checks, Dates::AsRecorded);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_dates_are_kept_as_given_and_span_their_days() {
        for (text, first, last) in [
            ("1960", "1960-01-01", "1960-12-31"),
            ("1960-02", "1960-02-01", "1960-02-29"),
            ("1960-12", "1960-12-01", "1960-12-31"),
            ("1960-06-01", "1960-06-01", "1960-06-01"),
            ("0001", "0001-01-01", "0001-12-31"),
        ] {
            let date = PartialDate::parse(text).unwrap();
            assert_eq!(date.to_string(), text);
            assert_eq!(date.first().to_string(), first, "{text}");
            assert_eq!(date.last().to_string(), last, "{text}");
        }
        for bad in [
            "",
            "60",
            "0000",
            "1960-13",
            "1960-00",
            "1960-02-30",
            "1960-6",
            "1960-06-1",
            "1960-06-01-01",
            "+1960",
            "1960/06",
            " 1960",
            "１９６０",
            "1960-",
        ] {
            assert_eq!(PartialDate::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_end_before_its_start_is_refused_unless_recorded() {
        let role: RoleInput = serde_json::from_value(serde_json::json!({
            "title": "Ambassador", "started_on": "1886-07-27", "ended_on": "1886-07-22"
        }))
        .unwrap();
        let mut checks = Checks::default();
        role.check("", &mut checks);
        assert_eq!(checks.0[0].field, "ended_on");
        let mut checks = Checks::default();
        role.check_as("", &mut checks, Dates::AsRecorded);
        assert!(checks.0.is_empty());
        // The same year is no contradiction: `1960` may end after `1960-06-01`.
        let role: RoleInput = serde_json::from_value(serde_json::json!({
            "title": "Ambassador", "started_on": "1960-06-01", "ended_on": "1960"
        }))
        .unwrap();
        let mut checks = Checks::default();
        role.check("", &mut checks);
        assert!(checks.0.is_empty());
    }
}
