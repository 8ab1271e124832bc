//! Conformance, on both backends, of what the admin does to jobs and reads
//! about them: discard and reschedule (states allowed and refused, in the
//! caller's transaction), attempts per hour, failed attempts, the oldest
//! waiting job.

use std::time::Duration;

use crate::on_all_backends;
use crate::support::billing::raw_execute;
use crate::support::worker::{config, drain_noops};
use crate::support::{Backend, TestDb};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use comptoir::jobs::{enqueue_now, EnqueueOptions, Inserted, JobState, Noop};
use comptoir::store::types::{ClaimParams, HourlyAttempts};
use comptoir::store::{Store, StoreError};

async fn noop(store: &Store, opts: EnqueueOptions) -> i64 {
    enqueue_now(store, &Noop::default(), opts).await.expect("enqueue").id()
}

async fn claim_one(store: &Store) -> i64 {
    let claimed = store
        .claim_jobs(&ClaimParams {
            rate_room: 0,
            queue: "default",
            limit: 1,
            worker_id: "conformance",
            lease: Duration::from_secs(60),
        })
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1, "one job due");
    claimed[0].id
}

fn is_conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

/// `at` as the backend stores it, for raw SQL.
fn stamp(backend: Backend, at: DateTime<Utc>) -> String {
    match backend {
        Backend::Postgres => format!("'{}'::timestamptz", at.to_rfc3339()),
        Backend::Sqlite => at.timestamp_millis().to_string(),
    }
}

async fn set_finished_at(db: &TestDb, id: i64, at: DateTime<Utc>) {
    let sql = format!(
        "UPDATE comptoir_jobs SET finished_at = {} WHERE id = {id}",
        stamp(db.backend, at)
    );
    assert_eq!(raw_execute(db, &sql).await, Ok(1));
}

/// Replaces a job's error history with entries at these times.
async fn set_errors(db: &TestDb, id: i64, at: &[DateTime<Utc>]) {
    let entries: Vec<serde_json::Value> = at
        .iter()
        .enumerate()
        .map(|(i, t)| serde_json::json!({ "attempt": i + 1, "at": t.to_rfc3339(), "error": format!("boom {i}") }))
        .collect();
    let json = serde_json::Value::from(entries).to_string();
    let last = at.iter().max().copied().unwrap_or_else(Utc::now);
    let sql = format!(
        "UPDATE comptoir_jobs SET errors = '{json}', updated_at = {} WHERE id = {id}",
        stamp(db.backend, last)
    );
    assert_eq!(raw_execute(db, &sql).await, Ok(1));
}

/// Discard: only waiting jobs, reason kept, unique key freed; in the
/// caller's transaction.
async fn discard(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;

    let waiting = noop(store, EnqueueOptions::new().unique_key("nightly")).await;
    // Rolled back: nothing changed.
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.discard_job(waiting, "oops").await.unwrap().state,
        JobState::Discarded
    );
    tx.rollback().await.unwrap();
    let job = store.get_job(waiting).await.unwrap();
    assert_eq!((job.state, job.errors.len()), (JobState::Available, 0));

    let job = store.discard_job(waiting, "not needed any more").await.unwrap();
    assert_eq!(job.state, JobState::Discarded);
    assert!(job.finished_at.is_some());
    assert_eq!(job.errors.len(), 1);
    assert_eq!(
        (job.errors[0].attempt, job.errors[0].error.as_str()),
        (0, "not needed any more")
    );
    assert_eq!(
        store.get_job(waiting).await.unwrap(),
        job,
        "what was returned is what is stored"
    );
    // Its key is free again.
    let again = enqueue_now(store, &Noop::default(), EnqueueOptions::new().unique_key("nightly"))
        .await
        .unwrap();
    assert!(matches!(again, Inserted::New(id) if id != waiting), "{again:?}");
    // Discarded already, completed, running: refused, unchanged.
    assert!(is_conflict(store.discard_job(waiting, "twice").await));
    assert_eq!(store.get_job(waiting).await.unwrap().errors.len(), 1);

    let scheduled = noop(store, EnqueueOptions::new().run_in(Duration::from_secs(3600))).await;
    assert_eq!(store.get_job(scheduled).await.unwrap().state, JobState::Scheduled);
    assert_eq!(
        store.discard_job(scheduled, "later never").await.unwrap().state,
        JobState::Discarded
    );

    let running = claim_one(store).await;
    assert_eq!(running, again.id());
    assert!(is_conflict(store.discard_job(running, "no").await));
    let job = store.get_job(running).await.unwrap();
    assert_eq!((job.state, job.errors.len()), (JobState::Running, 0));

    let done = noop(store, EnqueueOptions::new().queue("other")).await;
    store
        .claim_jobs(&ClaimParams {
            rate_room: 0,
            queue: "other",
            limit: 1,
            worker_id: "conformance",
            lease: Duration::from_secs(60),
        })
        .await
        .unwrap();
    store.complete_jobs("conformance", &[(done, 1)]).await.unwrap();
    assert!(is_conflict(store.discard_job(done, "no").await));
    assert_eq!(store.get_job(done).await.unwrap().state, JobState::Completed);

    assert!(matches!(
        store.discard_job(987_654, "ghost").await,
        Err(StoreError::NotFound)
    ));
}

