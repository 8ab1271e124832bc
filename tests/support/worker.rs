//! The worker harness: the context the engine's test kinds report into
//! ([`Probe`]), a quick-polling configuration, a drain, a worker serving in
//! the background until stopped ([`Live`]) and waits on a job; and, for the
//! product's own jobs, their context in a test and a drain with the
//! product's registry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use comptoir::app::{registry, AppContext};
use comptoir::config::Config;
use comptoir::jobs::{DrainLimits, JobFilter, JobRow, JobState, Noop, Registry, Report, Worker, WorkerConfig};
use comptoir::providers::{Providers, ProvidersConfig};
use comptoir::store::Store;
use tokio::sync::oneshot;

use super::TestDb;

/// What the test kinds' handlers saw, shared with the test.
#[derive(Default)]
pub struct Probe {
    /// Runs per job id.
    pub runs: Mutex<HashMap<i64, u32>>,
    /// Labels in the order their jobs started.
    pub order: Mutex<Vec<String>>,
    /// Idempotency keys seen per job id, one per run.
    pub keys: Mutex<HashMap<i64, Vec<String>>>,
    /// Handlers running right now, and the most seen at once.
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    /// Set by a long job when it starts, and when its future is dropped.
    pub long_started: AtomicBool,
    pub long_dropped: AtomicBool,
    /// Jobs enqueued by a job.
    pub children: Mutex<Vec<i64>>,
    /// Gated jobs wait for this before they end.
    pub gate_open: AtomicBool,
}

impl Probe {
    /// Counts a run of job `id`; returns how many it has had.
    pub fn ran(&self, id: i64) -> u32 {
        let mut runs = self.runs.lock().unwrap();
        let n = runs.entry(id).or_default();
        *n += 1;
        *n
    }

    pub fn runs(&self, id: i64) -> u32 {
        self.runs.lock().unwrap().get(&id).copied().unwrap_or(0)
    }
}

/// The context of the engine's test kinds.
pub type Ctx = Arc<Probe>;

/// `concurrency` handlers, polling every 50 ms, 10 s to finish on shutdown.
pub fn config(concurrency: usize) -> WorkerConfig {
    WorkerConfig {
        concurrency,
        poll_interval: Some(Duration::from_millis(50)),
        shutdown_grace: Duration::from_secs(10),
        ..WorkerConfig::default()
    }
}

/// Runs every due job, then returns.
pub async fn drain<C: Clone + Send + Sync + 'static>(
    store: &Store,
    registry: Registry<C>,
    ctx: &C,
    config: WorkerConfig,
) -> Report {
    Worker::new(store.clone(), Arc::new(registry), ctx.clone(), config)
        .drain(DrainLimits::default(), std::future::pending())
        .await
        .expect("drain")
}

/// A worker serving in the background until stopped.
pub struct Live {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<Report, comptoir::jobs::Error>>,
}

impl Live {
    pub fn start<C: Clone + Send + Sync + 'static>(
        store: &Store,
        registry: Registry<C>,
        ctx: &C,
        config: WorkerConfig,
    ) -> Live {
        let (stop, stopped) = oneshot::channel::<()>();
        let worker = Worker::new(store.clone(), Arc::new(registry), ctx.clone(), config);
        let task = tokio::spawn(worker.run(async move {
            let _ = stopped.await;
        }));
        Live { stop, task }
    }

    pub async fn stop(self) -> Report {
        let _ = self.stop.send(());
        self.task.await.expect("worker task").expect("worker run")
    }
}

/// Waits up to `within` (a liveness bound only) until job `id` satisfies
/// `done`; whether it did, and the job as it is then.
pub async fn settles(store: &Store, id: i64, within: Duration, done: impl Fn(&JobRow) -> bool) -> (bool, JobRow) {
    let ok = super::eventually(within, || async { store.get_job(id).await.is_ok_and(|j| done(&j)) }).await;
    (ok, store.get_job(id).await.expect("get job"))
}

/// Waits (20 s at most) until job `id` satisfies `done`; panics with the row otherwise.
pub async fn wait_for(store: &Store, id: i64, what: &str, done: impl Fn(&JobRow) -> bool) -> JobRow {
    let (ok, job) = settles(store, id, Duration::from_secs(20), done).await;
    assert!(ok, "job {id} never became {what}: {job:?}");
    job
}

pub fn is_state(state: JobState) -> impl Fn(&JobRow) -> bool {
    move |j| j.state == state
}

/// Every job, whatever its state.
pub async fn all_jobs(store: &Store) -> Vec<JobRow> {
    store
        .list_jobs(&JobFilter {
            limit: 100_000,
            ..JobFilter::default()
        })
        .await
        .expect("list jobs")
}

/// The product jobs' context for a test: e-mails as files in the test's
/// directory, providers from `lookup` (e.g. a replay server's base URL), else none.
pub fn app_context(db: &TestDb, lookup: impl Fn(&str) -> Option<String>) -> AppContext {
    let config = Config {
        database_url: Some(db.url.clone()),
        data_dir: db.dir.path().join("data"),
        backup_dir: None,
    };
    let mailer = comptoir::mail::Mailer::new(comptoir::mail::MailConfig::file(None, db.dir.path().join("mail")))
        .expect("mailer");
    let providers = Providers::new(ProvidersConfig::from_lookup(lookup).expect("providers config")).expect("providers");
    AppContext {
        config: Arc::new(config),
        mailer,
        providers,
    }
}

/// Runs every due job with the product's registry, then returns.
pub async fn drain_app(store: &Store, ctx: &AppContext) -> Report {
    drain(store, registry(), ctx, WorkerConfig::default()).await
}

/// Runs the due no-op jobs (the engine's own `Noop` kind only).
pub async fn drain_noops(store: &Store, config: WorkerConfig) -> Report {
    drain(store, Registry::<()>::new().register::<Noop>(), &(), config).await
}

/// [`drain_app`], and every job it ran succeeded.
pub async fn drain_app_ok(store: &Store, ctx: &AppContext) -> Report {
    let report = drain_app(store, ctx).await;
    assert!(report.all_succeeded(), "{report:?}");
    report
}

/// `comptoir-worker ARGS` on the test's database, with the tests' book key
/// and a data directory of the test's own; its output once it has exited.
/// What a command printed, stdout then stderr, to look for a message in.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn worker_cli(db: &TestDb, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_comptoir-worker"))
        .env(comptoir::billing::seal::KEY_ENV, crate::support::book_key_path())
        .env("COMPTOIR_DATA_DIR", db.dir.path().join("cli-data"))
        .env("RUST_LOG", "warn")
        .arg("--database-url")
        .arg(&db.url)
        .args(args)
        .output()
        .expect("run comptoir-worker")
}
