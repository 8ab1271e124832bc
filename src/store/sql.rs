//! Running one SQL text on either backend. Each domain's SQL is written once
//! with `$1` placeholders (which sqlx binds by number on SQLite too) and
//! portable syntax (`CAST(x AS TEXT)`, not `x::text`). Where the dialects
//! truly differ, a module keeps two texts side by side. Values are bound with types both drivers
//! encode (integers, text, bool, `NaiveDate`, `DateTime<Utc>`, `Json`).

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Postgres, Row, Sqlite};

use super::tx::TxInner;
use super::{StoreError, Tx};

/// A row from either backend.
pub(crate) enum AnyRow {
    Pg(PgRow),
    Sqlite(SqliteRow),
}

impl AnyRow {
    pub fn get<T>(&self, column: &str) -> Result<T, StoreError>
    where
        T: for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
        T: for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
    {
        match self {
            AnyRow::Pg(r) => r.try_get(column).map_err(StoreError::from),
            AnyRow::Sqlite(r) => r.try_get(column).map_err(StoreError::from),
        }
    }

    /// A JSON column (JSONB on PostgreSQL, TEXT on SQLite).
    pub fn json<T: serde::de::DeserializeOwned>(&self, column: &str) -> Result<T, StoreError> {
        let value: sqlx::types::Json<serde_json::Value> = self.get(column)?;
        Ok(serde_json::from_value(value.0)?)
    }

    pub fn opt_json<T: serde::de::DeserializeOwned>(&self, column: &str) -> Result<Option<T>, StoreError> {
        let value: Option<sqlx::types::Json<serde_json::Value>> = self.get(column)?;
        value
            .map(|v| serde_json::from_value(v.0).map_err(StoreError::from))
            .transpose()
    }
}

/// Runs `$sql` with the bound values inside a `Tx`:
/// `sql!(execute | fetch_all | fetch_optional | fetch_one, tx, "…", args…)`.
/// `execute` yields rows affected; the fetches yield `AnyRow`s.
macro_rules! sql {
    // A statement for PostgreSQL alone: a lock that SQLite's single writer
    // (every write transaction begins IMMEDIATE) makes needless. Yields rows
    // affected, 0 on SQLite where nothing runs.
    (postgres_only, $tx:expr, $sql:expr $(, $arg:expr)* $(,)?) => {{
        let text: &str = $sql;
        match &mut $tx.inner {
            $crate::store::tx::TxInner::Postgres(c) => sqlx::query(text)$(.bind($arg))*
                .execute(&mut **c).await.map(|r| r.rows_affected()),
            $crate::store::tx::TxInner::Sqlite(_) => Ok(0),
        }
        .map_err($crate::store::StoreError::from)
    }};
    (execute, $tx:expr, $sql:expr $(, $arg:expr)* $(,)?) => {{
        let text: &str = $sql;
        match &mut $tx.inner {
            $crate::store::tx::TxInner::Postgres(c) => sqlx::query(text)$(.bind($arg))*
                .execute(&mut **c).await.map(|r| r.rows_affected()),
            $crate::store::tx::TxInner::Sqlite(c) => {
                sqlx::query(text)$(.bind($arg))*.execute(&mut **c).await.map(|r| r.rows_affected())
            }
        }
        .map_err($crate::store::StoreError::from)
    }};
    (fetch_all, $tx:expr, $sql:expr $(, $arg:expr)* $(,)?) => {{
        let text: &str = $sql;
        match &mut $tx.inner {
            $crate::store::tx::TxInner::Postgres(c) => sqlx::query(text)$(.bind($arg))*
                .fetch_all(&mut **c).await
                .map(|rows| rows.into_iter().map($crate::store::sql::AnyRow::Pg).collect::<Vec<_>>()),
            $crate::store::tx::TxInner::Sqlite(c) => {
                sqlx::query(text)$(.bind($arg))*.fetch_all(&mut **c).await
                    .map(|rows| rows.into_iter().map($crate::store::sql::AnyRow::Sqlite).collect::<Vec<_>>())
            }
        }
        .map_err($crate::store::StoreError::from)
    }};
    (fetch_optional, $tx:expr, $sql:expr $(, $arg:expr)* $(,)?) => {{
        let text: &str = $sql;
        match &mut $tx.inner {
            $crate::store::tx::TxInner::Postgres(c) => sqlx::query(text)$(.bind($arg))*
                .fetch_optional(&mut **c).await.map(|r| r.map($crate::store::sql::AnyRow::Pg)),
            $crate::store::tx::TxInner::Sqlite(c) => {
                sqlx::query(text)$(.bind($arg))*.fetch_optional(&mut **c).await
                    .map(|r| r.map($crate::store::sql::AnyRow::Sqlite))
            }
        }
        .map_err($crate::store::StoreError::from)
    }};
    (fetch_one, $tx:expr, $sql:expr $(, $arg:expr)* $(,)?) => {{
        $crate::store::sql::sql!(fetch_optional, $tx, $sql $(, $arg)*)
            .and_then(|r| r.ok_or($crate::store::StoreError::NotFound))
    }};
}

