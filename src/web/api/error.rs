//! The API's error: a stable code, a message, and for validation errors the
//! field each message is about. Internals go to the log only.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::auth::AuthError;
use crate::billing::BillingError;
use crate::store::StoreError;

/// One field's problem: `field` is a path into the request body (`items[0].sku`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("a valid API key is required")]
    Unauthorized,
    #[error("{0} not found")]
    NotFound(String),
    /// 405: the route exists, with other methods.
    #[error("this method is not allowed on this route (see /api/openapi.json)")]
    MethodNotAllowed,
    /// 422: the body or query does not validate.
    #[error("invalid request")]
    Validation(Vec<FieldError>),
    /// 422: valid, but a business rule refused it (`code` is stable, e.g. `ceiling_exceeded`).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    /// 409: conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 409: the first request with this `Idempotency-Key` is still being answered.
    #[error("a request with this Idempotency-Key is still in progress; retry later")]
    InProgress { retry_after_secs: u64 },
    /// 400: not JSON, wrong content type.
    #[error("{0}")]
    BadRequest(String),
    #[error("service unavailable, try again later")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::Validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Validation(_) | ApiError::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(_) | ApiError::InProgress { .. } => StatusCode::CONFLICT,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Validation(_) => "invalid",
            ApiError::Refused { code, .. } => code,
            ApiError::Conflict(_) => "conflict",
            ApiError::InProgress { .. } => "request_in_progress",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The JSON body of this error.
    pub fn body(&self) -> serde_json::Value {
        let mut error = json!({ "code": self.code(), "message": self.to_string() });
        if let ApiError::Validation(fields) = self {
            error["fields"] = json!(fields);
        }
        json!({ "error": error })
    }
}

/// Collects every field's problem of a request, to answer them all at once.
#[derive(Debug, Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    pub fn new() -> Fields {
        Fields::default()
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// `Ok` when nothing was added, else a 422 naming every field.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "API request failed");
        }
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        let retry_after = match &self {
            ApiError::InProgress { retry_after_secs } => Some(*retry_after_secs),
            ApiError::Unavailable => Some(1),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("resource".into()),
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::Unavailable(m) => {
                tracing::warn!(error = %m, "database unavailable");
                ApiError::Unavailable
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<BillingError> for ApiError {
    fn from(e: BillingError) -> Self {
        match e {
            BillingError::Invalid { field, message } => ApiError::field(field, message),
            BillingError::Refused(r) => ApiError::Refused {
                code: r.code(),
                message: r.to_string(),
            },
            BillingError::Money(m) => ApiError::Refused {
                code: "invalid_amount",
                message: m.to_string(),
            },
            BillingError::NotFound(what) => ApiError::NotFound(what),
            BillingError::Conflict(m) => ApiError::Conflict(m),
            BillingError::NoSettings => {
                tracing::error!("billing settings are not configured");
                ApiError::Unavailable
            }
            BillingError::Store(s) => s.into(),
            BillingError::Queue(q) => q.into(),
            BillingError::Document(m) => ApiError::Internal(m),
            BillingError::Mail(m) => ApiError::Internal(m.to_string()),
            BillingError::BookAltered(m) => ApiError::Conflict(m),
            BillingError::Seal(crate::billing::seal::SealError::Store(s)) => s.into(),
            BillingError::Seal(s) => ApiError::Internal(s.to_string()),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Store(s) => s.into(),
            AuthError::Invalid { field, message } => ApiError::field(field, message),
            AuthError::NotFound => ApiError::NotFound("resource".into()),
            AuthError::Hash(m) => ApiError::Internal(m),
            AuthError::Queue(q) => q.into(),
            _ => ApiError::Unauthorized,
        }
    }
}

impl From<crate::jobs::Error> for ApiError {
    fn from(e: crate::jobs::Error) -> Self {
        match e {
            crate::jobs::Error::Store(s) => s.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}
