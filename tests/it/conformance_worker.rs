//! Conformance of the worker, in process, on both backends: exactly-once
//! execution under concurrency, rescue of expired leases, cancelling a
//! running job, graceful shutdown, periodic jobs across workers, pruning.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::on_all_backends;
use crate::support::worker::{all_jobs, config, drain, Ctx, Live};
use crate::support::{eventually, Backend, TestDb};
use comptoir::jobs::{
    enqueue_many, enqueue_now, EnqueueOptions, Inserted, Job, JobContext, JobError, JobFilter, JobKind, JobResult,
    JobState, KindOptions, Noop, Outcome, Registry, StopReason, WorkerConfig,
};
use comptoir::store::types::ClaimParams;
use comptoir::store::{Store, StoreError};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------
// Test kinds and their context
// ---------------------------------------------------------------------------

/// Counts its runs and sleeps `ms`, tracking how many run at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Counted {
    ms: u64,
}

impl JobKind for Counted {
    const KIND: &'static str = "conf_counted";
}

impl Job<Ctx> for Counted {
    async fn perform(self, ctx: JobContext<Ctx>) -> JobResult {
        let probe = &ctx.app;
        probe.ran(ctx.job.id);
        let now = probe.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        probe.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(self.ms)).await;
        probe.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(Outcome::Done)
    }
}

/// Flips `long_dropped` when dropped (the handler was aborted or ended).
struct DropFlag(Ctx);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.long_dropped.store(true, Ordering::SeqCst);
    }
}

/// Runs for 30 s unless stopped.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Long {}

impl JobKind for Long {
    const KIND: &'static str = "conf_long";
}

impl Job<Ctx> for Long {
    async fn perform(self, ctx: JobContext<Ctx>) -> JobResult {
        let _guard = DropFlag(ctx.app.clone());
        ctx.app.ran(ctx.job.id);
        ctx.app.long_started.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(Outcome::Done)
    }
}

/// Enqueues `n` `Counted` jobs into the default queue, from its own queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FanOut {
    n: usize,
}

impl JobKind for FanOut {
    const KIND: &'static str = "conf_fan_out";
    fn options() -> KindOptions {
        KindOptions {
            queue: "conf_fan_out".into(),
            ..KindOptions::default()
        }
    }
}

impl Job<Ctx> for FanOut {
    async fn perform(self, ctx: JobContext<Ctx>) -> JobResult {
        ctx.app.ran(ctx.job.id);
        let mut tx = ctx.store().begin().await?;
        let children = enqueue_many(&mut tx, (0..self.n).map(|_| (Counted { ms: 0 }, EnqueueOptions::new())))
            .await
            .map_err(JobError::msg)?;
        tx.commit().await?;
        ctx.app
            .children
            .lock()
            .unwrap()
            .extend(children.into_iter().map(Inserted::id));
        Ok(Outcome::Done)
    }
}

/// Waits for the gate to open, then completes or fails.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Gated {
    fail: bool,
}

impl JobKind for Gated {
    const KIND: &'static str = "conf_gated";
}

impl Job<Ctx> for Gated {
    async fn perform(self, ctx: JobContext<Ctx>) -> JobResult {
        ctx.app.ran(ctx.job.id);
        while !ctx.app.gate_open.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if self.fail {
            return Err(JobError::msg("failed after the cancel"));
        }
        Ok(Outcome::Done)
    }
}

fn registry() -> Registry<Ctx> {
    Registry::new()
        .register::<Counted>()
        .register::<Long>()
        .register::<FanOut>()
        .register::<Gated>()
}

async fn enqueue_counted(store: &Store, n: usize, ms: u64) -> Vec<i64> {
    let mut tx = store.begin().await.unwrap();
    let ids = enqueue_many(&mut tx, (0..n).map(|_| (Counted { ms }, EnqueueOptions::new())))
        .await
        .unwrap()
        .into_iter()
        .map(Inserted::id)
        .collect();
    tx.commit().await.unwrap();
    ids
}

