//! Batches with a callback, on every backend: the callback runs once, with
//! the outcomes of the batch's jobs, whatever finished the last of them (a
//! completion, a failure, an operator, a rescue after SIGKILL) and however
//! many workers race to close the batch; a drain runs it before exiting;
//! and the monthly run's summary reaches the operator by e-mail.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::on_all_backends;
use crate::support::billing::*;
use crate::support::smtp::SmtpServer;
use crate::support::worker::{all_jobs, config, drain, settles, Live};
use crate::support::{eventually, Backend, TestDb};
use comptoir::jobs::batch::{self, Batch, BatchOutcomes};
use comptoir::jobs::{
    enqueue_now, EnqueueOptions, Error, Inserted, Job, JobContext, JobError, JobKind, JobRow, JobState, Noop, Outcome,
    Registry, WorkerConfig,
};
use comptoir::store::{Store, StoreError};
use serde::{Deserialize, Serialize};

on_all_backends!(
    the_callback_runs_once_with_the_outcomes,
    workers_racing_close_each_batch_once,
    a_drain_runs_the_callback_before_exiting,
    the_last_job_killed_and_rescued_closes_the_batch_once,
    the_monthly_run_emails_its_summary,
    the_job_page_names_its_batch,
);

/// Generous bound for what should happen at once (liveness only).
const LIVENESS: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// Test kinds and their context
// ---------------------------------------------------------------------------

/// What the callbacks saw: `(callback job, outcomes)` per run.
type Seen = Arc<Mutex<Vec<(i64, BatchOutcomes)>>>;

/// The tests' callback: reads its batch's outcomes and keeps them.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Summarise {
    batch_id: i64,
}

impl JobKind for Summarise {
    const KIND: &'static str = "batch_summarise";
}

impl Job<Seen> for Summarise {
    async fn perform(self, ctx: JobContext<Seen>) -> comptoir::jobs::JobResult {
        let outcomes = batch::outcomes(ctx.store(), self.batch_id)
            .await
            .map_err(JobError::msg)?;
        ctx.app.lock().unwrap().push((ctx.job.id, outcomes));
        Ok(Outcome::Done)
    }
}

/// Sleeps `ms`, then ends as `how` says: `done`, `cancel`, `discard` or `fail`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Ends {
    how: String,
    #[serde(default)]
    ms: u64,
}

impl Ends {
    fn new(how: &str) -> Ends {
        Ends { how: how.into(), ms: 0 }
    }
}

impl JobKind for Ends {
    const KIND: &'static str = "batch_ends";
}

impl Job<Seen> for Ends {
    async fn perform(self, _ctx: JobContext<Seen>) -> comptoir::jobs::JobResult {
        tokio::time::sleep(Duration::from_millis(self.ms)).await;
        match self.how.as_str() {
            "cancel" => Ok(Outcome::Cancel("no longer wanted".into())),
            "discard" => Ok(Outcome::Discard("cannot ever work".into())),
            "fail" => Err(JobError::msg("boom")),
            _ => Ok(Outcome::Done),
        }
    }
}

fn registry() -> Registry<Seen> {
    Registry::new().register::<Summarise>().register::<Ends>()
}

fn seen() -> Seen {
    Arc::new(Mutex::new(Vec::new()))
}

