//! The HTTP side: the operator's admin (server-rendered pages), the JSON API,
//! provider webhooks, health, readiness and metrics. Every route is declared
//! in a [`Routes`] table with its access; handlers stay next to their routes;
//! errors answer without leaking internals.

pub mod admin;
pub mod api;
mod assets;
pub mod cookies;
mod error;
pub mod guard;
mod health;
mod metrics;
pub mod routes;
mod templates;
mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::header::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;
use minijinja::Environment;

use crate::context::AppContext;
use crate::store::Store;

pub use error::WebError;
pub use routes::{Access, RouteInfo, Routes};

/// How the web process sees the outside.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// Where operators reach the admin (`https://admin.example.fr`); used in
    /// printed links. An https URL makes cookies `Secure`.
    pub public_url: Option<String>,
    /// Take the client's address from the last `X-Forwarded-For` hop.
    pub trust_proxy: bool,
    /// The address the server listens on: e-mailed links use it when no
    /// public URL is set (never the request's `Host`, which the sender chooses).
    pub listen: Option<SocketAddr>,
}

impl WebConfig {
    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }

    /// Where links sent to operators point: the public URL, else the address
    /// listened on.
    pub fn link_base(&self) -> Option<String> {
        match (&self.public_url, self.listen) {
            (Some(url), _) => Some(url.trim_end_matches('/').to_string()),
            (None, Some(address)) => Some(format!("http://{address}")),
            (None, None) => None,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub templates: Arc<Environment<'static>>,
    /// The jobs' context: configuration, mailer, payment providers.
    pub app: AppContext,
    pub web: Arc<WebConfig>,
}

impl AppState {
    pub fn new(store: Store, app: AppContext, web: WebConfig) -> Result<AppState, minijinja::Error> {
        Ok(AppState {
            store,
            templates: Arc::new(templates::environment()?),
            app,
            web: Arc::new(web),
        })
    }
}

/// Every route of the app, with its access.
pub fn routes() -> Routes {
    Routes::new()
        .get("/", Access::Public, || async { Redirect::to("/admin") })
        .merge(health::routes())
        .merge(assets::routes())
        .merge(webhooks::routes())
        .merge(metrics::routes())
        .merge(admin::routes())
        .merge(api::routes())
}

pub fn app(state: AppState) -> Router {
    routes()
        .into_router(&state)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(api::localize))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::middleware::from_fn(metrics::track))
        .with_state(state)
}

async fn not_found(request: Request) -> Response {
    if request.uri().path().starts_with("/api/") {
        api::ApiError::NotFound("route".into()).into_response()
    } else {
        admin::AdminError::NotFound.into_response()
    }
}

/// A known path with another method: JSON under `/api`, axum's plain 405 elsewhere.
async fn method_not_allowed(request: Request) -> Response {
    if request.uri().path().starts_with("/api/") {
        api::ApiError::MethodNotAllowed.into_response()
    } else {
        axum::http::StatusCode::METHOD_NOT_ALLOWED.into_response()
    }
}

/// Headers every answer carries: no framing, no sniffing, no referrer to
/// other sites, and a content policy that allows only this site's own
/// scripts and styles.
async fn security_headers(request: Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        (
            "content-security-policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ),
    ] {
        headers
            .entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
