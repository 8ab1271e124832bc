//! The one-time link that creates the first operator.

use chrono::{DateTime, Utc};

use crate::store::sql::{read, sql};
use crate::store::{Store, StoreError, Tx};

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
