//! Operators: accounts of the admin and owners of API keys.

use chrono::Utc;

use crate::auth::Operator;
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Store, StoreError, Tx};

pub(crate) const OPERATOR: &str = "id, email, name, created_at, disabled_at, language";

pub(crate) fn operator(r: &AnyRow) -> Result<Operator, StoreError> {
    Ok(Operator {
        id: r.get("id")?,
        email: r.get("email")?,
        name: r.get("name")?,
        created_at: r.get("created_at")?,
        disabled_at: r.get("disabled_at")?,
        language: crate::i18n::Lang::parse(&r.get::<String>("language")?).unwrap_or_default(),
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

pub(crate) async fn set_language(store: &Store, id: i64, language: &str) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let n = sql!(
        execute,
        tx,
        "UPDATE operators SET language = $1 WHERE id = $2",
        language,
        id
    )?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    tx.commit().await
}
