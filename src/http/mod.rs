//! HTTP plumbing with no knowledge of any resource: errors as problem+json, extractors,
//! entity tags, access and rate limits, idempotency, replica routing, telemetry, the
//! cache of answers and the change stream, both following what the database announces,
//! and the connection-level server.

pub mod access;
pub mod cache;
pub mod cost;
pub mod error;
pub mod etag;
pub mod extract;
pub mod idempotency;
pub mod json;
pub mod listening;
pub mod live;
pub mod problems;
pub mod rate_limit;
pub mod replica;
pub mod routes;
pub mod server;
pub mod telemetry;
