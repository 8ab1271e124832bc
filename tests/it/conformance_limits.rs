//! Per-key concurrency limits and rate limits, held by three real
//! `comptoir-worker` processes on one database (issue 14).
//!
//! Each job is a `noop` that records, as its progress, when it started and
//! ended by its worker's clock (one machine, one clock): the assertions read
//! those times back, never a duration of the test itself.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use comptoir::jobs::{enqueue_many, EnqueueOptions, JobFilter, JobRow, JobState, Noop};
use comptoir::store::Store;

use crate::on_both_backends;
use crate::support::{Backend, TestDb};
use crate::worker_process::{spawn, Child, LIVENESS};

on_both_backends!(
    a_per_key_limit_of_one_is_held_by_three_processes,
    a_rate_limit_is_held_by_three_processes
);

fn recording(sleep_ms: u64) -> Noop {
    Noop {
        sleep_ms: Some(sleep_ms),
        record: true,
        ..Noop::default()
    }
}

/// Three `run` processes, registered before any job exists.
async fn three_workers(db: &TestDb) -> Vec<Child> {
    let mut workers: Vec<Child> = (0..3)
        .map(|i| spawn(db, &format!("worker{i}"), &["run", "--queues", "limits=10"]))
        .collect();
    let registered = crate::support::eventually(LIVENESS, || async {
        db.store.list_workers().await.map(|w| w.len() >= 3).unwrap_or(false)
    })
    .await;
    for w in workers.iter_mut() {
        assert!(w.still_running(), "{} exited early:\n{}", w.label, w.stderr());
    }
    assert!(registered, "the three workers never registered");
    workers
}

async fn enqueue(store: &Store, jobs: Vec<(Noop, EnqueueOptions)>) -> Vec<i64> {
    let mut tx = store.begin().await.expect("begin");
    let inserted = enqueue_many(&mut tx, jobs).await.expect("enqueue");
    tx.commit().await.expect("commit");
    inserted.into_iter().map(|i| i.id()).collect()
}

/// Waits until every job of queue `limits` completed; returns them by id.
async fn completed(store: &Store, n: usize, within: Duration) -> BTreeMap<i64, JobRow> {
    let done = crate::support::eventually(within, || async { count(store, JobState::Completed).await == n }).await;
    let jobs = all(store).await;
    assert!(
        done,
        "not all {n} jobs completed: {:?}",
        jobs.values().fold(BTreeMap::<String, usize>::new(), |mut m, j| {
            *m.entry(format!("{:?}", j.state)).or_default() += 1;
            m
        })
    );
    jobs
}

async fn all(store: &Store) -> BTreeMap<i64, JobRow> {
    let mut out = BTreeMap::new();
    let mut before = None;
    loop {
        let page = store
            .list_jobs(&JobFilter {
                queue: Some("limits".into()),
                limit: 500,
                before_id: before,
                ..JobFilter::default()
            })
            .await
            .expect("list");
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        out.extend(page.into_iter().map(|j| (j.id, j)));
    }
    out
}

async fn count(store: &Store, state: JobState) -> usize {
    all(store).await.values().filter(|j| j.state == state).count()
}

/// A job's id, and when its handler started and ended.
type Run = (i64, DateTime<Utc>, DateTime<Utc>);

/// When the job's handler started and ended, as it recorded them.
fn times(job: &JobRow) -> (DateTime<Utc>, DateTime<Utc>) {
    let progress = job
        .progress
        .as_ref()
        .unwrap_or_else(|| panic!("no times recorded: {job:?}"));
    let at = |field: &str| -> DateTime<Utc> {
        serde_json::from_value(progress[field].clone()).unwrap_or_else(|e| panic!("{field} in {progress}: {e}"))
    };
    (at("started_at"), at("ended_at"))
}

async fn stop(mut workers: Vec<Child>) {
    for w in &workers {
        w.signal("-TERM");
    }
    for w in workers.iter_mut() {
        let status = w.wait_exit(LIVENESS * 2).await;
        assert_eq!(status.code(), Some(0), "{} on SIGTERM: {status}", w.label);
    }
}