/// The same, for reads outside a transaction (SQLite's reader pool).
macro_rules! read {
    (fetch_all, $store:expr, $sql:expr $(, $arg:expr)* $(,)?) => {{
        let text: &str = $sql;
        match $store.pools() {
            $crate::store::Pools::Postgres(p) => sqlx::query(text)$(.bind($arg))*.fetch_all(p).await
                .map(|rows| rows.into_iter().map($crate::store::sql::AnyRow::Pg).collect::<Vec<_>>()),
            $crate::store::Pools::Sqlite(p) => {
                sqlx::query(text)$(.bind($arg))*.fetch_all(p).await
                    .map(|rows| rows.into_iter().map($crate::store::sql::AnyRow::Sqlite).collect::<Vec<_>>())
            }
        }
        .map_err($crate::store::StoreError::from)
    }};
    (fetch_optional, $store:expr, $sql:expr $(, $arg:expr)* $(,)?) => {{
        let text: &str = $sql;
        match $store.pools() {
            $crate::store::Pools::Postgres(p) => sqlx::query(text)$(.bind($arg))*.fetch_optional(p).await
                .map(|r| r.map($crate::store::sql::AnyRow::Pg)),
            $crate::store::Pools::Sqlite(p) => {
                sqlx::query(text)$(.bind($arg))*.fetch_optional(p).await
                    .map(|r| r.map($crate::store::sql::AnyRow::Sqlite))
            }
        }
        .map_err($crate::store::StoreError::from)
    }};
    (fetch_one, $store:expr, $sql:expr $(, $arg:expr)* $(,)?) => {{
        $crate::store::sql::read!(fetch_optional, $store, $sql $(, $arg)*)
            .and_then(|r| r.ok_or($crate::store::StoreError::NotFound))
    }};
}

pub(crate) use {read, sql};

/// A value bound to a statement whose number of parameters is known only at
/// run time (multi-row `VALUES`, `IN ($1, $2, …)` lists).
pub(crate) enum Bind<'a> {
    Text(&'a str),
    Int(i64),
}

/// `$first, $first+1, …` for `n` values.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut q = $query;
        for b in $binds {
            q = match b {
                Bind::Text(s) => q.bind(*s),
                Bind::Int(i) => q.bind(*i),
            };
        }
        q
    }};
}

/// Runs `text` with `binds` in `tx`; yields rows affected.
pub(crate) async fn execute_binds(tx: &mut Tx, text: &str, binds: &[Bind<'_>]) -> Result<u64, StoreError> {
    Ok(match &mut tx.inner {
        TxInner::Postgres(c) => bind_all!(sqlx::query(text), binds)
            .execute(&mut **c)
            .await?
            .rows_affected(),
        TxInner::Sqlite(c) => bind_all!(sqlx::query(text), binds)
            .execute(&mut **c)
            .await?
            .rows_affected(),
    })
}

/// Runs `text` with `binds` in `tx`; yields its rows.
pub(crate) async fn fetch_all_binds(tx: &mut Tx, text: &str, binds: &[Bind<'_>]) -> Result<Vec<AnyRow>, StoreError> {
    Ok(match &mut tx.inner {
        TxInner::Postgres(c) => bind_all!(sqlx::query(text), binds)
            .fetch_all(&mut **c)
            .await?
            .into_iter()
            .map(AnyRow::Pg)
            .collect(),
        TxInner::Sqlite(c) => bind_all!(sqlx::query(text), binds)
            .fetch_all(&mut **c)
            .await?
            .into_iter()
            .map(AnyRow::Sqlite)
            .collect(),
    })
}
