//! The integration tests, in one binary (`cargo test --test api`), grouped by what they
//! cover: the records a client writes (`meetings`), bulk import and export
//! (`import_export`), the contract with `openapi.yaml` (`contract`), and the service
//! around them: errors, limits, security, processes and the database (`service`). Each
//! test gets its own database and application from the one helper module, `common`.

#[path = "../common/mod.rs"]
mod common;

mod changes;
mod commitments;
mod contract;
mod import_export;
mod meetings;
mod people;
mod service;
