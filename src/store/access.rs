//! Who may use the admin and the API: operators, sessions, the one-time
//! setup link, API keys and API idempotency (sign-in throttling, device
//! cookies and sign-in links are in `store::signin`). Written once for both
//! backends (see `store::sql`).

use chrono::{DateTime, Utc};

use crate::auth::{ApiKey, Operator};
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Store, StoreError, Tx};

const OPERATOR: &str = "id, email, name, created_at, disabled_at";
const API_KEY: &str = "id, operator_id, name, prefix, created_at, last_used_at, revoked_at";

fn operator(r: &AnyRow) -> Result<Operator, StoreError> {
    Ok(Operator {
        id: r.get("id")?,
        email: r.get("email")?,
        name: r.get("name")?,
        created_at: r.get("created_at")?,
        disabled_at: r.get("disabled_at")?,
    })
}

fn api_key(r: &AnyRow) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: r.get("id")?,
        operator_id: r.get("operator_id")?,
        name: r.get("name")?,
        prefix: r.get("prefix")?,
        created_at: r.get("created_at")?,
        last_used_at: r.get("last_used_at")?,
        revoked_at: r.get("revoked_at")?,
    })
}

pub(crate) async fn insert_operator(
    tx: &mut Tx,
    email: &str,
    name: &str,
    password_hash: &str,
) -> Result<Operator, StoreError> {
    let row = sql!(
        fetch_one,
        tx,
        &format!(
            "INSERT INTO operators (email, name, password_hash, created_at) VALUES ($1, $2, $3, $4)
             RETURNING {OPERATOR}"
        ),
        email,
        name,
        password_hash,
        Utc::now()
    )?;
    operator(&row)
}

pub(crate) async fn set_password(tx: &mut Tx, id: i64, password_hash: &str) -> Result<(), StoreError> {
    match sql!(
        execute,
        tx,
        "UPDATE operators SET password_hash = $1 WHERE id = $2",
        password_hash,
        id
    )? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub(crate) async fn count_operators(store: &Store) -> Result<i64, StoreError> {
    read!(fetch_one, store, "SELECT COUNT(*) AS n FROM operators")?.get("n")
}

pub(crate) async fn count_operators_in(tx: &mut Tx) -> Result<i64, StoreError> {
    sql!(fetch_one, tx, "SELECT COUNT(*) AS n FROM operators")?.get("n")
}

pub(crate) async fn list_operators(store: &Store) -> Result<Vec<Operator>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!("SELECT {OPERATOR} FROM operators ORDER BY id")
    )?
    .iter()
    .map(operator)
    .collect()
}

/// The operator and its password hash, for a sign-in.
pub(crate) async fn credentials(store: &Store, email: &str) -> Result<Option<(Operator, String)>, StoreError> {
    let row = read!(
        fetch_optional,
        store,
        &format!("SELECT {OPERATOR}, password_hash FROM operators WHERE email = $1"),
        email
    )?;
    match row {
        Some(r) => Ok(Some((operator(&r)?, r.get("password_hash")?))),
        None => Ok(None),
    }
}

/// The operator with this id, inside the caller's transaction.
pub(crate) async fn operator_in(tx: &mut Tx, id: i64) -> Result<Option<Operator>, StoreError> {
    let row = sql!(
        fetch_optional,
        tx,
        &format!("SELECT {OPERATOR} FROM operators WHERE id = $1"),
        id
    )?;
    row.as_ref().map(operator).transpose()
}

// ---- sessions ----------------------------------------------------------

pub(crate) struct NewSession<'a> {
    pub token_hash: &'a str,
    pub operator_id: i64,
    pub csrf_token: &'a str,
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub expires_at: DateTime<Utc>,
}

/// Inside the caller's transaction (a sign-in link is burnt in the same one).
pub(crate) async fn insert_session(tx: &mut Tx, s: &NewSession<'_>) -> Result<(), StoreError> {
    let now = Utc::now();
    sql!(
        execute,
        tx,
        "INSERT INTO sessions (token_hash, operator_id, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
        s.token_hash,
        s.operator_id,
        s.csrf_token,
        s.ip,
        s.user_agent,
        now,
        s.expires_at
    )?;
    // Expired sessions of anyone go at each sign-in: the table stays small.
    sql!(execute, tx, "DELETE FROM sessions WHERE expires_at < $1", now)?;
    Ok(())
}

