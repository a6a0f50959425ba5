//! Text as clients type and paste it, and what of it may be stored.
//!
//! People are matched to the stored ones by the database's `fold()`, which ignores
//! case and accents but sees every other character. Pasted names carry what no reader
//! sees: zero-width spaces and joiners, soft hyphens, byte order marks, no-break
//! spaces, doubled spaces, accents written as separate marks. Each would make a
//! second "Ramón Díaz" who looks exactly like the first, so names are cleaned of
//! them here, once, before they are stored or looked up. What cannot be cleaned away
//! safely is refused instead: control characters, bidi overrides (which reorder what
//! a reader sees), text with nothing visible, and a word whose letters mix Latin,
//! Cyrillic and Greek, which look alike.
//!
//! Pure functions over strings, using Unicode's own character data: no HTTP, no SQL.

use std::fmt;

use icu_normalizer::ComposingNormalizerBorrowed;
use icu_properties::props::{
    BidiClass, DefaultIgnorableCodePoint, GeneralCategory, GeneralCategoryGroup, Script,
};
use icu_properties::{CodePointMapData, CodePointSetData};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a text field holds, which decides what characters it may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The name of a person or body, cleaned by [`clean_name`]: one line, and no
    /// word mixing scripts that look alike.
    Name,
    /// A title, role, place, URL or identifier: one line.
    Line,
    /// Free text, such as a quote, a summary or a description: it may hold line
    /// breaks and tabs.
    Prose,
}

/// A name cleaned for storing and matching: invisible format characters dropped
/// (Unicode's Default_Ignorable_Code_Point: ZWSP, ZWJ, ZWNJ, soft hyphen, word
/// joiner, BOM, variation selectors, Hangul fillers and the like), every run of
/// white space (NBSP, em space, tab, line break...) made one plain space, trimmed,
/// and NFC-normalised so an accent typed as a separate mark is the same letter.
///
/// Bidi overrides, embeddings and isolates are default-ignorable too, but are kept:
/// dropping them would store something other than what the client showed its user,
/// so [`refusal`] refuses them instead.
pub fn clean_name(input: &str) -> String {
    let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
    let mut cleaned = String::with_capacity(input.len());
    let mut pending_space = false;
    for c in input.chars() {
        if c.is_whitespace() {
            pending_space = !cleaned.is_empty();
        } else if is_bidi_override(c) || !ignorable.contains(c) {
            if pending_space {
                cleaned.push(' ');
                pending_space = false;
            }
            cleaned.push(c);
        }
    }
    // Normalised last, so a mark once separated from its letter by a dropped
    // character is composed with it.
    ComposingNormalizerBorrowed::new_nfc()
        .normalize(&cleaned)
        .into_owned()
}

/// Why `text` may not be stored in a required field of this kind, if it may not;
/// `None` when it may. As [`forbidden`], and it must show something: a field
/// holding only spaces or invisible characters looks empty to every reader.
pub fn refusal(text: &str, kind: Kind) -> Option<String> {
    forbidden(text, kind).or_else(|| {
        (!text.chars().any(is_visible)).then(|| "must have at least one visible character".into())
    })
}

/// Why `text` may not be stored in a field of this kind even where it may be blank:
/// bidi overrides, control characters (free text keeps its tabs and line breaks),
/// and, in a name, a word mixing scripts that look alike. A [`Kind::Name`] is
/// checked as [`clean_name`] left it.
pub fn forbidden(text: &str, kind: Kind) -> Option<String> {
    if let Some(c) = text.chars().find(|c| is_bidi_override(*c)) {
        return Some(format!(
            "must not contain bidi override, embedding or isolate characters (found {}); \
             right-to-left text needs none",
            code_point(c)
        ));
    }
    if let Some(c) = text.chars().find(|c| is_forbidden_control(*c, kind)) {
        let allowed = match kind {
            Kind::Prose => " other than tabs and line breaks",
            Kind::Name | Kind::Line => ", line breaks or tabs",
        };
        return Some(format!(
            "must not contain control characters{allowed} (found {})",
            code_point(c)
        ));
    }
    if kind == Kind::Name
        && let Some(mix) = mixed_script_word(text)
    {
        return Some(format!(
            "mixes scripts: `{}` has {} letters in one word, which look alike; write it in one script",
            mix.word, mix.scripts
        ));
    }
    None
}

