//! Caps on the lists one document may hold. Real meetings sit far below them (the
//! 7,535 HSG meetings have at most 9 participants); they bound what one request can
//! make the database do, and keep every stored row within PostgreSQL's index limits
//! (a meeting's topics ride in the `meetings_by_date` index, whose rows hold at most
//! 2,704 bytes). Past a cap, the answer is a 422 naming the field.

use crate::domain::vocabulary::Checks;

/// Participants in one meeting document.
pub const PARTICIPANTS: usize = 1_000;
/// Statements in one meeting document.
pub const STATEMENTS: usize = 1_000;
/// Agreements in one meeting document.
pub const AGREEMENTS: usize = 500;
/// Sources of one meeting.
pub const SOURCES: usize = 50;
/// Identifiers of one meeting.
pub const IDENTIFIERS: usize = 20;
/// Topics of one meeting, statement or agreement: 20 topics of at most 64 characters
/// stay within the index row limit however badly they compress.
pub const TOPICS: usize = 20;
/// Parties to one agreement: every country there is.
pub const PARTIES: usize = 300;
/// Other names of one person.
pub const ALIASES: usize = 50;
/// Roles of one person in one import line: the busiest diplomat of the pocom data
/// set held 14.
pub const ROLES: usize = 200;

/// Fails `field` when its list holds more than `max` items.
pub fn check(checks: &mut Checks, field: impl Into<String>, len: usize, max: usize) {
    if len > max {
        checks.fail(
            field,
            format!("holds {len} items; at most {max} are allowed"),
        );
    }
}
