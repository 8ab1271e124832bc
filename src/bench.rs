//! The queue benchmark: enqueue (bulk and one by one), drain throughput at
//! several concurrencies, and the wake-up latency of an idle worker, on a
//! fresh database of each backend.
//!
//! Every backend gets a database of its own (PostgreSQL: `comptoir_bench_<pid>`
//! created through the admin URL and dropped at the end; SQLite: a new file
//! under the work directory, deleted at the end), so runs never see each
//! other's rows. Before each timed drain the table holds exactly the jobs
//! to drain: earlier jobs are pruned and, on PostgreSQL, the table is
//! vacuumed so that no level pays for the dead rows of the previous ones.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sqlx::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::jobs::{
    self, enqueue_many, enqueue_now, DrainLimits, EnqueueOptions, Inserted, Job, JobContext, JobKind, JobResult, Noop,
    Outcome, Registry, Worker, WorkerConfig,
};
use crate::store::{Backend, Store, StoreError};

/// Jobs per transaction in the bulk enqueue.
const BULK_TX: u64 = 10_000;
/// Longest wait for one ping before the latency measure gives up.
const WAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Concurrency of the untimed drain that clears the enqueue phase's jobs.
const CLEAR_CONCURRENCY: usize = 50;
/// Keys of the drain under a per-key concurrency limit of 1.
const LIMIT_KEYS: u64 = 100;
/// Starts per second allowed in the rate-limited drain, and its most jobs
/// (the drain lasts about `RATE_JOBS / RATE_PER_S` seconds whatever the machine).
const RATE_PER_S: i32 = 2_000;
const RATE_JOBS: u64 = 10_000;

/// What to measure, and where.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Jobs per bulk enqueue and per drain.
    pub jobs: u64,
    /// Jobs enqueued one transaction each.
    pub single_jobs: u64,
    /// Drain concurrencies, each measured on the same number of jobs.
    pub concurrency: Vec<usize>,
    /// Pings timed for the wake-up latency.
    pub wake_samples: usize,
    pub backends: Vec<Backend>,
    /// Admin URL of the PostgreSQL server; the bench creates and drops its own database there.
    pub postgres_url: String,
    /// Where the SQLite database file is created (and deleted).
    pub work_dir: PathBuf,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            jobs: 100_000,
            single_jobs: 5_000,
            concurrency: vec![1, 10, 50],
            wake_samples: 200,
            backends: vec![Backend::Postgres, Backend::Sqlite],
            postgres_url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
            work_dir: std::env::temp_dir(),
        }
    }
}

/// The figures of one backend.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchResult {
    pub backend: Backend,
    pub enqueue_bulk_per_s: f64,
    pub enqueue_single_per_s: f64,
    /// `(concurrency, jobs/s)` in the order measured.
    pub drain_per_s: Vec<(usize, f64)>,
    pub wake_p50_ms: f64,
    pub wake_p99_ms: f64,
    /// Drain at concurrency 10 of jobs under a concurrency limit of 1 per
    /// key, over [`LIMIT_KEYS`] keys.
    pub drain_keyed_per_s: f64,
    /// Drain at concurrency 10 of jobs under one rate key of [`RATE_PER_S`]
    /// starts per second.
    pub drain_rate_limited_per_s: f64,
}

impl BenchResult {
    /// The drain figure at concurrency 10, or at the first level measured.
    pub fn headline_drain_per_s(&self) -> f64 {
        self.drain_per_s
            .iter()
            .find(|(c, _)| *c == 10)
            .or_else(|| self.drain_per_s.first())
            .map_or(0.0, |(_, rate)| *rate)
    }

