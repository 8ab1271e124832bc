//! Job operations of the seam: one method per operation, dispatched to the
//! backend that owns the SQL.

use std::time::Duration;

use super::tx::TxInner;
use chrono::{DateTime, Utc};

use super::types::{
    ClaimParams, ClaimedJob, Finish, HourlyAttempts, Inserted, JobFilter, JobOrder, JobRow, JobSortValue, LimitedClaim,
    NewJob, QueueCount, WorkerInfo,
};
use super::{postgres, sqlite, Inner, Store, StoreError, Tx};

macro_rules! dispatch {
    ($store:expr, $module:ident :: $f:ident ( $($arg:expr),* )) => {
        match &$store.inner {
            Inner::Postgres(s) => postgres::$module::$f(s, $($arg),*).await,
            Inner::Sqlite(s) => sqlite::$module::$f(s, $($arg),*).await,
        }
    };
}

impl Tx {
    /// Inserts jobs inside this transaction; they exist only if it commits.
    /// Results are in input order.
    #[tracing::instrument(skip_all, fields(count = jobs.len()))]
    pub async fn insert_jobs(&mut self, jobs: &[NewJob]) -> Result<Vec<Inserted>, StoreError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let out = match &mut self.inner {
            TxInner::Postgres(tx) => postgres::jobs::insert(tx, jobs).await?,
            TxInner::Sqlite(tx) => sqlite::jobs::insert(tx, jobs).await?,
        };
        if out.iter().any(|i| matches!(i, Inserted::New(_))) {
            self.wake_workers_on_commit();
        }
        self.count_enqueued(jobs, &out);
        Ok(out)
    }

    /// Makes a job that is not running available now, with at least one
    /// attempt left (a discarded job is revived with its error history).
    /// `Conflict` for a running job, or when reviving it would take a unique
    /// key that a live job holds; `NotFound` for an unknown id.
    #[tracing::instrument(skip(self))]
    pub async fn retry_job(&mut self, id: i64) -> Result<JobRow, StoreError> {
        let job = match &mut self.inner {
            TxInner::Postgres(tx) => postgres::admin::retry(tx, id).await?,
            TxInner::Sqlite(tx) => sqlite::admin::retry(tx, id).await?,
        };
        self.wake_workers_on_commit();
        Ok(job)
    }

    /// Cancels a job that has not finished (available, scheduled, retryable or
    /// running), appending `reason` to its error history; a running one is
    /// stopped by its worker at the next heartbeat. `Conflict` for a finished
    /// job.
    #[tracing::instrument(skip(self))]
    pub async fn cancel_job(&mut self, id: i64, reason: &str) -> Result<JobRow, StoreError> {
        Ok(match &mut self.inner {
            TxInner::Postgres(tx) => postgres::admin::cancel(tx, id, reason).await?,
            TxInner::Sqlite(tx) => sqlite::admin::cancel(tx, id, reason).await?,
        })
    }

    /// Gives up on a waiting job (available, scheduled or retryable): it
    /// becomes `discarded`, finished now, with `reason` appended to its error
    /// history under its current attempt number, and its unique key is freed.
    /// `Conflict` for a running job (cancel it instead: its worker stops it)
    /// or a finished one.
    #[tracing::instrument(skip(self))]
    pub async fn discard_job(&mut self, id: i64, reason: &str) -> Result<JobRow, StoreError> {
        Ok(match &mut self.inner {
            TxInner::Postgres(tx) => postgres::admin::discard(tx, id, reason).await?,
            TxInner::Sqlite(tx) => sqlite::admin::discard(tx, id, reason).await?,
        })
    }

    /// Sets when a job that is neither running nor completed runs next. By
    /// the database clock: `scheduled` at `at` if `at` is later than now,
    /// else `available` now. A cancelled or discarded job is revived as
    /// [`Tx::retry_job`] does (an attempt left, `finished_at` cleared, error
    /// history kept). `Conflict` for a running or completed job, or a unique
    /// key taken meanwhile.
    #[tracing::instrument(skip(self))]
    pub async fn reschedule_job(&mut self, id: i64, at: DateTime<Utc>) -> Result<JobRow, StoreError> {
        let job = match &mut self.inner {
            TxInner::Postgres(tx) => postgres::admin::reschedule(tx, id, at).await?,
            TxInner::Sqlite(tx) => sqlite::admin::reschedule(tx, id, at).await?,
        };
        self.wake_workers_on_commit();
        Ok(job)
    }

    /// Deletes a finished job (completed, cancelled or discarded) and returns
    /// it as it was. `Conflict` for a job that has not finished (nothing is
    /// deleted); `NotFound` for an unknown id.
    #[tracing::instrument(skip(self))]
    pub async fn delete_job(&mut self, id: i64) -> Result<JobRow, StoreError> {
        Ok(match &mut self.inner {
            TxInner::Postgres(tx) => postgres::admin::delete(tx, id).await?,
            TxInner::Sqlite(tx) => sqlite::admin::delete(tx, id).await?,
        })
    }
}