/// A word whose letters come from more than one of the scripts that look alike.
#[derive(Debug, PartialEq, Eq)]
pub struct MixedWord<'a> {
    pub word: &'a str,
    /// The scripts found, such as `Latin and Cyrillic`.
    pub scripts: String,
}

/// The scripts whose letters are confused with each other: Latin `a`, Cyrillic `а`
/// and Greek `α` look the same, so a name mixing them within one word is almost
/// surely a look-alike of another, not a real spelling.
const CONFUSABLE_SCRIPTS: [(Script, &str); 3] = [
    (Script::Latin, "Latin"),
    (Script::Cyrillic, "Cyrillic"),
    (Script::Greek, "Greek"),
];

/// The first word of `text` whose letters mix Latin, Cyrillic or Greek. Words are
/// runs of letters and marks, so `Papadopoulou-Ξένια` is two words and fine, while
/// `Rаmón` with a Cyrillic `а` is one word and is not.
pub fn mixed_script_word(text: &str) -> Option<MixedWord<'_>> {
    let scripts = CodePointMapData::<Script>::new();
    let categories = CodePointMapData::<GeneralCategory>::new();
    let in_word = |c: char| {
        let group = categories.get(c);
        GeneralCategoryGroup::Letter.contains(group) || GeneralCategoryGroup::Mark.contains(group)
    };
    text.split(|c: char| !in_word(c))
        .filter(|word| !word.is_empty())
        .find_map(|word| {
            let mut found = [false; CONFUSABLE_SCRIPTS.len()];
            for c in word.chars() {
                let script = scripts.get(c);
                for (index, (confusable, _)) in CONFUSABLE_SCRIPTS.iter().enumerate() {
                    found[index] |= script == *confusable;
                }
            }
            let names: Vec<&str> = CONFUSABLE_SCRIPTS
                .iter()
                .zip(found)
                .filter_map(|((_, name), found)| found.then_some(*name))
                .collect();
            (names.len() > 1).then(|| MixedWord {
                word,
                scripts: names.join(" and "),
            })
        })
}

/// Whether `c` is one of the explicit bidi formatting characters (LRE, RLE, LRO,
/// RLO, PDF, LRI, RLI, FSI, PDI: U+202A–U+202E and U+2066–U+2069), which reorder the
/// text around them. The zero-width marks LRM, RLM and ALM reorder nothing.
pub fn is_bidi_override(c: char) -> bool {
    matches!(
        CodePointMapData::<BidiClass>::new().get(c),
        BidiClass::LeftToRightEmbedding
            | BidiClass::RightToLeftEmbedding
            | BidiClass::LeftToRightOverride
            | BidiClass::RightToLeftOverride
            | BidiClass::PopDirectionalFormat
            | BidiClass::LeftToRightIsolate
            | BidiClass::RightToLeftIsolate
            | BidiClass::FirstStrongIsolate
            | BidiClass::PopDirectionalIsolate
    )
}

/// A C0 or C1 control character a field of this kind may not hold: free text keeps
/// its tabs and line breaks; a name never has one left once cleaned (they are white
/// space), and a one-line field may not have them at all.
fn is_forbidden_control(c: char, kind: Kind) -> bool {
    c.is_control() && !(kind == Kind::Prose && matches!(c, '\t' | '\n' | '\r'))
}

/// Whether `c` shows as something: a letter, digit, punctuation mark or symbol that
/// is not one of the default-ignorable characters (a Hangul filler is a letter that
/// shows as nothing).
fn is_visible(c: char) -> bool {
    let group = CodePointMapData::<GeneralCategory>::new().get(c);
    let shown = GeneralCategoryGroup::Letter.contains(group)
        || GeneralCategoryGroup::Number.contains(group)
        || GeneralCategoryGroup::Punctuation.contains(group)
        || GeneralCategoryGroup::Symbol.contains(group);
    shown && !CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
}

