//! The admin's error: a readable page with the right status, in the
//! operator's language; internals go to the log, never to the page.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::auth::AuthError;
use crate::billing::import::ImportError;
use crate::billing::BillingError;
use crate::i18n::{Lang, Text};
use crate::store::StoreError;
use crate::text;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("page introuvable")]
    NotFound,
    #[error("accès refusé")]
    Forbidden,
    /// Input that cannot be accepted, said in words the operator can act on.
    #[error("{0}")]
    Invalid(Text),
    /// The action conflicts with the current state (a job already finished…).
    #[error("{0}")]
    Conflict(Text),
    #[error("service momentanément indisponible, réessayez")]
    Unavailable,
    #[error("erreur interne")]
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

    /// What the page says, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            AdminError::Invalid(t) | AdminError::Conflict(t) => t.in_lang(lang),
            AdminError::NotFound => text!("page introuvable").in_lang(lang),
            AdminError::Forbidden => text!("accès refusé").in_lang(lang),
            AdminError::Unavailable => text!("service momentanément indisponible, réessayez").in_lang(lang),
            AdminError::Internal(_) => text!("erreur interne").in_lang(lang),
        }
    }
}

/// An error page's words, kept on its response so that the operator's guard,
/// which knows their language, can say it again in English
/// ([`localize`]).
#[derive(Clone)]
struct Said(std::sync::Arc<AdminError>);

/// The error page itself, rendered without the template engine: an error
/// page must not fail.
fn page(status: StatusCode, message: &str, lang: Lang) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{code} · Comptoir</title>\
         <link rel=\"stylesheet\" href=\"/assets/admin.css\"></head><body class=\"error-page\">\
         <main><h1>{code}</h1><p class=\"error\">{message}</p>\
         <p><a href=\"javascript:history.back()\">← {back}</a> · <a href=\"/admin\">{home}</a></p>\
         </main></body></html>",
        code = status.as_u16(),
        message = html_escape(message),
        back = html_escape(&text!("Retour").in_lang(lang)),
        home = html_escape(&text!("Tableau de bord").in_lang(lang)),
    ))
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let AdminError::Internal(detail) = &self {
            tracing::error!(%detail, "admin request failed");
        }
        let mut response = (status, page(status, &self.message(Lang::Fr), Lang::Fr)).into_response();
        response.extensions_mut().insert(Said(std::sync::Arc::new(self)));
        response
    }
}

/// An admin error page said again in `lang` (the operator's).
pub(crate) fn localize(response: Response, lang: Lang) -> Response {
    if lang == Lang::Fr {
        return response;
    }
    match response.extensions().get::<Said>().cloned() {
        Some(Said(error)) => {
            let status = response.status();
            let (mut parts, _) = response.into_parts();
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            let body = page(status, &error.message(lang), lang).into_response().into_body();
            Response::from_parts(parts, body)
        }
        None => response,
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
            StoreError::Conflict(detail) => {
                // The database's words (a row changed meanwhile, a unique key): for the log.
                tracing::info!(%detail, "admin conflict");
                AdminError::Conflict(text!(
                    "une autre action a modifié ces données entre-temps : rechargez la page et réessayez"
                ))
            }
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
                AdminError::Invalid(e.text().unwrap_or_else(|| Text::verbatim(e.to_string())))
            }
            BillingError::Conflict(m) => AdminError::Conflict(m),
            BillingError::NoSettings => AdminError::Conflict(text!(
                "les réglages de facturation ne sont pas faits (identité du vendeur, SIREN, séries) : \
                 remplissez la page Réglages ou lancez comptoir-worker billing configure"
            )),
            BillingError::Store(s) => s.into(),
            BillingError::Queue(q) => q.into(),
            BillingError::Document(m) => AdminError::Internal(m),
            BillingError::Mail(m) => AdminError::Internal(m.to_string()),
            BillingError::BookAltered(m) => AdminError::Conflict(Text::verbatim(m)),
            BillingError::Seal(crate::billing::seal::SealError::Store(s)) => s.into(),
            BillingError::Seal(s) => AdminError::Internal(s.to_string()),
        }
    }
}

impl From<crate::keeping::KeepingError> for AdminError {
    fn from(e: crate::keeping::KeepingError) -> Self {
        use crate::keeping::KeepingError;
        match e {
            KeepingError::Refused(m) => AdminError::Conflict(Text::verbatim(m)),
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
            AuthError::Exists(_) => AdminError::Conflict(e.text()),
            other => AdminError::Invalid(other.text()),
        }
    }
}

impl From<ImportError> for AdminError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::NotFound(_) => AdminError::NotFound,
            ImportError::Store(s) => s.into(),
            ImportError::Io { .. } => AdminError::Internal(e.to_string()),
            e if e.is_transient() => AdminError::Conflict(e.text()),
            e => AdminError::Invalid(e.text()),
        }
    }
}

impl From<crate::jobs::Error> for AdminError {
    fn from(e: crate::jobs::Error) -> Self {
        match e {
            crate::jobs::Error::Store(s) => s.into(),
            other => AdminError::Invalid(other.text()),
        }
    }
}

impl From<minijinja::Error> for AdminError {
    fn from(e: minijinja::Error) -> Self {
        AdminError::Internal(format!("template: {e:#}"))
    }
}
