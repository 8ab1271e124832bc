//! Background duties of every worker process: renew its leases (and stop any
//! job taken away from it), rescue jobs whose worker died, prune finished
//! jobs, enqueue periodic slots.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::periodic::enqueue_periodic;
use super::worker::Shared;

const RESCUE_BATCH: i64 = 1_000;
const PRUNE_BATCH: i64 = 10_000;

/// Renews leases every third of the lease; a job this worker runs but no
/// longer holds (rescued after a stall, or cancelled by an operator) is aborted.
pub(crate) async fn heartbeat<C>(shared: Arc<Shared<C>>, mut stop: watch::Receiver<bool>) {
    let every = shared.lease / 3;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        let asked = Instant::now();
        match shared.store.heartbeat(&shared.worker_id, shared.lease).await {
            Ok(held) => {
                let held: HashSet<i64> = held.into_iter().collect();
                let running = shared.running.lock().expect("running map poisoned");
                for (id, job) in running.iter() {
                    if job.claimed < asked && !held.contains(id) {
                        tracing::warn!(
                            job.id = id,
                            "job no longer held by this worker (cancelled or rescued); stopping it"
                        );
                        job.abort.abort();
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "lease renewal failed; jobs may be rescued by other workers"),
        }
        if let Err(e) = shared.store.touch_worker(&shared.worker_id, shared.lease * 10).await {
            tracing::warn!(error = %e, "worker heartbeat failed");
        }
    }
}

/// One pass of rescue: jobs whose lease expired become retryable (or discarded).
pub(crate) async fn rescue_once<C>(shared: &Shared<C>) {
    loop {
        match shared.store.rescue_expired(RESCUE_BATCH).await {
            Ok(ids) if ids.is_empty() => return,
            Ok(ids) => {
                tracing::warn!(
                    count = ids.len(),
                    ?ids,
                    "rescued jobs whose worker stopped renewing their lease"
                );
                if (ids.len() as i64) < RESCUE_BATCH {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "rescue failed");
                return;
            }
        }
    }
}

/// One pass of pruning: finished jobs older than the retention are deleted.
pub(crate) async fn prune_once<C>(shared: &Shared<C>) {
    let mut total = 0;
    loop {
        match shared.store.prune_jobs(shared.retention, PRUNE_BATCH).await {
            Ok(n) => {
                total += n;
                if (n as i64) < PRUNE_BATCH {
                    break;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "pruning failed");
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(deleted = total, "pruned finished jobs");
    }
}

/// Enqueues the periodic slots as of the database clock
/// ([`enqueue_periodic`]); returns how long to wait before doing it again.
pub(crate) async fn periodic_once<C>(shared: &Shared<C>) -> Duration {
    if shared.registry.periodic_jobs().is_empty() {
        return Duration::from_secs(60);
    }
    let pass = async {
        let now = shared.store.now().await?;
        let next = enqueue_periodic(&shared.store, &shared.registry, now).await?;
        Ok::<_, super::Error>(next.map(|slot| slot - now))
    };
    match pass.await {
        // Come back just after the next slot, to enqueue it (skip) or the one after it.
        Ok(Some(until)) => {
            let until = until.to_std().unwrap_or_default();
            until.clamp(Duration::from_millis(200), Duration::from_secs(60)) + Duration::from_millis(50)
        }
        Ok(None) => Duration::from_secs(60),
        Err(e) => {
            tracing::error!(error = %e, "cannot enqueue periodic jobs");
            Duration::from_secs(5)
        }
    }
}

/// Rescuer, pruner and periodic enqueuer on their own clocks until stopped.
pub(crate) async fn run<C>(shared: Arc<Shared<C>>, mut stop: watch::Receiver<bool>) {
    let rescue_every = (shared.lease / 2).max(Duration::from_millis(500));
    let prune_every = Duration::from_secs(300);
    let now = tokio::time::Instant::now();
    let (mut next_rescue, mut next_prune, mut next_periodic) = (now, now, now);
    // Batches whose last job failed, was rescued or was cancelled get their callback here.
    let mut next_batches = now;
    loop {
        let now = tokio::time::Instant::now();
        if now >= next_rescue {
            rescue_once(&shared).await;
            next_rescue = now + rescue_every;
        }
        if now >= next_prune {
            prune_once(&shared).await;
            super::batch::prune_closed(&shared.store, shared.retention).await;
            next_prune = now + prune_every;
        }
        if now >= next_periodic {
            next_periodic = now + periodic_once(&shared).await;
        }
        if now >= next_batches {
            super::batch::close_finished_logged(&shared.store).await;
            next_batches = now + super::batch::CLOSE_EVERY;
        }
        let wake_at = next_rescue.min(next_prune).min(next_periodic);
        let wake_at = wake_at.min(next_batches);
        tokio::select! {
            _ = tokio::time::sleep_until(wake_at) => {}
            _ = stop.changed() => return,
        }
    }
}