/// `U+202E`, as error messages show a character that may not be visible.
fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// A name as a client gave it, held cleaned by [`clean_name`]: reading a request
/// cleans every name in it, whichever endpoint or import line it came through, so
/// what is stored, matched and recorded is the cleaned form. The length given is
/// kept, as lengths are checked on what the client sent.
#[derive(Debug, Clone)]
pub struct Name {
    cleaned: String,
    given_chars: usize,
}

impl Name {
    pub fn new(given: &str) -> Name {
        Name {
            cleaned: clean_name(given),
            given_chars: given.chars().count(),
        }
    }

    /// The cleaned name.
    pub fn as_str(&self) -> &str {
        &self.cleaned
    }

    /// How many characters the client sent.
    pub fn given_chars(&self) -> usize {
        self.given_chars
    }
}

/// Two names are the same when they are cleaned alike, however they were sent.
impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.cleaned == other.cleaned
    }
}

impl std::ops::Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        &self.cleaned
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cleaned)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.cleaned)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let given = String::deserialize(deserializer)?;
        Ok(Name::new(&given))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_invisible_characters_and_extra_space() {
        for given in [
            "Ram\u{200B}ón Díaz",
            "Ramón\u{200D} Díaz",
            "Ramón Dí\u{200C}az",
            "Ra\u{00AD}món Díaz",
            "Ramón\u{2060} Díaz",
            "\u{FEFF}Ramón Díaz",
            "Ramón\u{00A0}Díaz",
            "Ramón\u{3000}Díaz",
            "Ramón  Díaz",
            "\tRamón\r\nDíaz \u{200B}",
            "Ramo\u{0301}n Di\u{0301}az",
            "Ramo\u{200B}\u{0301}n Díaz",
            "Ramón\u{FE0F} Díaz",
            "Ramón\u{200E} Díaz",
        ] {
            assert_eq!(clean_name(given), "Ramón Díaz", "{given:?}");
        }
        assert_eq!(clean_name("\u{200B}\u{3164}\u{00A0}"), "");
        // Bidi overrides stay, to be refused.
        assert_eq!(clean_name("a\u{202E}b"), "a\u{202E}b");
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        let refused = |text: &str, kind| refusal(text, kind).unwrap_or_default();
        assert!(refused("a\u{202E}b", Kind::Prose).contains("U+202E"));
        assert!(refused("\u{2067}a\u{2069}", Kind::Line).contains("bidi"));
        assert!(refused("a\u{7}", Kind::Prose).contains("control"));
        assert!(refused("a\nb", Kind::Line).contains("U+000A"));
        assert!(refused("a\u{85}b", Kind::Line).contains("control"));
        assert!(refused("", Kind::Line).contains("visible"));
        assert_eq!(forbidden(" \u{200B}", Kind::Prose), None);
        assert!(refused("\u{200B}\u{3164}", Kind::Name).contains("visible"));
        assert!(refused(" \u{301}", Kind::Name).contains("visible"));
        assert!(refused("R\u{430}món", Kind::Name).contains("Latin and Cyrillic"));
        assert!(refused("Rαmón", Kind::Name).contains("Latin and Greek"));
        for fine in [
            ("Line one\r\n\tLine two", Kind::Prose),
            ("«نعم» \u{200F}שלום", Kind::Prose),
            ("Сергей Лавров", Kind::Name),
            ("Ξένια Papadopoulou-Ξένια", Kind::Name),
            ("NTTドコモ", Kind::Name),
            ("習近平", Kind::Name),
            ("R\u{430}món", Kind::Line),
            ("3", Kind::Line),
        ] {
            assert_eq!(refusal(fine.0, fine.1), None, "{fine:?}");
        }
    }

    #[test]
    fn a_name_keeps_its_given_length_and_serializes_cleaned() {
        let name: Name = serde_json::from_str("\"  Ana\\u200b  \"").unwrap();
        assert_eq!(name.as_str(), "Ana");
        assert_eq!(name.given_chars(), 8);
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"Ana\"");
    }
}
