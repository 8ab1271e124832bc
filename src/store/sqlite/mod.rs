//! SQLite backend: the embedded default (a file in the data directory, WAL,
//! busy timeout). One writer connection serialises this process's writes;
//! other processes on the same file wait on SQLite's busy timeout.

pub(super) mod activity;
pub(super) mod admin;
pub(super) mod batches;
pub(super) mod jobs;
pub(super) mod kinds;
pub(super) mod queues;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::StoreError;

/// Milliseconds since the epoch, by SQLite's clock: the "database clock".
pub(super) const NOW_MS: &str = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";

#[derive(Clone)]
pub(super) struct SqliteStore {
    pub writer: SqlitePool,
    pub reader: SqlitePool,
    pub path: PathBuf,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true)
            .pragma("temp_store", "memory");
        let path = options.get_filename().to_path_buf();
        if path.as_os_str().is_empty() || path.to_string_lossy().contains(":memory:") {
            return Err(StoreError::Config(
                "SQLite needs a file (sqlite://path/to/comptoir.db): workers in other processes share it".into(),
            ));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Config(format!("cannot create data directory {dir:?}: {e}")))?;
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await?;
        Ok(SqliteStore { writer, reader, path })
    }
}

/// `VACUUM INTO dest`: a consistent snapshot, compacted, written by SQLite.
pub(super) async fn snapshot_into(reader: &SqlitePool, dest: &std::path::Path) -> Result<(), StoreError> {
    let dest = dest
        .to_str()
        .ok_or_else(|| StoreError::Config(format!("backup path {dest:?} is not UTF-8")))?;
    sqlx::query("VACUUM INTO $1").bind(dest).execute(reader).await?;
    Ok(())
}

/// `PRAGMA integrity_check`: its rows other than `ok`.
pub(super) async fn integrity_problems(reader: &SqlitePool) -> Result<Vec<String>, StoreError> {
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check").fetch_all(reader).await?;
    Ok(rows.into_iter().filter(|r| r != "ok").collect())
}

/// The file of a `sqlite:` URL, as [`SqliteStore::connect`] would open it.
pub(super) fn file_of(url: &str) -> Option<PathBuf> {
    if !url.starts_with("sqlite:") {
        return None;
    }
    SqliteConnectOptions::from_str(url)
        .ok()
        .map(|o| o.get_filename().to_path_buf())
}

pub(super) async fn now<'e, E: sqlx::SqliteExecutor<'e>>(on: E) -> Result<DateTime<Utc>, StoreError> {
    let ms: i64 = sqlx::query_scalar(&format!("SELECT {NOW_MS}")).fetch_one(on).await?;
    from_ms(ms)
}

pub(super) fn from_ms(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

pub(super) fn opt_from_ms(ms: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    ms.map(from_ms).transpose()
}
