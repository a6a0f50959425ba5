//! People and the offices they held over time.

mod roles;
mod wikidata;