/// Opens a sealed batch of `jobs` (with `Summarise` as callback) in one transaction.
async fn sealed_batch(store: &Store, jobs: Vec<(Ends, EnqueueOptions)>) -> (i64, Vec<Inserted>) {
    let mut tx = store.begin().await.unwrap();
    let batch = Batch::open(&mut tx, |batch_id| Summarise { batch_id }, EnqueueOptions::new())
        .await
        .unwrap();
    let inserted = batch.enqueue_many(&mut tx, jobs).await.unwrap();
    let id = batch.seal(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    (id, inserted)
}

async fn jobs_of(store: &Store, kind: &str) -> Vec<JobRow> {
    let mut jobs: Vec<JobRow> = all_jobs(store).await.into_iter().filter(|j| j.kind == kind).collect();
    jobs.sort_by_key(|j| j.id);
    jobs
}

/// The callback jobs of batch `id` (by their unique key).
async fn callbacks_of(store: &Store, id: i64) -> Vec<JobRow> {
    let key = format!("batch:{id}");
    all_jobs(store)
        .await
        .into_iter()
        .filter(|j| j.unique_key.as_deref() == Some(key.as_str()))
        .collect()
}

fn quick_config() -> WorkerConfig {
    WorkerConfig {
        lease: Duration::from_secs(5),
        ..config(4)
    }
}

// ---------------------------------------------------------------------------
// In process
// ---------------------------------------------------------------------------

/// Completed, discarded (by its attempts, by itself) and cancelled (by
/// itself, by an operator) jobs: the callback sees them all, once, after the
/// seal; nothing joins a sealed batch; a duplicate stays out.
async fn the_callback_runs_once_with_the_outcomes(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let seen = seen();
    // A job that holds a unique key before the batch is opened.
    let before = enqueue_now(store, &Ends::new("done"), EnqueueOptions::new().unique_key("taken"))
        .await
        .unwrap()
        .id();

    // The callback's time and key are the batch's.
    let mut tx = store.begin().await.unwrap();
    let refused = Batch::open(
        &mut tx,
        |batch_id| Summarise { batch_id },
        EnqueueOptions::new().unique_key("mine"),
    )
    .await;
    assert!(matches!(refused, Err(Error::InvalidOption(_))), "{refused:?}");
    tx.rollback().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let batch = Batch::open(&mut tx, |batch_id| Summarise { batch_id }, EnqueueOptions::new())
        .await
        .unwrap();
    let once = EnqueueOptions::new().max_attempts(1);
    let inserted = batch
        .enqueue_many(
            &mut tx,
            vec![
                (Ends::new("done"), EnqueueOptions::new()),
                (Ends::new("fail"), once.clone()),
                (Ends::new("discard"), EnqueueOptions::new()),
                (Ends::new("cancel"), EnqueueOptions::new()),
                (Ends::new("done"), EnqueueOptions::new()),
                (Ends::new("done"), EnqueueOptions::new().unique_key("taken")),
            ],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(inserted[5], Inserted::Duplicate(before), "{inserted:?}");
    let ids: Vec<i64> = inserted[..5].iter().map(|i| i.id()).collect();
    let id = batch.id();
    assert_eq!(batch::of_job(store, ids[0]).await.unwrap(), Some(id));
    assert_eq!(
        batch::of_job(store, before).await.unwrap(),
        None,
        "a duplicate stays out"
    );

    // An operator cancels one before it runs; the others run: no callback
    // while the batch is not sealed.
    store.cancel_job(ids[4], "annulée par l'opérateur").await.unwrap();
    drain(store, registry(), &seen, quick_config()).await;
    assert!(seen.lock().unwrap().is_empty());
    assert!(callbacks_of(store, id).await.is_empty());
    let open = store.get_batch(id).await.unwrap();
    assert_eq!((open.size, open.sealed_at, open.finished_at), (5, None, None));

    // More may join until the seal, in another transaction; nothing after.
    let mut tx = store.begin().await.unwrap();
    let late = Batch::existing(id)
        .enqueue(&mut tx, &Ends::new("done"), EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    Batch::existing(id).seal(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let refused = Batch::existing(id)
        .enqueue(&mut tx, &Ends::new("done"), EnqueueOptions::new())
        .await;
    assert!(
        matches!(refused, Err(Error::Store(StoreError::Conflict(_)))),
        "{refused:?}"
    );
    tx.rollback().await.unwrap();

    drain(store, registry(), &seen, quick_config()).await;
    let runs = seen.lock().unwrap().clone();
    assert_eq!(runs.len(), 1, "the callback runs once: {runs:?}");
    let (callback, outcomes) = &runs[0];
    let job = store.get_job(*callback).await.unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Completed, 1), "{job:?}");
    assert_eq!(job.args["batch_id"], id, "the callback's args name its batch");
    assert_eq!(callbacks_of(store, id).await.len(), 1);
    assert_eq!(batch::of_callback(store, *callback).await.unwrap(), Some(id));

    assert_eq!(outcomes.id, id);
    assert_eq!((outcomes.size, outcomes.missing), (6, 0));
    assert_eq!(outcomes.callback_job_id, Some(*callback));
    let states: Vec<(i64, JobState)> = outcomes.jobs.iter().map(|j| (j.id, j.state)).collect();
    assert_eq!(
        states,
        [
            (ids[0], JobState::Completed),
            (ids[1], JobState::Discarded),
            (ids[2], JobState::Discarded),
            (ids[3], JobState::Cancelled),
            (ids[4], JobState::Cancelled),
            (late, JobState::Completed),
        ]
    );
    assert_eq!(
        outcomes.counts(),
        [
            (JobState::Completed, 2),
            (JobState::Cancelled, 2),
            (JobState::Discarded, 2)
        ]
    );
    let errors: Vec<Option<&str>> = outcomes.jobs.iter().map(|j| j.last_error.as_deref()).collect();
    assert_eq!(errors[0], None);
    assert_eq!(errors[1], Some("boom"));
    assert_eq!(errors[2], Some("cannot ever work"));
    assert!(errors[3].is_some_and(|e| e.contains("no longer wanted")), "{errors:?}");
    assert_eq!(errors[4], Some("annulée par l'opérateur"));
    assert_eq!(outcomes.jobs[1].attempt, 1);
    assert_eq!(outcomes.of_kind::<Ends>().count(), 6);
    let closed = store.get_batch(id).await.unwrap();
    assert!(closed.finished_at.is_some() && closed.sealed_at.is_some());

    // An empty batch's callback runs at once with nothing; drains after that run neither again.
    let (empty, _) = sealed_batch(store, Vec::new()).await;
    drain(store, registry(), &seen, quick_config()).await;
    drain(store, registry(), &seen, quick_config()).await;
    let runs = seen.lock().unwrap().clone();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!((runs[1].1.id, runs[1].1.size, runs[1].1.jobs.len()), (empty, 0, 0));
    assert_eq!(jobs_of(store, Summarise::KIND).await.len(), 2);
}

/// Three workers (each with a pool of its own) share 30 batches of 6 jobs:
/// each batch's callback exists once and runs once. The last job of one
/// batch is cancelled by an operator, while waiting: a worker's maintenance
/// closes that batch.
async fn workers_racing_close_each_batch_once(backend: Backend) {
    const BATCHES: usize = 30;
    let db = TestDb::new(backend).await;
    let seen = seen();
    let mut workers = Vec::new();
    for _ in 0..3 {
        let store = db.other_store().await;
        workers.push(Live::start(&store, registry(), &seen, quick_config()));
    }
    let mut batches = Vec::new();
    for b in 0..BATCHES {
        let jobs = (0..6)
            .map(|j| {
                let how = if (b + j) % 5 == 0 { "discard" } else { "done" };
                (
                    Ends {
                        how: how.into(),
                        ms: fastrand::u64(0..20),
                    },
                    EnqueueOptions::new(),
                )
            })
            .collect();
        batches.push(sealed_batch(&db.store, jobs).await.0);
    }
    // One more whose last job waits an hour: the operator cancels it.
    let (waiting, inserted) = sealed_batch(
        &db.store,
        vec![
            (Ends::new("done"), EnqueueOptions::new()),
            (
                Ends::new("done"),
                EnqueueOptions::new().run_in(Duration::from_secs(3600)),
            ),
        ],
    )
    .await;
    let (ok, job) = settles(&db.store, inserted[0].id(), LIVENESS, |j| j.state.is_final()).await;
    assert!(ok, "{job:?}");
    db.store.cancel_job(inserted[1].id(), "plus la peine").await.unwrap();
    batches.push(waiting);

    let all_ran = eventually(LIVENESS * 2, || async { seen.lock().unwrap().len() >= batches.len() }).await;
    // Whatever a late duplicate would do, it has done once the workers have stopped.
    for w in workers {
        w.stop().await;
    }
    let runs = seen.lock().unwrap().clone();
    assert!(all_ran, "{} of {} callbacks ran", runs.len(), batches.len());
    let mut per_batch: HashMap<i64, usize> = HashMap::new();
    for (_, outcomes) in &runs {
        *per_batch.entry(outcomes.id).or_default() += 1;
        assert!(
            outcomes.jobs.iter().all(|j| j.state.is_final()),
            "the callback ran before its batch finished: {outcomes:?}"
        );
    }
    for id in &batches {
        assert_eq!(per_batch.get(id), Some(&1), "batch {id}: {per_batch:?}");
        let callbacks = callbacks_of(&db.store, *id).await;
        assert_eq!(callbacks.len(), 1, "batch {id}: {callbacks:?}");
        assert_eq!((callbacks[0].state, callbacks[0].attempt), (JobState::Completed, 1));
    }
    assert_eq!(jobs_of(&db.store, Summarise::KIND).await.len(), batches.len());
    let last = runs.iter().find(|(_, o)| o.id == waiting).unwrap();
    assert_eq!(last.1.counts(), [(JobState::Completed, 1), (JobState::Cancelled, 1)]);
}

/// A drain does not exit with a batch finished and its callback not run:
/// neither when the last job fails (no completion to trigger the close),
/// nor when an operator finished every job before the drain started.
async fn a_drain_runs_the_callback_before_exiting(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let seen = seen();
    let (failing, _) = sealed_batch(
        store,
        vec![
            (Ends::new("done"), EnqueueOptions::new()),
            (
                Ends {
                    how: "fail".into(),
                    ms: 300,
                },
                EnqueueOptions::new().max_attempts(1),
            ),
        ],
    )
    .await;
    let (cancelled, inserted) = sealed_batch(store, vec![(Ends::new("done"), EnqueueOptions::new())]).await;
    store.cancel_job(inserted[0].id(), "annulée").await.unwrap();

    let report = drain(store, registry(), &seen, quick_config()).await;
    let runs: Vec<i64> = seen.lock().unwrap().iter().map(|(_, o)| o.id).collect();
    let mut sorted = runs.clone();
    sorted.sort();
    assert_eq!(sorted, [failing, cancelled], "{report:?}");
    assert_eq!(report.completed, 3, "one job and two callbacks: {report:?}");
    assert_eq!(report.discarded, 1, "{report:?}");
    for id in [failing, cancelled] {
        let callbacks = callbacks_of(store, id).await;
        assert_eq!(callbacks.len(), 1);
        assert_eq!(callbacks[0].state, JobState::Completed);
    }
}

// ---------------------------------------------------------------------------
// Real worker processes
// ---------------------------------------------------------------------------

const WORKER: &str = env!("CARGO_BIN_EXE_comptoir-worker");

/// A `comptoir-worker` child, SIGKILLed when dropped; its stderr printed
/// when the test is failing.
struct Child {
    label: String,
    child: tokio::process::Child,
    pid: u32,
    stderr: PathBuf,
}

fn spawn(db: &TestDb, label: &str, args: &[&str], env: &[(&str, String)]) -> Child {
    let stderr = db.dir.path().join(format!("{label}.stderr"));
    let mut command = tokio::process::Command::new(WORKER);
    command
        .env(comptoir::billing::seal::KEY_ENV, crate::support::book_key_path())
        .envs(db.app_env())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("COMPTOIR_DATA_DIR")
        .arg("--database-url")
        .arg(db.app_url())
        .arg("--data-dir")
        .arg(db.dir.path().join("data"))
        .args(args)
        .current_dir(db.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .kill_on_drop(true);
    let child = command.spawn().expect("spawn comptoir-worker");
    let pid = child.id().expect("child pid");
    Child {
        label: format!("{label} (pid {pid}: comptoir-worker {})", args.join(" ")),
        child,
        pid,
        stderr,
    }
}

impl Child {
    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([signal, &self.pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {} failed", self.label);
    }

    async fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => panic!("waiting for {}: {e}", self.label),
            Err(_) => panic!("{} did not exit within {within:?}", self.label),
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            let said = std::fs::read_to_string(&self.stderr).unwrap_or_default();
            eprintln!("===== {}\n{said}", self.label);
        }
    }
}

fn sleeping(ms: u64) -> Noop {
    Noop {
        sleep_ms: Some(ms),
        ..Noop::default()
    }
}

/// Opens a sealed batch of no-ops whose callback is a no-op too (the
/// product's worker knows no other test kind).
async fn noop_batch(store: &Store, jobs: Vec<(Noop, EnqueueOptions)>) -> (i64, Vec<i64>) {
    let mut tx = store.begin().await.unwrap();
    let batch = Batch::open(&mut tx, |_| Noop::default(), EnqueueOptions::new())
        .await
        .unwrap();
    let inserted = batch.enqueue_many(&mut tx, jobs).await.unwrap();
    let id = batch.seal(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    (id, inserted.into_iter().map(Inserted::id).collect())
}

/// Worker A runs two batches and is SIGKILLed while the last job of each
/// runs. Once the leases expire, B and C (started together) rescue them:
/// one is retried and completes (its completion closes the batch), the
/// other had no attempt left and is discarded (a maintenance pass closes
/// it). Each batch has one callback job, which completed on its first
/// attempt; the jobs that had finished before the kill kept their one run.
async fn the_last_job_killed_and_rescued_closes_the_batch_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let quick = || (sleeping(10), EnqueueOptions::new());
    // The long jobs are enqueued last and run last (lower priority).
    let last = || EnqueueOptions::new().priority(5);
    let (retried, first) = noop_batch(
        store,
        vec![quick(), quick(), quick(), (sleeping(8_000), last().max_attempts(3))],
    )
    .await;
    let (lost, second) = noop_batch(store, vec![quick(), (sleeping(8_000), last().max_attempts(1))]).await;
    let (long_a, long_b) = (first[3], second[1]);

    let mut a = spawn(&db, "A", &["run", "--lease", "2s", "--concurrency", "4"], &[]);
    for id in [long_a, long_b] {
        let (started, job) = settles(store, id, LIVENESS, |j| {
            j.state == JobState::Running && j.started_at.is_some()
        })
        .await;
        assert!(started, "A never started job {id}: {job:?}");
        assert!(
            job.locked_by
                .as_deref()
                .is_some_and(|w| w.contains(&format!(":{}:", a.pid))),
            "{job:?}"
        );
    }
    for &id in first[..3].iter().chain(&second[..1]) {
        let (done, job) = settles(store, id, LIVENESS, |j| j.state == JobState::Completed).await;
        assert!(done, "{job:?}");
    }
    a.signal("-KILL");
    let status = a.wait_exit(LIVENESS).await;
    assert_eq!(status.code(), None, "A should have died of SIGKILL: {status}");
    assert!(callbacks_of(store, retried).await.is_empty());
    assert!(callbacks_of(store, lost).await.is_empty());

    let mut b = spawn(&db, "B", &["run", "--lease", "2s"], &[]);
    let mut c = spawn(&db, "C", &["run", "--lease", "2s"], &[]);
    for id in [retried, lost] {
        let closed = eventually(LIVENESS * 2, || async {
            let callbacks = callbacks_of(store, id).await;
            callbacks.len() == 1 && callbacks[0].state == JobState::Completed
        })
        .await;
        assert!(closed, "batch {id}: {:?}", store.get_batch(id).await);
    }
    // Stop them only once the retried long job has run to its end: nothing
    // may be left running that could close anything later.
    let (done, job) = settles(store, long_a, LIVENESS * 2, |j| j.state.is_final()).await;
    assert!(done, "{job:?}");
    for w in [&b, &c] {
        w.signal("-TERM");
    }
    for w in [&mut b, &mut c] {
        let status = w.wait_exit(LIVENESS * 2).await;
        assert_eq!(status.code(), Some(0), "{} on SIGTERM: {status}", w.label);
    }

    let job = store.get_job(long_a).await.unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Completed, 2), "{job:?}");
    assert!(job.errors[0].error.contains("lease expired"), "{job:?}");
    let job = store.get_job(long_b).await.unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Discarded, 1), "{job:?}");
    for (id, members) in [(retried, &first), (lost, &second)] {
        let callbacks = callbacks_of(store, id).await;
        assert_eq!(callbacks.len(), 1, "batch {id}: {callbacks:?}");
        assert_eq!(
            (callbacks[0].state, callbacks[0].attempt, callbacks[0].errors.len()),
            (JobState::Completed, 1, 0),
            "{callbacks:?}"
        );
        let outcomes = batch::outcomes(store, id).await.unwrap();
        assert_eq!(outcomes.callback_job_id, Some(callbacks[0].id));
        assert_eq!(outcomes.jobs.iter().map(|j| j.id).collect::<Vec<_>>(), *members);
        for j in outcomes.jobs.iter().filter(|j| j.id != long_a && j.id != long_b) {
            assert_eq!((j.state, j.attempt), (JobState::Completed, 1), "{j:?}");
        }
    }
    // No other callback anywhere: members, two callbacks, nothing else.
    let noops = jobs_of(store, Noop::KIND).await;
    assert_eq!(noops.len(), first.len() + second.len() + 2, "{noops:?}");
}

