//! The API's error: a stable code, a message, and for validation errors the
//! field each message is about. Internals go to the log only.
//!
//! Messages are said in English (developers read them) unless the request's
//! `Accept-Language` prefers French ([`localize`]); codes and the names in
//! `fields` are the API's contract and never change with the language.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::AuthError;
use crate::billing::error::Message;
use crate::billing::BillingError;
use crate::i18n::{Lang, Text};
use crate::store::StoreError;
use crate::text;

/// One field's problem: `field` is a path into the request body (`items[0].sku`).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: Text,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{}", self.message(Lang::Fr))]
    Unauthorized,
    /// What was not found, in the API's words (`invoice 5`, `resource`).
    #[error("{}", self.message(Lang::Fr))]
    NotFound(String),
    /// 405: the route exists, with other methods.
    #[error("{}", self.message(Lang::Fr))]
    MethodNotAllowed,
    /// 422: the body or query does not validate.
    #[error("{}", self.message(Lang::Fr))]
    Validation(Vec<FieldError>),
    /// 422: valid, but a business rule refused it (`code` is stable, e.g. `ceiling_exceeded`).
    #[error("{}", self.message(Lang::Fr))]
    Refused { code: &'static str, message: Text },
    /// 409: conflicts with the current state.
    #[error("{}", self.message(Lang::Fr))]
    Conflict(Text),
    /// 409: the first request with this `Idempotency-Key` is still being answered.
    #[error("{}", self.message(Lang::Fr))]
    InProgress { retry_after_secs: u64 },
    /// 400: not JSON, wrong content type.
    #[error("{}", self.message(Lang::Fr))]
    BadRequest(Text),
    #[error("{}", self.message(Lang::Fr))]
    Unavailable,
    #[error("{}", self.message(Lang::Fr))]
    Internal(String),
}

impl ApiError {
    /// A 422 on one field, its message a `text!(…)`.
    pub fn field(field: impl Into<String>, message: impl Message) -> ApiError {
        ApiError::Validation(vec![FieldError {
            field: field.into(),
            message: message.into_text(),
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

    /// The error's message in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        let said = match self {
            ApiError::Unauthorized => text!("une clé d'API valide est requise"),
            ApiError::NotFound(what) => text!("{what} introuvable", what = what),
            ApiError::MethodNotAllowed => {
                text!("cette méthode n'est pas permise sur cette route (voir /api/openapi.json)")
            }
            ApiError::Validation(_) => text!("requête invalide"),
            ApiError::Refused { message, .. } | ApiError::Conflict(message) | ApiError::BadRequest(message) => {
                message.clone()
            }
            ApiError::InProgress { .. } => {
                text!("une requête avec cette Idempotency-Key est encore en cours ; réessayez plus tard")
            }
            ApiError::Unavailable => text!("service indisponible, réessayez plus tard"),
            ApiError::Internal(_) => text!("erreur interne"),
        };
        said.in_lang(lang)
    }

    /// The JSON body of this error, its messages in `lang`.
    pub fn body(&self, lang: Lang) -> serde_json::Value {
        let mut error = json!({ "code": self.code(), "message": self.message(lang) });
        if let ApiError::Validation(fields) = self {
            error["fields"] = fields
                .iter()
                .map(|f| json!({ "field": f.field, "message": f.message.in_lang(lang) }))
                .collect();
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

    pub fn add(&mut self, field: impl Into<String>, message: impl Message) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into_text(),
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

/// An error's words, kept on its response so that [`localize`], which sees
/// the request, can say them in the caller's language.
#[derive(Clone)]
struct Said(std::sync::Arc<ApiError>);

/// The language an API caller reads: French when `Accept-Language` prefers
/// it, English otherwise (developers read the messages).
pub fn caller_lang(headers: &axum::http::HeaderMap) -> Lang {
    headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_accept_language)
        .unwrap_or(Lang::En)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "API request failed");
        }
        let mut response = (self.status(), axum::Json(self.body(Lang::En))).into_response();
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
        response.extensions_mut().insert(Said(std::sync::Arc::new(self)));
        response
    }
}

/// Middleware of the API's routes: an error answered to a caller who
/// prefers French is said again in French (the body only; status, code and
/// headers stay).
pub async fn localize(request: Request, next: Next) -> Response {
    let lang = caller_lang(request.headers());
    let response = next.run(request).await;
    if lang == Lang::En {
        return response;
    }
    match response.extensions().get::<Said>().cloned() {
        Some(Said(error)) => {
            let (mut parts, _) = response.into_parts();
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            let body = axum::Json(error.body(lang)).into_response().into_body();
            Response::from_parts(parts, body)
        }
        None => response,
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("resource".into()),
            StoreError::Conflict(detail) => {
                tracing::info!(%detail, "API conflict");
                ApiError::Conflict(text!(
                    "une autre action a modifié ces données entre-temps : rechargez la page et réessayez"
                ))
            }
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
                message: r.text(),
            },
            BillingError::Money(m) => ApiError::Refused {
                code: "invalid_amount",
                message: m.text(),
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
            BillingError::BookAltered(m) => ApiError::Conflict(Text::verbatim(m)),
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