const LIVENESS: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// 500 jobs at concurrency 8: each runs exactly once and is completed on its
/// first attempt; no more than 8 run at once.
async fn runs_exactly_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let ctx = Ctx::default();
    let ids = enqueue_counted(store, 500, 2).await;

    let report = drain(store, registry(), &ctx, config(8)).await;
    assert_eq!(report.completed, 500, "{report:?}");
    assert_eq!(report.stopped_by, StopReason::Empty);
    assert!(report.all_succeeded(), "{report:?}");

    let runs = ctx.runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 500);
    for id in &ids {
        assert_eq!(runs.get(id), Some(&1), "job {id} ran {:?} times", runs.get(id));
    }
    let max = ctx.max_in_flight.load(Ordering::SeqCst);
    assert!((1..=8).contains(&max), "{max} handlers ran at once with concurrency 8");
    let jobs = all_jobs(store).await;
    assert_eq!(jobs.len(), 500);
    for job in jobs {
        assert_eq!((job.state, job.attempt), (JobState::Completed, 1), "{job:?}");
        assert!(job.errors.is_empty(), "{job:?}");
        assert!(job.finished_at.is_some(), "{job:?}");
    }
}

/// Two workers on two handles (as two processes) share 500 jobs: each runs
/// exactly once.
async fn runs_exactly_once_across_workers(backend: Backend) {
    let db = TestDb::new(backend).await;
    let other = db.other_store().await;
    let ctx = Ctx::default();
    let ids = enqueue_counted(&db.store, 500, 1).await;

    let (a, b) = tokio::join!(
        drain(&db.store, registry(), &ctx, config(8)),
        drain(&other, registry(), &ctx, config(8))
    );
    assert_eq!(a.completed + b.completed, 500, "{a:?} {b:?}");
    let runs = ctx.runs.lock().unwrap().clone();
    for id in &ids {
        assert_eq!(runs.get(id), Some(&1), "job {id} ran {:?} times", runs.get(id));
    }
    for job in all_jobs(&db.store).await {
        assert_eq!((job.state, job.attempt), (JobState::Completed, 1), "{job:?}");
    }
}

/// A drain also runs what its jobs enqueue into a queue whose producer had
/// already found nothing to do (a second round): each job runs once, and no
/// job is claimed only to be given back. Repeated, as whether a second round
/// happens depends on which producer gives up first.
async fn drain_runs_jobs_enqueued_by_jobs(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    for round in 0..5 {
        let ctx = Ctx::default();
        let parent = enqueue_now(store, &FanOut { n: 20 }, EnqueueOptions::new())
            .await
            .unwrap()
            .id();
        let report = drain(store, registry(), &ctx, config(1)).await;
        assert_eq!(report.stopped_by, StopReason::Empty, "round {round}: {report:?}");
        assert_eq!(report.completed, 21, "round {round}: {report:?}");
        assert_eq!(
            report.released, 0,
            "round {round}: jobs claimed and given back during a drain: {report:?}"
        );
        assert_eq!(ctx.runs(parent), 1);
        let children = ctx.children.lock().unwrap().clone();
        assert_eq!(children.len(), 20);
        for id in children {
            assert_eq!(ctx.runs(id), 1, "round {round}: job {id}");
            let job = store.get_job(id).await.unwrap();
            assert_eq!(
                (job.state, job.attempt),
                (JobState::Completed, 1),
                "round {round}: {job:?}"
            );
        }
    }
}

