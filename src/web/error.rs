use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::store::StoreError;

/// The one error type of the web layer. Internal details go to the log, never
/// to the client.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    #[error("service unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => WebError::NotFound,
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "database unavailable");
                WebError::Unavailable
            }
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<minijinja::Error> for WebError {
    fn from(e: minijinja::Error) -> Self {
        WebError::Internal(format!("template: {e:#}"))
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = match &self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (status, Json(serde_json::json!({ "error": self.to_string() }))).into_response()
    }
}
