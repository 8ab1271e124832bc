//! Embedded migrations: one sqlx migrator per backend, built when the crate
//! compiles from migrations/postgres and migrations/sqlite (aligned
//! versions), each migration checksummed in sqlx's ledger `_sqlx_migrations`.
//!
//! Many processes may migrate at once: on PostgreSQL they queue on sqlx's
//! advisory lock (on a session of its own, closed afterwards, so that the
//! lock is released whatever happens); on SQLite, where sqlx takes no lock,
//! on a file lock beside the database. Behind a pooler in transaction mode,
//! which cannot keep a session lock, migrations run on a direct URL
//! (`COMPTOIR_DIRECT_DATABASE_URL`), or are refused when pending.
//!
//! sqlx's `Migrator::run` on a connection makes a future that is not `Send`
//! ("implementation of `Acquire` is not general enough",
//! launchbadge/sqlx#2016), and `Store::migrate` must be spawnable: we call
//! `run_direct`, the body of `run` that sqlx keeps public for that purpose.
//!
//! Databases migrated by Comptoir's earlier runner keep their history: under
//! the same lock, the versions its ledger (`comptoir_migrations`) holds and
//! sqlx's does not are adopted with the embedded checksums, then sqlx applies
//! only what is pending. The old ledger is left as it is and never written
//! again, so a binary of the earlier runner still finds what it applied.

use std::path::Path;

use sqlx::migrate::{AppliedMigration, Migrate, MigrateError, Migrator};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool, SqliteConnection, SqlitePool};

use super::postgres::pool::Pool;
use super::{exclusive, StoreError};

static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");
static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");

/// Applied and pending migration versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub applied: Vec<i64>,
    pub pending: Vec<i64>,
    /// Applied migrations whose file has changed since (checksum differs):
    /// the runner refuses to go on until they are restored.
    pub changed: Vec<i64>,
}

impl MigrationStatus {
    pub fn is_current(&self) -> bool {
        self.pending.is_empty() && self.changed.is_empty()
    }
}

/// The old ledger's versions that sqlx's lacks (same text on both backends).
const UNADOPTED: &str = "SELECT version, name FROM comptoir_migrations
    WHERE version NOT IN (SELECT version FROM _sqlx_migrations) ORDER BY version";
/// Adopts one version, keeping when it was applied (a `TIMESTAMPTZ` there).
const ADOPT_PG: &str = "INSERT INTO _sqlx_migrations
    (version, description, installed_on, success, checksum, execution_time)
    SELECT version, $2, applied_at, TRUE, $3, -1 FROM comptoir_migrations WHERE version = $1";
/// The same on SQLite, where the old ledger kept milliseconds since the epoch
/// and sqlx keeps `CURRENT_TIMESTAMP` text.
const ADOPT_SQLITE: &str = "INSERT INTO _sqlx_migrations
    (version, description, installed_on, success, checksum, execution_time)
    SELECT version, $2, datetime(applied_at / 1000, 'unixepoch'), TRUE, $3, -1
    FROM comptoir_migrations WHERE version = $1";
const LEDGERS_PG: &str =
    "SELECT to_regclass('_sqlx_migrations') IS NOT NULL, to_regclass('comptoir_migrations') IS NOT NULL";
const LEDGERS_SQLITE: &str = "SELECT
    EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'),
    EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'comptoir_migrations')";
const RECORDED: &str = "SELECT version, checksum FROM _sqlx_migrations ORDER BY version";
const LEGACY: &str = "SELECT version FROM comptoir_migrations ORDER BY version";

#[tracing::instrument(skip_all)]
pub(super) async fn run_postgres(pool: &PgPool) -> Result<Vec<i64>, StoreError> {
    // Detached from the pool: closing it ends the session, which releases the
    // advisory lock also when a migration fails (sqlx then returns without
    // unlocking, and a pooled session would keep the lock).
    let mut conn = pool.acquire().await?.detach();
    let result = migrate_postgres(&mut conn).await;
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "closing the migration session");
    }
    result
}

/// Migrates on a session of its own opened to PostgreSQL itself (`direct`),
/// for a store that reaches it through a pooler in transaction mode.
#[tracing::instrument(skip_all)]
pub(super) async fn run_postgres_direct(direct: &PgConnectOptions) -> Result<Vec<i64>, StoreError> {
    let mut conn = PgConnection::connect_with(direct).await.map_err(|e| {
        StoreError::Unavailable(format!(
            "cannot reach PostgreSQL through {} to migrate: {e}",
            super::DIRECT_URL_ENV
        ))
    })?;
    let result = migrate_postgres(&mut conn).await;
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "closing the migration session");
    }
    result
}

