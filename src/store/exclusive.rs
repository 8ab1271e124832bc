//! Named locks that die with their holder: used so that two `drain` runs
//! launched by cron never overlap, and (waited for) so that migrators of one
//! SQLite file take turns.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::path::Path;

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};

use super::StoreError;

/// Holds a named lock until dropped (or until the process dies).
pub struct ExclusiveGuard {
    _held: Held,
}

enum Held {
    /// The session advisory lock lives as long as this connection; the
    /// connection is detached from the pool so that dropping it closes the
    /// session and releases the lock even if the pool lives on.
    Postgres(#[allow(dead_code)] sqlx::PgConnection),
    Sqlite(#[allow(dead_code)] File),
}

fn lock_key(name: &str) -> i64 {
    // FNV-1a, stable across builds and machines.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

pub(super) async fn postgres(pool: &PgPool, name: &str) -> Result<Option<ExclusiveGuard>, StoreError> {
    let mut conn: PoolConnection<Postgres> = pool.acquire().await?;
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(lock_key(name))
        .fetch_one(&mut *conn)
        .await?;
    if !got {
        return Ok(None);
    }
    Ok(Some(ExclusiveGuard {
        _held: Held::Postgres(conn.detach()),
    }))
}

pub(super) fn sqlite(db_path: &Path, name: &str) -> Result<Option<ExclusiveGuard>, StoreError> {
    let (file, lock_path) = lock_file(db_path, name)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(ExclusiveGuard {
            _held: Held::Sqlite(file),
        })),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Unavailable(format!("cannot lock {lock_path:?}: {e}"))),
    }
}

/// Waits until the named file lock is free and takes it (on a blocking
/// thread: the runtime's workers keep running meanwhile).
pub(super) async fn sqlite_wait(db_path: &Path, name: &str) -> Result<ExclusiveGuard, StoreError> {
    let (file, lock_path) = lock_file(db_path, name)?;
    let locked = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .map_err(|e| StoreError::Unavailable(format!("waiting for {lock_path:?}: {e}")))?;
    match locked {
        Ok(file) => Ok(ExclusiveGuard {
            _held: Held::Sqlite(file),
        }),
        Err(e) => Err(StoreError::Unavailable(format!("cannot lock {lock_path:?}: {e}"))),
    }
}

/// `<database file>.<name>.lock`, beside the database.
fn lock_file(db_path: &Path, name: &str) -> Result<(File, OsString), StoreError> {
    let mut lock_path = db_path.as_os_str().to_owned();
    lock_path.push(format!(".{name}.lock"));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| StoreError::Unavailable(format!("cannot open lock file {lock_path:?}: {e}")))?;
    Ok((file, lock_path))
}
