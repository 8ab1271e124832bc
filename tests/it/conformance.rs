//! Conformance of the queue engine, in process, on both backends: enqueue
//! (transactional, bulk, unique keys), ordering, operator repair, and the
//! migrations (adopting an old runner's history, concurrent migrators, an
//! edited migration).
//! Worker outcomes are in `conformance_outcomes.rs`, live-worker behaviour
//! (concurrency, rescue, cancel, shutdown, periodic, pruning) in
//! `conformance_worker.rs`.

use std::collections::HashMap;
use std::time::Duration;

use crate::on_all_backends;
use crate::support::billing::{count, raw_execute, raw_i64};
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
            rate_room: 0,
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

// ---------------------------------------------------------------------------
// Migrations
// ---------------------------------------------------------------------------

/// The files of `migrations/<backend>/`, as (version, name, SQL), in order.
fn migration_files(backend: Backend) -> Vec<(i64, String, String)> {
    let dir = match backend {
        Backend::Postgres => "postgres",
        Backend::Sqlite => "sqlite",
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dir);
    let mut files: Vec<(i64, String, String)> = std::fs::read_dir(&dir)
        .expect("migrations directory")
        .map(|entry| {
            let path = entry.expect("entry").path();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let (version, name) = stem.split_once('_').expect("NNNN_name.sql");
            let sql = std::fs::read_to_string(&path).expect("read migration");
            (version.parse().expect("version"), name.to_string(), sql)
        })
        .collect();
    files.sort();
    files
}

/// The newest migration's version: the number of files in migrations/sqlite
/// (versions are aligned and gapless), so a new migration needs no test edit.
pub(crate) fn latest_migration() -> i64 {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    std::fs::read_dir(dir)
        .expect("migrations/sqlite")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count() as i64
}

/// Migrates `db` up to `last` the way Comptoir's earlier runner did: its
/// ledger `comptoir_migrations`, one transaction per migration (PostgreSQL:
/// under its advisory lock; SQLite: BEGIN IMMEDIATE), no checksum.
pub(crate) async fn migrate_the_old_way(db: &TestDb, last: i64) {
    use sqlx::Connection;
    const LEDGER_PG: &str = "CREATE TABLE IF NOT EXISTS comptoir_migrations (
        version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())";
    const LEDGER_SQLITE: &str = "CREATE TABLE IF NOT EXISTS comptoir_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL,
        applied_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)))";
    let files = migration_files(db.backend);
    for (version, name, sql) in files.into_iter().filter(|f| f.0 <= last) {
        match db.backend {
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
                let mut tx = conn.begin().await.unwrap();
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(0x636f_6d70_746f_6972_i64)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                sqlx::raw_sql(LEDGER_PG).execute(&mut *tx).await.unwrap();
                sqlx::raw_sql(&sql).execute(&mut *tx).await.unwrap();
                sqlx::query("INSERT INTO comptoir_migrations (version, name) VALUES ($1, $2)")
                    .bind(version)
                    .bind(&name)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
                let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.unwrap();
                sqlx::raw_sql(LEDGER_SQLITE).execute(&mut *tx).await.unwrap();
                sqlx::raw_sql(&sql).execute(&mut *tx).await.unwrap();
                sqlx::query("INSERT INTO comptoir_migrations (version, name) VALUES (?, ?)")
                    .bind(version)
                    .bind(&name)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        }
    }
}

/// A job and a customer written on the schema of migration 5; their ids.
async fn rows_of_an_old_database(db: &TestDb) -> (i64, i64) {
    use sqlx::Connection;
    const JOB: &str = "INSERT INTO comptoir_jobs (kind, args) VALUES ('legacy.kind', '{\"n\": 5}') RETURNING id";
    const CUSTOMER: &str = "INSERT INTO customers (kind, name, address, created_at)
        VALUES ('person', 'Anne Ancienne', '1 rue du Passé, 75001 Paris', $1) RETURNING id";
    let now = chrono::Utc::now();
    match db.backend {
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            let job = sqlx::query_scalar(JOB).fetch_one(&mut c).await.unwrap();
            let customer = sqlx::query_scalar(CUSTOMER).bind(now).fetch_one(&mut c).await.unwrap();
            (job, customer)
        }
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            let job = sqlx::query_scalar(JOB).fetch_one(&mut c).await.unwrap();
            let customer = sqlx::query_scalar(CUSTOMER).bind(now).fetch_one(&mut c).await.unwrap();
            (job, customer)
        }
    }
}