/// The monthly run's contracts form a batch; once their jobs have finished,
/// the operator gets one e-mail: the invoices made (numbers, totals), the
/// contract not invoiced and why, the failure with links to its job and
/// contract, absolute under the public URL. An empty month sends nothing.
async fn the_monthly_run_emails_its_summary(backend: Backend) {
    use comptoir::billing::jobs::monthly_run::{fan_out, InvoiceContract};
    use comptoir::billing::jobs::monthly_summary::MonthlySummary;
    let db = TestDb::new(backend).await;
    let store = &db.store;
    save_settings(store).await;
    let jean = person(store).await;
    let lea = create_customer(store, person_input("Léa Roux")).await;
    let signed = date(2026, 9, 1);
    let a = contract(store, jean.id, 100_000, signed).await;
    let b = contract(store, lea.id, 100_000, signed).await;
    let c = contract(store, lea.id, 100_000, signed).await;
    let d = contract(store, jean.id, 100_000, signed).await;
    purchase(store, a.id, 6_550, date(2026, 11, 3)).await.unwrap();
    purchase(store, b.id, 10_000, date(2026, 11, 5)).await.unwrap();
    refund(store, b.id, 3_000, date(2026, 11, 25)).await.unwrap();
    // C: November has only a refund (of a December purchase).
    purchase(store, c.id, 8_000, date(2026, 12, 2)).await.unwrap();
    refund(store, c.id, 6_000, date(2026, 11, 20)).await.unwrap();
    purchase(store, d.id, 2_000, date(2026, 11, 6)).await.unwrap();

    // October had nothing: no batch, no summary.
    assert_eq!(fan_out(store, Some("2026-10")).await.unwrap(), 0);
    assert_eq!(fan_out(store, Some("2026-11")).await.unwrap(), 4);
    // Run again: every job exists, nothing new, no second batch.
    assert_eq!(fan_out(store, Some("2026-11")).await.unwrap(), 4);
    let contract_jobs = jobs_of(store, InvoiceContract::KIND).await;
    assert_eq!(contract_jobs.len(), 4);
    let batch_id = batch::of_job(store, contract_jobs[0].id)
        .await
        .unwrap()
        .expect("a batch");
    for j in &contract_jobs {
        assert_eq!(batch::of_job(store, j.id).await.unwrap(), Some(batch_id));
    }
    // D's job is cancelled by the operator before it runs: a failure to report.
    let d_job = contract_jobs.iter().find(|j| j.args["contract_id"] == d.id).unwrap().id;
    store.cancel_job(d_job, "annulée par l'opérateur").await.unwrap();

    let server = SmtpServer::start().await;
    let env = [
        ("COMPTOIR_SMTP_HOST", "127.0.0.1".to_string()),
        ("COMPTOIR_SMTP_PORT", server.port.to_string()),
        ("COMPTOIR_SMTP_TLS", "none".to_string()),
        ("COMPTOIR_PUBLIC_URL", "https://comptoir.example.fr/".to_string()),
    ];
    let mut worker = spawn(&db, "drain", &["drain"], &env);
    let status = worker.wait_exit(LIVENESS * 2).await;
    assert!(status.success(), "{} exited {status}", worker.label);
    let summaries = jobs_of(store, MonthlySummary::KIND).await;
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    assert_eq!(
        (summaries[0].state, summaries[0].attempt),
        (JobState::Completed, 1),
        "{summaries:?}"
    );
    assert_eq!(summaries[0].args["batch_id"], batch_id);
    assert_eq!(summaries[0].args["period"], "2026-11");

    let messages: Vec<_> = server
        .messages()
        .into_iter()
        .filter(|m| {
            m.decoded_header("Subject")
                .is_some_and(|s| s.starts_with("Facturation de"))
        })
        .collect();
    assert_eq!(messages.len(), 1, "one summary");
    let m = &messages[0];
    assert_eq!(m.header("To").as_deref(), Some("marie@example.fr"));
    assert_eq!(
        m.decoded_header("Subject").unwrap(),
        "Facturation de novembre 2026 : 2 factures, 1 contrat non facturé, 1 échec"
    );
    let part = |media: &str| {
        m.leaves()
            .iter()
            .find(|p| p.media_type() == media)
            .unwrap_or_else(|| panic!("a {media} part"))
            .text()
            .replace(['\u{a0}', '\u{202f}'], " ")
    };
    let text = part("text/plain");
    let base = "https://comptoir.example.fr";
    for needle in [
        "La facturation mensuelle de novembre 2026 est terminée : 4 contrats traités.".to_string(),
        "Factures émises (2) :".into(),
        // The two jobs ran at once: either may have taken the first number.
        format!(" : Jean Martin, 65,50 € (contrat n° {})", a.id),
        format!(" : Léa Roux, 70,00 € (contrat n° {})", b.id),
        "- F2026-0001 : ".into(),
        "- F2026-0002 : ".into(),
        "Total facturé : 135,50 €.".into(),
        "Contrats non facturés (1) :".into(),
        format!(
            "- Contrat n° {} (Léa Roux) : les remboursements du mois dépassent les achats",
            c.id
        ),
        format!("{base}/admin/contracts/{}", c.id),
        "Échecs (1)".into(),
        format!(
            "- Tâche n° {d_job} (annulée, jamais lancée), contrat n° {} (Jean Martin) : annulée par l'opérateur",
            d.id
        ),
        format!("Tâche : {base}/admin/jobs/{d_job}"),
        format!("Contrat : {base}/admin/contracts/{}", d.id),
    ] {
        assert!(text.contains(&needle), "{needle:?} missing from:\n{text}");
    }
    // minijinja's HTML escaping writes `/` as `&#x2f;`, which browsers read as `/`.
    let html = part("text/html").replace("&#x2f;", "/");
    for needle in [
        format!("href=\"{base}/admin/jobs/{d_job}\""),
        format!("href=\"{base}/admin/contracts/{}\"", d.id),
        format!("href=\"{base}/admin/invoices/"),
    ] {
        assert!(html.contains(&needle), "{needle:?} missing from:\n{html}");
    }
}

