//! `Idempotency-Key` on the API's POST routes. The first request with a key
//! holds it while it runs; its answer is kept and the same key with the same
//! request replays it (`Idempotent-Replayed: true`); with another request it
//! is refused (422 `idempotency_mismatch`); while the first is still running,
//! 409 `request_in_progress` with `Retry-After`. Keys belong to the API key
//! that sent them.
//!
//! Work that must not run twice (it creates an order, a contract, an
//! operation) keeps its answer inside its own transaction ([`Keep`]): once
//! that commits, a retry gets that answer even if the database went away
//! before the client heard it. A request that fails before its work
//! committed is forgotten, so it may be retried, corrected, with the same
//! key; one that died without a word frees its key after [`HOLD`].
//!
//! Every mutation runs to completion in a task of its own, so a client that
//! hangs up does not leave a half-answered request behind.

mod sql;

use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use self::sql::Replay;
use super::{Api, ApiError};
use crate::auth::sha256_hex;
use crate::store::Tx;
use crate::web::AppState;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
const MAX_KEY: usize = 255;
/// How long a first request holds its key before a retry may take it over
/// (it died before committing): longer than any request's work.
pub const HOLD: std::time::Duration = std::time::Duration::from_secs(60);

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
                            crate::text!(
                                "de 1 à {max} caractères ASCII visibles, par exemple un UUID",
                                max = MAX_KEY
                            ),
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

/// Where a request's work keeps its answer in its own transaction.
#[derive(Clone, Default)]
pub struct Keep {
    target: Option<Target>,
}

#[derive(Clone)]
struct Target {
    api_key_id: i64,
    key: String,
    kept: Arc<Mutex<Option<Answer>>>,
}

impl Keep {
    /// Writes `answer` in `tx`, the transaction of the work it answers: it is
    /// replayed as soon as (and only if) that work commits. Without an
    /// `Idempotency-Key`, does nothing.
    pub async fn answer_in(&self, tx: &mut Tx, answer: &Answer) -> Result<(), ApiError> {
        if let Some(t) = &self.target {
            sql::keep_api_response(tx, t.api_key_id, &t.key, answer.0.as_u16(), &answer.1).await?;
            *t.kept.lock().unwrap_or_else(|e| e.into_inner()) = Some(answer.clone());
        }
        Ok(())
    }

    fn kept(&self) -> Option<Answer> {
        self.target
            .as_ref()
            .and_then(|t| t.kept.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

impl Idempotency {
    /// The client's key, scoped to the API key that sent it, for outside
    /// systems: a payment made for a request derives its provider key from
    /// it, so no retry of one checkout can ever make a second charge.
    pub fn scoped(&self, api_key_id: i64) -> Option<String> {
        self.key
            .as_deref()
            .map(|k| format!("api-{api_key_id}-{}", &sha256_hex(k)[..40]))
    }

    /// Runs `work` once per key (see the module's notes) and answers.
    pub async fn run<F, Fut>(self, api: &Api, body: &Value, work: F) -> Result<Response, ApiError>
    where
        F: FnOnce(Keep) -> Fut,
        Fut: Future<Output = Result<Answer, ApiError>> + Send + 'static,
    {
        let Some(key) = self.key else {
            return finish(tokio::spawn(work(Keep::default())).await);
        };
        let store = api.state.store.clone();
        let key_id = api.key.id;
        let hash = fingerprint(&self.method, &self.path, body);
        let now = store.now().await?;
        let hold = chrono::Duration::from_std(HOLD).unwrap_or(chrono::Duration::MAX);
        match sql::begin_api_request(&store, key_id, &key, &hash, now, hold).await? {
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
                    message: crate::text!(
                        "cette Idempotency-Key a servi pour une autre requête ; une nouvelle requête prend une nouvelle clé"
                    ),
                })
            }
            Replay::InFlight { until } => {
                let retry_after_secs = (until - now).num_seconds().clamp(1, HOLD.as_secs() as i64) as u64;
                return Err(ApiError::InProgress { retry_after_secs });
            }
        }
        let keep = Keep {
            target: Some(Target {
                api_key_id: key_id,
                key: key.clone(),
                kept: Arc::default(),
            }),
        };
        let work = work(keep.clone());
        let done = tokio::spawn(async move {
            let result = work.await;
            let kept = keep.kept();
            let saved = match (&result, &kept) {
                // Kept with the work, and nothing changed since.
                (Ok(answer), Some(k)) if answer == k => Ok(()),
                // The final answer (e.g. once the provider answered) replaces the kept one.
                (Ok((status, body)), _) if status.is_success() => {
                    sql::save_api_response(&store, key_id, &key, status.as_u16(), body).await
                }
                // Forgotten only if its work committed nothing: a kept answer
                // (its work committed) stays the answer.
                _ => match sql::forget_api_request(&store, key_id, &key).await {
                    Ok(()) => Ok(()),
                    Err(e) => {
                        // The database is away (a restart): keep trying in the
                        // background, so the key frees as soon as it is back
                        // rather than when its hold runs out.
                        tracing::warn!(error = %e, key, "cannot forget a failed request yet; retrying");
                        tokio::spawn(forget_later(store.clone(), key_id, key.clone()));
                        Ok(())
                    }
                },
            };
            if let Err(e) = saved {
                tracing::error!(error = %e, key, "the idempotent request's answer could not be kept");
            }
            result
        })
        .await;
        finish(done)
    }
}

/// Retries forgetting a failed request until the database answers, for as
/// long as the request holds its key.
async fn forget_later(store: crate::store::Store, key_id: i64, key: String) {
    let deadline = tokio::time::Instant::now() + HOLD;
    let mut wait = std::time::Duration::from_millis(200);
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(wait).await;
        match sql::forget_api_request(&store, key_id, &key).await {
            Ok(()) => return,
            Err(e) => tracing::debug!(error = %e, key, "still cannot forget the failed request"),
        }
        wait = (wait * 2).min(std::time::Duration::from_secs(5));
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
