//! Runs one claimed job: decode its args, call its handler under the kind's
//! timeout in a task of its own (so a panic is caught), and record the outcome.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::OwnedSemaphorePermit;

use super::completer::Completer;
use super::job::{JobContext, JobMeta, Outcome};
use super::worker::{RunningJob, Shared};
use crate::store::types::{ClaimedJob, Finish};

/// What happened to one attempt, for counters and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    Completed,
    Retried,
    Discarded,
    Cancelled,
    Snoozed,
    /// Stopped by shutdown or because the job was taken away from this worker.
    Interrupted,
}

impl Ended {
    /// How the metrics count it; an interrupted attempt is not an outcome.
    fn outcome(self) -> Option<crate::metrics::JobOutcome> {
        use crate::metrics::JobOutcome;
        match self {
            Ended::Completed => Some(JobOutcome::Completed),
            Ended::Retried => Some(JobOutcome::Retry),
            Ended::Discarded => Some(JobOutcome::Discard),
            Ended::Cancelled => Some(JobOutcome::Cancel),
            Ended::Snoozed => Some(JobOutcome::Snooze),
            Ended::Interrupted => None,
        }
    }
}

#[tracing::instrument(skip_all, fields(job.id = job.id, job.kind = %job.kind, job.attempt = job.attempt))]
pub(crate) async fn execute<C: Clone + Send + Sync + 'static>(
    shared: Arc<Shared<C>>,
    job: ClaimedJob,
    completer: Completer,
    _permit: OwnedSemaphorePermit,
) {
    let started = Instant::now();
    let ended = run_and_record(&shared, &job, &completer).await;
    shared.running.lock().expect("running map poisoned").remove(&job.id);
    shared.stats.record(ended);
    if let Some(outcome) = ended.outcome() {
        crate::metrics::global().job_finished(&job.kind, outcome, started.elapsed());
    }
    tracing::debug!(
        ?ended,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "attempt ended"
    );
    shared.active.fetch_sub(1, Ordering::SeqCst);
    shared.finished.notify_waiters();
}

async fn run_and_record<C: Clone + Send + Sync + 'static>(
    shared: &Arc<Shared<C>>,
    job: &ClaimedJob,
    completer: &Completer,
) -> Ended {
    let Some(handler) = shared.registry.handler(&job.kind).cloned() else {
        let error = format!("no handler for kind {:?} in this worker", job.kind);
        return record(shared, job, Finish::Discard { error }).await;
    };
    let ctx = JobContext::new(
        shared.app.clone(),
        JobMeta {
            id: job.id,
            kind: job.kind.clone(),
            queue: job.queue.clone(),
            attempt: job.attempt,
            max_attempts: job.max_attempts,
            created_at: job.created_at,
        },
        shared.store.clone(),
    );
    let future = match (handler.run)(job.args.clone(), ctx) {
        Ok(f) => f,
        Err(e) => {
            // Args written by an older version that no longer match the kind:
            // retrying cannot help.
            let error = format!("args do not match kind {:?}: {e}", job.kind);
            tracing::warn!(%error, "discarding job");
            return record(shared, job, Finish::Discard { error }).await;
        }
    };
    let timeout = handler.options.timeout;
    completer.started(job.id, job.attempt);
    let task = tokio::spawn(tokio::time::timeout(timeout, future));
    shared.running.lock().expect("running map poisoned").insert(
        job.id,
        RunningJob {
            claimed: Instant::now(),
            abort: task.abort_handle(),
        },
    );
    let failure = match task.await {
        Ok(Ok(Ok(Outcome::Done))) => {
            completer.completed(job.id, job.attempt);
            return Ended::Completed;
        }
        Ok(Ok(Ok(Outcome::Snooze(delay)))) => return record(shared, job, Finish::Snooze { delay }).await,
        Ok(Ok(Ok(Outcome::Cancel(reason)))) => {
            return record(
                shared,
                job,
                Finish::Cancel {
                    reason: format!("cancelled: {reason}"),
                },
            )
            .await
        }
        Ok(Ok(Ok(Outcome::Discard(error)))) => return record(shared, job, Finish::Discard { error }).await,
        Ok(Ok(Err(e))) => e.message().to_string(),
        Ok(Err(_elapsed)) => format!("timed out after {}", human(timeout)),
        Err(e) if e.is_panic() => format!("panicked: {}", panic_message(e.into_panic())),
        Err(_cancelled) => {
            // Aborted: shutdown past its grace time, or the job is no longer
            // ours (rescued, cancelled). The guarded update is a no-op in the
            // second case.
            let how = Finish::Retry {
                delay: Duration::ZERO,
                error: "interrupted: the worker stopped before the job finished".into(),
            };
            let _ = record(shared, job, how).await;
            return Ended::Interrupted;
        }
    };
    let how = if job.attempt >= job.max_attempts {
        Finish::Discard { error: failure }
    } else {
        Finish::Retry {
            delay: (handler.options.backoff)(job.attempt),
            error: failure,
        }
    };
    record(shared, job, how).await
}

/// Writes a non-completion outcome, retrying while the database is unreachable.
async fn record<C>(shared: &Shared<C>, job: &ClaimedJob, how: Finish) -> Ended {
    let ended = match &how {
        Finish::Retry { .. } => Ended::Retried,
        Finish::Discard { .. } => Ended::Discarded,
        Finish::Cancel { .. } => Ended::Cancelled,
        Finish::Snooze { .. } => Ended::Snoozed,
    };
    if let Finish::Retry { error, .. } | Finish::Discard { error } = &how {
        // A handler's error may quote its args (an IBAN, a token): masked as the admin shows it.
        let error = super::mask::mask_text(error);
        tracing::warn!(job.id = job.id, job.kind = %job.kind, attempt = job.attempt, %error, ?ended, "job failed");
    }
    let mut wait = Duration::from_millis(100);
    for _ in 0..8 {
        match shared
            .store
            .finish_job(&shared.worker_id, job.id, job.attempt, &how)
            .await
        {
            Ok(true) => return ended,
            Ok(false) => {
                tracing::info!(
                    job.id = job.id,
                    "outcome not recorded: the job was rescued or cancelled meanwhile"
                );
                return Ended::Interrupted;
            }
            Err(e) => {
                tracing::error!(job.id = job.id, error = %e, "cannot record job outcome; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
    // The lease will expire and the rescuer will retry the job: nothing is lost.
    Ended::Interrupted
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

pub(crate) fn human(d: Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}
