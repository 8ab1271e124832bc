//! The storage seam: the only place SQL lives.
//!
//! [`Store`] is a handle on one database, PostgreSQL or SQLite, chosen by the
//! `DATABASE_URL` scheme. Every operation is one named method that dispatches
//! to the backend module owning its SQL (`postgres/`, `sqlite/`); callers never
//! see a dialect. Backend errors become the neutral [`StoreError`].

pub mod batches;
mod error;
mod exclusive;
pub mod jobs;
pub mod kinds;
mod migrate;
mod options;
mod postgres;
pub mod queues;
pub(crate) mod sql;
mod sqlite;
pub(crate) mod tx;
pub mod types;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

pub use error::StoreError;
pub use exclusive::ExclusiveGuard;
pub use migrate::MigrationStatus;
pub use options::{Pooler, StoreOptions, DIRECT_URL_ENV, POOLER_ENV};
pub use tx::Tx;

/// Which engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// A handle on the database. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct Store {
    inner: Inner,
    /// Wakes this process's idle workers after a local commit that made jobs
    /// available (the only push mechanism on SQLite; on PostgreSQL, other
    /// processes are woken through `LISTEN/NOTIFY`).
    wake: Arc<Notify>,
    /// Values other layers attach to this handle (the livre de recettes'
    /// signing key), found by their type; the store never reads them.
    extensions: Extensions,
}

type Extensions = Arc<std::collections::HashMap<std::any::TypeId, Arc<dyn std::any::Any + Send + Sync>>>;

#[derive(Clone)]
enum Inner {
    Postgres(postgres::PgStore),
    Sqlite(sqlite::SqliteStore),
}

