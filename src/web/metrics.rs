//! `GET /metrics` in Prometheus text format (to be built; see issue 5), and
//! the middleware that counts HTTP requests.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use super::Routes;

pub(super) fn routes() -> Routes {
    Routes::new()
}

/// Counts every request by method, matched route and status.
pub(super) async fn track(request: Request, next: Next) -> Response {
    next.run(request).await
}
