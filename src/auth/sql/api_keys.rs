//! API keys (`ck_<prefix>_<secret>`, only the SHA-256 stored).

use chrono::{DateTime, Utc};

use super::operators::operator;
use crate::auth::{ApiKey, Operator};
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Store, StoreError, Tx};

const API_KEY: &str = "id, operator_id, name, prefix, created_at, last_used_at, revoked_at";

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
                o.id, o.email, o.name, o.created_at, o.disabled_at, o.language
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