/// A database made by the earlier runner (migrations 1-5, its ledger, rows)
/// moves to sqlx's ledger: 1-5 adopted with their checksums and dates, only
/// 6 to 8 applied, every row kept, the old ledger left as it was.
async fn an_old_database_is_adopted(backend: Backend) {
    let db = TestDb::unmigrated(backend).await;
    migrate_the_old_way(&db, 5).await;
    let (job, customer) = rows_of_an_old_database(&db).await;
    let before = db.store.migration_status().await.unwrap();
    assert_eq!(
        (before.applied, before.pending, before.changed),
        (vec![1, 2, 3, 4, 5], (6..=latest_migration()).collect(), vec![])
    );

    assert_eq!(
        db.store.migrate().await.unwrap(),
        (6..=latest_migration()).collect::<Vec<_>>()
    );

    let after = db.store.migration_status().await.unwrap();
    assert_eq!(after.applied, (1..=latest_migration()).collect::<Vec<_>>());
    assert!(after.is_current(), "{after:?}");
    // Adopted, not run: no execution time, and the date the old runner applied them.
    let same_date = match backend {
        Backend::Postgres => "s.installed_on = c.applied_at",
        Backend::Sqlite => "s.installed_on = datetime(c.applied_at / 1000, 'unixepoch')",
    };
    let sql = format!(
        "SELECT COUNT(*) FROM _sqlx_migrations s JOIN comptoir_migrations c ON c.version = s.version
         WHERE s.execution_time = -1 AND s.success AND {same_date}"
    );
    assert_eq!(raw_i64(&db, &sql).await, 5);
    assert_eq!(
        raw_i64(
            &db,
            "SELECT COUNT(*) FROM _sqlx_migrations WHERE version > 5 AND execution_time >= 0"
        )
        .await,
        latest_migration() - 5
    );
    assert_eq!(
        count(&db, "comptoir_migrations").await,
        5,
        "the old ledger is left as it was"
    );
    // The rows are kept and read by today's code (6 added comptoir_jobs.started_at).
    let row = db.store.get_job(job).await.unwrap();
    assert_eq!(
        (row.kind.as_str(), &row.args),
        ("legacy.kind", &serde_json::json!({ "n": 5 }))
    );
    assert_eq!(row.started_at, None);
    let anne = comptoir::billing::customers::get(&db.store, customer).await.unwrap();
    assert_eq!(anne.name, "Anne Ancienne");
    assert_eq!(anne.address.lines, vec!["1 rue du Passé"], "8 gave the address parts");
    assert_eq!(
        (anne.address.postcode.as_str(), anne.address.city.as_str()),
        ("75001", "Paris")
    );
    assert_eq!(count(&db, "signin_attempts").await, 0, "7 created its tables");

    // Nothing to do the next time, from this handle or another process's.
    assert_eq!(db.store.migrate().await.unwrap(), Vec::<i64>::new());
    assert_eq!(db.other_store().await.migrate().await.unwrap(), Vec::<i64>::new());

    // A version the old ledger holds and this build does not know is refused
    // before anything is adopted.
    let unknown = latest_migration() + 1;
    raw_execute(
        &db,
        &format!("INSERT INTO comptoir_migrations (version, name) VALUES ({unknown}, 'from_elsewhere')"),
    )
    .await
    .unwrap();
    match db.store.migrate().await {
        Err(StoreError::Migration { version, message }) if version == unknown => {
            assert!(message.contains("from_elsewhere"), "{message}")
        }
        other => panic!("an unknown version in comptoir_migrations: {other:?}"),
    }
    assert_eq!(count(&db, "_sqlx_migrations").await, latest_migration());
}

/// Several migrators at once on an empty database (each its own store, as
/// separate processes would have): all succeed, each migration runs once.
async fn concurrent_migrators_apply_each_migration_once(backend: Backend) {
    let db = TestDb::unmigrated(backend).await;
    let mut stores = vec![db.store.clone()];
    for _ in 0..5 {
        stores.push(db.other_store().await);
    }
    let runs: Vec<_> = stores
        .into_iter()
        .map(|store| tokio::spawn(async move { store.migrate().await }))
        .collect();
    let mut applied = Vec::new();
    for run in runs {
        applied.push(run.await.unwrap().expect("every migrator succeeds"));
    }
    let all: Vec<i64> = migration_files(backend).iter().map(|f| f.0).collect();
    let mut done: Vec<i64> = applied.iter().flatten().copied().collect();
    done.sort_unstable();
    assert_eq!(done, all, "each migration applied once: {applied:?}");
    assert_eq!(applied.iter().filter(|a| !a.is_empty()).count(), 1, "{applied:?}");
    assert_eq!(count(&db, "_sqlx_migrations").await, all.len() as i64);
    assert!(db.store.migration_status().await.unwrap().is_current());
}

/// A migration edited after it ran (its recorded checksum no longer matches
/// the embedded file's) stops the runner before it applies anything, and the
/// status says so.
async fn a_changed_migration_is_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    // 7 pending again (its tables stay: running it would fail, not refuse).
    raw_execute(&db, "DELETE FROM _sqlx_migrations WHERE version = 7")
        .await
        .unwrap();
    let tamper = match backend {
        Backend::Postgres => "UPDATE _sqlx_migrations SET checksum = decode('00', 'hex') WHERE version = 3",
        Backend::Sqlite => "UPDATE _sqlx_migrations SET checksum = X'00' WHERE version = 3",
    };
    assert_eq!(raw_execute(&db, tamper).await, Ok(1));

    let status = db.store.migration_status().await.unwrap();
    assert_eq!((status.changed, status.pending), (vec![3], vec![7]));
    let refused = db.store.migrate().await;
    match &refused {
        Err(StoreError::MigrationChanged { version: 3 }) => {}
        other => panic!("a changed migration: {other:?}"),
    }
    let said = refused.unwrap_err().to_string();
    assert!(
        said.contains("migration 3 was applied") && said.contains("changed"),
        "{said}"
    );
    assert_eq!(
        count(&db, "_sqlx_migrations").await,
        latest_migration() - 1,
        "nothing applied"
    );
}

on_all_backends!(
    transactional_enqueue,
    bulk_enqueue,
    priority_and_run_at,
    unique_keys,
    operator_repair,
    an_old_database_is_adopted,
    concurrent_migrators_apply_each_migration_once,
    a_changed_migration_is_refused,
);