impl Store {
    /// Whether a job of `queue` is due (a read; cheap while idle).
    pub async fn has_due_jobs(&self, queue: &str) -> Result<bool, StoreError> {
        dispatch!(self, jobs::has_due(queue))
    }

    /// Moves up to `limit` due jobs of a queue that carry no limit to
    /// `running` under this worker's lease, most urgent first. No two
    /// claimers ever get the same job; a paused queue gives nothing.
    #[tracing::instrument(skip_all, fields(queue = p.queue, limit = p.limit))]
    pub async fn claim_jobs(&self, p: &ClaimParams<'_>) -> Result<Vec<ClaimedJob>, StoreError> {
        dispatch!(self, jobs::claim(p))
    }

    /// Claims due jobs of a queue that carry a concurrency or rate limit,
    /// as many as their limits allow across every worker, earliest of each
    /// key first ([`Store::claim_jobs`] takes only jobs without limits).
    #[tracing::instrument(skip_all, fields(queue = p.queue, limit = p.limit))]
    pub async fn claim_limited_jobs(&self, p: &ClaimParams<'_>) -> Result<LimitedClaim, StoreError> {
        dispatch!(self, jobs::claim_limited(p))
    }

    /// The queues paused now: no worker claims their jobs.
    pub async fn paused_queues(&self) -> Result<Vec<String>, StoreError> {
        dispatch!(self, jobs::paused_queues())
    }

    /// Records that this worker started attempts `(id, attempt)`: from now on
    /// a lost lease costs them their attempt. Stale attempts are left alone.
    #[tracing::instrument(skip_all, fields(count = started.len()))]
    pub async fn mark_jobs_started(&self, worker_id: &str, started: &[(i64, i32)]) -> Result<u64, StoreError> {
        if started.is_empty() {
            return Ok(0);
        }
        dispatch!(self, jobs::mark_started(worker_id, started))
    }

    /// Marks attempts `(id, attempt)` of this worker completed; stale attempts
    /// (rescued since, cancelled) are left alone. Returns the ids completed.
    #[tracing::instrument(skip_all, fields(count = done.len()))]
    pub async fn complete_jobs(&self, worker_id: &str, done: &[(i64, i32)]) -> Result<Vec<i64>, StoreError> {
        if done.is_empty() {
            return Ok(Vec::new());
        }
        dispatch!(self, jobs::complete(worker_id, done))
    }

    /// Records how an attempt of this worker ended. `false` when the attempt
    /// no longer owned the job (rescued or cancelled meanwhile).
    #[tracing::instrument(skip(self, how))]
    pub async fn finish_job(&self, worker_id: &str, id: i64, attempt: i32, how: &Finish) -> Result<bool, StoreError> {
        dispatch!(self, jobs::finish(worker_id, id, attempt, how))
    }

    /// Extends the lease of every job this worker holds; returns their ids, so
    /// the worker can stop any job it no longer owns.
    #[tracing::instrument(skip(self))]
    pub async fn heartbeat(&self, worker_id: &str, lease: Duration) -> Result<Vec<i64>, StoreError> {
        dispatch!(self, jobs::heartbeat(worker_id, lease))
    }

    /// Jobs whose lease expired (their worker died): a started one becomes
    /// retryable now, or discarded when it had no attempt left; one that was
    /// only claimed, never started, gets its attempt back. Returns their ids.
    #[tracing::instrument(skip(self))]
    pub async fn rescue_expired(&self, limit: i64) -> Result<Vec<i64>, StoreError> {
        let ids = dispatch!(self, jobs::rescue(limit))?;
        if !ids.is_empty() {
            self.wake_local();
        }
        Ok(ids)
    }

    /// Gives claimed but unstarted jobs back to the queue, attempt not used.
    #[tracing::instrument(skip(self, jobs), fields(count = jobs.len()))]
    pub async fn release_jobs(&self, worker_id: &str, jobs: &[(i64, i32)]) -> Result<u64, StoreError> {
        if jobs.is_empty() {
            return Ok(0);
        }
        let n = dispatch!(self, jobs::release(worker_id, jobs))?;
        self.wake_local();
        Ok(n)
    }

    /// Deletes up to `limit` finished jobs older than `older_than`.
    #[tracing::instrument(skip(self))]
    pub async fn prune_jobs(&self, older_than: Duration, limit: i64) -> Result<u64, StoreError> {
        dispatch!(self, jobs::prune(older_than, limit))
    }

    /// Saves a running attempt's progress (any JSON, e.g. `{"done": 10, "total": 100}`).
    pub async fn set_job_progress(
        &self,
        id: i64,
        attempt: i32,
        progress: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        dispatch!(self, jobs::set_progress(id, attempt, progress))
    }

