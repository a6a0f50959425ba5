//! Meetings and what hangs off them: documents, items, lists, history, idempotency, edge cases.

mod documents;
mod edge_cases;
mod history;
mod idempotency;
mod lists;
mod posted_together;
