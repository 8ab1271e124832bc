//! Named locks that die with their holder: used so that two `drain` runs
//! launched by cron never overlap, and (waited for) so that migrators of one
//! SQLite file take turns.
//!
//! Behind a pooler in transaction mode, where no session lock holds, the lock
//! is a leased row of `comptoir_locks` instead: renewed while held, taken over
//! once its lease has run out (a holder killed outright keeps it that long).

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::path::Path;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};

use super::postgres::pool::{self, Pool};
use super::StoreError;

/// How long a leased lock outlives its last renewal.
const LEASE: Duration = Duration::from_secs(15);
/// How often its holder renews it: two renewals may fail before it runs out.
const RENEW_EVERY: Duration = Duration::from_secs(5);

/// Takes the row when it is absent or its lease has run out; yields a row
/// only when taken.
const TAKE: &str = "INSERT INTO comptoir_locks (name, holder, expires_at)
    VALUES ($1, $2, now() + make_interval(secs => $3))
    ON CONFLICT (name) DO UPDATE
        SET holder = EXCLUDED.holder, taken_at = now(), expires_at = EXCLUDED.expires_at
        WHERE comptoir_locks.expires_at < now()
    RETURNING holder";
const RENEW: &str = "UPDATE comptoir_locks SET expires_at = now() + make_interval(secs => $3)
    WHERE name = $1 AND holder = $2";
const RELEASE: &str = "DELETE FROM comptoir_locks WHERE name = $1 AND holder = $2";

/// Holds a named lock until dropped (or until the process dies).
pub struct ExclusiveGuard {
    held: Held,
}

enum Held {
    /// The session advisory lock lives as long as this connection; the
    /// connection is detached from the pool so that dropping it closes the
    /// session and releases the lock even if the pool lives on.
    Postgres(#[allow(dead_code)] sqlx::PgConnection),
    Leased(Lease),
    Sqlite(#[allow(dead_code)] File),
}

/// A row of `comptoir_locks` held by `holder`, renewed by `renewal`.
struct Lease {
    pool: Pool,
    name: String,
    holder: String,
    renewal: tokio::task::JoinHandle<()>,
    released: bool,
}

impl ExclusiveGuard {
    /// Releases the lock now. Dropping the guard does too, except that a
    /// leased row is then deleted by a task of its own, which a process about
    /// to exit may never run (the row then lasts until its lease runs out).
    pub async fn release(mut self) -> Result<(), StoreError> {
        if let Held::Leased(lease) = &mut self.held {
            lease.renewal.abort();
            lease.released = true;
            sqlx::query(RELEASE)
                .bind(&lease.name)
                .bind(&lease.holder)
                .execute(&lease.pool)
                .await?;
            tracing::debug!(lock = %lease.name, "leased lock released");
        }
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewal.abort();
        if self.released {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (pool, name, holder) = (self.pool.clone(), self.name.clone(), self.holder.clone());
        runtime.spawn(async move {
            if let Err(e) = sqlx::query(RELEASE).bind(&name).bind(&holder).execute(&pool).await {
                tracing::warn!(lock = %name, error = %e, "cannot release the leased lock: it lasts until its lease runs out");
            }
        });
    }
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
        held: Held::Postgres(conn.detach()),
    }))
}

/// The lock as a leased row (behind a pooler in transaction mode).
pub(super) async fn leased(pool: &Pool, name: &str) -> Result<Option<ExclusiveGuard>, StoreError> {
    let holder = holder();
    let taken: Option<String> = sqlx::query_scalar(TAKE)
        .bind(name)
        .bind(&holder)
        .bind(LEASE.as_secs_f64())
        .fetch_optional(pool)
        .await?;
    if taken.is_none() {
        return Ok(None);
    }
    tracing::debug!(lock = %name, %holder, "leased lock taken");
    let renewal = tokio::spawn(renew(pool.raw().clone(), name.to_string(), holder.clone()));
    Ok(Some(ExclusiveGuard {
        held: Held::Leased(Lease {
            pool: pool.clone(),
            name: name.to_string(),
            holder,
            renewal,
            released: false,
        }),
    }))
}

/// Who holds a leased lock: this machine and process, and a draw that tells
/// two guards of one process apart.
fn holder() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    format!("{host}:{}:{:016x}", std::process::id(), fastrand::u64(..))
}

/// Renews the lease until aborted, on a connection of its own, so that a
/// pool busy with jobs never delays a renewal past the lease. Stops when the
/// row is no longer this holder's (its lease ran out and another took it).
async fn renew(pool: PgPool, name: String, holder: String) {
    use sqlx::{ConnectOptions, Connection};
    let options = pool.connect_options();
    let mut conn: Option<sqlx::PgConnection> = None;
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let renewed = async {
            let c = match &mut conn {
                Some(c) => c,
                None => conn.insert(options.connect().await?),
            };
            let mut tx = pool::begin_on(c, true).await?;
            let n = sqlx::query(RENEW)
                .bind(&name)
                .bind(&holder)
                .bind(LEASE.as_secs_f64())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(n)
        }
        .await;
        match renewed {
            Ok(1) => {}
            Ok(_) => {
                tracing::error!(lock = %name, %holder, "lost the leased lock: its lease ran out and another holder took it");
                return;
            }
            Err(e) => {
                tracing::warn!(lock = %name, error = %e, "cannot renew the leased lock; trying again");
                if let Some(c) = conn.take() {
                    c.close().await.ok();
                }
            }
        }
    }
}

pub(super) fn sqlite(db_path: &Path, name: &str) -> Result<Option<ExclusiveGuard>, StoreError> {
    let (file, lock_path) = lock_file(db_path, name)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(ExclusiveGuard {
            held: Held::Sqlite(file),
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
            held: Held::Sqlite(file),
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