/// Behind a pooler in transaction mode without a direct URL: nothing to do
/// on a current database; else a refusal that says how to migrate (sqlx's
/// migration lock is a session lock, which such a pooler may take on one
/// server connection and release on another).
pub(super) async fn refuse_through_pooler(pool: &Pool) -> Result<Vec<i64>, StoreError> {
    let status = status_postgres(pool).await?;
    if let Some(&version) = status.changed.first() {
        return Err(StoreError::MigrationChanged { version });
    }
    if status.pending.is_empty() {
        return Ok(Vec::new());
    }
    Err(StoreError::Config(format!(
        "migrations {:?} are pending, and {}=transaction cannot migrate through the pooler: \
         set {} to PostgreSQL itself (not PgBouncer), or run `comptoir-worker migrate` \
         with DATABASE_URL naming PostgreSQL itself and {} unset",
        status.pending,
        super::POOLER_ENV,
        super::DIRECT_URL_ENV,
        super::POOLER_ENV
    )))
}

async fn migrate_postgres(conn: &mut PgConnection) -> Result<Vec<i64>, StoreError> {
    conn.lock().await.map_err(failed)?;
    conn.ensure_migrations_table().await.map_err(failed)?;
    let (_, legacy) = sqlx::query_as::<_, (bool, bool)>(LEDGERS_PG)
        .fetch_one(&mut *conn)
        .await?;
    let unadopted = if legacy {
        adoptable(&POSTGRES, sqlx::query_as(UNADOPTED).fetch_all(&mut *conn).await?)?
    } else {
        Vec::new()
    };
    if !unadopted.is_empty() {
        let mut tx = conn.begin().await?;
        for m in unadopted {
            sqlx::query(ADOPT_PG)
                .bind(m.version)
                .bind(&*m.description)
                .bind(&*m.checksum)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    let pending = pending(&POSTGRES, &conn.list_applied_migrations().await.map_err(failed)?);
    POSTGRES.run_direct(&mut *conn).await.map_err(failed)?;
    conn.unlock().await.map_err(failed)?;
    log_applied(&pending);
    Ok(pending)
}

#[tracing::instrument(skip_all)]
pub(super) async fn run_sqlite(writer: &SqlitePool, db_path: &Path) -> Result<Vec<i64>, StoreError> {
    let _turn = exclusive::sqlite_wait(db_path, "migrate").await?;
    let mut conn = writer.acquire().await?;
    migrate_sqlite(&mut conn).await
}

async fn migrate_sqlite(conn: &mut SqliteConnection) -> Result<Vec<i64>, StoreError> {
    conn.ensure_migrations_table().await.map_err(failed)?;
    let (_, legacy) = sqlx::query_as::<_, (bool, bool)>(LEDGERS_SQLITE)
        .fetch_one(&mut *conn)
        .await?;
    let unadopted = if legacy {
        adoptable(&SQLITE, sqlx::query_as(UNADOPTED).fetch_all(&mut *conn).await?)?
    } else {
        Vec::new()
    };
    if !unadopted.is_empty() {
        let mut tx = conn.begin().await?;
        for m in unadopted {
            sqlx::query(ADOPT_SQLITE)
                .bind(m.version)
                .bind(&*m.description)
                .bind(&*m.checksum)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    let pending = pending(&SQLITE, &conn.list_applied_migrations().await.map_err(failed)?);
    SQLITE.run_direct(&mut *conn).await.map_err(failed)?;
    log_applied(&pending);
    Ok(pending)
}

/// The embedded migrations matching versions the old runner recorded, which
/// must be known to this build under the same name.
fn adoptable(
    migrator: &'static Migrator,
    recorded: Vec<(i64, String)>,
) -> Result<Vec<&'static sqlx::migrate::Migration>, StoreError> {
    let adopted = recorded
        .into_iter()
        .map(|(version, name)| match migrator.iter().find(|m| m.version == version) {
            // sqlx reads `0003_outside_world.sql` as "outside world".
            Some(m) if m.description == name.replace('_', " ") => Ok(m),
            Some(m) => Err(StoreError::Migration {
                version,
                message: format!(
                    "comptoir_migrations records it as {name:?}, this build's is {:?}",
                    m.description
                ),
            }),
            None => Err(StoreError::Migration {
                version,
                message: format!("comptoir_migrations records it as {name:?}, unknown to this build"),
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !adopted.is_empty() {
        let versions: Vec<i64> = adopted.iter().map(|m| m.version).collect();
        tracing::info!(?versions, "adopted the history of comptoir_migrations");
    }
    Ok(adopted)
}

fn pending(migrator: &Migrator, applied: &[AppliedMigration]) -> Vec<i64> {
    migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .filter(|v| !applied.iter().any(|a| a.version == *v))
        .collect()
}

/// What sqlx applied once it succeeded: every version pending under the lock.
fn log_applied(versions: &[i64]) {
    if !versions.is_empty() {
        tracing::info!(?versions, "migrations applied");
    }
}

/// sqlx's errors, said in the store's terms.
fn failed(e: MigrateError) -> StoreError {
    match e {
        MigrateError::Execute(e) => e.into(),
        MigrateError::ExecuteMigration(e, version) => StoreError::Migration {
            version,
            message: e.to_string(),
        },
        MigrateError::VersionMismatch(version) => StoreError::MigrationChanged { version },
        MigrateError::VersionMissing(version) => StoreError::Migration {
            version,
            message: "applied to this database but unknown to this build (migrated by a newer Comptoir?)".into(),
        },
        MigrateError::Dirty(version) => StoreError::Migration {
            version,
            message: "left partially applied (_sqlx_migrations.success is false)".into(),
        },
        other => StoreError::Database(other.to_string()),
    }
}

/// Read in one transaction (behind a pooler, the only way to keep one
/// server connection for the three reads).
pub(super) async fn status_postgres(pool: &Pool) -> Result<MigrationStatus, StoreError> {
    let mut tx = pool.begin().await?;
    let (current, legacy) = sqlx::query_as::<_, (bool, bool)>(LEDGERS_PG)
        .fetch_one(&mut *tx)
        .await?;
    let recorded = if current {
        sqlx::query_as(RECORDED).fetch_all(&mut *tx).await?
    } else {
        Vec::new()
    };
    let legacy = if legacy {
        sqlx::query_scalar(LEGACY).fetch_all(&mut *tx).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    Ok(status(&POSTGRES, recorded, legacy))
}

pub(super) async fn status_sqlite(pool: &SqlitePool) -> Result<MigrationStatus, StoreError> {
    let mut conn = pool.acquire().await?;
    let (current, legacy) = sqlx::query_as::<_, (bool, bool)>(LEDGERS_SQLITE)
        .fetch_one(&mut *conn)
        .await?;
    let recorded = if current {
        sqlx::query_as(RECORDED).fetch_all(&mut *conn).await?
    } else {
        Vec::new()
    };
    let legacy = if legacy {
        sqlx::query_scalar(LEGACY).fetch_all(&mut *conn).await?
    } else {
        Vec::new()
    };
    Ok(status(&SQLITE, recorded, legacy))
}

/// Applied: what sqlx recorded, and what the old runner did that is not
/// adopted yet (a database the new runner has not migrated).
fn status(migrator: &Migrator, recorded: Vec<(i64, Vec<u8>)>, legacy: Vec<i64>) -> MigrationStatus {
    let changed = recorded
        .iter()
        .filter(|(version, checksum)| {
            migrator
                .iter()
                .any(|m| m.version == *version && *m.checksum != **checksum)
        })
        .map(|(version, _)| *version)
        .collect();
    let mut applied: Vec<i64> = recorded.into_iter().map(|(v, _)| v).chain(legacy).collect();
    applied.sort_unstable();
    applied.dedup();
    let pending = migrator
        .iter()
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .collect();
    MigrationStatus {
        applied,
        pending,
        changed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(migrator: &Migrator) -> Vec<(i64, String)> {
        migrator
            .iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect()
    }

    #[test]
    fn backends_have_aligned_versions() {
        let pg = listed(&POSTGRES);
        assert_eq!(pg, listed(&SQLITE));
        assert!(pg.windows(2).all(|w| w[0].0 < w[1].0), "versions must increase");
        assert_eq!(pg.first().map(|m| m.0), Some(1));
    }

    /// The migrators embed every file of their directory (a build that
    /// missed a new file would fail here).
    #[test]
    fn every_file_is_embedded() {
        for (dir, migrator) in [("postgres", &POSTGRES), ("sqlite", &SQLITE)] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
            let mut files: Vec<String> = std::fs::read_dir(&path)
                .expect("migrations directory")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            files.sort();
            let embedded: Vec<String> = migrator
                .iter()
                .map(|m| format!("{:04}_{}.sql", m.version, m.description.replace(' ', "_")))
                .collect();
            assert_eq!(files, embedded, "{dir}");
        }
    }

    #[test]
    fn status_reads_changed_and_legacy_versions() {
        let recorded: Vec<(i64, Vec<u8>)> = POSTGRES
            .iter()
            .take(3)
            .map(|m| (m.version, m.checksum.to_vec()))
            .collect();
        let mut edited = recorded.clone();
        edited[1].1[0] ^= 1;
        let fresh = status(&POSTGRES, recorded, vec![]);
        assert_eq!((fresh.applied, fresh.changed), (vec![1, 2, 3], vec![]));
        let changed = status(&POSTGRES, edited, vec![4]);
        assert_eq!(changed.applied, vec![1, 2, 3, 4]);
        assert_eq!(changed.changed, vec![2]);
        assert!(!changed.is_current());
        assert_eq!(changed.pending.first(), Some(&5));
    }
}
