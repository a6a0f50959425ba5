//! The change feed, `GET /v1/changes`: every committed change exactly once, under
//! concurrent writers with long and short transactions; and the stream of the same
//! changes as Server-Sent Events.

mod feed;
mod stream;
