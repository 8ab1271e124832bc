//! Conformance of attempt outcomes, in process, on both backends: retries
//! and backoff, snooze, cancel/discard, timeouts, panics, undecodable args,
//! progress and idempotency keys.

use std::time::Duration;

use crate::on_all_backends;
use crate::support::worker::{config, drain, is_state, wait_for, Ctx, Live};
use crate::support::{Backend, TestDb};
use comptoir::jobs::{
    enqueue, enqueue_now, idempotency_key, retry, EnqueueOptions, Job, JobContext, JobError, JobKind, JobResult,
    JobState, KindOptions, Outcome, Registry,
};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------
// Test kinds and their context
// ---------------------------------------------------------------------------

/// Fails its first `fail_times` attempts, then succeeds; retries come fast.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Flaky {
    fail_times: i32,
}

impl JobKind for Flaky {
    const KIND: &'static str = "conf_flaky";
    fn options() -> KindOptions {
        KindOptions {
            backoff: retry::constant_backoff::<50>,
            ..KindOptions::default()
        }
    }
}

impl Job<Ctx> for Flaky {
    async fn perform(self, ctx: JobContext<Ctx>) -> JobResult {
        ctx.app.ran(ctx.job.id);
        ctx.app
            .keys
            .lock()
            .unwrap()
            .entry(ctx.job.id)
            .or_default()
            .push(ctx.idempotency_key());
        if ctx.job.attempt <= self.fail_times {
            return Err(JobError::msg(format!("boom on attempt {}", ctx.job.attempt)));
        }
        Ok(Outcome::Done)
    }
}

/// Always fails, with the default (delayed_job) backoff.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FailsSlowly {}

impl JobKind for FailsSlowly {
    const KIND: &'static str = "conf_fails_slowly";
}

impl Job<Ctx> for FailsSlowly {
    async fn perform(self, ctx: JobContext<Ctx>) -> JobResult {
        ctx.app.ran(ctx.job.id);
        Err(JobError::msg("slow failure"))
    }
}

/// Snoozes 200 ms on its first run, then completes.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Snoozer {}

impl JobKind for Snoozer {
    const KIND: &'static str = "conf_snoozer";
}

impl Job<Ctx> for Snoozer {
    async fn perform(self, ctx: JobContext<Ctx>) -> JobResult {
        if ctx.app.ran(ctx.job.id) == 1 {
            return Ok(Outcome::Snooze(Duration::from_millis(200)));
        }
        Ok(Outcome::Done)
    }
}

/// Ends with `Cancel("x")` or `Discard("y")`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EndsWith {
    cancel: bool,
}

impl JobKind for EndsWith {
    const KIND: &'static str = "conf_ends_with";
}

impl Job<Ctx> for EndsWith {
    async fn perform(self, ctx: JobContext<Ctx>) -> JobResult {
        ctx.app.ran(ctx.job.id);
        Ok(if self.cancel {
            Outcome::Cancel("x".into())
        } else {
            Outcome::Discard("y".into())
        })
    }
}

/// Sleeps far beyond its 200 ms timeout; one attempt only.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TooSlow {}

impl JobKind for TooSlow {
    const KIND: &'static str = "conf_too_slow";
    fn options() -> KindOptions {
        KindOptions {
            timeout: Duration::from_millis(200),
            max_attempts: 1,
            ..KindOptions::default()
        }
    }
}

impl Job<Ctx> for TooSlow {
    async fn perform(self, ctx: JobContext<Ctx>) -> JobResult {
        ctx.app.ran(ctx.job.id);
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok(Outcome::Done)
    }
}

/// Panics; one attempt only.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Panics {}

impl JobKind for Panics {
    const KIND: &'static str = "conf_panics";
    fn options() -> KindOptions {
        KindOptions {
            max_attempts: 1,
            ..KindOptions::default()
        }
    }
}

