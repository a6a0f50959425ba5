//! The change feed, `GET /v1/changes`: every committed change exactly once, under
//! concurrent writers with long and short transactions.

mod feed;
