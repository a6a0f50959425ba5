//! All SQL: connecting and migrating, the meeting aggregate, search and keyset paging.

pub mod aggregate;
pub mod db;
pub mod error;
pub mod pagination;
pub mod representation;
pub mod search;