impl Job<Ctx> for Panics {
    async fn perform(self, ctx: JobContext<Ctx>) -> JobResult {
        ctx.app.ran(ctx.job.id);
        panic!("kaboom in a handler");
    }
}

/// Completes.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Fine {}

impl JobKind for Fine {
    const KIND: &'static str = "conf_fine";
}

impl Job<Ctx> for Fine {
    async fn perform(self, ctx: JobContext<Ctx>) -> JobResult {
        ctx.app.ran(ctx.job.id);
        Ok(Outcome::Done)
    }
}

/// Version 1 of a kind, as an older release enqueued it (never registered here).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct VersionedV1 {
    a: u32,
}

impl JobKind for VersionedV1 {
    const KIND: &'static str = "conf_versioned";
}

/// Version 2 of the same kind, with incompatible args.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct VersionedV2 {
    b: String,
}

impl JobKind for VersionedV2 {
    const KIND: &'static str = "conf_versioned";
}

impl Job<Ctx> for VersionedV2 {
    async fn perform(self, ctx: JobContext<Ctx>) -> JobResult {
        ctx.app.ran(ctx.job.id);
        Ok(Outcome::Done)
    }
}

/// Reports progress, then completes.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Progresses {}

impl JobKind for Progresses {
    const KIND: &'static str = "conf_progresses";
}

impl Job<Ctx> for Progresses {
    async fn perform(self, ctx: JobContext<Ctx>) -> JobResult {
        ctx.app.ran(ctx.job.id);
        ctx.set_progress(serde_json::json!({"done": 5, "total": 10})).await?;
        Ok(Outcome::Done)
    }
}

