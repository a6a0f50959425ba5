//! Country codes: ISO 3166-1 alpha-2 or alpha-3 in, alpha-3 out; former states from
//! ISO 3166-3 and Kosovo's user-assigned `XKX` accepted too.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A known country, current or former, by its alpha-3 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode(&'static str);

/// What Chancery knows of a country.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country {
    pub code: CountryCode,
    pub alpha2: &'static str,
    pub name: &'static str,
    /// A state that no longer exists (ISO 3166-3).
    pub former: bool,
}

const KOSOVO: Country = Country {
    code: CountryCode("XKX"),
    alpha2: "XK",
    name: "Kosovo",
    former: false,
};

impl CountryCode {
    /// Parses a code in any case: `cu`, `CU`, `cub` → `CUB`.
    pub fn parse(input: &str) -> Option<Self> {
        Country::lookup(input).map(|country| country.code)
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }

    pub fn country(&self) -> Country {
        Country::lookup(self.0).expect("a CountryCode is always known")
    }
}

impl Country {
    /// The country's Wikidata item, when known.
    pub fn wikidata(&self) -> Option<&'static str> {
        crate::domain::wikidata::country(self.code.0)
    }
}

impl Country {
    /// Finds a country by alpha-2 or alpha-3 code, in any case.
    pub fn lookup(input: &str) -> Option<Country> {
        let code = input.to_ascii_uppercase();
        let current = match code.len() {
            2 => rust_iso3166::from_alpha2(&code),
            3 => rust_iso3166::from_alpha3(&code),
            _ => return None,
        };
        if let Some(country) = current {
            return Some(Country {
                code: CountryCode(country.alpha3),
                alpha2: country.alpha2,
                name: country.name,
                former: false,
            });
        }
        if code == KOSOVO.code.0 || code == KOSOVO.alpha2 {
            return Some(KOSOVO);
        }
        former_state(&code)
    }
}

/// A former state by its alpha-3 code, or by an alpha-2 code that names only it.
fn former_state(code: &str) -> Option<Country> {
    let matches = |former: &rust_iso3166::CountryCode| match code.len() {
        3 => former.alpha3 == code,
        _ => former.alpha2 == code,
    };
    let mut found = rust_iso3166::iso3166_3::ALL
        .iter()
        .map(|entry| entry.former)
        .filter(matches);
    let first = found.next()?;
    // Some former alpha-2 codes were reused (CS: Czechoslovakia, then Serbia and
    // Montenegro); an ambiguous one is refused rather than guessed.
    if code.len() == 2 && found.any(|other| other.alpha3 != first.alpha3) {
        return None;
    }
    Some(Country {
        code: CountryCode(first.alpha3),
        alpha2: first.alpha2,
        name: first.name,
        former: true,
    })
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        CountryCode::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not an ISO 3166 alpha-2 or alpha-3 country code"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_alpha2_and_alpha3_in_any_case() {
        for input in ["cu", "CU", "cub", "Cub"] {
            assert_eq!(
                CountryCode::parse(input).map(|c| c.as_str()),
                Some("CUB"),
                "{input}"
            );
        }
    }

    #[test]
    fn accepts_former_states_and_kosovo() {
        for (input, code) in [
            ("SUN", "SUN"),
            ("su", "SUN"),
            ("YUG", "YUG"),
            ("CSK", "CSK"),
            ("DDR", "DDR"),
            ("xk", "XKX"),
        ] {
            assert_eq!(
                CountryCode::parse(input).map(|c| c.as_str()),
                Some(code),
                "{input}"
            );
        }
        assert!(CountryCode::parse("SUN").unwrap().country().former);
    }

    #[test]
    fn refuses_unknown_codes() {
        for input in ["", "X", "XX", "ZZZ", "CUBA", "C\0B", " CU", "CUB "] {
            assert_eq!(CountryCode::parse(input), None, "{input:?}");
        }
    }
}
