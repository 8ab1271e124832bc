//! Plain SQL straight on the database, on a connection of its own (bypassing
//! the store): to read what the application wrote, or to alter it behind
//! its back.

use super::super::{Backend, TestDb};

/// Runs one statement on a connection of its own, outside the application.
pub async fn raw_execute(db: &TestDb, sql: &str) -> Result<u64, String> {
    use sqlx::Connection;
    match db.backend {
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
            sqlx::query(sql)
                .execute(&mut c)
                .await
                .map(|r| r.rows_affected())
                .map_err(|e| e.to_string())
        }
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.expect("connect");
            sqlx::query(sql)
                .execute(&mut c)
                .await
                .map(|r| r.rows_affected())
                .map_err(|e| e.to_string())
        }
    }
}

/// One integer (e.g. a `COUNT(*)`), read on a connection of its own.
pub async fn raw_i64(db: &TestDb, sql: &str) -> i64 {
    use sqlx::Connection;
    match db.backend {
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
            sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut c).await.expect(sql)
        }
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.expect("connect");
            sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut c).await.expect(sql)
        }
    }
}

pub async fn count(db: &TestDb, table: &str) -> i64 {
    raw_i64(db, &format!("SELECT COUNT(*) FROM {table}")).await
}

/// Row counts of `tables`, to show that a refused call changed nothing.
pub async fn row_counts(db: &TestDb, tables: &[&'static str]) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in tables {
        out.push((*table, count(db, table).await));
    }
    out
}

/// Row counts of every billing table.
pub async fn billing_counts(db: &TestDb) -> Vec<(&'static str, i64)> {
    row_counts(
        db,
        &[
            "billing_settings",
            "document_series",
            "customers",
            "contracts",
            "contract_operations",
            "invoices",
            "invoice_lines",
            "ledger_transactions",
            "ledger_entries",
        ],
    )
    .await
}