fn registry() -> Registry<Ctx> {
    Registry::new()
        .register::<Flaky>()
        .register::<FailsSlowly>()
        .register::<Snoozer>()
        .register::<EndsWith>()
        .register::<TooSlow>()
        .register::<Panics>()
        .register::<Fine>()
        .register::<Progresses>()
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// Failed attempts are retried with the kind's backoff and recorded; the last
/// one discards the job; the default backoff follows delayed_job's schedule.
async fn retries(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let ctx = Ctx::default();

    let recovers = enqueue_now(store, &Flaky { fail_times: 2 }, EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    let gives_up = enqueue_now(store, &Flaky { fail_times: 99 }, EnqueueOptions::new().max_attempts(3))
        .await
        .unwrap()
        .id();
    let live = Live::start(store, registry(), &ctx, config(2));
    let job = wait_for(store, recovers, "completed", is_state(JobState::Completed)).await;
    let lost = wait_for(store, gives_up, "discarded", is_state(JobState::Discarded)).await;
    let report = live.stop().await;

    assert_eq!(job.attempt, 3, "{job:?}");
    let attempts: Vec<i32> = job.errors.iter().map(|e| e.attempt).collect();
    assert_eq!(attempts, [1, 2], "{job:?}");
    let messages: Vec<&str> = job.errors.iter().map(|e| e.error.as_str()).collect();
    assert_eq!(messages, ["boom on attempt 1", "boom on attempt 2"]);
    assert!(job.errors[0].at <= job.errors[1].at);
    assert_eq!(ctx.runs(recovers), 3);

    assert_eq!(lost.attempt, 3, "{lost:?}");
    assert_eq!(lost.max_attempts, 3);
    assert!(lost.finished_at.is_some());
    let attempts: Vec<i32> = lost.errors.iter().map(|e| e.attempt).collect();
    assert_eq!(attempts, [1, 2, 3], "{lost:?}");
    let messages: Vec<&str> = lost.errors.iter().map(|e| e.error.as_str()).collect();
    assert_eq!(
        messages,
        ["boom on attempt 1", "boom on attempt 2", "boom on attempt 3"]
    );
    assert_eq!(ctx.runs(gives_up), 3, "discarded job ran again");
    assert_eq!(
        (report.completed, report.retried, report.discarded),
        (1, 4, 1),
        "{report:?}"
    );

    // Default backoff: attempt^4 + 5 s, plus up to 10% jitter, after attempt 1.
    let slow = enqueue_now(store, &FailsSlowly {}, EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    let report = drain(store, registry(), &ctx, config(1)).await;
    assert_eq!(report.retried, 1, "{report:?}");
    let job = store.get_job(slow).await.unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Retryable, 1), "{job:?}");
    assert_eq!(job.errors.len(), 1, "{job:?}");
    assert_eq!(job.errors[0].error, "slow failure");
    assert_eq!(job.errors[0].attempt, 1);
    let delay = (job.run_at - job.errors[0].at)
        .to_std()
        .expect("run_at after the failure");
    // Both instants come from one statement's clock; 10 ms of slack above.
    assert!(
        delay >= Duration::from_secs(6) && delay <= Duration::from_millis(6_600 + 10),
        "retry delay {delay:?} outside 6 s..6.6 s: {job:?}"
    );
    assert_eq!(ctx.runs(slow), 1, "drain ran a job that was not due");
}

/// A snooze reschedules without using an attempt.
async fn snooze(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let ctx = Ctx::default();

    let id = enqueue_now(store, &Snoozer {}, EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    let live = Live::start(store, registry(), &ctx, config(1));
    let job = wait_for(store, id, "completed", is_state(JobState::Completed)).await;
    let report = live.stop().await;

    assert_eq!(job.attempt, 1, "snooze used an attempt: {job:?}");
    assert!(job.errors.is_empty(), "{job:?}");
    assert_eq!(ctx.runs(id), 2);
    assert_eq!((report.snoozed, report.completed), (1, 1), "{report:?}");
}

/// `Outcome::Cancel` and `Outcome::Discard` end the job for good, with the reason.
async fn cancel_and_discard_outcomes(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let ctx = Ctx::default();

    let cancelled = enqueue_now(store, &EndsWith { cancel: true }, EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    let discarded = enqueue_now(store, &EndsWith { cancel: false }, EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    let report = drain(store, registry(), &ctx, config(1)).await;
    assert_eq!((report.cancelled, report.discarded), (1, 1), "{report:?}");

    let job = store.get_job(cancelled).await.unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Cancelled, 1), "{job:?}");
    assert!(job.finished_at.is_some());
    assert_eq!(job.errors.len(), 1, "{job:?}");
    assert!(job.errors[0].error.contains('x'), "{job:?}");

    let job = store.get_job(discarded).await.unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Discarded, 1), "{job:?}");
    assert!(job.finished_at.is_some());
    assert_eq!(job.errors.len(), 1, "{job:?}");
    assert_eq!(job.errors[0].error, "y");
    assert_eq!(job.errors[0].attempt, 1);

    // Neither ran again, though both had attempts left.
    let report = drain(store, registry(), &ctx, config(1)).await;
    assert_eq!(
        report.completed + report.retried + report.cancelled + report.discarded,
        0
    );
    assert_eq!((ctx.runs(cancelled), ctx.runs(discarded)), (1, 1));
}

/// An attempt running past the kind's timeout fails with a timeout error.
async fn timeout(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let ctx = Ctx::default();

    let id = enqueue_now(store, &TooSlow {}, EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    let report = drain(store, registry(), &ctx, config(1)).await;
    assert_eq!(report.discarded, 1, "{report:?}");
    let job = store.get_job(id).await.unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Discarded, 1), "{job:?}");
    assert_eq!(job.errors.len(), 1, "{job:?}");
    assert!(job.errors[0].error.contains("timed out"), "{job:?}");
    assert_eq!(ctx.runs(id), 1);
}

