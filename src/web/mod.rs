//! The HTTP side: status page, health and readiness. Handlers stay next to
//! their routes; one error type answers without leaking internals.

mod error;
mod health;
mod status;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use minijinja::Environment;

use crate::providers::Providers;
use crate::store::Store;

pub use error::WebError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub templates: Arc<Environment<'static>>,
    pub providers: Providers,
}

impl AppState {
    pub fn new(store: Store, providers: Providers) -> Result<AppState, minijinja::Error> {
        Ok(AppState {
            store,
            templates: Arc::new(templates()?),
            providers,
        })
    }
}

/// Templates are compiled into the binary from `templates/`.
fn templates() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.add_template("layout.html", include_str!("../../templates/layout.html"))?;
    env.add_template("status.html", include_str!("../../templates/status.html"))?;
    Ok(env)
}

pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(status::router())
        .merge(webhooks::router())
        .fallback(|| async { WebError::NotFound })
        .with_state(state)
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
}
