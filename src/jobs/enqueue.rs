//! Putting jobs in the table, inside the caller's transaction.

use chrono::{DateTime, Utc};
use std::time::Duration;

use super::job::JobKind;
use super::Error;
use crate::store::types::{ConcurrencyLimit, Inserted, NewJob, RateLimit, RunAt};
use crate::store::{Store, Tx};

/// Per-enqueue overrides of a kind's defaults.
#[derive(Debug, Clone, Default)]
pub struct EnqueueOptions {
    pub queue: Option<String>,
    pub priority: Option<i16>,
    pub max_attempts: Option<i32>,
    pub run_at: Option<RunAt>,
    /// While a job with this key is alive or completed, another is not inserted.
    pub unique_key: Option<String>,
    /// Replaces the kind's concurrency limit (key and value).
    pub concurrency: Option<ConcurrencyLimit>,
    /// Replaces the kind's rate limit (key, value and period).
    pub rate: Option<RateLimit>,
}

impl EnqueueOptions {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }
    pub fn priority(mut self, priority: i16) -> Self {
        self.priority = Some(priority);
        self
    }
    pub fn max_attempts(mut self, max_attempts: i32) -> Self {
        self.max_attempts = Some(max_attempts);
        self
    }
    pub fn run_in(mut self, delay: Duration) -> Self {
        self.run_at = Some(RunAt::In(delay));
        self
    }
    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(RunAt::At(at));
        self
    }
    pub fn unique_key(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }
    /// At most `limit` jobs with `key` run at once, across every worker.
    pub fn concurrency(mut self, key: impl Into<String>, limit: i32) -> Self {
        self.concurrency = Some(ConcurrencyLimit { key: key.into(), limit });
        self
    }
    /// At most `limit` jobs with `key` start per `period`, across every worker.
    pub fn rate(mut self, key: impl Into<String>, limit: i32, period: Duration) -> Self {
        self.rate = Some(RateLimit {
            key: key.into(),
            limit,
            period,
        });
        self
    }
}

/// Builds the row for `kind` with `args`, applying defaults then overrides.
pub(crate) fn new_job(
    kind: &str,
    args: serde_json::Value,
    defaults: &super::KindOptions,
    opts: EnqueueOptions,
) -> Result<NewJob, Error> {
    let invalid_args = |message: String| Error::InvalidArgs {
        kind: kind.to_string(),
        message,
    };
    let concurrency = match (opts.concurrency, defaults.concurrency) {
        (Some(c), _) => Some(c),
        (None, Some(c)) => Some(ConcurrencyLimit {
            key: c.key.key_for(kind, &args).map_err(invalid_args)?,
            limit: c.limit,
        }),
        (None, None) => None,
    };
    let rate = match (opts.rate, defaults.rate) {
        (Some(r), _) => Some(r),
        (None, Some(r)) => Some(RateLimit {
            key: r.key.key_for(kind, &args).map_err(invalid_args)?,
            limit: r.limit,
            period: r.period,
        }),
        (None, None) => None,
    };
    let job = NewJob {
        concurrency,
        rate,
        kind: kind.to_string(),
        args,
        queue: opts.queue.unwrap_or_else(|| defaults.queue.to_string()),
        priority: opts.priority.unwrap_or(defaults.priority),
        max_attempts: opts.max_attempts.unwrap_or(defaults.max_attempts),
        run_at: opts.run_at.unwrap_or(RunAt::Now),
        unique_key: opts.unique_key,
    };
    if job.max_attempts < 1 {
        return Err(Error::InvalidOption(format!(
            "max_attempts must be at least 1, got {}",
            job.max_attempts
        )));
    }
    if job.queue.trim().is_empty() || job.queue.len() > 100 {
        return Err(Error::InvalidOption(
            "queue must be a name of 1 to 100 characters".into(),
        ));
    }
    if job.unique_key.as_deref().is_some_and(|k| k.is_empty()) {
        return Err(Error::InvalidOption("unique_key must not be empty".into()));
    }
    if let Some(c) = &job.concurrency {
        if c.key.is_empty() || c.key.len() > 200 || c.limit < 1 {
            return Err(Error::InvalidOption(
                "a concurrency limit needs a key of 1 to 200 characters and a limit of at least 1".into(),
            ));
        }
    }
    if let Some(r) = &job.rate {
        if r.key.is_empty() || r.key.len() > 200 || r.limit < 1 || r.period < Duration::from_millis(1) {
            return Err(Error::InvalidOption(
                "a rate limit needs a key of 1 to 200 characters, a limit of at least 1 and a period of at least 1ms"
                    .into(),
            ));
        }
    }
    Ok(job)
}

/// Enqueues `job` inside `tx`: it exists only if `tx` commits.
pub async fn enqueue<J: JobKind>(tx: &mut Tx, job: &J, opts: EnqueueOptions) -> Result<Inserted, Error> {
    let row = new_job(J::KIND, serde_json::to_value(job)?, &J::options(), opts)?;
    let inserted = tx.insert_jobs(std::slice::from_ref(&row)).await?;
    inserted
        .into_iter()
        .next()
        .ok_or_else(|| Error::Store(crate::store::StoreError::Database("insert returned no row".into())))
}

/// Enqueues many jobs of one kind inside `tx` in as few statements as the
/// backend allows (imports, billing runs). Results are in input order.
pub async fn enqueue_many<J: JobKind>(
    tx: &mut Tx,
    jobs: impl IntoIterator<Item = (J, EnqueueOptions)>,
) -> Result<Vec<Inserted>, Error> {
    let defaults = J::options();
    let rows = jobs
        .into_iter()
        .map(|(job, opts)| new_job(J::KIND, serde_json::to_value(&job)?, &defaults, opts))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(tx.insert_jobs(&rows).await?)
}

/// Enqueues `job` in a transaction of its own.
pub async fn enqueue_now<J: JobKind>(store: &Store, job: &J, opts: EnqueueOptions) -> Result<Inserted, Error> {
    let mut tx = store.begin().await?;
    let inserted = enqueue(&mut tx, job, opts).await?;
    tx.commit().await?;
    Ok(inserted)
}