/// The admin's page of a job names its batch and, once the batch has
/// finished, links its callback; the callback's page names the batch.
async fn the_job_page_names_its_batch(backend: Backend) {
    let app = crate::support::web::TestApp::spawn(backend).await;
    let store = &app.db.store;
    let (id, members) = noop_batch(store, vec![(Noop::default(), EnqueueOptions::new()); 2]).await;
    let mut client = app.signed_in().await;
    let batch_of = |body: &str| {
        let start = body
            .find("id=\"job-batch\"")
            .unwrap_or_else(|| panic!("no batch on the page:\n{body}"));
        let end = start + body[start..].find("</dd>").unwrap();
        body[start..end].to_string()
    };
    let page = client.get(&format!("/admin/jobs/{}", members[0])).await;
    assert_eq!(page.status, 200);
    assert!(
        batch_of(&page.body).contains(&format!(
            "lot n° {id} (tâches du lot : 2) · rappel quand toutes ses tâches seront finies"
        )),
        "{}",
        batch_of(&page.body)
    );
    app.drain().await;
    let callback = callbacks_of(store, id).await.remove(0).id;
    let page = client.get(&format!("/admin/jobs/{}", members[1])).await;
    let facts = batch_of(&page.body);
    assert!(facts.contains(&format!("href=\"/admin/jobs/{callback}\"")), "{facts}");
    assert!(facts.contains(&format!("rappel : tâche #{callback}")), "{facts}");
    let page = client.get(&format!("/admin/jobs/{callback}")).await;
    assert!(
        batch_of(&page.body).contains(&format!("rappel du lot n° {id} (tâches du lot : 2)")),
        "{}",
        batch_of(&page.body)
    );
    // A job of no batch says nothing of batches.
    let alone = enqueue_now(store, &Noop::default(), EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    let plain = client.get(&format!("/admin/jobs/{alone}")).await;
    assert_eq!(plain.status, 200);
    assert!(!plain.body.contains("job-batch"), "{}", plain.body);
}
