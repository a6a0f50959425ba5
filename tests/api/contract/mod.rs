//! `openapi.yaml` against the service: the spec itself, and one contract test per resource.

mod coverage;
mod records;
mod support;

mod spec;
mod spec_inputs;

mod agreements;
mod changes;
mod countries;
mod export;
mod history;
mod import;
mod meetings;
mod participants;
mod people;
mod roles;
mod settings;
mod statements;
mod stats;
mod system;
