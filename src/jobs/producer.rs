//! One producer per queue: claims due jobs in batches when slots are free,
//! starts them, and sleeps until woken (LISTEN/NOTIFY or a local commit), a
//! poll interval, a finished job, or shutdown.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Semaphore};

use super::completer::Completer;
use super::executor::execute;
use super::worker::{Budget, Mode, Shared};
use crate::store::types::{ClaimParams, ClaimedJob};
use crate::store::Backend;

pub(crate) struct QueueRun {
    pub queue: String,
    pub concurrency: usize,
    pub fetch: usize,
}

/// Runs until `stop` turns true, or (drain mode) until nothing is due and
/// nothing runs, or the job budget is spent. Unstarted claimed jobs are
/// released before returning.
pub(crate) async fn produce<C: Clone + Send + Sync + 'static>(
    shared: Arc<Shared<C>>,
    q: QueueRun,
    completer: Completer,
    budget: Arc<Budget>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(q.concurrency));
    let mut buffer: VecDeque<ClaimedJob> = VecDeque::new();
    let wake = shared.store.wake_handle();
    let mut failures = 0u32;
    let mut idle = false;
    loop {
        // Marks the value seen: a receiver cloned for a later drain round
        // still carries the earlier stop/restart as unseen changes, which
        // would make every `stop.changed()` below fire at once.
        if *stop.borrow_and_update() {
            break;
        }
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("semaphore never closed"),
            _ = stop.changed() => break,
        };
        if buffer.is_empty() {
            // Registered before the claim so that a wake-up during it is not lost.
            let woken = wake.notified();
            let finished = shared.finished.notified();
            tokio::pin!(woken, finished);
            woken.as_mut().enable();
            finished.as_mut().enable();

            let want = budget.take(q.fetch);
            if want == 0 {
                break;
            }
            let claimed = if idle && shared.store.backend() == Backend::Sqlite {
                // A read first, so that idle pollers do not queue on SQLite's write lock.
                match shared.store.has_due_jobs(&q.queue).await {
                    Ok(true) => claim(&shared, &q.queue, want).await,
                    Ok(false) => Ok(Vec::new()),
                    Err(e) => Err(e),
                }
            } else {
                claim(&shared, &q.queue, want).await
            };
            idle = matches!(&claimed, Ok(jobs) if jobs.is_empty());
            match claimed {
                Ok(jobs) => {
                    failures = 0;
                    budget.give_back(want - jobs.len());
                    if jobs.is_empty() {
                        drop(permit);
                        if shared.mode == Mode::Drain && shared.active.load(Ordering::SeqCst) == 0 {
                            break;
                        }
                        tokio::select! {
                            _ = &mut woken => {}
                            _ = &mut finished, if shared.mode == Mode::Drain => {}
                            _ = tokio::time::sleep(shared.poll_interval) => {}
                            _ = stop.changed() => break,
                        }
                        continue;
                    }
                    buffer.extend(jobs);
                }
                Err(e) => {
                    budget.give_back(want);
                    drop(permit);
                    failures += 1;
                    let wait = Duration::from_millis(250 * u64::from(failures.min(40)));
                    tracing::error!(queue = %q.queue, error = %e, retry_in_ms = wait.as_millis() as u64, "claim failed");
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => break,
                    }
                    continue;
                }
            }
        }
        let job = buffer.pop_front().expect("buffer refilled above");
        shared.active.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(execute(shared.clone(), job, completer.clone(), permit));
    }
    if !buffer.is_empty() {
        let unstarted: Vec<(i64, i32)> = buffer.iter().map(|j| (j.id, j.attempt)).collect();
        match shared.store.release_jobs(&shared.worker_id, &unstarted).await {
            Ok(n) => tracing::info!(queue = %q.queue, released = n, "released claimed jobs that had not started"),
            Err(e) => tracing::error!(queue = %q.queue, error = %e, "cannot release jobs; their leases will expire"),
        }
        shared
            .stats
            .released
            .fetch_add(unstarted.len() as u64, Ordering::Relaxed);
    }
}

async fn claim<C>(shared: &Shared<C>, queue: &str, limit: usize) -> Result<Vec<ClaimedJob>, crate::store::StoreError> {
    shared
        .store
        .claim_jobs(&ClaimParams {
            queue,
            limit: limit as i64,
            worker_id: &shared.worker_id,
            lease: shared.lease,
        })
        .await
}