/// 500 jobs of 10 keys, a limit of 1 per key, three processes of 10 slots
/// each: no two jobs of one key ever overlap, each key's jobs run in the
/// order they were enqueued, no attempt is spent waiting, and jobs of
/// different keys do run side by side (the limit is not a global lock).
async fn a_per_key_limit_of_one_is_held_by_three_processes(backend: Backend) {
    const JOBS: usize = 500;
    const KEYS: usize = 10;
    let db = TestDb::new(backend).await;
    let workers = three_workers(&db).await;
    let jobs = (0..JOBS)
        .map(|i| {
            (
                recording(5),
                EnqueueOptions::new()
                    .queue("limits")
                    .concurrency(format!("customer:{}", i % KEYS), 1),
            )
        })
        .collect();
    let ids = enqueue(&db.store, jobs).await;
    let key_of: BTreeMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i % KEYS)).collect();
    let done = completed(&db.store, JOBS, Duration::from_secs(300)).await;
    stop(workers).await;

    let mut per_key: BTreeMap<usize, Vec<Run>> = BTreeMap::new();
    let mut per_worker: BTreeMap<String, usize> = BTreeMap::new();
    for (id, job) in &done {
        assert_eq!(
            job.attempt, 1,
            "job {id} spent an attempt waiting or ran twice: {job:?}"
        );
        let (start, end) = times(job);
        assert!(start <= end, "{job:?}");
        per_key.entry(key_of[id]).or_default().push((*id, start, end));
        *per_worker.entry(job.locked_by.clone().unwrap_or_default()).or_default() += 1;
    }
    assert_eq!(per_key.len(), KEYS);
    for (key, runs) in per_key.iter_mut() {
        runs.sort_by_key(|(_, start, _)| *start);
        for pair in runs.windows(2) {
            let ((a, _, a_end), (b, b_start, _)) = (pair[0], pair[1]);
            assert!(
                b_start >= a_end,
                "key customer:{key}: job {b} started at {b_start} before job {a} ended at {a_end}"
            );
            assert!(
                a < b,
                "key customer:{key}: job {b} ran before job {a}, enqueued earlier"
            );
        }
    }
    // Jobs of different keys overlapped: most at once, over every key.
    let mut edges: Vec<(DateTime<Utc>, i32)> = per_key
        .values()
        .flatten()
        .flat_map(|(_, start, end)| [(*start, 1), (*end, -1)])
        .collect();
    edges.sort();
    let (mut now, mut most) = (0, 0);
    for (_, delta) in edges {
        now += delta;
        most = most.max(now);
    }
    eprintln!("[{backend:?}] per-key limit: at most {most} jobs at once over {KEYS} keys; per worker {per_worker:?}");
    assert!(most > 1, "jobs of different keys never ran side by side");
    assert!(most <= KEYS as i32, "more jobs at once than keys: {most}");
}

/// 200 jobs under one rate key of 20 starts per second, three processes:
/// in every one-second window (sliding, by the database's claim times) at
/// most 20 start, and no attempt is spent waiting.
async fn a_rate_limit_is_held_by_three_processes(backend: Backend) {
    const JOBS: usize = 200;
    const RATE: usize = 20;
    let db = TestDb::new(backend).await;
    let workers = three_workers(&db).await;
    let jobs = (0..JOBS)
        .map(|_| {
            (
                recording(1),
                EnqueueOptions::new()
                    .queue("limits")
                    .rate("provider:test", RATE as i32, Duration::from_secs(1)),
            )
        })
        .collect();
    enqueue(&db.store, jobs).await;
    let done = completed(&db.store, JOBS, Duration::from_secs(300)).await;
    stop(workers).await;

    let mut claimed: Vec<DateTime<Utc>> = Vec::with_capacity(JOBS);
    let mut per_second: BTreeMap<i64, usize> = BTreeMap::new();
    let mut per_worker: BTreeMap<String, usize> = BTreeMap::new();
    for job in done.values() {
        assert_eq!(job.attempt, 1, "a job spent an attempt waiting: {job:?}");
        claimed.push(job.locked_at.unwrap_or_else(|| panic!("no claim time: {job:?}")));
        *per_second.entry(times(job).0.timestamp()).or_default() += 1;
        *per_worker.entry(job.locked_by.clone().unwrap_or_default()).or_default() += 1;
    }
    claimed.sort();
    for i in 0..claimed.len() - RATE {
        let window = claimed[i + RATE] - claimed[i];
        assert!(
            window >= chrono::Duration::seconds(1),
            "{} starts within {window} (from {})",
            RATE + 1,
            claimed[i]
        );
    }
    eprintln!(
        "[{backend:?}] rate limit {RATE}/s: starts per second by the handlers' clocks {:?}; per worker {per_worker:?}",
        per_second.values().collect::<Vec<_>>()
    );
    assert!(per_worker.len() >= 2, "one process did all the work: {per_worker:?}");
}