/// Jobs held by a worker that died (their lease expires) are rescued and run
/// again. The one it had started used an attempt, recorded as a failed one;
/// the one it had only claimed (waiting in its buffer) gets its attempt back.
async fn rescue_after_lease_expiry(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let ctx = Ctx::default();

    let started = enqueue_now(store, &Counted { ms: 0 }, EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    let prefetched = enqueue_now(store, &Counted { ms: 0 }, EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    let claimed = store
        .claim_jobs(&ClaimParams {
            rate_room: 0,
            queue: "default",
            limit: 2,
            worker_id: "dead",
            lease: Duration::from_millis(300),
        })
        .await
        .unwrap();
    let ids: Vec<(i64, i32)> = claimed.iter().map(|j| (j.id, j.attempt)).collect();
    assert_eq!(ids, vec![(started, 1), (prefetched, 1)]);
    let job = store.get_job(started).await.unwrap();
    assert_eq!((job.state, job.locked_by.as_deref()), (JobState::Running, Some("dead")));
    assert_eq!(job.started_at, None, "claimed is not started");
    // Another worker cannot mark it started: only its holder can.
    assert_eq!(store.mark_jobs_started("other", &[(started, 1)]).await.unwrap(), 0);
    assert_eq!(store.mark_jobs_started("dead", &[(started, 1)]).await.unwrap(), 1);
    assert!(store.get_job(started).await.unwrap().started_at.is_some());

    // Let the leases expire; the drain's first rescue pass happens at its start.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let report = drain(
        store,
        registry(),
        &ctx,
        WorkerConfig {
            lease: Duration::from_secs(1),
            ..config(1)
        },
    )
    .await;
    assert_eq!(report.completed, 2, "{report:?}");

    let job = store.get_job(started).await.unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Completed, 2), "{job:?}");
    assert_eq!(job.errors.len(), 1, "{job:?}");
    assert_eq!(job.errors[0].attempt, 1);
    assert!(job.errors[0].error.contains("lease expired"), "{job:?}");
    assert!(job.errors[0].error.contains("dead"), "names the dead worker: {job:?}");
    assert_eq!(ctx.runs(started), 1);

    let job = store.get_job(prefetched).await.unwrap();
    assert_eq!(
        (job.state, job.attempt),
        (JobState::Completed, 1),
        "attempt given back: {job:?}"
    );
    assert!(job.errors.is_empty(), "{job:?}");
    assert_eq!(ctx.runs(prefetched), 1);
}

/// A job on its last attempt that was only claimed when its worker died is
/// not discarded: it never ran, so it keeps its last attempt.
async fn unstarted_last_attempt_is_not_discarded(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let ctx = Ctx::default();

    let id = enqueue_now(store, &Counted { ms: 0 }, EnqueueOptions::new().max_attempts(1))
        .await
        .unwrap()
        .id();
    for _ in 0..3 {
        let claimed = store
            .claim_jobs(&ClaimParams {
                rate_room: 0,
                queue: "default",
                limit: 1,
                worker_id: "dead",
                lease: Duration::from_millis(100),
            })
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].attempt, 1);
        tokio::time::sleep(Duration::from_millis(150)).await;
        let rescued = store.rescue_expired(10).await.unwrap();
        assert_eq!(rescued, vec![id]);
        let job = store.get_job(id).await.unwrap();
        assert_eq!(
            (job.state, job.attempt, job.locked_by.as_deref()),
            (JobState::Available, 0, None),
            "{job:?}"
        );
    }
    let report = drain(store, registry(), &ctx, config(1)).await;
    assert_eq!(report.completed, 1, "{report:?}");
    assert_eq!(ctx.runs(id), 1);
}

