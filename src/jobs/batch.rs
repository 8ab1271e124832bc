//! Batches: jobs enqueued together, and a callback job enqueued once, when
//! every one of them has finished (completed, discarded or cancelled), to
//! act on their outcomes (the monthly run's summary e-mail).
//!
//! ```text
//! open (callback described) --enqueue jobs into it--> seal --all finished--> callback enqueued, batch closed
//! ```
//!
//! - A batch is opened and filled inside the caller's transaction; jobs may
//!   join it in several transactions until it is sealed, and never after
//!   (`Error::Store(Conflict)`). Its callback is not due before the seal, so
//!   a batch whose first jobs finish while more are being added waits.
//! - Only jobs a batch's enqueue inserts join it: a job a unique key turned
//!   into a duplicate (`Inserted::Duplicate`) stays where it was.
//! - Exactly once: the closer locks the batch's row, inserts the callback
//!   (unique key `batch:<id>`) and marks the batch closed in one
//!   transaction; whichever path finished the last job (a completion, a
//!   failure, a rescue, an operator), the closers that follow find it closed.
//!   Closers: a worker's completer after each round of completions, every
//!   worker's maintenance each second, and a drain before it decides that
//!   nothing is left.
//! - The callback learns its batch from its args (the `open` closure
//!   receives the id) or from [`of_callback`], and reads the outcomes with
//!   [`outcomes`]. A job an operator retries after the batch closed runs
//!   again, but the callback does not.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::enqueue::new_job;
use super::job::JobKind;
use super::{EnqueueOptions, Error, Inserted, JobState, KindOptions};
use crate::store::batches::{BatchCallback, BatchRow};
use crate::store::types::{ConcurrencyLimit, NewJob, RateLimit};
use crate::store::{Store, Tx};

/// Batches closed per transaction by a closer.
const CLOSE_AT_ONCE: i64 = 100;
/// How often every worker's maintenance looks for finished batches (one
/// indexed read when none is waiting).
pub(crate) const CLOSE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// An open batch: jobs enqueued through it join it until [`Batch::seal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    id: i64,
}

impl Batch {
    /// Opens a batch inside `tx`; its callback is `callback(batch_id)`,
    /// enqueued with `opts` (queue, priority, attempts; a unique key and a
    /// run time are the batch's to decide: `InvalidOption`).
    pub async fn open<J: JobKind>(
        tx: &mut Tx,
        callback: impl FnOnce(i64) -> J,
        opts: EnqueueOptions,
    ) -> Result<Batch, Error> {
        if opts.unique_key.is_some() || opts.run_at.is_some() {
            return Err(Error::InvalidOption(
                "a batch's callback has the unique key batch:<id> and runs once the batch has finished".into(),
            ));
        }
        let defaults = J::options();
        let provisional = BatchCallback {
            kind: J::KIND.to_string(),
            args: json!({}),
            queue: opts.queue.clone().unwrap_or_else(|| defaults.queue.to_string()),
            priority: opts.priority.unwrap_or(defaults.priority),
            max_attempts: opts.max_attempts.unwrap_or(defaults.max_attempts).max(1),
            limits: None,
        };
        let id = tx.insert_batch(&provisional).await?;
        let args = serde_json::to_value(callback(id))?;
        let row = new_job(J::KIND, args, &defaults, opts)?;
        tx.set_batch_callback(id, &describe(row)).await?;
        Ok(Batch { id })
    }

    /// A batch opened earlier (in another transaction), to add jobs or seal it.
    pub fn existing(id: i64) -> Batch {
        Batch { id }
    }

    pub fn id(&self) -> i64 {
        self.id
    }

    /// Enqueues `job` inside `tx` as a member of this batch.
    pub async fn enqueue<J: JobKind>(&self, tx: &mut Tx, job: &J, opts: EnqueueOptions) -> Result<Inserted, Error> {
        let inserted = super::enqueue(tx, job, opts).await?;
        self.join(tx, &[inserted]).await?;
        Ok(inserted)
    }

    /// Enqueues many jobs of one kind inside `tx` as members of this batch
    /// (results in input order).
    pub async fn enqueue_many<J: JobKind>(
        &self,
        tx: &mut Tx,
        jobs: impl IntoIterator<Item = (J, EnqueueOptions)>,
    ) -> Result<Vec<Inserted>, Error> {
        let inserted = super::enqueue_many(tx, jobs).await?;
        self.join(tx, &inserted).await?;
        Ok(inserted)
    }

