//! The admin's error: a readable page with the right status; internals go
//! to the log, never to the page.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::auth::AuthError;
use crate::billing::import::ImportError;
use crate::billing::BillingError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("page introuvable / not found")]
    NotFound,
    #[error("accès refusé / forbidden")]
    Forbidden,
    /// Input that cannot be accepted, said in words the operator can act on.
    #[error("{0}")]
    Invalid(String),
    /// The action conflicts with the current state (a job already finished…).
    #[error("{0}")]
    Conflict(String),
    #[error("service momentanément indisponible, réessayez / service unavailable, try again")]
    Unavailable,
    #[error("erreur interne / internal error")]
    Internal(String),
}

impl AdminError {
    fn status(&self) -> StatusCode {
        match self {
            AdminError::NotFound => StatusCode::NOT_FOUND,
            AdminError::Forbidden => StatusCode::FORBIDDEN,
            AdminError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AdminError::Conflict(_) => StatusCode::CONFLICT,
            AdminError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AdminError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let AdminError::Internal(detail) = &self {
            tracing::error!(%detail, "admin request failed");
        }
        let message = self.to_string();
        // Rendered without the template engine: an error page must not fail.
        let html = format!(
            "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{code} · Comptoir</title>\
             <link rel=\"stylesheet\" href=\"/assets/admin.css\"></head><body class=\"error-page\">\
             <main><h1>{code}</h1><p class=\"error\">{message}</p>\
             <p><a href=\"javascript:history.back()\">← Retour / Back</a> · <a href=\"/admin\">Tableau de bord / Dashboard</a></p>\
             </main></body></html>",
            code = status.as_u16(),
            message = html_escape(&message),
        );
        (status, Html(html)).into_response()
    }
}

pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AdminError::NotFound,
            StoreError::Conflict(m) => AdminError::Conflict(m),
            StoreError::Unavailable(m) => {
                tracing::warn!(error = %m, "database unavailable");
                AdminError::Unavailable
            }
            other => AdminError::Internal(other.to_string()),
        }
    }
}

impl From<BillingError> for AdminError {
    fn from(e: BillingError) -> Self {
        match e {
            BillingError::NotFound(_) => AdminError::NotFound,
            BillingError::Invalid { .. } | BillingError::Refused(_) | BillingError::Money(_) => {
                AdminError::Invalid(e.to_string())
            }
            BillingError::Conflict(m) => AdminError::Conflict(m),
            BillingError::NoSettings => AdminError::Conflict(format!("{e} — comptoir-worker billing configure …")),
            BillingError::Store(s) => s.into(),
            BillingError::Queue(q) => q.into(),
            BillingError::Document(m) => AdminError::Internal(m),
            BillingError::Mail(m) => AdminError::Internal(m.to_string()),
            BillingError::BookAltered(m) => AdminError::Conflict(m),
            BillingError::Seal(crate::billing::seal::SealError::Store(s)) => s.into(),
            BillingError::Seal(s) => AdminError::Internal(s.to_string()),
        }
    }
}

impl From<crate::keeping::KeepingError> for AdminError {
    fn from(e: crate::keeping::KeepingError) -> Self {
        use crate::keeping::KeepingError;
        match e {
            KeepingError::Refused(m) => AdminError::Conflict(m),
            KeepingError::Store(s) => s.into(),
            KeepingError::Billing(b) => b.into(),
            other => AdminError::Internal(other.to_string()),
        }
    }
}

impl From<AuthError> for AdminError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Store(s) => s.into(),
            AuthError::Hash(m) => AdminError::Internal(m),
            AuthError::Queue(q) => q.into(),
            AuthError::NotFound => AdminError::NotFound,
            AuthError::Exists(_) => AdminError::Conflict(e.to_string()),
            other => AdminError::Invalid(other.to_string()),
        }
    }
}

impl From<ImportError> for AdminError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::NotFound(_) => AdminError::NotFound,
            ImportError::Store(s) => s.into(),
            ImportError::Io { .. } => AdminError::Internal(e.to_string()),
            e if e.is_transient() => AdminError::Conflict(e.to_string()),
            e => AdminError::Invalid(e.to_string()),
        }
    }
}

impl From<crate::jobs::Error> for AdminError {
    fn from(e: crate::jobs::Error) -> Self {
        match e {
            crate::jobs::Error::Store(s) => s.into(),
            other => AdminError::Invalid(other.to_string()),
        }
    }
}

impl From<minijinja::Error> for AdminError {
    fn from(e: minijinja::Error) -> Self {
        AdminError::Internal(format!("template: {e:#}"))
    }
}