/// Cancelling a running job stops its handler at the next heartbeat, and the
/// row stays cancelled.
async fn cancel_running_job(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let ctx = Ctx::default();

    let id = enqueue_now(store, &Long {}, EnqueueOptions::new()).await.unwrap().id();
    let live = Live::start(
        store,
        registry(),
        &ctx,
        WorkerConfig {
            lease: Duration::from_millis(900),
            shutdown_grace: Duration::from_secs(1),
            ..config(1)
        },
    );
    assert!(
        eventually(LIVENESS, || async { ctx.long_started.load(Ordering::SeqCst) }).await,
        "long job never started"
    );
    let cancelled = store.cancel_job(id, "by test").await.unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);

    assert!(
        eventually(LIVENESS, || async { ctx.long_dropped.load(Ordering::SeqCst) }).await,
        "cancelled job's handler was never stopped"
    );
    // Stopping waits for the aborted attempt to be recorded (or not).
    let report = live.stop().await;
    assert_eq!(report.interrupted, 1, "{report:?}");
    assert_eq!(report.completed + report.retried, 0, "{report:?}");

    let job = store.get_job(id).await.unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Cancelled, 1), "{job:?}");
    assert_eq!(
        job.errors.len(),
        1,
        "aborted attempt overwrote the cancellation: {job:?}"
    );
    assert!(job.errors[0].error.contains("by test"), "{job:?}");
    assert_eq!(ctx.runs(id), 1);
}