    async fn join(&self, tx: &mut Tx, inserted: &[Inserted]) -> Result<(), Error> {
        let new: Vec<i64> = inserted
            .iter()
            .filter_map(|i| match i {
                Inserted::New(id) => Some(*id),
                Inserted::Duplicate(_) => None,
            })
            .collect();
        // Also with no new job: a sealed or unknown batch is refused the same way.
        tx.join_batch(self.id, &new).await?;
        Ok(())
    }

    /// No job joins the batch any more: its callback is enqueued once every
    /// job has finished (at once, by the next closer, for an empty batch).
    pub async fn seal(self, tx: &mut Tx) -> Result<i64, Error> {
        tx.seal_batch(self.id).await?;
        Ok(self.id)
    }
}

/// The stored form of the callback row `new_job` built.
fn describe(row: NewJob) -> BatchCallback {
    let mut limits = serde_json::Map::new();
    if let Some(c) = &row.concurrency {
        limits.insert("concurrency".into(), json!({ "key": c.key, "limit": c.limit }));
    }
    if let Some(r) = &row.rate {
        limits.insert(
            "rate".into(),
            json!({ "key": r.key, "limit": r.limit, "period_ms": r.period.as_millis() as u64 }),
        );
    }
    BatchCallback {
        kind: row.kind,
        args: row.args,
        queue: row.queue,
        priority: row.priority,
        max_attempts: row.max_attempts,
        limits: (!limits.is_empty()).then_some(serde_json::Value::Object(limits)),
    }
}

/// The callback job of a closing batch, as it was described at its opening.
fn callback_job(batch: &BatchRow) -> Result<NewJob, Error> {
    let cb = &batch.callback;
    let mut opts = EnqueueOptions::new()
        .queue(cb.queue.clone())
        .priority(cb.priority)
        .max_attempts(cb.max_attempts)
        .unique_key(format!("batch:{}", batch.id));
    let limits = cb.limits.clone().unwrap_or_default();
    if let Some(c) = limits.get("concurrency") {
        opts.concurrency = Some(ConcurrencyLimit {
            key: c["key"].as_str().unwrap_or_default().to_string(),
            limit: c["limit"].as_i64().unwrap_or_default() as i32,
        });
    }
    if let Some(r) = limits.get("rate") {
        opts.rate = Some(RateLimit {
            key: r["key"].as_str().unwrap_or_default().to_string(),
            limit: r["limit"].as_i64().unwrap_or_default() as i32,
            period: std::time::Duration::from_millis(r["period_ms"].as_u64().unwrap_or_default()),
        });
    }
    new_job(&cb.kind, cb.args.clone(), &KindOptions::default(), opts)
}

/// Enqueues the callback of every sealed batch whose jobs have all finished,
/// once each (see the module's notes); returns `(batch, callback job)` for
/// the batches this call closed. One read when no batch is waiting.
pub(crate) async fn close_finished(store: &Store) -> Result<Vec<(i64, Option<i64>)>, Error> {
    let mut closed = Vec::new();
    while store.has_closable_batches().await? {
        let mut tx = store.begin().await?;
        let batches = tx.lock_closable_batches(CLOSE_AT_ONCE).await?;
        if batches.is_empty() {
            // Another closer holds them (PostgreSQL) or closed them first.
            break;
        }
        let mut now = Vec::with_capacity(batches.len());
        for batch in &batches {
            let job = match callback_job(batch) {
                Ok(row) => tx
                    .insert_jobs(std::slice::from_ref(&row))
                    .await?
                    .first()
                    .map(|i| i.id()),
                Err(e) => {
                    // Checked when the batch was opened: only a row edited by hand gets here.
                    tracing::error!(batch.id = batch.id, error = %e, "batch callback cannot be built; closing the batch without it");
                    None
                }
            };
            tx.close_batch(batch.id, job).await?;
            now.push((batch.id, job));
        }
        tx.commit().await?;
        for (batch, job) in &now {
            tracing::info!(batch.id = batch, callback.id = ?job, "batch finished: callback enqueued");
        }
        closed.extend(now);
        if (batches.len() as i64) < CLOSE_AT_ONCE {
            break;
        }
    }
    Ok(closed)
}

