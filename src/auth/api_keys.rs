//! API keys: `ck_<prefix>_<secret>`, created in the admin, shown once,
//! stored as a SHA-256, revocable, several per operator.

use chrono::Utc;

use super::secret::constant_time_eq;
use super::sql;
use super::{invalid, random_token, sha256_hex, ApiKey, AuthError, Operator};
use crate::store::{Store, StoreError, Tx};

/// A key just created: `secret` is the whole key, shown to the operator once.
#[derive(Debug)]
pub struct NewApiKey {
    pub key: ApiKey,
    pub secret: String,
}

#[tracing::instrument(skip(store))]
pub async fn create_key(store: &Store, operator_id: i64, name: &str) -> Result<NewApiKey, AuthError> {
    let mut tx = store.begin().await?;
    let key = create_key_in(&mut tx, operator_id, name).await?;
    tx.commit().await?;
    Ok(key)
}

/// [`create_key`] inside the caller's transaction (with its audit entry, say).
pub async fn create_key_in(tx: &mut Tx, operator_id: i64, name: &str) -> Result<NewApiKey, AuthError> {
    let name = match crate::input::single_line(name, 100) {
        Ok(name) if !name.is_empty() => name,
        Ok(_) => return Err(invalid("name", crate::text!("de 1 à {max} caractères", max = 100))),
        Err(e) => return Err(invalid("name", e.text())),
    };
    let prefix = random_token(4);
    let secret = format!("ck_{prefix}_{}", random_token(24));
    let key = sql::api_keys::insert_api_key(tx, operator_id, &name, &prefix, &sha256_hex(&secret)).await?;
    Ok(NewApiKey { key, secret })
}

/// The key and its operator, for a presented `ck_…` key that is live.
pub async fn authenticate_key(store: &Store, presented: &str) -> Result<(ApiKey, Operator), AuthError> {
    let presented = presented.trim();
    let prefix = presented
        .strip_prefix("ck_")
        .and_then(|rest| rest.split_once('_'))
        .map(|(prefix, _)| prefix)
        .filter(|p| p.len() == 8 && p.chars().all(|c| c.is_ascii_hexdigit()))
        .ok_or(AuthError::BadApiKey)?;
    let (key, hash, operator) = sql::api_keys::api_key_by_prefix(store, prefix)
        .await?
        .ok_or(AuthError::BadApiKey)?;
    if !constant_time_eq(&hash, &sha256_hex(presented)) || key.revoked_at.is_some() || operator.disabled_at.is_some() {
        return Err(AuthError::BadApiKey);
    }
    let now = Utc::now();
    if key.last_used_at.is_none_or(|t| now - t > chrono::Duration::seconds(60)) {
        sql::api_keys::touch_api_key(store, key.id, now).await?;
    }
    Ok((key, operator))
}

pub async fn list_keys(store: &Store) -> Result<Vec<ApiKey>, AuthError> {
    Ok(sql::api_keys::list_api_keys(store).await?)
}

#[tracing::instrument(skip(store))]
pub async fn revoke_key(store: &Store, id: i64) -> Result<ApiKey, AuthError> {
    let mut tx = store.begin().await?;
    let key = revoke_key_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(key)
}

/// [`revoke_key`] inside the caller's transaction; `NotFound` when no live key has this id.
pub async fn revoke_key_in(tx: &mut Tx, id: i64) -> Result<ApiKey, AuthError> {
    match sql::api_keys::revoke_api_key(tx, id).await {
        Err(StoreError::NotFound) => Err(AuthError::NotFound),
        other => Ok(other?),
    }
}
