//! The handlers, one module per resource of `openapi.yaml`, each with its `routes()`,
//! and the route table the application is built from.

pub mod changes;
pub mod countries;
pub mod export;
pub mod history;
pub mod import;
pub mod meetings;
pub mod people;
pub mod roles;
pub mod stats;
pub mod system;

use axum::http::Method;

use crate::AppState;
use crate::http::routes::Routes;

/// The resources' routes, each answered within the request timeout.
pub fn resources() -> Routes<AppState> {
    Routes::new()
        .merge(meetings::routes())
        .merge(meetings::participants::routes())
        .merge(meetings::statements::routes())
        .merge(meetings::agreements::routes())
        .merge(people::routes())
        .merge(roles::routes())
        .merge(countries::routes())
        .merge(stats::routes())
        .merge(history::routes())
        .merge(changes::routes())
        .merge(export::routes())
}

/// Every (path, method) the service answers: what `openapi.yaml` must describe.
pub fn table() -> Vec<(&'static str, Method)> {
    [
        resources(),
        import::routes(),
        system::routes(),
        system::metrics(),
    ]
    .iter()
    .flat_map(|routes| routes.table().iter().cloned())
    .collect()
}