/// A panicking handler fails its attempt with the panic message; the worker
/// goes on with the next job.
async fn panic_is_a_failure(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let ctx = Ctx::default();

    let mut tx = store.begin().await.unwrap();
    let panics = enqueue(&mut tx, &Panics {}, EnqueueOptions::new()).await.unwrap().id();
    let fine = enqueue(&mut tx, &Fine {}, EnqueueOptions::new()).await.unwrap().id();
    tx.commit().await.unwrap();

    let report = drain(store, registry(), &ctx, config(1)).await;
    assert_eq!((report.discarded, report.completed), (1, 1), "{report:?}");
    let job = store.get_job(panics).await.unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Discarded, 1), "{job:?}");
    assert_eq!(job.errors.len(), 1, "{job:?}");
    assert!(job.errors[0].error.contains("panicked"), "{job:?}");
    assert!(job.errors[0].error.contains("kaboom in a handler"), "{job:?}");

    let job = store.get_job(fine).await.unwrap();
    assert_eq!(job.state, JobState::Completed, "{job:?}");
    assert_eq!(ctx.runs(fine), 1);
}

/// Args that no longer decode into the registered kind discard the job at
/// once; the worker goes on.
async fn bad_args(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let ctx = Ctx::default();

    let mut tx = store.begin().await.unwrap();
    let old = enqueue(&mut tx, &VersionedV1 { a: 7 }, EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    let current = enqueue(&mut tx, &VersionedV2 { b: "ok".into() }, EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    let fine = enqueue(&mut tx, &Fine {}, EnqueueOptions::new()).await.unwrap().id();
    tx.commit().await.unwrap();

    let registry = Registry::new().register::<VersionedV2>().register::<Fine>();
    let report = drain(store, registry, &ctx, config(1)).await;
    assert_eq!((report.discarded, report.completed), (1, 2), "{report:?}");

    let job = store.get_job(old).await.unwrap();
    assert_eq!(job.state, JobState::Discarded, "{job:?}");
    assert!(job.max_attempts > 1, "discarded for lack of attempts, not for its args");
    assert_eq!(job.errors.len(), 1, "{job:?}");
    assert!(job.errors[0].error.contains("args do not match"), "{job:?}");
    assert_eq!(ctx.runs(old), 0, "handler ran with bad args");

    for id in [current, fine] {
        let job = store.get_job(id).await.unwrap();
        assert_eq!(job.state, JobState::Completed, "{job:?}");
        assert_eq!(ctx.runs(id), 1);
    }
}

/// Progress set by a handler is saved on the row.
async fn progress(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let ctx = Ctx::default();

    let id = enqueue_now(store, &Progresses {}, EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    assert_eq!(store.get_job(id).await.unwrap().progress, None);
    let report = drain(store, registry(), &ctx, config(1)).await;
    assert_eq!(report.completed, 1, "{report:?}");
    let job = store.get_job(id).await.unwrap();
    assert_eq!(job.state, JobState::Completed, "{job:?}");
    assert_eq!(job.progress, Some(serde_json::json!({"done": 5, "total": 10})));
}

/// The idempotency key is the same for every attempt of a job, and differs
/// between jobs.
async fn idempotency_key_is_stable(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let ctx = Ctx::default();

    let a = enqueue_now(store, &Flaky { fail_times: 1 }, EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    let b = enqueue_now(store, &Flaky { fail_times: 1 }, EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    let live = Live::start(store, registry(), &ctx, config(2));
    for id in [a, b] {
        let job = wait_for(store, id, "completed", is_state(JobState::Completed)).await;
        assert_eq!(job.attempt, 2, "{job:?}");
    }
    live.stop().await;

    let keys = ctx.keys.lock().unwrap().clone();
    for id in [a, b] {
        let seen = &keys[&id];
        assert_eq!(seen.len(), 2, "job {id}: {seen:?}");
        assert_eq!(seen[0], seen[1], "job {id}: key changed between attempts");
        assert_eq!(seen[0], idempotency_key(id));
    }
    assert_ne!(keys[&a][0], keys[&b][0], "two jobs share a key");
}

on_all_backends!(
    retries,
    snooze,
    cancel_and_discard_outcomes,
    timeout,
    panic_is_a_failure,
    bad_args,
    progress,
    idempotency_key_is_stable,
);
