//! The closed vocabularies of the domain and the normalised text fields shared by
//! meetings, statements and agreements.

use serde::{Deserialize, Deserializer, Serialize};

use crate::domain::text::{self, Kind, Name};

/// A closed set of words: an enum whose every variant is named once, by the word
/// stored in the database, shown to clients and read back from them (serde uses the
/// same word). Attributes before the name (docs, further derives) go on the enum, and
/// those before a variant on the variant.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$variant_meta:meta])* $variant:ident => $text:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize,
        )]
        pub enum $name { $($(#[$variant_meta])* #[serde(rename = $text)] $variant),+ }

        impl $name {
            /// Every word, in the order declared.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The word stored in the database and shown to clients.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            /// The value a word names, if it names one.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use vocabulary;

vocabulary!(
    /// What sort of meeting it was.
    MeetingKind {
        Bilateral => "bilateral",
        Multilateral => "multilateral",
        Summit => "summit",
        StateVisit => "state_visit",
        OfficialVisit => "official_visit",
        OfficialWorkingVisit => "official_working_visit",
        WorkingVisit => "working_visit",
        PrivateVisit => "private_visit",
        Visit => "visit",
        PhoneCall => "phone_call",
        VideoCall => "video_call",
        Other => "other",
    }
);

vocabulary!(
    /// Which side of the table a participant sat on.
    Side { Host => "host", Guest => "guest", Mediator => "mediator", Observer => "observer" }
);

vocabulary!(
    /// How a statement was made.
    StatementKind {
        Quote => "quote",
        Paraphrase => "paraphrase",
        JointStatement => "joint_statement",
        PressRelease => "press_release",
    }
);

vocabulary!(
    /// What sort of commitment an agreement is.
    AgreementKind {
        Treaty => "treaty",
        Mou => "mou",
        Contract => "contract",
        JointDeclaration => "joint_declaration",
        Pledge => "pledge",
        Plan => "plan",
        Other => "other",
    }
);

vocabulary!(
    /// Where an agreement stands.
    AgreementStatus {
        Proposed => "proposed",
        Agreed => "agreed",
        Signed => "signed",
        InForce => "in_force",
        Fulfilled => "fulfilled",
        Lapsed => "lapsed",
        Withdrawn => "withdrawn",
    }
);

/// A topic slug: lower case, words joined by hyphens (`Humanitarian Aid` → `humanitarian-aid`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Topic(String);

impl Topic {
    /// The longest topic, as given and as stored, in characters.
    pub const MAX: usize = 64;

    /// Words of letters and digits separated by spaces, `_` or `-`, at most 64
    /// characters: the rule openapi.yaml states as a pattern.
    pub fn parse(input: &str) -> Option<Topic> {
        if input.chars().count() > Self::MAX {
            return None;
        }
        let mut slug = String::with_capacity(input.len());
        for word in input.split([' ', '_', '-']).filter(|w| !w.is_empty()) {
            if !word.chars().all(char::is_alphanumeric) {
                return None;
            }
            if !slug.is_empty() {
                slug.push('-');
            }
            // Lower case may add a combining mark (`İ` → `i̇`); keeping only letters and
            // digits keeps a stored slug valid input for the next edit.
            slug.extend(
                word.chars()
                    .flat_map(char::to_lowercase)
                    .filter(|c| c.is_alphanumeric()),
            );
        }
        (1..=Self::MAX)
            .contains(&slug.chars().count())
            .then_some(Topic(slug))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Topic {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Topic::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a topic: use 1 to 64 letters or digits, words separated by hyphens"
            ))
        })
    }
}

/// A BCP 47 language tag (`en`, `es`, `pt-BR`), kept in its canonical case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Language(String);

impl Language {
    pub fn parse(input: &str) -> Option<Language> {
        let tag = language_tags::LanguageTag::parse(input).ok()?;
        let primary = tag.primary_language();
        if !(2..=3).contains(&primary.len()) || tag.as_str().len() > 35 {
            return None;
        }
        let mut canonical = primary.to_ascii_lowercase();
        for part in tag.as_str().split('-').skip(1) {
            canonical.push('-');
            if part.len() == 2 {
                canonical.push_str(&part.to_ascii_uppercase());
            } else {
                canonical.push_str(part);
            }
        }
        Some(Language(canonical))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Language::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a BCP 47 language tag such as `en` or `pt-BR`"
            ))
        })
    }
}

/// Where a record came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub publisher: Option<String>,
    #[serde(default)]
    pub published_on: Option<chrono::NaiveDate>,
}

/// An identifier in some outside scheme (`wikidata`, `hsg`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identifier {
    pub scheme: String,
    pub value: String,
}