    /// The machine-readable summary line.
    pub fn result_line(&self) -> String {
        format!(
            "RESULT system=comptoir-{} jobs_per_s_drain={:.0} enqueue_bulk_per_s={:.0} enqueue_single_per_s={:.0} \
             wake_p50_ms={:.1} wake_p99_ms={:.1} jobs_per_s_drain_keyed={:.0} jobs_per_s_drain_rate_limited={:.0}",
            self.backend.name(),
            self.headline_drain_per_s(),
            self.enqueue_bulk_per_s,
            self.enqueue_single_per_s,
            self.wake_p50_ms,
            self.wake_p99_ms,
            self.drain_keyed_per_s,
            self.drain_rate_limited_per_s,
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("invalid bench options: {0}")]
    Options(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Jobs(#[from] jobs::Error),
    #[error("PostgreSQL admin ({action}): {source}")]
    Admin {
        action: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{backend} drain c={concurrency}: {completed} of {expected} jobs completed ({report})")]
    Incomplete {
        backend: &'static str,
        concurrency: usize,
        completed: u64,
        expected: u64,
        report: String,
    },
    #[error("{backend}: {expected} jobs enqueued but only {inserted} were new")]
    NotInserted {
        backend: &'static str,
        expected: u64,
        inserted: u64,
    },
    #[error("{backend}: {left} jobs still in the table after pruning")]
    NotEmpty { backend: &'static str, left: i64 },
    #[error("{backend}: ping job {id} did not run within {timeout:?}")]
    WakeTimeout {
        backend: &'static str,
        id: i64,
        timeout: Duration,
    },
    #[error("{backend}: the wake-up worker stopped: {message}")]
    WakeWorker { backend: &'static str, message: String },
}

/// Runs the bench on every backend of `opts`, printing progress lines as it
/// goes and one `RESULT` line per backend at the end.
pub async fn run(opts: &BenchOptions) -> Result<Vec<BenchResult>, BenchError> {
    validate(opts)?;
    let mut results = Vec::with_capacity(opts.backends.len());
    for &backend in &opts.backends {
        results.push(bench_backend(backend, opts).await?);
    }
    for result in &results {
        println!("{}", result.result_line());
    }
    Ok(results)
}

fn validate(opts: &BenchOptions) -> Result<(), BenchError> {
    let problem = if opts.jobs == 0 {
        "jobs must be at least 1"
    } else if opts.single_jobs == 0 {
        "single_jobs must be at least 1"
    } else if opts.concurrency.is_empty() || opts.concurrency.contains(&0) {
        "concurrency needs at least one level, each at least 1"
    } else if opts.wake_samples == 0 {
        "wake_samples must be at least 1"
    } else if opts.backends.is_empty() {
        "no backend to measure"
    } else {
        return Ok(());
    };
    Err(BenchError::Options(problem.into()))
}

/// One backend, on a database created for it and removed afterwards (also on failure).
async fn bench_backend(backend: Backend, opts: &BenchOptions) -> Result<BenchResult, BenchError> {
    let db = BenchDb::create(backend, opts).await?;
    println!("{:<8}  database {}", backend.name(), crate::store::redact_url(db.url()));
    let outcome = measure(backend, db.url(), opts).await;
    let removed = db.remove().await;
    let result = outcome?;
    removed?;
    Ok(result)
}

async fn measure(backend: Backend, url: &str, opts: &BenchOptions) -> Result<BenchResult, BenchError> {
    let store = Store::connect(url).await?;
    let outcome = measure_on(backend, &store, url, opts).await;
    store.close().await;
    outcome
}

async fn measure_on(
    backend: Backend,
    store: &Store,
    url: &str,
    opts: &BenchOptions,
) -> Result<BenchResult, BenchError> {
    let name = backend.name();
    store.migrate().await?;

    let elapsed = bulk_insert(store, opts.jobs).await?;
    let enqueue_bulk_per_s = rate(opts.jobs, elapsed);
    print_rate(name, "enqueue bulk", opts.jobs, elapsed);

    let started = Instant::now();
    for _ in 0..opts.single_jobs {
        enqueue_now(store, &Noop::default(), EnqueueOptions::default()).await?;
    }
    let elapsed = started.elapsed();
    let enqueue_single_per_s = rate(opts.single_jobs, elapsed);
    print_rate(name, "enqueue single", opts.single_jobs, elapsed);

    // The enqueue phase's jobs are drained untimed, so every timed drain starts
    // from the same (empty) table plus its own bulk insert.
    let expected = opts.jobs + opts.single_jobs;
    let (_, elapsed) = drain(backend, store, CLEAR_CONCURRENCY, expected).await?;
    print_rate(
        name,
        &format!("drain c={CLEAR_CONCURRENCY} (untimed, clears the enqueue phase)"),
        expected,
        elapsed,
    );

    let mut drain_per_s = Vec::with_capacity(opts.concurrency.len());
    for &c in &opts.concurrency {
        prune_all(backend, store).await?;
        bulk_insert(store, opts.jobs).await?;
        if backend == Backend::Postgres {
            // Each level leaves about three dead row versions per job (claim,
            // completion, prune) and autovacuum may be off or late: without
            // this, later levels would run on an ever more bloated table.
            vacuum_postgres(url).await?;
        }
        let (_, elapsed) = drain(backend, store, c, opts.jobs).await?;
        print_rate(name, &format!("drain c={c}"), opts.jobs, elapsed);
        drain_per_s.push((c, rate(opts.jobs, elapsed)));
    }

    // The same drain at concurrency 10, with every job under a limit: one
    // at a time per key over 100 keys (never binding at 10 slots: this is
    // the cost of the limited claim), then one rate key that binds.
    prune_all(backend, store).await?;
    insert_with(store, opts.jobs, |i| {
        EnqueueOptions::new().concurrency(format!("bench:{}", i % LIMIT_KEYS), 1)
    })
    .await?;
    if backend == Backend::Postgres {
        vacuum_postgres(url).await?;
    }
    let (_, elapsed) = drain(backend, store, 10, opts.jobs).await?;
    print_rate(
        name,
        &format!("drain c=10, limit 1 per key over {LIMIT_KEYS} keys"),
        opts.jobs,
        elapsed,
    );
    let drain_keyed_per_s = rate(opts.jobs, elapsed);

    prune_all(backend, store).await?;
    let rate_jobs = opts.jobs.min(RATE_JOBS);
    insert_with(store, rate_jobs, |_| {
        EnqueueOptions::new().rate("bench:provider", RATE_PER_S, Duration::from_secs(1))
    })
    .await?;
    let (_, elapsed) = drain(backend, store, 10, rate_jobs).await?;
    print_rate(
        name,
        &format!("drain c=10, rate limit {RATE_PER_S}/s on one key"),
        rate_jobs,
        elapsed,
    );
    let drain_rate_limited_per_s = rate(rate_jobs, elapsed);
    prune_all(backend, store).await?;

    let (wake_p50_ms, wake_p99_ms) = wake_latency(backend, store, url, opts.wake_samples).await?;
    let how = match backend {
        Backend::Postgres => "LISTEN/NOTIFY from another handle",
        Backend::Sqlite => "polling: SQLite has no cross-handle notification",
    };
    println!(
        "{name:<8}  wake-up   {} samples: p50 {wake_p50_ms:.1} ms, p99 {wake_p99_ms:.1} ms ({how})",
        opts.wake_samples
    );

    Ok(BenchResult {
        backend,
        enqueue_bulk_per_s,
        enqueue_single_per_s,
        drain_per_s,
        wake_p50_ms,
        wake_p99_ms,
        drain_keyed_per_s,
        drain_rate_limited_per_s,
    })
}

/// Inserts `n` no-op jobs, job `i` with `options(i)`, in transactions of [`BULK_TX`].
async fn insert_with(store: &Store, n: u64, options: impl Fn(u64) -> EnqueueOptions) -> Result<(), BenchError> {
    let mut start = 0;
    while start < n {
        let end = (start + BULK_TX).min(n);
        let mut tx = store.begin().await?;
        enqueue_many(&mut tx, (start..end).map(|i| (Noop::default(), options(i)))).await?;
        tx.commit().await?;
        start = end;
    }
    Ok(())
}

/// Inserts `n` no-op jobs in transactions of [`BULK_TX`]; returns the time taken.
async fn bulk_insert(store: &Store, n: u64) -> Result<Duration, BenchError> {
    let started = Instant::now();
    let mut left = n;
    let mut inserted = 0u64;
    while left > 0 {
        let batch = left.min(BULK_TX);
        let mut tx = store.begin().await?;
        let rows = enqueue_many(
            &mut tx,
            (0..batch).map(|_| (Noop::default(), EnqueueOptions::default())),
        )
        .await?;
        tx.commit().await?;
        inserted += rows.iter().filter(|r| matches!(r, Inserted::New(_))).count() as u64;
        left -= batch;
    }
    let elapsed = started.elapsed();
    if inserted != n {
        return Err(BenchError::NotInserted {
            backend: store.backend().name(),
            expected: n,
            inserted,
        });
    }
    Ok(elapsed)
}

/// Drains the queue with a no-op worker of concurrency `c`; fails unless
/// exactly `expected` jobs completed.
async fn drain(
    backend: Backend,
    store: &Store,
    c: usize,
    expected: u64,
) -> Result<(jobs::Report, Duration), BenchError> {
    let registry = Arc::new(Registry::<()>::new().register::<Noop>());
    let config = WorkerConfig {
        concurrency: c,
        ..WorkerConfig::default()
    };
    let started = Instant::now();
    let report = Worker::new(store.clone(), registry, (), config)
        .drain(DrainLimits::default(), std::future::pending())
        .await?;
    let elapsed = started.elapsed();
    if report.completed != expected || !report.all_succeeded() {
        return Err(BenchError::Incomplete {
            backend: backend.name(),
            concurrency: c,
            completed: report.completed,
            expected,
            report: format!("{report:?}"),
        });
    }
    Ok((report, elapsed))
}

/// Deletes every finished job and checks that nothing else is left.
async fn prune_all(backend: Backend, store: &Store) -> Result<(), BenchError> {
    let mut left = 0;
    for _ in 0..50 {
        store.prune_jobs(Duration::ZERO, i64::MAX).await?;
        left = store.count_jobs().await?.iter().map(|c| c.count).sum::<i64>();
        if left == 0 {
            return Ok(());
        }
        // `finished_at < now()` is strict: a job finished within the clock's
        // resolution (1 ms on SQLite) is pruned on the next pass.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(BenchError::NotEmpty {
        backend: backend.name(),
        left,
    })
}

/// The bench's own kind: its handler reports when it started.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Ping {}

impl JobKind for Ping {
    const KIND: &'static str = "bench.ping";
}

/// The wake-up worker's context: where pings report `(job id, start instant)`.
#[derive(Clone)]
struct PingContext {
    started: mpsc::UnboundedSender<(i64, Instant)>,
}

impl Job<PingContext> for Ping {
    async fn perform(self, ctx: JobContext<PingContext>) -> JobResult {
        // The receiver may be gone if the bench gave up; the job still succeeds.
        let _ = ctx.app.started.send((ctx.job.id, Instant::now()));
        Ok(Outcome::Done)
    }
}

/// Times how long an idle worker on its own handle takes to start a job
/// enqueued from `store`; returns (p50, p99) in milliseconds.
async fn wake_latency(backend: Backend, store: &Store, url: &str, samples: usize) -> Result<(f64, f64), BenchError> {
    let worker_store = Store::connect(url).await?;
    let (started_tx, mut started_rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let registry = Arc::new(Registry::<PingContext>::new().register::<Ping>());
    let worker = Worker::new(
        worker_store.clone(),
        registry,
        PingContext { started: started_tx },
        WorkerConfig::default(),
    );
    let task = tokio::spawn(worker.run(async {
        let _ = stop_rx.await;
    }));

    let measured = async {
        // Warm-up: once this ping ran, the worker (and its listener) is up.
        ping(backend, store, &mut started_rx).await?;
        let mut latencies = Vec::with_capacity(samples);
        for _ in 0..samples {
            tokio::time::sleep(Duration::from_millis(fastrand::u64(5..=25))).await;
            latencies.push(ping(backend, store, &mut started_rx).await?);
        }
        Ok::<_, BenchError>(latencies)
    }
    .await;

    let _ = stop_tx.send(());
    let stopped = match task.await {
        Ok(Ok(_report)) => Ok(()),
        Ok(Err(e)) => Err(BenchError::WakeWorker {
            backend: backend.name(),
            message: e.to_string(),
        }),
        Err(e) => Err(BenchError::WakeWorker {
            backend: backend.name(),
            message: e.to_string(),
        }),
    };
    worker_store.close().await;
    drop(worker_store);

    let mut latencies = measured?;
    stopped?;
    latencies.sort_by(f64::total_cmp);
    Ok((nearest_rank(&latencies, 50.0), nearest_rank(&latencies, 99.0)))
}

/// Enqueues one ping and returns the milliseconds until its handler started.
async fn ping(
    backend: Backend,
    store: &Store,
    started: &mut mpsc::UnboundedReceiver<(i64, Instant)>,
) -> Result<f64, BenchError> {
    let t0 = Instant::now();
    let id = enqueue_now(store, &Ping {}, EnqueueOptions::default()).await?.id();
    let timeout = tokio::time::sleep(WAKE_TIMEOUT);
    tokio::pin!(timeout);
    loop {
        tokio::select! {
            message = started.recv() => match message {
                Some((got, at)) if got == id => return Ok(at.duration_since(t0).as_secs_f64() * 1000.0),
                // A stale report (a ping of an earlier sample run again) is skipped.
                Some(_) => {}
                None => return Err(BenchError::WakeWorker {
                    backend: backend.name(),
                    message: "the worker dropped its context".into(),
                }),
            },
            _ = &mut timeout => return Err(BenchError::WakeTimeout {
                backend: backend.name(),
                id,
                timeout: WAKE_TIMEOUT,
            }),
        }
    }
}

/// The nearest-rank percentile `p` of ascending `sorted` (non-empty).
fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn rate(jobs: u64, elapsed: Duration) -> f64 {
    jobs as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn print_rate(backend: &str, what: &str, jobs: u64, elapsed: Duration) {
    println!(
        "{backend:<8}  {what}  {jobs} jobs in {:.2} s = {:.0} jobs/s",
        elapsed.as_secs_f64(),
        rate(jobs, elapsed)
    );
}

/// The database of one backend's run.
enum BenchDb {
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
    Sqlite {
        path: PathBuf,
        url: String,
    },
}

impl BenchDb {
    async fn create(backend: Backend, opts: &BenchOptions) -> Result<BenchDb, BenchError> {
        let pid = std::process::id();
        match backend {
            Backend::Postgres => {
                let name = format!("comptoir_bench_{pid}");
                let url = with_database(&opts.postgres_url, &name)?;
                let mut conn = admin_connect(&opts.postgres_url).await?;
                // A run killed before its clean-up may have left one under this pid.
                admin_exec(&mut conn, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
                admin_exec(&mut conn, &format!("CREATE DATABASE {name}")).await?;
                let _ = conn.close().await;
                Ok(BenchDb::Postgres {
                    admin_url: opts.postgres_url.clone(),
                    name,
                    url,
                })
            }
            Backend::Sqlite => {
                std::fs::create_dir_all(&opts.work_dir).map_err(|source| BenchError::Io {
                    path: opts.work_dir.clone(),
                    source,
                })?;
                let path = opts.work_dir.join(format!("comptoir_bench_{pid}.db"));
                remove_sqlite_files(&path)?;
                let url = format!("sqlite://{}", path.display());
                Ok(BenchDb::Sqlite { path, url })
            }
        }
    }

    fn url(&self) -> &str {
        match self {
            BenchDb::Postgres { url, .. } | BenchDb::Sqlite { url, .. } => url,
        }
    }

    async fn remove(self) -> Result<(), BenchError> {
        match self {
            BenchDb::Postgres { admin_url, name, .. } => {
                let mut conn = admin_connect(&admin_url).await?;
                admin_exec(&mut conn, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
                let _ = conn.close().await;
                Ok(())
            }
            BenchDb::Sqlite { path, .. } => remove_sqlite_files(&path),
        }
    }
}

/// `VACUUM ANALYZE` of the jobs table: the timed drain then starts from live
/// rows only, with fresh planner statistics, whatever ran before it.
async fn vacuum_postgres(url: &str) -> Result<(), BenchError> {
    let mut conn = admin_connect(url).await?;
    admin_exec(&mut conn, "VACUUM ANALYZE comptoir_jobs").await?;
    let _ = conn.close().await;
    Ok(())
}

async fn admin_connect(url: &str) -> Result<sqlx::PgConnection, BenchError> {
    sqlx::PgConnection::connect(url)
        .await
        .map_err(|source| BenchError::Admin {
            action: format!("connect to {}", crate::store::redact_url(url)),
            source,
        })
}

async fn admin_exec(conn: &mut sqlx::PgConnection, sql: &str) -> Result<(), BenchError> {
    sqlx::raw_sql(sql)
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(|source| BenchError::Admin {
            action: sql.to_string(),
            source,
        })
}

/// Deletes a SQLite database and its WAL and shared-memory files, if present.
fn remove_sqlite_files(path: &Path) -> Result<(), BenchError> {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let file = PathBuf::from(file);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(BenchError::Io { path: file, source }),
        }
    }
    Ok(())
}

/// `url` with its database (the path) replaced by `name`, query string kept.
fn with_database(url: &str, name: &str) -> Result<String, BenchError> {
    let scheme_end = url
        .find("://")
        .ok_or_else(|| BenchError::Options(format!("not a PostgreSQL URL: {}", crate::store::redact_url(url))))?
        + 3;
    let (base, query) = match url.find('?') {
        Some(q) => url.split_at(q),
        None => (url, ""),
    };
    let authority_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    Ok(format!("{}/{name}{query}", &base[..authority_end]))
}

#[cfg(test)]
mod tests {
    use super::{nearest_rank, with_database};

    #[test]
    fn replaces_the_database_of_a_url() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/b",
            ),
            (
                "postgres://u:p@h/db?sslmode=disable",
                "postgres://u:p@h/b?sslmode=disable",
            ),
            ("postgresql://h:5432", "postgresql://h:5432/b"),
            ("postgres://h?application_name=x", "postgres://h/b?application_name=x"),
        ];
        for (url, want) in cases {
            assert_eq!(with_database(url, "b").unwrap(), want);
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 50.0), 100.0);
        assert_eq!(nearest_rank(&v, 99.0), 198.0);
        assert_eq!(nearest_rank(&[7.0], 99.0), 7.0);
    }
}
