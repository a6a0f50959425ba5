//! All SQL: connecting and migrating, the one copy of each representation, the meeting
//! aggregate and its items, people, keys, history, filters, search and keyset paging.

pub mod aggregate;
pub mod agreements;
pub mod countries;
pub mod db;
pub mod error;
pub mod export;
pub mod feed;
pub mod filters;
pub mod history;
pub mod idempotency;
pub mod items;
pub mod keys;
pub mod meetings;
pub mod notifications;
pub mod pagination;
pub mod participants;
pub mod people;
pub mod representation;
pub mod roles;
pub mod search;
pub mod seed;
pub mod statements;
pub mod stats;