/// A running job cancelled by an operator stays cancelled when its attempt
/// then ends by itself, whether it completes or fails.
async fn cancelled_job_ending_stays_cancelled(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let ctx = Ctx::default();

    let completes = enqueue_now(store, &Gated { fail: false }, EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    let fails = enqueue_now(store, &Gated { fail: true }, EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    // Long lease: the handlers end by themselves, not by a heartbeat abort.
    let live = Live::start(store, registry(), &ctx, config(2));
    assert!(
        eventually(LIVENESS, || async { ctx.runs(completes) == 1 && ctx.runs(fails) == 1 }).await,
        "gated jobs never started"
    );
    for id in [completes, fails] {
        assert_eq!(
            store.cancel_job(id, "by test").await.unwrap().state,
            JobState::Cancelled
        );
    }
    ctx.gate_open.store(true, Ordering::SeqCst);
    // Stopping waits for both attempts to end and their outcomes to be written.
    live.stop().await;

    for id in [completes, fails] {
        let job = store.get_job(id).await.unwrap();
        assert_eq!((job.state, job.attempt), (JobState::Cancelled, 1), "{job:?}");
        assert_eq!(job.errors.len(), 1, "attempt outcome written over the cancel: {job:?}");
        assert_eq!(job.errors[0].error, "by test");
        assert!(job.finished_at.is_some(), "{job:?}");
        assert_eq!(ctx.runs(id), 1);
    }
}

/// On shutdown the running job finishes, nothing else starts, and claimed but
/// unstarted jobs go back to the queue with their attempt unused.
async fn graceful_shutdown(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let ctx = Ctx::default();
    let ids = enqueue_counted(store, 21, 500).await;

    let live = Live::start(
        store,
        registry(),
        &ctx,
        WorkerConfig {
            prefetch: 10,
            ..config(1)
        },
    );
    assert!(
        eventually(LIVENESS, || async { !ctx.runs.lock().unwrap().is_empty() }).await,
        "no job started"
    );
    let report = live.stop().await;

    let runs = ctx.runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 1, "jobs started after the stop: {runs:?}");
    let (&started, &n) = runs.iter().next().unwrap();
    assert_eq!(n, 1);
    assert_eq!(report.stopped_by, StopReason::Signal);
    assert_eq!((report.completed, report.interrupted), (1, 0), "{report:?}");
    assert_eq!(report.released, 9, "claimed 10 at concurrency 1, started 1: {report:?}");

    for id in ids {
        let job = store.get_job(id).await.unwrap();
        if id == started {
            assert_eq!((job.state, job.attempt), (JobState::Completed, 1), "{job:?}");
        } else {
            assert_eq!((job.state, job.attempt), (JobState::Available, 0), "{job:?}");
            assert_eq!(job.locked_by, None, "{job:?}");
            assert_eq!(job.lease_expires_at, None, "{job:?}");
            assert!(job.errors.is_empty(), "{job:?}");
        }
    }
}

/// A periodic schedule run by two workers at once yields one job per slot.
async fn periodic_one_job_per_slot(backend: Backend) {
    let db = TestDb::new(backend).await;
    let other = db.other_store().await;
    let ctx = Ctx::default();
    let periodic = || {
        Registry::<Ctx>::new()
            .register::<Noop>()
            .periodic("tick", "* * * * * *", &Noop::default())
            .expect("periodic")
    };

    let a = Live::start(&db.store, periodic(), &ctx, config(2));
    let b = Live::start(&other, periodic(), &ctx, config(2));
    // The length of the scenario, not an assertion on timing.
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let (ra, rb) = (a.stop().await, b.stop().await);

    let jobs = db
        .store
        .list_jobs(&JobFilter {
            kind: Some(Noop::KIND.into()),
            limit: 10_000,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    let mut per_key: HashMap<String, Vec<i64>> = HashMap::new();
    for job in &jobs {
        let key = job
            .unique_key
            .clone()
            .unwrap_or_else(|| panic!("periodic job without a key: {job:?}"));
        assert!(key.starts_with("periodic:tick:"), "{key}");
        per_key.entry(key).or_default().push(job.id);
    }
    for (key, ids) in &per_key {
        assert_eq!(ids.len(), 1, "slot {key} enqueued {} times: {ids:?}", ids.len());
    }
    assert!(per_key.len() >= 2, "only {} slot(s) in 3.5 s: {jobs:?}", per_key.len());
    let completed = jobs.iter().filter(|j| j.state == JobState::Completed).count();
    assert!(completed >= 1, "no slot ran: {jobs:?}");
    assert_eq!(ra.completed + rb.completed, completed as u64, "{ra:?} {rb:?}");
    for job in &jobs {
        assert!(job.attempt <= 1, "{job:?}");
    }
}

/// Finished jobs older than the retention are deleted by a running worker;
/// unfinished ones stay.
async fn pruning(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let ctx = Ctx::default();

    let done = enqueue_counted(store, 3, 0).await;
    let cancelled = enqueue_now(
        store,
        &Counted { ms: 0 },
        EnqueueOptions::new().run_in(Duration::from_secs(3600)),
    )
    .await
    .unwrap()
    .id();
    store.cancel_job(cancelled, "not needed").await.unwrap();
    let scheduled = enqueue_now(
        store,
        &Counted { ms: 0 },
        EnqueueOptions::new().run_in(Duration::from_secs(3600)),
    )
    .await
    .unwrap()
    .id();
    let report = drain(store, registry(), &ctx, config(2)).await;
    assert_eq!(report.completed, 3, "{report:?}");
    // Let the 1 ms retention pass (the pruner compares with the database clock).
    tokio::time::sleep(Duration::from_millis(20)).await;

    let live = Live::start(
        store,
        registry(),
        &ctx,
        WorkerConfig {
            retention: Duration::from_millis(1),
            ..config(1)
        },
    );
    let pruned = eventually(LIVENESS, || async {
        let mut all_gone = true;
        for &id in done.iter().chain([&cancelled]) {
            all_gone &= matches!(store.get_job(id).await, Err(StoreError::NotFound));
        }
        all_gone
    })
    .await;
    live.stop().await;
    assert!(pruned, "finished jobs not pruned: {:?}", all_jobs(store).await);

    let job = store.get_job(scheduled).await.unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Scheduled, 0), "{job:?}");
    assert_eq!(all_jobs(store).await.len(), 1);
}

on_all_backends!(
    runs_exactly_once,
    runs_exactly_once_across_workers,
    drain_runs_jobs_enqueued_by_jobs,
    rescue_after_lease_expiry,
    unstarted_last_attempt_is_not_discarded,
    cancel_running_job,
    cancelled_job_ending_stays_cancelled,
    graceful_shutdown,
    periodic_one_job_per_slot,
    pruning,
);