/// A session row with its operator: (operator, csrf token, last seen, expires at).
pub(crate) async fn session(
    store: &Store,
    token_hash: &str,
) -> Result<Option<(Operator, String, DateTime<Utc>, DateTime<Utc>)>, StoreError> {
    let row = read!(
        fetch_optional,
        store,
        "SELECT o.id, o.email, o.name, o.created_at, o.disabled_at,
                s.csrf_token, s.last_seen_at, s.expires_at
         FROM sessions s JOIN operators o ON o.id = s.operator_id
         WHERE s.token_hash = $1",
        token_hash
    )?;
    match row {
        Some(r) => Ok(Some((
            operator(&r)?,
            r.get("csrf_token")?,
            r.get("last_seen_at")?,
            r.get("expires_at")?,
        ))),
        None => Ok(None),
    }
}

pub(crate) async fn touch_session(store: &Store, token_hash: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    sql!(
        execute,
        tx,
        "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2",
        at,
        token_hash
    )?;
    tx.commit().await
}

pub(crate) async fn delete_session(store: &Store, token_hash: &str) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    sql!(execute, tx, "DELETE FROM sessions WHERE token_hash = $1", token_hash)?;
    tx.commit().await
}

pub(crate) async fn delete_sessions_of(tx: &mut Tx, operator_id: i64) -> Result<u64, StoreError> {
    sql!(execute, tx, "DELETE FROM sessions WHERE operator_id = $1", operator_id)
}

// ---- the one-time setup link --------------------------------------------

pub(crate) async fn insert_setup_token(
    store: &Store,
    token_hash: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    sql!(
        execute,
        tx,
        "INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)",
        token_hash,
        Utc::now(),
        expires_at
    )?;
    tx.commit().await
}

/// Whether the token is unused and unexpired.
pub(crate) async fn setup_token_valid(store: &Store, token_hash: &str) -> Result<bool, StoreError> {
    let row = read!(
        fetch_optional,
        store,
        "SELECT 1 AS ok FROM setup_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        token_hash,
        Utc::now()
    )?;
    Ok(row.is_some())
}

/// Marks the token used; false when it was not valid any more.
pub(crate) async fn use_setup_token(tx: &mut Tx, token_hash: &str) -> Result<bool, StoreError> {
    let n = sql!(
        execute,
        tx,
        "UPDATE setup_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
        Utc::now(),
        token_hash
    )?;
    Ok(n == 1)
}

// ---- API keys ------------------------------------------------------------

pub(crate) async fn insert_api_key(
    tx: &mut Tx,
    operator_id: i64,
    name: &str,
    prefix: &str,
    key_hash: &str,
) -> Result<ApiKey, StoreError> {
    let row = sql!(
        fetch_one,
        tx,
        &format!(
            "INSERT INTO api_keys (operator_id, name, prefix, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)
             RETURNING {API_KEY}"
        ),
        operator_id,
        name,
        prefix,
        key_hash,
        Utc::now()
    )?;
    api_key(&row)
}

/// The live key with this prefix and its hash, with its operator.
pub(crate) async fn api_key_by_prefix(
    store: &Store,
    prefix: &str,
) -> Result<Option<(ApiKey, String, Operator)>, StoreError> {
    let row = read!(
        fetch_optional,
        store,
        "SELECT k.id AS key_id, k.operator_id, k.name AS key_name, k.prefix, k.key_hash,
                k.created_at AS key_created_at, k.last_used_at, k.revoked_at,
                o.id, o.email, o.name, o.created_at, o.disabled_at
         FROM api_keys k JOIN operators o ON o.id = k.operator_id
         WHERE k.prefix = $1",
        prefix
    )?;
    let Some(r) = row else { return Ok(None) };
    let key = ApiKey {
        id: r.get("key_id")?,
        operator_id: r.get("operator_id")?,
        name: r.get("key_name")?,
        prefix: r.get("prefix")?,
        created_at: r.get("key_created_at")?,
        last_used_at: r.get("last_used_at")?,
        revoked_at: r.get("revoked_at")?,
    };
    Ok(Some((key, r.get("key_hash")?, operator(&r)?)))
}

pub(crate) async fn touch_api_key(store: &Store, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    sql!(
        execute,
        tx,
        "UPDATE api_keys SET last_used_at = $1 WHERE id = $2",
        at,
        id
    )?;
    tx.commit().await
}

pub(crate) async fn list_api_keys(store: &Store) -> Result<Vec<ApiKey>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!("SELECT {API_KEY} FROM api_keys ORDER BY id DESC")
    )?
    .iter()
    .map(api_key)
    .collect()
}

/// Revokes a live key; `NotFound` when no live key has this id.
pub(crate) async fn revoke_api_key(tx: &mut Tx, id: i64) -> Result<ApiKey, StoreError> {
    let row = sql!(
        fetch_optional,
        tx,
        &format!("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING {API_KEY}"),
        Utc::now(),
        id
    )?;
    row.as_ref().map(api_key).transpose()?.ok_or(StoreError::NotFound)
}

// ---- API idempotency -----------------------------------------------------

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