impl Store {
    /// Connects to `url`: `postgres://…`/`postgresql://…` or `sqlite://path`,
    /// with the [`StoreOptions`] of the environment (`COMPTOIR_PG_POOLER`,
    /// `COMPTOIR_DIRECT_DATABASE_URL`).
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with(url, &StoreOptions::from_env()?).await
    }

    /// Connects to `url` with `options` (which SQLite ignores).
    #[tracing::instrument(skip_all, fields(backend, pooler = ?options.pooler))]
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let inner = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            tracing::Span::current().record("backend", "postgres");
            Inner::Postgres(postgres::PgStore::connect(url, options).await?)
        } else if url.starts_with("sqlite:") {
            tracing::Span::current().record("backend", "sqlite");
            Inner::Sqlite(sqlite::SqliteStore::connect(url).await?)
        } else {
            return Err(StoreError::Config(format!(
                "unsupported database URL {:?}: expected postgres://… or sqlite://…",
                redact_url(url)
            )));
        };
        Ok(Store {
            inner,
            wake: Arc::new(Notify::new()),
            extensions: Extensions::default(),
        })
    }

    /// This handle with `value` attached (replacing one of the same type):
    /// a layer above hands it to whatever runs on the store, transactions
    /// included, without the store knowing what it is.
    pub fn with_extension<T: std::any::Any + Send + Sync>(&self, value: Arc<T>) -> Store {
        let mut extensions = (*self.extensions).clone();
        extensions.insert(std::any::TypeId::of::<T>(), value);
        Store {
            extensions: Arc::new(extensions),
            ..self.clone()
        }
    }

    /// The value of type `T` attached with [`Store::with_extension`], if any.
    pub fn extension<T: std::any::Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.extensions
            .get(&std::any::TypeId::of::<T>())
            .cloned()
            .and_then(|v| v.downcast::<T>().ok())
    }

    pub fn backend(&self) -> Backend {
        match &self.inner {
            Inner::Postgres(_) => Backend::Postgres,
            Inner::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Applies the pending migrations of this backend; safe to run from many
    /// processes at once. Behind a pooler in transaction mode they run on
    /// the direct URL; without one, pending migrations are an error saying so.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        match &self.inner {
            Inner::Postgres(s) => match (s.pool.is_pooled(), &s.direct) {
                (false, _) => migrate::run_postgres(s.pool.raw()).await,
                (true, Some(direct)) => migrate::run_postgres_direct(direct).await,
                (true, None) => migrate::refuse_through_pooler(&s.pool).await,
            },
            Inner::Sqlite(s) => migrate::run_sqlite(&s.writer, &s.path).await,
        }
    }

    /// Which migrations are applied and which are pending.
    pub async fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
        match &self.inner {
            Inner::Postgres(s) => migrate::status_postgres(&s.pool).await,
            Inner::Sqlite(s) => migrate::status_sqlite(&s.reader).await,
        }
    }

    /// Starts a transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so it never fails half-way on a lock upgrade.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Tx::begin(self).await
    }

    /// The database clock, which decides leases and due times.
    pub async fn now(&self) -> Result<DateTime<Utc>, StoreError> {
        match &self.inner {
            Inner::Postgres(s) => postgres::now(&s.pool).await,
            Inner::Sqlite(s) => sqlite::now(&s.reader).await,
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.now().await.map(|_| ())
    }

    /// Takes a named lock held until the guard is dropped or the process dies
    /// (PostgreSQL: a session advisory lock, or behind a pooler in
    /// transaction mode a leased row that outlives a killed holder by its
    /// lease; SQLite: an exclusive file lock). `None` when another holder has it.
    pub async fn try_exclusive(&self, name: &str) -> Result<Option<ExclusiveGuard>, StoreError> {
        match &self.inner {
            Inner::Postgres(s) if s.pool.is_pooled() => exclusive::leased(&s.pool, name).await,
            Inner::Postgres(s) => exclusive::postgres(s.pool.raw(), name).await,
            Inner::Sqlite(s) => exclusive::sqlite(&s.path, name),
        }
    }

    /// A future that resolves when a local commit made jobs available.
    pub fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Wakes this process's idle workers.
    pub fn wake_local(&self) {
        self.wake.notify_waiters();
    }

    /// Forwards `LISTEN/NOTIFY` wake-ups from other processes to
    /// [`Store::wake_handle`]. `None` on backends without notifications, and
    /// behind a pooler in transaction mode, which cannot keep a `LISTEN`
    /// (workers then rely on polling). Abort the handle to stop listening.
    pub async fn spawn_listener(&self) -> Result<Option<tokio::task::JoinHandle<()>>, StoreError> {
        match &self.inner {
            Inner::Postgres(s) if s.pool.is_pooled() => Ok(None),
            Inner::Postgres(s) => Ok(Some(postgres::spawn_listener(s.pool.raw(), self.wake.clone()).await?)),
            Inner::Sqlite(_) => Ok(None),
        }
    }

    /// How long an idle worker should wait between two polls when nothing woke it.
    pub fn default_poll_interval(&self) -> Duration {
        match self.backend() {
            // Behind a pooler in transaction mode nothing is notified: a job
            // another process enqueues waits a quarter of a second on average.
            Backend::Postgres if self.pooler() == Pooler::Transaction => Duration::from_millis(500),
            // LISTEN/NOTIFY does the waking; polling only catches scheduled jobs.
            Backend::Postgres => Duration::from_secs(1),
            // Other processes can only be seen by polling.
            Backend::Sqlite => Duration::from_millis(200),
        }
    }

    /// What stands between this store and PostgreSQL (always none on SQLite).
    pub fn pooler(&self) -> Pooler {
        match &self.inner {
            Inner::Postgres(s) if s.pool.is_pooled() => Pooler::Transaction,
            _ => Pooler::None,
        }
    }

    /// Writes a consistent copy of the whole SQLite database to `dest` (which
    /// must not exist) with `VACUUM INTO`, from a read transaction on the
    /// read-only pool: writers, in this process or others, go on meanwhile
    /// and nothing they have not committed is copied. `None` on PostgreSQL
    /// (its copies are `pg_dump`'s).
    #[tracing::instrument(skip(self))]
    pub async fn snapshot_into(&self, dest: &std::path::Path) -> Result<Option<()>, StoreError> {
        match &self.inner {
            Inner::Postgres(_) => Ok(None),
            Inner::Sqlite(s) => sqlite::snapshot_into(&s.reader, dest).await.map(Some),
        }
    }

    /// SQLite's own check of the file (`PRAGMA integrity_check`): the
    /// problems it names, none when the file is sound. Nothing on PostgreSQL.
    pub async fn integrity_problems(&self) -> Result<Vec<String>, StoreError> {
        match &self.inner {
            Inner::Postgres(_) => Ok(Vec::new()),
            Inner::Sqlite(s) => sqlite::integrity_problems(&s.reader).await,
        }
    }

    /// The SQLite database's file, or `None` on PostgreSQL.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match &self.inner {
            Inner::Postgres(_) => None,
            Inner::Sqlite(s) => Some(&s.path),
        }
    }

    /// The pools for reads outside a transaction (SQLite: the read-only pool).
    pub(crate) fn pools(&self) -> Pools<'_> {
        match &self.inner {
            Inner::Postgres(s) => Pools::Postgres(&s.pool),
            Inner::Sqlite(s) => Pools::Sqlite(&s.reader),
        }
    }

    /// Closes the pools; in-flight queries finish first.
    pub async fn close(&self) {
        match &self.inner {
            Inner::Postgres(s) => s.pool.close().await,
            Inner::Sqlite(s) => {
                s.writer.close().await;
                s.reader.close().await;
            }
        }
    }
}

pub(crate) enum Pools<'a> {
    Postgres(&'a postgres::pool::Pool),
    Sqlite(&'a sqlx::SqlitePool),
}

/// The file a `sqlite://` URL names (`None` for any other URL).
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    sqlite::file_of(url)
}

/// Hides a password in a database URL before it reaches a log or an error.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &userinfo[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_password_only() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact_url("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(redact_url("sqlite://data/c.db"), "sqlite://data/c.db");
    }
}
