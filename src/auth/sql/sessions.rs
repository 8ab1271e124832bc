//! Sessions of signed-in operators (only the token's SHA-256 is stored).

use chrono::{DateTime, Utc};

use super::operators::operator;
use crate::auth::Operator;
use crate::store::sql::{read, sql};
use crate::store::{Store, StoreError, Tx};

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
        "SELECT o.id, o.email, o.name, o.created_at, o.disabled_at, o.language,
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
