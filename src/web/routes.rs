//! The route table: the only way a route enters the app. Every route is
//! declared with its method, path and [`Access`]; the guard of that access is
//! layered on it here, so a handler cannot forget it, and the table is what
//! the tests enumerate to prove that nothing but the public routes answers
//! without credentials.

use std::collections::BTreeMap;

use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;

use super::{guard, AppState};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, sign-in, setup link, assets, webhooks (which check
    /// their own signatures), the OpenAPI document.
    Public,
    /// A signed-in operator; forms must carry the session's CSRF token.
    Operator,
    /// An API key (`Authorization: Bearer ck_…`).
    ApiKey,
    /// An operator's session or an API key (`/metrics`, for a scraper).
    OperatorOrApiKey,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: Method,
    /// axum syntax: `/admin/jobs/{id}`.
    pub path: &'static str,
    pub access: Access,
}

/// Collects routes; [`Routes::into_router`] builds the axum router.
#[derive(Default)]
pub struct Routes {
    entries: Vec<(RouteInfo, MethodRouter<AppState>)>,
}

impl Routes {
    pub fn new() -> Routes {
        Routes::default()
    }

    pub fn get<H, T>(self, path: &'static str, access: Access, handler: H) -> Routes
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::GET, path, access, on(MethodFilter::GET, handler))
    }

    pub fn post<H, T>(self, path: &'static str, access: Access, handler: H) -> Routes
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::POST, path, access, on(MethodFilter::POST, handler))
    }

    /// A route whose method router needs extra layers (a body limit, say);
    /// `method` must be the one `router` answers.
    pub fn add(mut self, method: Method, path: &'static str, access: Access, router: MethodRouter<AppState>) -> Routes {
        assert!(
            !self.entries.iter().any(|(r, _)| r.method == method && r.path == path),
            "route {method} {path} declared twice"
        );
        self.entries.push((RouteInfo { method, path, access }, router));
        self
    }

    pub fn merge(mut self, other: Routes) -> Routes {
        for (info, router) in other.entries {
            self = self.add(info.method, info.path, info.access, router);
        }
        self
    }

    pub fn table(&self) -> Vec<RouteInfo> {
        self.entries.iter().map(|(info, _)| info.clone()).collect()
    }

    /// The router, each route behind the guard of its access.
    pub fn into_router(self, state: &AppState) -> Router<AppState> {
        let mut by_path: BTreeMap<&'static str, MethodRouter<AppState>> = BTreeMap::new();
        for (info, router) in self.entries {
            let guarded = match info.access {
                Access::Public => router,
                Access::Operator => router.layer(from_fn_with_state(state.clone(), guard::operator)),
                Access::ApiKey => router.layer(from_fn_with_state(state.clone(), guard::api_key)),
                Access::OperatorOrApiKey => router.layer(from_fn_with_state(state.clone(), guard::operator_or_api_key)),
            };
            let merged = match by_path.remove(info.path) {
                Some(existing) => existing.merge(guarded),
                None => guarded,
            };
            by_path.insert(info.path, merged);
        }
        by_path
            .into_iter()
            .fold(Router::new(), |app, (path, router)| app.route(path, router))
    }
}
