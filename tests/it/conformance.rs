//! Conformance of the queue engine, in process, on both backends: enqueue
//! (transactional, bulk, unique keys), ordering, and operator repair.
//! Worker outcomes are in `conformance_outcomes.rs`, live-worker behaviour
//! (concurrency, rescue, cancel, shutdown, periodic, pruning) in
//! `conformance_worker.rs`.

use std::collections::HashMap;
use std::time::Duration;

use crate::on_both_backends;
use crate::support::worker::{all_jobs, config, drain, Ctx};
use crate::support::{Backend, TestDb};
use comptoir::jobs::{
    enqueue, enqueue_many, enqueue_now, EnqueueOptions, Inserted, Job, JobContext, JobError, JobFilter, JobKind,
    JobResult, JobRow, JobState, Outcome, Registry,
};
use comptoir::store::types::ClaimParams;
use comptoir::store::StoreError;
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------
// Test kinds and their context
// ---------------------------------------------------------------------------

/// Records its label and completes.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Labelled {
    label: String,
}

impl JobKind for Labelled {
    const KIND: &'static str = "conf_labelled";
}

impl Job<Ctx> for Labelled {
    async fn perform(self, ctx: JobContext<Ctx>) -> JobResult {
        ctx.app.ran(ctx.job.id);
        ctx.app.order.lock().unwrap().push(self.label);
        Ok(Outcome::Done)
    }
}

/// Fails its first attempt, succeeds afterwards.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FailFirst {}

impl JobKind for FailFirst {
    const KIND: &'static str = "conf_fail_first";
}

impl Job<Ctx> for FailFirst {
    async fn perform(self, ctx: JobContext<Ctx>) -> JobResult {
        ctx.app.ran(ctx.job.id);
        if ctx.job.attempt == 1 {
            return Err(JobError::msg("first attempt fails"));
        }
        Ok(Outcome::Done)
    }
}

fn registry() -> Registry<Ctx> {
    Registry::new().register::<Labelled>().register::<FailFirst>()
}

fn labelled(label: &str) -> Labelled {
    Labelled { label: label.into() }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// A job enqueued in a transaction exists only if the transaction commits.
async fn transactional_enqueue(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;

    // Explicit rollback.
    let mut tx = store.begin().await.unwrap();
    let id = enqueue(&mut tx, &labelled("rolled back"), EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    tx.rollback().await.unwrap();
    assert!(
        matches!(store.get_job(id).await, Err(StoreError::NotFound)),
        "rolled back job visible"
    );
    assert!(all_jobs(store).await.is_empty(), "rolled back job listed");

    // Dropped without commit.
    {
        let mut tx = store.begin().await.unwrap();
        let id = enqueue(&mut tx, &labelled("dropped"), EnqueueOptions::new())
            .await
            .unwrap()
            .id();
        drop(tx);
        assert!(
            matches!(store.get_job(id).await, Err(StoreError::NotFound)),
            "dropped tx job visible"
        );
    }
    assert!(all_jobs(store).await.is_empty(), "job of a dropped transaction listed");

    // Commit: invisible to others until then, present and available after.
    let mut tx = store.begin().await.unwrap();
    let inserted = enqueue(&mut tx, &labelled("committed"), EnqueueOptions::new())
        .await
        .unwrap();
    let Inserted::New(id) = inserted else {
        panic!("expected a new job, got {inserted:?}")
    };
    assert!(
        matches!(store.get_job(id).await, Err(StoreError::NotFound)),
        "uncommitted job visible outside its transaction"
    );
    tx.commit().await.unwrap();
    let job = store.get_job(id).await.unwrap();
    assert_eq!(job.state, JobState::Available);
    assert_eq!(job.kind, Labelled::KIND);
    assert_eq!(job.args, serde_json::json!({"label": "committed"}));
    assert_eq!(job.attempt, 0);
    let jobs = all_jobs(store).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].id, id);
}