/// Whether `value` is an absolute `http` or `https` URL with a host, written out in
/// full: WHATWG parsing would also take `https:example.org` or a backslash for a slash,
/// which no one means.
fn is_web_url(value: &str) -> bool {
    let written_in_full = ["http://", "https://"].iter().any(|scheme| {
        value
            .get(..scheme.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(scheme))
    });
    written_in_full
        && url::Url::parse(value).is_ok_and(|url| {
            matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some_and(|h| !h.is_empty())
        })
}

/// The path of `name` inside the field `prefix` (`participants[0]` + `name`).
pub fn field_path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// What a text field must hold.
#[derive(Clone, Copy)]
enum Text {
    /// Something visible, of this kind.
    Required(Kind),
    /// Free text that may be blank.
    MayBeBlank,
}

/// One rejected field of a request, named by its JSON path.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What a document's checks refused, every field of it; the HTTP layer answers it 422.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub Vec<FieldError>);

/// Collects field errors so a client learns every mistake in one answer.
#[derive(Default)]
pub struct Checks(pub Vec<FieldError>);

impl Checks {
    pub fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// A required one-line text (a title, a role, a place, an identifier): at most
    /// `max` characters as given, something visible, and no control or bidi
    /// override characters.
    pub fn text(&mut self, field: impl Into<String>, value: &str, max: usize) {
        self.check_text(
            field.into(),
            value,
            value.chars().count(),
            max,
            Text::Required(Kind::Line),
        );
    }

    /// An optional text: when given, as `text`.
    pub fn optional_text(&mut self, field: impl Into<String>, value: Option<&str>, max: usize) {
        if let Some(value) = value {
            self.text(field, value, max);
        }
    }

    /// Required free text (a quote): as `text`, but it may keep tabs and line breaks.
    pub fn prose(&mut self, field: impl Into<String>, value: &str, max: usize) {
        self.check_text(
            field.into(),
            value,
            value.chars().count(),
            max,
            Text::Required(Kind::Prose),
        );
    }

    /// Optional free text (a summary, a description): when given, as `prose`, except
    /// that it may be blank.
    pub fn optional_prose(&mut self, field: impl Into<String>, value: Option<&str>, max: usize) {
        if let Some(value) = value {
            self.check_text(
                field.into(),
                value,
                value.chars().count(),
                max,
                Text::MayBeBlank,
            );
        }
    }

    /// A required name (of a person, a body, a speaker), already cleaned as it was
    /// read: as `text`, and no word mixing Latin, Cyrillic or Greek letters. Its
    /// length is the one the client sent.
    pub fn name(&mut self, field: impl Into<String>, name: &Name, max: usize) {
        self.check_text(
            field.into(),
            name,
            name.given_chars(),
            max,
            Text::Required(Kind::Name),
        );
    }

    /// An optional name: when given, as `name`.
    pub fn optional_name(&mut self, field: impl Into<String>, name: Option<&Name>, max: usize) {
        if let Some(name) = name {
            self.name(field, name, max);
        }
    }

    /// The one place text is checked: its length as given, then what it holds.
    fn check_text(&mut self, field: String, value: &str, length: usize, max: usize, rule: Text) {
        if length > max {
            self.fail(field, format!("must be at most {max} characters"));
            return;
        }
        let refusal = match rule {
            Text::Required(kind) => text::refusal(value, kind),
            Text::MayBeBlank => text::forbidden(value, Kind::Prose),
        };
        if let Some(refusal) = refusal {
            self.fail(field, refusal);
        }
    }

    /// An optional source URL: as `text`, and an absolute `http` or `https` URL with a
    /// host. Clients show sources as links, so a `javascript:` or `data:` URL would
    /// run in a reader's browser.
    pub fn optional_url(&mut self, field: impl Into<String>, value: Option<&str>, max: usize) {
        let Some(value) = value else {
            return;
        };
        let field = field.into();
        let errors = self.0.len();
        self.text(field.clone(), value, max);
        if self.0.len() == errors && !is_web_url(value) {
            self.fail(
                field,
                "must be an absolute http or https URL, such as `https://example.org/page`",
            );
        }
    }

    /// A date the API takes (`is_storable_date`).
    pub fn date(&mut self, field: impl Into<String>, date: Option<chrono::NaiveDate>) {
        if date.is_some_and(|date| !is_storable_date(date)) {
            self.fail(field, DATE_RANGE);
        }
    }

    /// A time of day; a leap second cannot be stored.
    pub fn time(&mut self, field: impl Into<String>, time: Option<chrono::NaiveTime>) {
        use chrono::Timelike;
        if time.is_some_and(|time| time.nanosecond() >= 1_000_000_000) {
            self.fail(field, "must be a time from 00:00:00 to 23:59:59");
        }
    }

    pub fn source(&mut self, field: &str, source: &Source) {
        self.date(format!("{field}.published_on"), source.published_on);
        self.optional_url(format!("{field}.url"), source.url.as_deref(), 2000);
        self.optional_text(format!("{field}.title"), source.title.as_deref(), 500);
        self.optional_text(
            format!("{field}.publisher"),
            source.publisher.as_deref(),
            300,
        );
    }

