//! The kinds a product's workers run, written to the database
//! (`comptoir_kinds`) so that other programs can enqueue with plain SQL:
//! PostgreSQL's `comptoir_enqueue(kind, args, …)` and SQLite's `INSERT INTO
//! comptoir_enqueue` read a kind's defaults and limit declarations there
//! (migration 0017).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::tx::TxInner;
use super::types::JobState;
use super::{postgres, sqlite};
use super::{Inner, Store, StoreError, Tx};

/// What a kind declares, as the database keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindDefaults {
    pub kind: String,
    pub queue: String,
    pub priority: i16,
    pub max_attempts: i32,
    pub concurrency: Option<KindLimit>,
    pub rate: Option<KindLimit>,
}

/// A limit a kind declares: its key's source, its value and (for a rate) its
/// period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindLimit {
    pub key: KeySource,
    pub limit: i32,
    /// The rate's window; `None` for a concurrency limit.
    pub period: Option<Duration>,
}

/// Where a limit's key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// One key for the whole kind: `kind:<kind>`.
    Kind,
    /// `<name>:<value>`, the value read from the args at a JSON pointer.
    Arg { name: String, pointer: String },
}

impl KeySource {
    /// The name and pointer columns (both `NULL` for [`KeySource::Kind`]).
    pub(crate) fn columns(&self) -> (Option<&str>, Option<&str>) {
        match self {
            KeySource::Kind => (None, None),
            KeySource::Arg { name, pointer } => (Some(name), Some(pointer)),
        }
    }

    fn from_columns(name: Option<String>, pointer: Option<String>) -> Result<KeySource, StoreError> {
        match (name, pointer) {
            (None, None) => Ok(KeySource::Kind),
            (Some(name), Some(pointer)) => Ok(KeySource::Arg { name, pointer }),
            _ => Err(StoreError::Corrupt("a limit key has a name without a pointer".into())),
        }
    }
}

impl Store {
    /// Makes `comptoir_kinds` list exactly `kinds`: each is written (its
    /// defaults may have changed) and a kind absent from `kinds` is removed,
    /// so SQL can no longer enqueue a kind that no worker runs. One
    /// transaction; safe from many processes starting at once.
    #[tracing::instrument(skip_all, fields(count = kinds.len()))]
    pub async fn publish_kinds(&self, kinds: &[KindDefaults]) -> Result<(), StoreError> {
        match &self.inner {
            Inner::Postgres(s) => postgres::kinds::publish(s, kinds).await,
            Inner::Sqlite(s) => sqlite::kinds::publish(s, kinds).await,
        }
    }

    /// The kinds `comptoir_kinds` lists, by name.
    #[tracing::instrument(skip_all)]
    pub async fn published_kinds(&self) -> Result<Vec<KindDefaults>, StoreError> {
        match &self.inner {
            Inner::Postgres(s) => postgres::kinds::list(s).await,
            Inner::Sqlite(s) => sqlite::kinds::list(s).await,
        }
    }
}

/// A job as an enqueue from outside answers it (`POST /api/jobs`).
#[derive(Debug, Clone, PartialEq)]
pub struct JobSummary {
    pub id: i64,
    pub kind: String,
    pub queue: String,
    pub priority: i16,
    pub max_attempts: i32,
    pub state: JobState,
    pub run_at: DateTime<Utc>,
    pub unique_key: Option<String>,
}

impl Tx {
    /// Job `id` as this transaction sees it (a job it has just inserted
    /// too). `NotFound` for an unknown id.
    pub async fn job_summary(&mut self, id: i64) -> Result<JobSummary, StoreError> {
        match &mut self.inner {
            TxInner::Postgres(tx) => postgres::kinds::summary(tx, id).await,
            TxInner::Sqlite(tx) => sqlite::kinds::summary(tx, id).await,
        }
    }
}

/// The list's query, the same on both backends.
pub(crate) const LIST: &str = "SELECT kind, queue, priority, max_attempts, concurrency_name, concurrency_pointer,
        concurrency_limit, rate_name, rate_pointer, rate_limit, rate_period_ms
    FROM comptoir_kinds ORDER BY kind";

/// A row of `comptoir_kinds` as read.
#[derive(sqlx::FromRow)]
pub(crate) struct KindColumns {
    kind: String,
    queue: String,
    priority: i16,
    max_attempts: i32,
    concurrency_name: Option<String>,
    concurrency_pointer: Option<String>,
    concurrency_limit: Option<i32>,
    rate_name: Option<String>,
    rate_pointer: Option<String>,
    rate_limit: Option<i32>,
    rate_period_ms: Option<i64>,
}

impl TryFrom<KindColumns> for KindDefaults {
    type Error = StoreError;

    fn try_from(r: KindColumns) -> Result<Self, StoreError> {
        let concurrency = match r.concurrency_limit {
            None => None,
            Some(limit) => Some(KindLimit {
                key: KeySource::from_columns(r.concurrency_name, r.concurrency_pointer)?,
                limit,
                period: None,
            }),
        };
        let rate = match r.rate_limit {
            None => None,
            Some(limit) => Some(KindLimit {
                key: KeySource::from_columns(r.rate_name, r.rate_pointer)?,
                limit,
                period: r.rate_period_ms.map(|ms| Duration::from_millis(ms.max(0) as u64)),
            }),
        };
        Ok(KindDefaults {
            kind: r.kind,
            queue: r.queue,
            priority: r.priority,
            max_attempts: r.max_attempts,
            concurrency,
            rate,
        })
    }
}
