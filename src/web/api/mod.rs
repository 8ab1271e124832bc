//! The JSON API under `/api`, for a checkout page or another service.
//! Callers authenticate with an API key (`Authorization: Bearer ck_…`);
//! errors are `{"error": {"code", "message", "fields"?}}`; validation errors
//! answer 422 with a message per field; nothing answers 500 with internals.
//! `GET /api/openapi.json` describes every route here (kept true by a test).

mod bank;
mod contracts;
mod credit_notes;
mod customers;
mod error;
mod extract;
pub mod idempotency;
mod invoices;
mod jobs;
mod money;
mod openapi;
mod orders;
mod payments;
mod prices;
mod products;
mod queues;
mod settings;
mod urssaf;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

pub use error::{caller_lang, localize, ApiError, FieldError};
pub use extract::{Json, Path, Query};
pub use openapi::DOCUMENT as OPENAPI;

use super::guard::Caller;
use super::{AppState, Routes};
use crate::audit::Actor;
use crate::auth::ApiKey;

pub(super) fn routes() -> Routes {
    Routes::new()
        .merge(openapi::routes())
        .merge(prices::routes())
        .merge(orders::routes())
        .merge(payments::routes())
        .merge(contracts::routes())
        .merge(products::routes())
        .merge(customers::routes())
        .merge(invoices::routes())
        .merge(credit_notes::routes())
        .merge(settings::routes())
        .merge(urssaf::routes())
        .merge(bank::routes())
        .merge(queues::routes())
        .merge(jobs::routes())
}

/// The API key a request was admitted with (the guard put it there).
#[derive(Clone)]
pub struct Api {
    pub state: AppState,
    pub key: ApiKey,
    pub actor: Actor,
}

impl FromRequestParts<AppState> for Api {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Caller>() {
            Some(Caller::ApiKey { key, actor }) => Ok(Api {
                state: state.clone(),
                key: key.clone(),
                actor: actor.clone(),
            }),
            _ => Err(ApiError::Unauthorized),
        }
    }
}