/// A bulk enqueue returns ids in input order; duplicates of unique keys (in
/// the batch or against a live job) come back as `Duplicate(existing id)`.
async fn bulk_enqueue(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;

    let mut tx = store.begin().await.unwrap();
    let batch = (0..1000).map(|i| (labelled(&format!("bulk-{i}")), EnqueueOptions::new()));
    let inserted = enqueue_many(&mut tx, batch).await.unwrap();
    tx.commit().await.unwrap();

    assert_eq!(inserted.len(), 1000);
    let ids: Vec<i64> = inserted
        .iter()
        .map(|i| match i {
            Inserted::New(id) => *id,
            other => panic!("expected only new jobs, got {other:?}"),
        })
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids not strictly increasing");
    // Input order: the id returned at position i is the row holding input i.
    let by_id: HashMap<i64, JobRow> = all_jobs(store).await.into_iter().map(|j| (j.id, j)).collect();
    assert_eq!(by_id.len(), 1000);
    for (i, id) in ids.iter().enumerate() {
        let job = &by_id[id];
        assert_eq!(
            job.args,
            serde_json::json!({"label": format!("bulk-{i}")}),
            "id {id} at position {i}"
        );
        assert_eq!(job.state, JobState::Available, "job {id}");
    }
    let available = store
        .list_jobs(&JobFilter {
            state: Some(JobState::Available),
            limit: 10_000,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(available.len(), 1000);

    // Duplicates within the batch and against an existing job.
    let existing = enqueue_now(
        store,
        &labelled("existing"),
        EnqueueOptions::new().unique_key("k-existing"),
    )
    .await
    .unwrap();
    let Inserted::New(existing) = existing else {
        panic!("expected a new job, got {existing:?}")
    };
    let mut tx = store.begin().await.unwrap();
    let out = enqueue_many(
        &mut tx,
        vec![
            (labelled("a"), EnqueueOptions::new().unique_key("k-a")),
            (labelled("plain-1"), EnqueueOptions::new()),
            (labelled("a-again"), EnqueueOptions::new().unique_key("k-a")),
            (
                labelled("existing-again"),
                EnqueueOptions::new().unique_key("k-existing"),
            ),
            (labelled("b"), EnqueueOptions::new().unique_key("k-b")),
            (labelled("plain-2"), EnqueueOptions::new()),
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(out.len(), 6, "{out:?}");
    let (Inserted::New(a), Inserted::New(p1), Inserted::New(b), Inserted::New(p2)) = (out[0], out[1], out[4], out[5])
    else {
        panic!("expected new jobs at 0, 1, 4, 5: {out:?}")
    };
    assert_eq!(out[2], Inserted::Duplicate(a), "{out:?}");
    assert_eq!(out[3], Inserted::Duplicate(existing), "{out:?}");
    assert!(a < p1 && p1 < b && b < p2, "ids not in input order: {out:?}");
    for (id, label) in [
        (a, "a"),
        (p1, "plain-1"),
        (b, "b"),
        (p2, "plain-2"),
        (existing, "existing"),
    ] {
        assert_eq!(
            store.get_job(id).await.unwrap().args,
            serde_json::json!({ "label": label })
        );
    }
    assert_eq!(all_jobs(store).await.len(), 1000 + 1 + 4, "duplicates were inserted");
}

/// Lower priority values run first; a job due in an hour is scheduled and
/// not run by a drain.
async fn priority_and_run_at(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let ctx = Ctx::default();

    let mut tx = store.begin().await.unwrap();
    // Enqueued out of priority order, each in its own statement.
    for p in [5i16, 1, 3, 0, 4, 2] {
        enqueue(&mut tx, &labelled(&format!("p{p}")), EnqueueOptions::new().priority(p))
            .await
            .unwrap();
    }
    let later = enqueue(
        &mut tx,
        &labelled("later"),
        EnqueueOptions::new().run_in(Duration::from_secs(3600)),
    )
    .await
    .unwrap()
    .id();
    tx.commit().await.unwrap();
    assert_eq!(store.get_job(later).await.unwrap().state, JobState::Scheduled);

    let report = drain(store, registry(), &ctx, config(1)).await;
    assert_eq!(report.completed, 6, "{report:?}");
    let order = ctx.order.lock().unwrap().clone();
    assert_eq!(order, ["p0", "p1", "p2", "p3", "p4", "p5"]);

    let job = store.get_job(later).await.unwrap();
    assert_eq!(job.state, JobState::Scheduled);
    assert_eq!(job.attempt, 0);
    let now = store.now().await.unwrap();
    assert!(
        job.run_at > now + chrono::Duration::minutes(59),
        "run_at {} now {now}",
        job.run_at
    );
}

/// A unique key blocks a second job while the first is alive or completed,
/// and is free again once the holder is cancelled (or discarded).
async fn unique_keys(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let ctx = Ctx::default();
    let opts = || EnqueueOptions::new().unique_key("invoice-42");

    let first = enqueue_now(store, &labelled("first"), opts()).await.unwrap();
    let Inserted::New(first) = first else {
        panic!("expected a new job, got {first:?}")
    };
    assert_eq!(
        enqueue_now(store, &labelled("second"), opts()).await.unwrap(),
        Inserted::Duplicate(first)
    );
    // Also inside a transaction that sees the first job.
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        enqueue(&mut tx, &labelled("third"), opts()).await.unwrap(),
        Inserted::Duplicate(first)
    );
    tx.commit().await.unwrap();
    assert_eq!(all_jobs(store).await.len(), 1);

    // Cancelled: the key is free.
    let cancelled = store.cancel_job(first, "not needed").await.unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    let second = enqueue_now(store, &labelled("after cancel"), opts()).await.unwrap();
    let Inserted::New(second) = second else {
        panic!("key still blocked after cancel: {second:?}")
    };
    assert_ne!(second, first);

    // Completed: the key stays taken.
    drain(store, registry(), &ctx, config(1)).await;
    assert_eq!(store.get_job(second).await.unwrap().state, JobState::Completed);
    assert_eq!(
        enqueue_now(store, &labelled("after completion"), opts()).await.unwrap(),
        Inserted::Duplicate(second)
    );
    assert_eq!(ctx.order.lock().unwrap().clone(), ["after cancel"]);

    // Discarded: free again.
    let other = enqueue_now(
        store,
        &FailFirst {},
        EnqueueOptions::new().unique_key("once").max_attempts(1),
    )
    .await
    .unwrap()
    .id();
    drain(store, registry(), &ctx, config(1)).await;
    assert_eq!(store.get_job(other).await.unwrap().state, JobState::Discarded);
    let again = enqueue_now(store, &FailFirst {}, EnqueueOptions::new().unique_key("once"))
        .await
        .unwrap();
    assert!(matches!(again, Inserted::New(id) if id != other), "{again:?}");
}

/// `retry_job` revives a discarded job (with an attempt left); retrying a
/// running or completed job, or cancelling a finished one, is a conflict; unknown ids are
/// not found.
async fn operator_repair(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let ctx = Ctx::default();

    let id = enqueue_now(store, &FailFirst {}, EnqueueOptions::new().max_attempts(1))
        .await
        .unwrap()
        .id();
    let report = drain(store, registry(), &ctx, config(1)).await;
    assert_eq!(report.discarded, 1, "{report:?}");
    let job = store.get_job(id).await.unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Discarded, 1));
    assert!(job.finished_at.is_some());

    let revived = store.retry_job(id).await.unwrap();
    assert_eq!(revived.state, JobState::Available);
    assert!(revived.max_attempts > revived.attempt, "no attempt left: {revived:?}");
    assert_eq!(revived.finished_at, None);
    assert_eq!(revived.errors.len(), 1, "history kept");
    let report = drain(store, registry(), &ctx, config(1)).await;
    assert_eq!(report.completed, 1, "{report:?}");
    let job = store.get_job(id).await.unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Completed, 2), "{job:?}");
    assert_eq!(ctx.runs.lock().unwrap()[&id], 2);

    // Completed: cannot be cancelled, nor retried (its outside effects happened once).
    match store.cancel_job(id, "too late").await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("cancel of a completed job: {other:?}"),
    }
    match store.retry_job(id).await {
        Err(StoreError::Conflict(m)) => assert!(m.contains("completed"), "{m}"),
        other => panic!("retry of a completed job: {other:?}"),
    }
    assert_eq!(store.get_job(id).await.unwrap().state, JobState::Completed);

    // Running: cannot be retried.
    let running = enqueue_now(store, &labelled("held"), EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    let claimed = store
        .claim_jobs(&ClaimParams {
            queue: "default",
            limit: 1,
            worker_id: "test-claimer",
            lease: Duration::from_secs(60),
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, running);
    match store.retry_job(running).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("retry of a running job: {other:?}"),
    }
    let job = store.get_job(running).await.unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Running, 1));

    // A revived job may not take a unique key that a newer job holds.
    let old = enqueue_now(
        store,
        &FailFirst {},
        EnqueueOptions::new().max_attempts(1).unique_key("k"),
    )
    .await
    .unwrap()
    .id();
    drain(store, registry(), &ctx, config(1)).await;
    assert_eq!(store.get_job(old).await.unwrap().state, JobState::Discarded);
    let newer = enqueue_now(
        store,
        &labelled("newer"),
        EnqueueOptions::new().unique_key("k").run_in(Duration::from_secs(3600)),
    )
    .await
    .unwrap();
    assert!(matches!(newer, Inserted::New(id) if id != old), "{newer:?}");
    match store.retry_job(old).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("retry of a job whose unique key is taken: {other:?}"),
    }
    assert_eq!(store.get_job(old).await.unwrap().state, JobState::Discarded);

    // Unknown ids.
    let unknown = 987_654_321;
    assert!(matches!(store.get_job(unknown).await, Err(StoreError::NotFound)));
    match store.retry_job(unknown).await {
        Err(StoreError::NotFound) => {}
        other => panic!("retry of an unknown job: {other:?}"),
    }
    match store.cancel_job(unknown, "ghost").await {
        Err(StoreError::NotFound) => {}
        other => panic!("cancel of an unknown job: {other:?}"),
    }
}

on_both_backends!(
    transactional_enqueue,
    bulk_enqueue,
    priority_and_run_at,
    unique_keys,
    operator_repair,
);
