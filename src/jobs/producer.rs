//! One producer per queue: claims due jobs in batches when slots are free,
//! starts them, and sleeps until woken (LISTEN/NOTIFY or a local commit), a
//! poll interval, a finished job, or shutdown.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Semaphore};

use super::completer::Completer;
use super::executor::execute;
use super::worker::{Budget, Mode, Shared};
use crate::store::types::{ClaimParams, ClaimedJob, LimitedClaim};
use crate::store::Backend;

pub(crate) struct QueueRun {
    pub queue: String,
    pub concurrency: usize,
    pub fetch: usize,
}

/// Jobs with a concurrency or rate limit are claimed by a second query (see
/// [`crate::store::Store::claim_limited_jobs`]); while plain jobs fill every
/// claim it runs at most this often, so a queue without limits pays one
/// small query per this period and no more.
const LIMITED_CLAIM_EVERY: Duration = Duration::from_millis(100);

/// Runs until `stop` turns true, or (drain mode) until nothing is due and
/// nothing runs, or the job budget is spent, or its queue is paused (drain).
/// Unstarted claimed jobs are released before returning, and when the queue
/// is paused.
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
    let mut paused = shared.paused.subscribe();
    let mut last_limited: Option<Instant> = None;
    // Limited jobs wait for running ones: a job ending here may free their key.
    let mut held = false;
    loop {
        // Marks the value seen: a receiver cloned for a later drain round
        // still carries the earlier stop/restart as unseen changes, which
        // would make every `stop.changed()` below fire at once.
        if *stop.borrow_and_update() {
            break;
        }
        if paused.borrow_and_update().contains(&q.queue) {
            release(&shared, &q.queue, &mut buffer).await;
            shared
                .paused_seen
                .lock()
                .expect("paused set poisoned")
                .insert(q.queue.clone());
            if shared.mode == Mode::Drain {
                tracing::info!(queue = %q.queue, "queue paused: its jobs are left waiting");
                break;
            }
            tracing::info!(queue = %q.queue, "queue paused: no job starts until it is resumed");
            tokio::select! {
                _ = paused.changed() => {}
                _ = stop.changed() => break,
            }
            continue;
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
                // Another producer holds the rest of a `--max-jobs` budget
                // for its claim: wait for what it does not use.
                drop(permit);
                tokio::select! {
                    more = budget.wait_for_return() => if more { continue } else { break },
                    _ = stop.changed() => break,
                }
            }
            let mut nothing_due = false;
            let claimed = if idle && shared.store.backend() == Backend::Sqlite {
                // A read first, so that idle pollers do not queue on SQLite's write lock.
                match shared.store.has_due_jobs(&q.queue).await {
                    Ok(true) => claim(&shared, &q.queue, want).await,
                    Ok(false) => {
                        nothing_due = true;
                        Ok(Vec::new())
                    }
                    Err(e) => Err(e),
                }
            } else {
                claim(&shared, &q.queue, want).await
            };
            // Then the jobs with limits, when plain jobs left room or a while
            // has passed. A rate limit counts claims: jobs claimed together
            // start as this worker's slots free up. (Claiming no more than
            // the free slots would keep starts closer to claims, but a
            // limited claim costs a few statements: on PostgreSQL, rate-limited
            // drains fell from the limit, 2,000/s, to 700/s.)
            let claimed = match claimed {
                Ok(jobs)
                    if !nothing_due
                        && (jobs.len() < want || last_limited.is_none_or(|t| t.elapsed() >= LIMITED_CLAIM_EVERY)) =>
                {
                    last_limited = Some(Instant::now());
                    let room = want - jobs.len();
                    if room == 0 {
                        Ok((jobs, None))
                    } else {
                        match claim_limited(&shared, &q.queue, room, room).await {
                            Ok(limited) => {
                                held = limited.held;
                                let mut jobs = jobs;
                                jobs.extend(limited.jobs);
                                Ok((jobs, limited.rate_wait))
                            }
                            Err(e) => {
                                // What the first query claimed is ours: run it, report the failure.
                                tracing::error!(queue = %q.queue, error = %e, "claim of limited jobs failed");
                                Ok((jobs, Some(shared.poll_interval)))
                            }
                        }
                    }
                }
                Ok(jobs) => Ok((jobs, None)),
                Err(e) => Err(e),
            };
            idle = matches!(&claimed, Ok((jobs, None)) if jobs.is_empty());
            match claimed {
                Ok((jobs, rate_wait)) => {
                    failures = 0;
                    budget.settle(want, jobs.len());
                    if jobs.is_empty() {
                        drop(permit);
                        // Jobs a rate limit holds back are due: a drain waits for them.
                        if rate_wait.is_none()
                            && shared.mode == Mode::Drain
                            && shared.active.load(Ordering::SeqCst) == 0
                        {
                            break;
                        }
                        let nap = rate_wait.map_or(shared.poll_interval, |w| w.min(shared.poll_interval));
                        tokio::select! {
                            _ = &mut woken => {}
                            _ = &mut finished, if shared.mode == Mode::Drain || held => {}
                            _ = tokio::time::sleep(nap) => {}
                            _ = stop.changed() => break,
                            _ = paused.changed() => {}
                        }
                        continue;
                    }
                    buffer.extend(jobs);
                }
                Err(e) => {
                    budget.settle(want, 0);
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
    release(&shared, &q.queue, &mut buffer).await;
}

/// Gives the claimed jobs that have not started back to the queue.
async fn release<C>(shared: &Shared<C>, queue: &str, buffer: &mut VecDeque<ClaimedJob>) {
    if buffer.is_empty() {
        return;
    }
    let unstarted: Vec<(i64, i32)> = buffer.drain(..).map(|j| (j.id, j.attempt)).collect();
    match shared.store.release_jobs(&shared.worker_id, &unstarted).await {
        Ok(n) => tracing::info!(queue = %queue, released = n, "released claimed jobs that had not started"),
        Err(e) => tracing::error!(queue = %queue, error = %e, "cannot release jobs; their leases will expire"),
    }
    shared
        .stats
        .released
        .fetch_add(unstarted.len() as u64, Ordering::Relaxed);
}

fn params<'a, C>(shared: &'a Shared<C>, queue: &'a str, limit: usize, rate_room: usize) -> ClaimParams<'a> {
    ClaimParams {
        queue,
        limit: limit as i64,
        rate_room: rate_room as i64,
        worker_id: &shared.worker_id,
        lease: shared.lease,
    }
}

async fn claim<C>(shared: &Shared<C>, queue: &str, limit: usize) -> Result<Vec<ClaimedJob>, crate::store::StoreError> {
    shared.store.claim_jobs(&params(shared, queue, limit, 0)).await
}

async fn claim_limited<C>(
    shared: &Shared<C>,
    queue: &str,
    limit: usize,
    rate_room: usize,
) -> Result<LimitedClaim, crate::store::StoreError> {
    shared
        .store
        .claim_limited_jobs(&params(shared, queue, limit, rate_room))
        .await
}
