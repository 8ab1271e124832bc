//! The API's idempotency records (`api_requests`), written once for both
//! backends (see `store::sql`).

use chrono::{DateTime, Utc};

use crate::store::sql::sql;
use crate::store::{Store, StoreError, Tx};

/// What a request under an idempotency key finds.
pub(crate) enum Replay {
    /// First time (or the first request died before committing anything): the
    /// caller does the work, keeping its answer in the work's transaction
    /// ([`keep_api_response`]) or, for work that is safe to repeat, after it
    /// ([`save_api_response`]).
    New,
    /// Done before with the same request: this answer.
    Answer { status: u16, body: serde_json::Value },
    /// The key was used with another request.
    Mismatch,
    /// The key's first request is still running; it holds the key until then.
    InFlight { until: DateTime<Utc> },
}

/// Takes the key for a request whose fingerprint is `request_hash`, holding
/// it until `now + hold` (a request that dies without committing frees it
/// then). `now` is the database's clock.
pub(crate) async fn begin_api_request(
    store: &Store,
    api_key_id: i64,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
    hold: chrono::Duration,
) -> Result<Replay, StoreError> {
    let mut tx = store.begin().await?;
    let until = now + hold;
    let inserted = sql!(
        execute,
        tx,
        "INSERT INTO api_requests (api_key_id, idempotency_key, request_hash, created_at, locked_until)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (api_key_id, idempotency_key) DO NOTHING",
        api_key_id,
        key,
        request_hash,
        now,
        until
    )?;
    if inserted == 1 {
        tx.commit().await?;
        return Ok(Replay::New);
    }
    let r = sql!(
        fetch_one,
        tx,
        // INTEGER on both; read as BIGINT so that PostgreSQL's int4 decodes as i64.
        "SELECT request_hash, CAST(status AS BIGINT) AS status, response, locked_until FROM api_requests
         WHERE api_key_id = $1 AND idempotency_key = $2",
        api_key_id,
        key
    )?;
    let hash: String = r.get("request_hash")?;
    if hash != request_hash {
        tx.commit().await?;
        return Ok(Replay::Mismatch);
    }
    let status: Option<i64> = r.get("status")?;
    if let Some(status) = status {
        tx.commit().await?;
        return Ok(Replay::Answer {
            status: u16::try_from(status).map_err(|_| StoreError::Corrupt(format!("status {status}")))?,
            body: r.opt_json("response")?.unwrap_or(serde_json::Value::Null),
        });
    }
    let held_until: Option<DateTime<Utc>> = r.get("locked_until")?;
    match held_until {
        Some(t) if t > now => {
            tx.commit().await?;
            Ok(Replay::InFlight { until: t })
        }
        // The first request died before committing its work: this one takes
        // the key over, unless another retry just did.
        _ => {
            let taken = sql!(
                execute,
                tx,
                "UPDATE api_requests SET locked_until = $1
                 WHERE api_key_id = $2 AND idempotency_key = $3 AND status IS NULL
                   AND (locked_until IS NULL OR locked_until <= $4)",
                until,
                api_key_id,
                key,
                now
            )?;
            tx.commit().await?;
            Ok(if taken == 1 {
                Replay::New
            } else {
                Replay::InFlight { until }
            })
        }
    }
}

/// Keeps the answer inside the work's own transaction: once the work
/// commits, a retry with the key gets this answer, whatever became of the
/// connection that should have carried it.
pub(crate) async fn keep_api_response(
    tx: &mut Tx,
    api_key_id: i64,
    key: &str,
    status: u16,
    body: &serde_json::Value,
) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE api_requests SET status = $1, response = $2, locked_until = NULL
         WHERE api_key_id = $3 AND idempotency_key = $4",
        i64::from(status),
        sqlx::types::Json(body.clone()),
        api_key_id,
        key
    )?;
    Ok(())
}

/// Keeps the answer after the work (or replaces the one kept in it by the
/// final one, e.g. once the provider answered).
pub(crate) async fn save_api_response(
    store: &Store,
    api_key_id: i64,
    key: &str,
    status: u16,
    body: &serde_json::Value,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    keep_api_response(&mut tx, api_key_id, key, status, body).await?;
    tx.commit().await
}

/// Forgets a request that failed before its work committed anything, so that
/// a retry runs it again. A request whose answer was kept is never forgotten.
pub(crate) async fn forget_api_request(store: &Store, api_key_id: i64, key: &str) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    sql!(
        execute,
        tx,
        "DELETE FROM api_requests WHERE api_key_id = $1 AND idempotency_key = $2 AND status IS NULL",
        api_key_id,
        key
    )?;
    tx.commit().await
}