/// Reschedule: waiting and failed jobs get a new time (scheduled if later than
/// now, available now otherwise); running and completed jobs are refused.
async fn reschedule(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let now = store.now().await.unwrap();
    let later = (now + TimeDelta::hours(2))
        .duration_trunc(TimeDelta::milliseconds(1))
        .unwrap();

    let waiting = noop(store, EnqueueOptions::new()).await;
    let job = store.reschedule_job(waiting, later).await.unwrap();
    assert_eq!((job.state, job.run_at), (JobState::Scheduled, later));
    assert_eq!(store.get_job(waiting).await.unwrap(), job);

    // In the past: due now, not before now (it does not jump the queue).
    let before = store.now().await.unwrap();
    let job = store.reschedule_job(waiting, now - TimeDelta::days(3)).await.unwrap();
    assert_eq!(job.state, JobState::Available);
    assert!(job.run_at >= before, "{} < {before}", job.run_at);

    // A discarded job is revived at that time, with an attempt left.
    let failed = noop(
        store,
        EnqueueOptions::new().max_attempts(1).run_in(Duration::from_secs(60)),
    )
    .await;
    store.discard_job(failed, "gave up").await.unwrap();
    let job = store.reschedule_job(failed, later).await.unwrap();
    assert_eq!(
        (job.state, job.run_at, job.finished_at),
        (JobState::Scheduled, later, None)
    );
    assert!(job.max_attempts > job.attempt);
    assert_eq!(job.errors.len(), 1, "history kept");

    // Running: refused.
    let running = claim_one(store).await;
    assert_eq!(running, waiting);
    assert!(is_conflict(store.reschedule_job(running, later).await));
    assert_eq!(store.get_job(running).await.unwrap().state, JobState::Running);
    // Completed: refused.
    store.complete_jobs("conformance", &[(running, 1)]).await.unwrap();
    assert!(is_conflict(store.reschedule_job(running, later).await));
    assert_eq!(store.get_job(running).await.unwrap().state, JobState::Completed);

    // Reviving a job whose unique key a live job took meanwhile: refused.
    let old = noop(
        store,
        EnqueueOptions::new().unique_key("k").run_in(Duration::from_secs(60)),
    )
    .await;
    store.cancel_job(old, "replaced").await.unwrap();
    noop(
        store,
        EnqueueOptions::new().unique_key("k").run_in(Duration::from_secs(60)),
    )
    .await;
    assert!(is_conflict(store.reschedule_job(old, later).await));
    assert_eq!(store.get_job(old).await.unwrap().state, JobState::Cancelled);

    assert!(matches!(
        store.reschedule_job(987_654, later).await,
        Err(StoreError::NotFound)
    ));
}