/// [`close_finished`] for the worker's background duties: errors are logged
/// (the next closer tries again).
pub(crate) async fn close_finished_logged(store: &Store) {
    if let Err(e) = close_finished(store).await {
        tracing::error!(error = %e, "cannot close finished batches; trying again later");
    }
}

/// How one job of a batch ended (or stands, before the batch has finished).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobOutcome {
    pub id: i64,
    pub kind: String,
    pub args: serde_json::Value,
    pub state: JobState,
    pub attempt: i32,
    pub max_attempts: i32,
    /// The newest entry of the job's error history (for a completed job, an
    /// attempt that failed before the one that succeeded).
    pub last_error: Option<String>,
    /// What the job recorded with `JobContext::set_progress` (its result, for
    /// kinds that write one there).
    pub progress: Option<serde_json::Value>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl JobOutcome {
    /// The job's args as its kind's type.
    pub fn args_as<J: JobKind>(&self) -> Result<J, serde_json::Error> {
        serde_json::from_value(self.args.clone())
    }
}

/// A batch and what became of its jobs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchOutcomes {
    pub id: i64,
    /// Jobs that joined the batch.
    pub size: i64,
    pub created_at: DateTime<Utc>,
    pub sealed_at: Option<DateTime<Utc>>,
    /// When its callback was enqueued.
    pub finished_at: Option<DateTime<Utc>>,
    pub callback_job_id: Option<i64>,
    /// Oldest first.
    pub jobs: Vec<JobOutcome>,
    /// Jobs that joined but are no longer in the table (deleted by an
    /// operator, or pruned after the retention).
    pub missing: i64,
}

impl BatchOutcomes {
    /// How many of its jobs are in `state`.
    pub fn count(&self, state: JobState) -> usize {
        self.jobs.iter().filter(|j| j.state == state).count()
    }

    /// Jobs per state, in the lifecycle's order, states without a job left out.
    pub fn counts(&self) -> Vec<(JobState, usize)> {
        JobState::ALL
            .into_iter()
            .map(|s| (s, self.count(s)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Its jobs of kind `J`.
    pub fn of_kind<J: JobKind>(&self) -> impl Iterator<Item = &JobOutcome> {
        self.jobs.iter().filter(|j| j.kind == J::KIND)
    }
}

/// Batch `id` and the outcomes of its jobs. `Store(NotFound)` for an
/// unknown batch.
pub async fn outcomes(store: &Store, id: i64) -> Result<BatchOutcomes, Error> {
    let batch = store.get_batch(id).await?;
    let jobs: Vec<JobOutcome> = store
        .batch_jobs(id)
        .await?
        .into_iter()
        .map(|j| JobOutcome {
            last_error: j.errors.last().map(|e| e.error.clone()),
            id: j.id,
            kind: j.kind,
            args: j.args,
            state: j.state,
            attempt: j.attempt,
            max_attempts: j.max_attempts,
            progress: j.progress,
            finished_at: j.finished_at,
        })
        .collect();
    Ok(BatchOutcomes {
        id: batch.id,
        size: batch.size,
        created_at: batch.created_at,
        sealed_at: batch.sealed_at,
        finished_at: batch.finished_at,
        callback_job_id: batch.callback_job_id,
        missing: (batch.size - jobs.len() as i64).max(0),
        jobs,
    })
}

/// The batch whose callback is job `job_id` (a callback whose args cannot
/// hold its batch's id finds it here).
pub async fn of_callback(store: &Store, job_id: i64) -> Result<Option<i64>, Error> {
    Ok(store.batch_with_callback(job_id).await?.map(|b| b.id))
}

/// The batch job `job_id` belongs to, if any.
pub async fn of_job(store: &Store, job_id: i64) -> Result<Option<i64>, Error> {
    Ok(store.batch_of_job(job_id).await?)
}

/// Deletes the batches closed longer than `retention` ago whose jobs (and
/// callback) have all been pruned.
pub(crate) async fn prune_closed(store: &Store, retention: std::time::Duration) {
    match store.prune_batches(retention, 1_000).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "pruned finished batches"),
        Err(e) => tracing::error!(error = %e, "pruning batches failed"),
    }
}
