//! Embedded migrations, one list per backend with aligned version numbers.

use sqlx::{PgPool, Row, SqlitePool};

use super::StoreError;

pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "jobs",
        sql: include_str!("../../migrations/postgres/0001_jobs.sql"),
    },
    Migration {
        version: 2,
        name: "billing",
        sql: include_str!("../../migrations/postgres/0002_billing.sql"),
    },
    Migration {
        version: 3,
        name: "outside_world",
        sql: include_str!("../../migrations/postgres/0003_outside_world.sql"),
    },
    Migration {
        version: 4,
        name: "admin",
        sql: include_str!("../../migrations/postgres/0004_admin.sql"),
    },
    Migration {
        version: 5,
        name: "invoice_terms",
        sql: include_str!("../../migrations/postgres/0005_invoice_terms.sql"),
    },
    Migration {
        version: 6,
        name: "hardening",
        sql: include_str!("../../migrations/postgres/0006_hardening.sql"),
    },
    Migration {
        version: 7,
        name: "signin",
        sql: include_str!("../../migrations/postgres/0007_signin.sql"),
    },
];

pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "jobs",
        sql: include_str!("../../migrations/sqlite/0001_jobs.sql"),
    },
    Migration {
        version: 2,
        name: "billing",
        sql: include_str!("../../migrations/sqlite/0002_billing.sql"),
    },
    Migration {
        version: 3,
        name: "outside_world",
        sql: include_str!("../../migrations/sqlite/0003_outside_world.sql"),
    },
    Migration {
        version: 4,
        name: "admin",
        sql: include_str!("../../migrations/sqlite/0004_admin.sql"),
    },
    Migration {
        version: 5,
        name: "invoice_terms",
        sql: include_str!("../../migrations/sqlite/0005_invoice_terms.sql"),
    },
    Migration {
        version: 6,
        name: "hardening",
        sql: include_str!("../../migrations/sqlite/0006_hardening.sql"),
    },
    Migration {
        version: 7,
        name: "signin",
        sql: include_str!("../../migrations/sqlite/0007_signin.sql"),
    },
];

/// Applied and pending migration versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub applied: Vec<i64>,
    pub pending: Vec<i64>,
}

impl MigrationStatus {
    pub fn is_current(&self) -> bool {
        self.pending.is_empty()
    }
}

const LEDGER_PG: &str = "CREATE TABLE IF NOT EXISTS comptoir_migrations (
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())";
const LEDGER_SQLITE: &str = "CREATE TABLE IF NOT EXISTS comptoir_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL,
    applied_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)))";
/// Serialises migrations of concurrent starters on PostgreSQL.
const PG_LOCK_KEY: i64 = 0x636f_6d70_746f_6972; // "comptoir"

#[tracing::instrument(skip_all)]
pub(super) async fn run_postgres(pool: &PgPool) -> Result<Vec<i64>, StoreError> {
    let mut applied_now = Vec::new();
    for m in POSTGRES {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PG_LOCK_KEY)
            .execute(&mut *tx)
            .await?;
        sqlx::raw_sql(LEDGER_PG).execute(&mut *tx).await?;
        let done: Option<i64> = sqlx::query_scalar("SELECT version FROM comptoir_migrations WHERE version = $1")
            .bind(m.version)
            .fetch_optional(&mut *tx)
            .await?;
        if done.is_some() {
            continue;
        }
        sqlx::raw_sql(m.sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::Migration {
                version: m.version,
                message: e.to_string(),
            })?;
        sqlx::query("INSERT INTO comptoir_migrations (version, name) VALUES ($1, $2)")
            .bind(m.version)
            .bind(m.name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = m.name, "migration applied");
        applied_now.push(m.version);
    }
    Ok(applied_now)
}

#[tracing::instrument(skip_all)]
pub(super) async fn run_sqlite(pool: &SqlitePool) -> Result<Vec<i64>, StoreError> {
    let mut applied_now = Vec::new();
    for m in SQLITE {
        // BEGIN IMMEDIATE takes the write lock first: concurrent starters queue up.
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::raw_sql(LEDGER_SQLITE).execute(&mut *tx).await?;
        let done: Option<i64> = sqlx::query_scalar("SELECT version FROM comptoir_migrations WHERE version = ?")
            .bind(m.version)
            .fetch_optional(&mut *tx)
            .await?;
        if done.is_some() {
            continue;
        }
        sqlx::raw_sql(m.sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::Migration {
                version: m.version,
                message: e.to_string(),
            })?;
        sqlx::query("INSERT INTO comptoir_migrations (version, name) VALUES (?, ?)")
            .bind(m.version)
            .bind(m.name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = m.name, "migration applied");
        applied_now.push(m.version);
    }
    Ok(applied_now)
}

fn status(known: &[Migration], applied: Vec<i64>) -> MigrationStatus {
    let pending = known
        .iter()
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .collect();
    MigrationStatus { applied, pending }
}

pub(super) async fn status_postgres(pool: &PgPool) -> Result<MigrationStatus, StoreError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('comptoir_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    let applied = if exists {
        sqlx::query("SELECT version FROM comptoir_migrations ORDER BY version")
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| r.get::<i64, _>(0))
            .collect()
    } else {
        Vec::new()
    };
    Ok(status(POSTGRES, applied))
}

pub(super) async fn status_sqlite(pool: &SqlitePool) -> Result<MigrationStatus, StoreError> {
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'comptoir_migrations')",
    )
    .fetch_one(pool)
    .await?;
    let applied = if exists {
        sqlx::query("SELECT version FROM comptoir_migrations ORDER BY version")
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| r.get::<i64, _>(0))
            .collect()
    } else {
        Vec::new()
    };
    Ok(status(SQLITE, applied))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_have_aligned_versions() {
        let pg: Vec<_> = POSTGRES.iter().map(|m| (m.version, m.name)).collect();
        let lite: Vec<_> = SQLITE.iter().map(|m| (m.version, m.name)).collect();
        assert_eq!(pg, lite);
        assert!(pg.windows(2).all(|w| w[0].0 < w[1].0), "versions must increase");
    }
}
