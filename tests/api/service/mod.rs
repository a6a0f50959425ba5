//! The service around the records: errors, hostile input, limits, processes, the database, layers.

mod cache;
mod connections;
mod errors;
mod faults;
mod hardening;
mod input_hardening;
mod layers;
mod limits;
mod metrics;
mod plans;
mod process;
mod rate_limits;
mod replica;
mod security;
