//! Running one SQL text on either backend. Billing SQL is written once with
//! `$1` placeholders and portable syntax (`CAST(x AS TEXT)`, not `x::text`);
//! for SQLite, `$n` becomes `?n`. Where the dialects truly differ, a module
//! keeps two texts side by side. Values are bound with types both drivers
//! encode (integers, text, bool, `NaiveDate`, `DateTime<Utc>`, `Json`).

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Postgres, Row, Sqlite};

use super::StoreError;

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

/// `$1` → `?1` for SQLite.
pub(crate) fn lite(sql: &str) -> String {
    sql.replace('$', "?")
}

/// Runs `$sql` with the bound values inside a `Tx`:
/// `sql!(execute | fetch_all | fetch_optional | fetch_one, tx, "…", args…)`.
/// `execute` yields rows affected; the fetches yield `AnyRow`s.
macro_rules! sql {
    (execute, $tx:expr, $sql:expr $(, $arg:expr)* $(,)?) => {{
        let text: &str = $sql;
        match &mut $tx.inner {
            $crate::store::tx::TxInner::Postgres(c) => sqlx::query(text)$(.bind($arg))*
                .execute(&mut **c).await.map(|r| r.rows_affected()),
            $crate::store::tx::TxInner::Sqlite(c) => {
                let text = $crate::store::sql::lite(text);
                sqlx::query(&text)$(.bind($arg))*.execute(&mut **c).await.map(|r| r.rows_affected())
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
                let text = $crate::store::sql::lite(text);
                sqlx::query(&text)$(.bind($arg))*.fetch_all(&mut **c).await
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
                let text = $crate::store::sql::lite(text);
                sqlx::query(&text)$(.bind($arg))*.fetch_optional(&mut **c).await
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
                let text = $crate::store::sql::lite(text);
                sqlx::query(&text)$(.bind($arg))*.fetch_all(p).await
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
                let text = $crate::store::sql::lite(text);
                sqlx::query(&text)$(.bind($arg))*.fetch_optional(p).await
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

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_become_numbered_sqlite_parameters() {
        assert_eq!(super::lite("SELECT $1, $2 WHERE a = $1"), "SELECT ?1, ?2 WHERE a = ?1");
    }
}
