//! The route table: each path with the methods served on it, and the router built from
//! it. Resources declare their routes here rather than on a bare `Router`, so the table
//! that `openapi.yaml` is checked against is the one the service is built from.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter};

/// The methods served on one path, and their handlers.
pub struct Endpoint<S> {
    methods: Vec<Method>,
    router: MethodRouter<S>,
}

macro_rules! methods {
    ($($name:ident => $method:ident),* $(,)?) => {
        impl<S: Clone + Send + Sync + 'static> Endpoint<S> {
            $(
                #[doc = concat!("Serves `", stringify!($method), "` with `handler`.")]
                pub fn $name<H: Handler<T, S>, T: 'static>(mut self, handler: H) -> Self {
                    self.methods.push(Method::$method);
                    self.router = self.router.on(MethodFilter::$method, handler);
                    self
                }
            )*
        }

        $(
            #[doc = concat!("An endpoint serving `", stringify!($method), "` with `handler`.")]
            pub fn $name<H: Handler<T, S>, T: 'static, S: Clone + Send + Sync + 'static>(
                handler: H,
            ) -> Endpoint<S> {
                Endpoint { methods: Vec::new(), router: MethodRouter::new() }.$name(handler)
            }
        )*
    };
}

methods!(get => GET, post => POST, put => PUT, patch => PATCH, delete => DELETE);

impl<S> Endpoint<S> {
    /// The endpoint with its method router changed by `f`, e.g. to add a layer.
    pub fn map(self, f: impl FnOnce(MethodRouter<S>) -> MethodRouter<S>) -> Self {
        Endpoint {
            methods: self.methods,
            router: f(self.router),
        }
    }
}

/// Paths and their endpoints.
pub struct Routes<S> {
    router: Router<S>,
    table: Vec<(&'static str, Method)>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Routes {
            router: Router::new(),
            table: Vec::new(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `endpoint` at `path`.
    pub fn route(mut self, path: &'static str, endpoint: Endpoint<S>) -> Self {
        self.table
            .extend(endpoint.methods.into_iter().map(|method| (path, method)));
        self.router = self.router.route(path, endpoint.router);
        self
    }

    /// These routes and `other`'s.
    pub fn merge(mut self, other: Routes<S>) -> Self {
        self.table.extend(other.table);
        self.router = self.router.merge(other.router);
        self
    }

    /// Every (path, method) served.
    pub fn table(&self) -> &[(&'static str, Method)] {
        &self.table
    }

    pub fn into_router(self) -> Router<S> {
        self.router
    }
}
