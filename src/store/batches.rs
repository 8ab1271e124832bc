//! Batch operations of the seam: a batch groups jobs enqueued together and
//! describes a callback job, enqueued once when every job of the sealed
//! batch has finished. The rules (who may join, when the callback is due)
//! are in `jobs::batch`; here is one method per statement.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::tx::TxInner;
use super::types::JobRow;
use super::{postgres, sqlite, Inner, Store, StoreError, Tx};

/// The callback a batch enqueues once it is sealed and all its jobs finished.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchCallback {
    pub kind: String,
    pub args: serde_json::Value,
    pub queue: String,
    pub priority: i16,
    pub max_attempts: i32,
    /// The callback's limits as the jobs layer wrote them (opaque here).
    pub limits: Option<serde_json::Value>,
}

/// A batch as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRow {
    pub id: i64,
    pub callback: BatchCallback,
    /// Jobs that joined it.
    pub size: i64,
    pub created_at: DateTime<Utc>,
    /// No job joins it from then on.
    pub sealed_at: Option<DateTime<Utc>>,
    /// When its callback was enqueued: the batch is closed.
    pub finished_at: Option<DateTime<Utc>>,
    /// The callback's job (it may have been pruned since).
    pub callback_job_id: Option<i64>,
}

macro_rules! on_store {
    ($store:expr, $f:ident ( $($arg:expr),* )) => {
        match &$store.inner {
            Inner::Postgres(s) => postgres::batches::$f(&s.pool, $($arg),*).await,
            Inner::Sqlite(s) => sqlite::batches::$f(&s.reader, $($arg),*).await,
        }
    };
}

macro_rules! on_tx {
    ($tx:expr, $f:ident ( $($arg:expr),* )) => {
        match &mut $tx.inner {
            TxInner::Postgres(c) => postgres::batches::$f(c, $($arg),*).await,
            TxInner::Sqlite(c) => sqlite::batches::$f(c, $($arg),*).await,
        }
    };
}

impl Tx {
    /// Creates an open batch (not sealed, no job yet); returns its id.
    #[tracing::instrument(skip_all, fields(callback = %callback.kind))]
    pub async fn insert_batch(&mut self, callback: &BatchCallback) -> Result<i64, StoreError> {
        on_tx!(self, insert(callback))
    }

    /// Replaces the callback of an open batch (its args are written once the
    /// batch's id is known). `NotFound` for an unknown or closed batch.
    pub async fn set_batch_callback(&mut self, id: i64, callback: &BatchCallback) -> Result<(), StoreError> {
        on_tx!(self, set_callback(id, callback))
    }

    /// Makes jobs `ids` (that belong to no batch) members of batch `id` and
    /// returns how many joined. `NotFound` for an unknown batch, `Conflict`
    /// for a sealed one (nothing joins). The batch's row is locked until the
    /// transaction ends, so a concurrent seal waits for it.
    #[tracing::instrument(skip(self, ids), fields(count = ids.len()))]
    pub async fn join_batch(&mut self, id: i64, ids: &[i64]) -> Result<u64, StoreError> {
        on_tx!(self, join(id, ids))
    }

    /// Seals batch `id`: no job joins it any more (sealing twice is the same
    /// as once). `NotFound` for an unknown batch.
    #[tracing::instrument(skip(self))]
    pub async fn seal_batch(&mut self, id: i64) -> Result<(), StoreError> {
        on_tx!(self, seal(id))
    }

    /// Up to `limit` sealed batches not closed yet whose jobs have all
    /// finished, locked until this transaction ends (PostgreSQL skips the
    /// ones another closer holds; SQLite's write lock serialises closers).
    #[tracing::instrument(skip(self))]
    pub async fn lock_closable_batches(&mut self, limit: i64) -> Result<Vec<BatchRow>, StoreError> {
        on_tx!(self, lock_closable(limit))
    }

    /// Closes batch `id` with its callback's job (none when the callback could
    /// not be built). `Conflict` when it was closed already.
    #[tracing::instrument(skip(self))]
    pub async fn close_batch(&mut self, id: i64, callback_job_id: Option<i64>) -> Result<(), StoreError> {
        on_tx!(self, close(id, callback_job_id))
    }
}

impl Store {
    /// Whether a sealed batch waits for its callback with all its jobs
    /// finished: one read on an index of open batches, nothing when none is open.
    pub async fn has_closable_batches(&self) -> Result<bool, StoreError> {
        on_store!(self, has_closable())
    }

    pub async fn get_batch(&self, id: i64) -> Result<BatchRow, StoreError> {
        on_store!(self, get(id))
    }

    /// The jobs of batch `id` still in the table, oldest first.
    pub async fn batch_jobs(&self, id: i64) -> Result<Vec<JobRow>, StoreError> {
        on_store!(self, jobs(id))
    }

    /// The batch job `job_id` belongs to, if any.
    pub async fn batch_of_job(&self, job_id: i64) -> Result<Option<i64>, StoreError> {
        on_store!(self, of_job(job_id))
    }

    /// The batch whose callback is job `job_id`, if any.
    pub async fn batch_with_callback(&self, job_id: i64) -> Result<Option<BatchRow>, StoreError> {
        on_store!(self, with_callback(job_id))
    }

    /// Deletes up to `limit` batches closed before `older_than` ago that
    /// have no job left (members and callback pruned).
    #[tracing::instrument(skip(self))]
    pub async fn prune_batches(&self, older_than: Duration, limit: i64) -> Result<u64, StoreError> {
        match &self.inner {
            Inner::Postgres(s) => postgres::batches::prune(&s.pool, older_than, limit).await,
            Inner::Sqlite(s) => sqlite::batches::prune(&s.writer, older_than, limit).await,
        }
    }
}