    /// The job holding unique key `key` that has not finished, if any: the
    /// one that will still act under that key.
    pub async fn live_job_with_key(&self, key: &str) -> Result<Option<JobRow>, StoreError> {
        dispatch!(self, admin::live_by_unique_key(key))
    }

    pub async fn get_job(&self, id: i64) -> Result<JobRow, StoreError> {
        dispatch!(self, admin::get(id))
    }

    /// Newest first.
    pub async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<JobRow>, StoreError> {
        let order = JobOrder {
            after: filter.before_id.map(|id| (JobSortValue::Int(id), id)),
            ..JobOrder::default()
        };
        dispatch!(self, admin::list(filter, &order))
    }

    /// In `order`, from `order.after` (`filter.before_id` is not read).
    pub async fn list_jobs_ordered(&self, filter: &JobFilter, order: &JobOrder) -> Result<Vec<JobRow>, StoreError> {
        dispatch!(self, admin::list(filter, order))
    }

    /// [`Tx::delete_job`] in a transaction of its own.
    pub async fn delete_job(&self, id: i64) -> Result<JobRow, StoreError> {
        let mut tx = self.begin().await?;
        let job = tx.delete_job(id).await?;
        tx.commit().await?;
        Ok(job)
    }

    /// [`Tx::retry_job`] in a transaction of its own.
    pub async fn retry_job(&self, id: i64) -> Result<JobRow, StoreError> {
        let mut tx = self.begin().await?;
        let job = tx.retry_job(id).await?;
        tx.commit().await?;
        Ok(job)
    }

    /// [`Tx::cancel_job`] in a transaction of its own.
    pub async fn cancel_job(&self, id: i64, reason: &str) -> Result<JobRow, StoreError> {
        let mut tx = self.begin().await?;
        let job = tx.cancel_job(id, reason).await?;
        tx.commit().await?;
        Ok(job)
    }

    /// [`Tx::discard_job`] in a transaction of its own.
    pub async fn discard_job(&self, id: i64, reason: &str) -> Result<JobRow, StoreError> {
        let mut tx = self.begin().await?;
        let job = tx.discard_job(id, reason).await?;
        tx.commit().await?;
        Ok(job)
    }

    /// [`Tx::reschedule_job`] in a transaction of its own.
    pub async fn reschedule_job(&self, id: i64, at: DateTime<Utc>) -> Result<JobRow, StoreError> {
        let mut tx = self.begin().await?;
        let job = tx.reschedule_job(id, at).await?;
        tx.commit().await?;
        Ok(job)
    }

    /// Attempts that ended since `since`, per UTC hour, oldest first; hours
    /// without any are left out. Completions count by `finished_at` (jobs
    /// still `completed`); failures are the entries of the error histories,
    /// by their own time (see [`HourlyAttempts::failed`]).
    #[tracing::instrument(skip(self))]
    pub async fn attempts_per_hour(&self, since: DateTime<Utc>) -> Result<Vec<HourlyAttempts>, StoreError> {
        dispatch!(self, activity::attempts_per_hour(since))
    }

    /// How many error-history entries are dated `since` or later.
    #[tracing::instrument(skip(self))]
    pub async fn failed_attempts_since(&self, since: DateTime<Utc>) -> Result<i64, StoreError> {
        dispatch!(self, activity::failed_attempts_since(since))
    }

    /// The due job that has waited longest without running: available,
    /// scheduled or retryable with `run_at` not after now (database clock),
    /// earliest `run_at` first.
    #[tracing::instrument(skip(self))]
    pub async fn oldest_waiting_job(&self) -> Result<Option<JobRow>, StoreError> {
        dispatch!(self, activity::oldest_waiting())
    }

    /// Up to `limit` jobs that failed last and are still failed: retryable
    /// (by their last change) or discarded (by when they were), newest first.
    #[tracing::instrument(skip(self))]
    pub async fn recent_failures(&self, limit: i64) -> Result<Vec<JobRow>, StoreError> {
        dispatch!(self, activity::recent_failures(limit))
    }

    pub async fn count_jobs(&self) -> Result<Vec<QueueCount>, StoreError> {
        dispatch!(self, admin::counts())
    }

    pub async fn register_worker(&self, worker: &WorkerInfo) -> Result<(), StoreError> {
        dispatch!(self, admin::register_worker(worker))
    }

    /// Renews a worker's row and forgets workers silent for longer than `forget_after`.
    pub async fn touch_worker(&self, id: &str, forget_after: Duration) -> Result<(), StoreError> {
        dispatch!(self, admin::touch_worker(id, super::types::millis(forget_after)))
    }

    pub async fn remove_worker(&self, id: &str) -> Result<(), StoreError> {
        dispatch!(self, admin::remove_worker(id))
    }

    pub async fn list_workers(&self) -> Result<Vec<WorkerInfo>, StoreError> {
        dispatch!(self, admin::workers())
    }
}

/// `%text%` with LIKE's wildcards escaped (escape character `\`).
pub(crate) fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}
