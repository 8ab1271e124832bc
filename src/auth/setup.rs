//! The first operator: on a first start with no operator, the web process
//! prints a one-time link (valid 24 hours) whose page creates the account.

use std::time::Duration;

use chrono::Utc;

use super::operators::insert;
use super::sql;
use super::{random_token, sha256_hex, AuthError, NewOperator, Operator};
use crate::store::Store;

pub const SETUP_LINK_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// A new setup token when no operator exists yet; `None` otherwise.
pub async fn create_setup_link(store: &Store) -> Result<Option<String>, AuthError> {
    if sql::operators::count_operators(store).await? > 0 {
        return Ok(None);
    }
    let token = random_token(32);
    let expires = Utc::now() + chrono::Duration::from_std(SETUP_LINK_LIFETIME).unwrap_or_default();
    sql::setup::insert_setup_token(store, &sha256_hex(&token), expires).await?;
    Ok(Some(token))
}

pub async fn setup_token_valid(store: &Store, token: &str) -> Result<bool, AuthError> {
    Ok(sql::operators::count_operators(store).await? == 0
        && sql::setup::setup_token_valid(store, &sha256_hex(token)).await?)
}

/// Creates the first operator and burns the token, in one transaction; a
/// used, expired or unknown token, or an existing operator, refuses.
#[tracing::instrument(skip_all)]
pub async fn setup_first_operator(store: &Store, token: &str, new: &NewOperator) -> Result<Operator, AuthError> {
    let mut tx = store.begin().await?;
    if !sql::setup::use_setup_token(&mut tx, &sha256_hex(token)).await?
        || sql::operators::count_operators_in(&mut tx).await? > 0
    {
        return Err(AuthError::SetupLinkInvalid);
    }
    let operator = insert(&mut tx, new).await?;
    tx.commit().await?;
    tracing::info!(operator = operator.id, "first operator created from the setup link");
    Ok(operator)
}
