//! `Idempotency-Key` on the API's POST routes. The first request with a key
//! is run and, when it succeeds (2xx), its answer is kept: the same key with
//! the same request replays that answer (`Idempotent-Replayed: true`); with
//! another request it is refused (422 `idempotency_mismatch`); while the first
//! is still being answered, 409 `request_in_progress`. A request that fails
//! (4xx, 5xx) is forgotten: nothing was done, so it may be retried, corrected,
//! with the same key. Keys belong to the API key that sent them.
//!
//! Every mutation runs to completion in a task of its own, so a client that
//! hangs up does not leave a half-answered request behind.

use std::future::Future;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use super::{Api, ApiError};
use crate::auth::sha256_hex;
use crate::store::access::{self, Replay};
use crate::web::AppState;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
const MAX_KEY: usize = 255;

/// What a handler's work answers: a status and a JSON body.
pub type Answer = (StatusCode, Value);

/// The JSON of `value` with `status`.
pub fn answer<T: Serialize>(status: StatusCode, value: &T) -> Result<Answer, ApiError> {
    serde_json::to_value(value)
        .map(|v| (status, v))
        .map_err(|e| ApiError::Internal(format!("serializing an answer: {e}")))
}

/// The request's `Idempotency-Key`, method and path.
pub struct Idempotency {
    key: Option<String>,
    method: String,
    path: String,
}

impl FromRequestParts<AppState> for Idempotency {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        let key = match parts.headers.get(HEADER) {
            None => None,
            Some(value) => {
                let key = value
                    .to_str()
                    .ok()
                    .map(str::trim)
                    .filter(|k| !k.is_empty() && k.len() <= MAX_KEY && k.bytes().all(|b| b.is_ascii_graphic()))
                    .ok_or_else(|| {
                        ApiError::field(
                            "Idempotency-Key",
                            format!("1 to {MAX_KEY} visible ASCII characters, e.g. a UUID"),
                        )
                    })?;
                Some(key.to_string())
            }
        };
        Ok(Idempotency {
            key,
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
        })
    }
}

/// What a request is, for telling "the same request again" from another:
/// SHA-256 of the method, the path and the body as canonical JSON (keys
/// sorted, no spaces).
pub fn fingerprint(method: &str, path: &str, body: &Value) -> String {
    sha256_hex(&format!("{method} {path}\n{body}"))
}

impl Idempotency {
    /// Runs `work` once per key (see the module's notes) and answers.
    pub async fn run<F>(self, api: &Api, body: &Value, work: F) -> Result<Response, ApiError>
    where
        F: Future<Output = Result<Answer, ApiError>> + Send + 'static,
    {
        let Some(key) = self.key else {
            return finish(tokio::spawn(work).await);
        };
        let store = api.state.store.clone();
        let key_id = api.key.id;
        let hash = fingerprint(&self.method, &self.path, body);
        match access::begin_api_request(&store, key_id, &key, &hash).await? {
            Replay::New => {}
            Replay::Answer { status, body } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                let mut response = (status, axum::Json(body)).into_response();
                response
                    .headers_mut()
                    .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
                return Ok(response);
            }
            Replay::Mismatch => {
                return Err(ApiError::Refused {
                    code: "idempotency_mismatch",
                    message: "this Idempotency-Key was used with another request; use a new key for a new request"
                        .into(),
                })
            }
            Replay::InFlight => return Err(ApiError::InProgress),
        }
        let done = tokio::spawn(async move {
            let result = work.await;
            let kept = match &result {
                Ok((status, body)) if status.is_success() => {
                    access::save_api_response(&store, key_id, &key, status.as_u16(), body).await
                }
                _ => access::forget_api_request(&store, key_id, &key).await,
            };
            if let Err(e) = kept {
                tracing::error!(error = %e, key, "the idempotent request's answer could not be kept");
            }
            result
        })
        .await;
        finish(done)
    }
}

fn finish(done: Result<Result<Answer, ApiError>, tokio::task::JoinError>) -> Result<Response, ApiError> {
    match done {
        Ok(Ok((status, body))) => Ok((status, axum::Json(body)).into_response()),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(ApiError::Internal(format!("request task: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::fingerprint;

    #[test]
    fn fingerprints_ignore_key_order_but_not_values() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b": 1, "a": [1, 2]}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{"a":[1,2],"b":1}"#).unwrap();
        assert_eq!(
            fingerprint("POST", "/api/orders", &a),
            fingerprint("POST", "/api/orders", &b)
        );
        assert_ne!(
            fingerprint("POST", "/api/orders", &a),
            fingerprint("POST", "/api/orders", &json!({"a": [2, 1], "b": 1}))
        );
        assert_ne!(
            fingerprint("POST", "/api/orders", &a),
            fingerprint("POST", "/api/other", &a)
        );
    }
}