/// Completions by `finished_at`, failures by each error entry's time, per UTC
/// hour; outside the window or not completed: not counted.
async fn attempts_per_hour(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let now = store.now().await.unwrap();
    let hour = now.duration_trunc(TimeDelta::hours(1)).unwrap();
    let since = hour - TimeDelta::hours(23);
    let h = |n: i64, min: i64| hour - TimeDelta::hours(n) + TimeDelta::minutes(min);

    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(noop(store, EnqueueOptions::new()).await);
    }
    drain_noops(store, config(10)).await;
    set_finished_at(&db, ids[0], h(3, 10)).await;
    set_finished_at(&db, ids[1], h(3, 59)).await;
    set_finished_at(&db, ids[2], h(30, 0)).await; // before the window
    set_finished_at(&db, ids[3], h(0, 1)).await;
    set_finished_at(&db, ids[4], h(0, 2)).await;
    set_finished_at(&db, ids[5], h(23, 0)).await; // the window's first instant
                                                  // A cancelled job finished in the window is not a completion; its errors are failures.
    let cancelled = noop(store, EnqueueOptions::new().run_in(Duration::from_secs(600))).await;
    store.cancel_job(cancelled, "by test").await.unwrap();
    set_finished_at(&db, cancelled, h(3, 30)).await;
    set_errors(&db, cancelled, &[h(25, 0), h(3, 20), h(1, 5)]).await;

    let got = store.attempts_per_hour(since).await.unwrap();
    let row = |n: i64, completed, failed| HourlyAttempts {
        hour: hour - TimeDelta::hours(n),
        completed,
        failed,
    };
    assert_eq!(got, vec![row(23, 1, 0), row(3, 2, 1), row(1, 0, 1), row(0, 2, 0)]);

    assert_eq!(store.failed_attempts_since(since).await.unwrap(), 2);
    assert_eq!(store.failed_attempts_since(h(2, 0)).await.unwrap(), 1);
    assert_eq!(store.failed_attempts_since(h(26, 0)).await.unwrap(), 3);

    // Errors written by the engine itself count in the current hour (or the next, at a turn).
    let failing = enqueue_now(
        store,
        &Noop {
            fail: Some("boom".into()),
            ..Noop::default()
        },
        EnqueueOptions::new().max_attempts(1),
    )
    .await
    .unwrap()
    .id();
    drain_noops(store, config(10)).await;
    assert_eq!(store.get_job(failing).await.unwrap().state, JobState::Discarded);
    let got = store.attempts_per_hour(since).await.unwrap();
    let recent: i64 = got.iter().filter(|r| r.hour >= hour).map(|r| r.failed).sum();
    assert_eq!(recent, 1, "{got:?}");
}

/// The oldest due job that is not running, by `run_at`.
async fn oldest_waiting_job(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    assert_eq!(store.oldest_waiting_job().await.unwrap(), None);

    let future = noop(store, EnqueueOptions::new().run_in(Duration::from_secs(3600))).await;
    assert_eq!(store.oldest_waiting_job().await.unwrap(), None, "not due yet");
    let first = noop(store, EnqueueOptions::new()).await;
    let second = noop(store, EnqueueOptions::new()).await;
    assert_eq!(store.oldest_waiting_job().await.unwrap().map(|j| j.id), Some(first));
    assert_eq!(claim_one(store).await, first);
    assert_eq!(store.oldest_waiting_job().await.unwrap().map(|j| j.id), Some(second));

    // A retryable job due since yesterday is the oldest.
    let now = store.now().await.unwrap();
    let sql = format!(
        "UPDATE comptoir_jobs SET state = 'retryable', run_at = {} WHERE id = {future}",
        stamp(db.backend, now - TimeDelta::days(1))
    );
    assert_eq!(raw_execute(&db, &sql).await, Ok(1));
    let oldest = store.oldest_waiting_job().await.unwrap().expect("a due job");
    assert_eq!((oldest.id, oldest.state), (future, JobState::Retryable));
}

/// Jobs still failed (retryable or discarded), the latest first; others not.
async fn recent_failures(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let fail = |max: i32| async move {
        let job = Noop {
            fail: Some("boom".into()),
            ..Noop::default()
        };
        enqueue_now(store, &job, EnqueueOptions::new().max_attempts(max))
            .await
            .unwrap()
            .id()
    };
    let discarded_first = fail(1).await;
    drain_noops(store, config(10)).await;
    let retryable = fail(5).await;
    drain_noops(store, config(10)).await;
    let discarded_last = fail(1).await;
    let completed = noop(store, EnqueueOptions::new()).await;
    drain_noops(store, config(10)).await;
    let cancelled = noop(store, EnqueueOptions::new().run_in(Duration::from_secs(60))).await;
    store.cancel_job(cancelled, "not a failure").await.unwrap();
    let now = store.now().await.unwrap();
    // Ordered by when they failed: make the retryable one the latest.
    let sql = format!(
        "UPDATE comptoir_jobs SET updated_at = {} WHERE id = {retryable}",
        stamp(backend, now + TimeDelta::seconds(5))
    );
    assert_eq!(raw_execute(&db, &sql).await, Ok(1));

    let ids: Vec<i64> = store.recent_failures(10).await.unwrap().iter().map(|j| j.id).collect();
    assert_eq!(ids, [retryable, discarded_last, discarded_first]);
    assert!(!ids.contains(&completed) && !ids.contains(&cancelled));
    let ids: Vec<i64> = store.recent_failures(2).await.unwrap().iter().map(|j| j.id).collect();
    assert_eq!(ids, [retryable, discarded_last]);
}

on_all_backends!(
    discard,
    reschedule,
    attempts_per_hour,
    oldest_waiting_job,
    recent_failures
);