    pub fn identifiers(&mut self, field: &str, identifiers: &[Identifier]) {
        let mut seen = std::collections::HashSet::new();
        for (index, identifier) in identifiers.iter().enumerate() {
            self.text(format!("{field}[{index}].scheme"), &identifier.scheme, 64);
            self.text(format!("{field}[{index}].value"), &identifier.value, 300);
            if identifier.scheme.trim() == crate::domain::wikidata::SCHEME
                && crate::domain::wikidata::Qid::parse(identifier.value.trim()).is_none()
            {
                self.fail(
                    format!("{field}[{index}].value"),
                    "a Wikidata id is `Q` and a number, as in `Q312867`",
                );
            }
            if !seen.insert(identifier) {
                self.fail(format!("{field}[{index}]"), "is listed twice");
            }
        }
    }

    pub fn finish(self) -> Result<(), Invalid> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Invalid(self.0))
        }
    }
}

/// An input that checks itself, naming its fields under `field` (empty for an input
/// sent on its own).
pub trait Check {
    fn check(&self, field: &str, checks: &mut Checks);
}

/// A date a client filters by, refused unless between 0001-01-01 and 9999-12-31 (what
/// the API stores), so a year like -100000 is the client's mistake named by its
/// parameter, not a range error from PostgreSQL. Written as the date it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct FilterDate(pub chrono::NaiveDate);

impl<'de> Deserialize<'de> for FilterDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let date = chrono::NaiveDate::deserialize(deserializer)?;
        if is_storable_date(date) {
            Ok(FilterDate(date))
        } else {
            Err(serde::de::Error::custom(DATE_RANGE))
        }
    }
}

/// An instant a client filters by (`updated_after`): RFC 3339 with its offset. Its
/// four-digit year keeps it well within what PostgreSQL holds. Written as the UTC
/// instant it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct FilterInstant(pub chrono::DateTime<chrono::Utc>);

impl<'de> Deserialize<'de> for FilterInstant {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        chrono::DateTime::parse_from_rfc3339(text.trim())
            .map(|instant| FilterInstant(instant.with_timezone(&chrono::Utc)))
            .map_err(|_| {
                serde::de::Error::custom(
                    "must be an RFC 3339 instant with its offset, e.g. 2021-10-12T00:00:00Z \
                     (send `+` as %2B)",
                )
            })
    }
}

/// Whether the API takes `date`: years 1 to 9999, which every client and the database
/// agree on, in bodies, filters and cursors alike.
pub fn is_storable_date(date: chrono::NaiveDate) -> bool {
    use chrono::Datelike;
    (1..=9999).contains(&date.year())
}

/// What a date outside `is_storable_date` is told.
const DATE_RANGE: &str = "must be a date between 0001-01-01 and 9999-12-31";

vocabulary!(
    /// What a key may do; each scope includes the ones before it.
    #[derive(PartialOrd, Ord)]
    Scope { Read => "read", Write => "write", Admin => "admin" }
);

vocabulary!(
    /// What to do with a document whose identifier is already stored.
    #[derive(Default)]
    Mode {
        /// Refuse it: the line fails with a conflict.
        #[default]
        Insert => "insert",
        /// Replace the stored meeting, unless nothing changed.
        Upsert => "upsert",
    }
);

vocabulary!(
    /// What the lines of an import or an export hold.
    #[derive(Default)]
    Collection {
        /// Meeting documents.
        #[default]
        Meetings => "meetings",
        /// People, each with their roles.
        People => "people",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_normalised_to_slugs() {
        assert_eq!(
            Topic::parse("Humanitarian Aid").unwrap().as_str(),
            "humanitarian-aid"
        );
        assert_eq!(Topic::parse("covid_19").unwrap().as_str(), "covid-19");
        assert_eq!(Topic::parse(" energy ").unwrap().as_str(), "energy");
        assert!(Topic::parse("").is_none());
        assert!(Topic::parse("a/b").is_none());
        assert!(Topic::parse("a\tb").is_none());
        let turkish = Topic::parse("İstanbul").unwrap();
        assert_eq!(turkish.as_str(), "istanbul");
        assert_eq!(Topic::parse(turkish.as_str()), Some(turkish));
        assert!(Topic::parse(&"a".repeat(65)).is_none());
        assert!(Topic::parse(&format!(" {} ", "a".repeat(63))).is_none());
    }

    #[test]
    fn languages_are_canonical() {
        assert_eq!(Language::parse("EN").unwrap().as_str(), "en");
        assert_eq!(Language::parse("pt-br").unwrap().as_str(), "pt-BR");
        assert!(Language::parse("not a tag").is_none());
    }
}
