//! `comptoir-worker`: run as a service, drain for cron, migrate, inspect and
//! repair jobs, benchmark.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use super::exit;
use crate::app::{registry, AppContext};
use crate::config::{parse_duration, Config};
use crate::jobs::{DrainLimits, Worker, WorkerConfig};
use crate::store::{redact_url, Store};

#[derive(Debug, Parser)]
#[command(name = "comptoir-worker", version, about = "Runs Comptoir's jobs")]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the queues until SIGTERM/SIGINT.
    Run(WorkerArgs),
    /// Run what is due, then exit (for cron). Exit 0 if every job succeeded,
    /// 1 if one failed, 75 if another drain is running.
    Drain {
        #[command(flatten)]
        worker: WorkerArgs,
        /// Stop claiming after this many jobs.
        #[arg(long)]
        max_jobs: Option<u64>,
        /// Stop claiming after this long (e.g. 50s, 5m).
        #[arg(long, value_parser = parse_duration)]
        max_time: Option<Duration>,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Inspect and repair jobs.
    #[command(subcommand)]
    Jobs(super::jobs::JobsCommand),
    /// Seller settings, livre de recettes, invoice PDFs, monthly run.
    #[command(subcommand)]
    Billing(super::billing::BillingCommand),
    /// A consistent backup while the product runs (SQLite: one zip with the
    /// database, the book's key and the imported files; PostgreSQL: prints
    /// the pg_dump recipe).
    Backup {
        /// Where to write it (default: the backup directory).
        #[arg(long)]
        to: Option<PathBuf>,
    },
    /// Restore a backup into an empty data directory, then check the book.
    Restore {
        /// The backup file (`comptoir-backup-….zip`).
        file: PathBuf,
        /// Restore even if the restored book fails verification (the
        /// findings are printed; the exit code is still 1).
        #[arg(long)]
        despite_findings: bool,
    },
    /// The archive of a closed year (every invoice, the livre de recettes,
    /// the closures, the audit log, a signed manifest), or `archive verify FILE`.
    Archive(super::keeping::ArchiveArgs),
    /// Measure enqueue, drain and wake-up speed on fresh databases.
    Bench(BenchArgs),
    /// Time a backup, a yearly archive and its verification on a year of
    /// invoices, in a scratch SQLite data directory (deleted after).
    BenchKeeping {
        /// Invoices issued (and paid) in the year.
        #[arg(long, default_value_t = 300)]
        invoices: usize,
        /// Where the scratch directory goes (default: the system's temporary directory).
        #[arg(long)]
        work_dir: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Args)]
struct WorkerArgs {
    /// Queues to serve, comma-separated, each optionally `name=concurrency`
    /// (default: every queue of the registered kinds).
    #[arg(long, value_delimiter = ',')]
    queues: Vec<String>,
    /// Jobs run at once per queue (when not given per queue).
    #[arg(long, default_value_t = 10)]
    concurrency: usize,
    /// Most jobs claimed by one query.
    #[arg(long, default_value_t = 100)]
    prefetch: usize,
    /// Lease of a claimed job; renewed every third of it.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    lease: Duration,
    /// Idle poll period (default: 1s on PostgreSQL, 500ms behind PgBouncer in
    /// transaction mode, 200ms on SQLite).
    #[arg(long, value_parser = parse_duration)]
    poll_interval: Option<Duration>,
    /// On SIGTERM, how long running jobs may take to finish.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    grace: Duration,
    /// Finished jobs are deleted after this.
    #[arg(long, default_value = "7d", value_parser = parse_duration)]
    retention: Duration,
    /// Do not rescue, prune or enqueue periodic jobs from this process.
    #[arg(long)]
    no_maintenance: bool,
}

impl WorkerArgs {
    fn config(&self) -> Result<WorkerConfig, String> {
        let queues = self
            .queues
            .iter()
            .filter(|q| !q.trim().is_empty())
            .map(|q| match q.split_once('=') {
                Some((name, n)) => n
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map(|n| (name.trim().to_string(), n))
                    .ok_or_else(|| format!("--queues: {q:?} needs a positive concurrency after '='")),
                None => Ok((q.trim().to_string(), self.concurrency)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if self.concurrency == 0 {
            return Err("--concurrency must be at least 1".into());
        }
        Ok(WorkerConfig {
            queues,
            concurrency: self.concurrency,
            prefetch: self.prefetch.max(1),
            lease: self.lease,
            poll_interval: self.poll_interval,
            shutdown_grace: self.grace,
            retention: self.retention,
            maintenance: !self.no_maintenance,
            worker_id: None,
        })
    }
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Jobs per drain measurement and per bulk enqueue.
    #[arg(long, default_value_t = 100_000)]
    jobs: u64,
    /// Jobs enqueued one transaction each.
    #[arg(long, default_value_t = 5_000)]
    single_jobs: u64,
    /// Drain concurrency levels.
    #[arg(long, value_delimiter = ',', default_value = "1,10,50")]
    concurrency: Vec<usize>,
    /// Idle wake-up samples.
    #[arg(long, default_value_t = 200)]
    wake_samples: usize,
    /// Backends to measure.
    #[arg(long, value_delimiter = ',', default_value = "postgres,sqlite")]
    backends: Vec<String>,
    /// A PostgreSQL URL allowed to create and drop a scratch database.
    #[arg(
        long,
        env = "COMPTOIR_BENCH_POSTGRES",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
}

/// Entry point of `comptoir-worker`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = matches!(
        cli.command,
        Command::Bench(_)
            | Command::BenchKeeping { .. }
            | Command::Jobs(_)
            | Command::Billing(_)
            | Command::Backup { .. }
            | Command::Restore { .. }
            | Command::Archive(_)
    );
    crate::telemetry::init(if quiet { "warn" } else { "info,sqlx=warn" });
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::UNAVAILABLE);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::UNAVAILABLE)
        }
    }
}

pub(super) async fn open(config: &Config) -> anyhow::Result<Store> {
    let url = config.database_url();
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("cannot open database {}", redact_url(&url)))?;
    store.migrate().await.context("cannot apply migrations")?;
    fill_search_keys(&store).await?;
    registry()
        .publish(&store)
        .await
        .context("cannot list the job kinds in the database")?;
    Ok(store)
}

/// Customers written before migration 0014 get their search key (once).
async fn fill_search_keys(store: &Store) -> anyhow::Result<()> {
    let keyed = crate::billing::customers::fill_search_keys(store)
        .await
        .context("cannot key the customers for search")?;
    if keyed > 0 {
        tracing::info!(keyed, "customers keyed for search");
    }
    Ok(())
}

async fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    let shutdown = crate::telemetry::shutdown_signal();
    let config = Arc::new(cli.config);
    match cli.command {
        Command::Migrate => {
            let url = config.database_url();
            let store = Store::connect(&url)
                .await
                .with_context(|| format!("cannot open database {}", redact_url(&url)))?;
            let applied = store.migrate().await.context("cannot apply migrations")?;
            fill_search_keys(&store).await?;
            registry()
                .publish(&store)
                .await
                .context("cannot list the job kinds in the database")?;
            println!(
                "migrations applied: {applied:?}; database {} is current",
                redact_url(&url)
            );
            store.close().await;
            Ok(exit::OK)
        }
        Command::Run(args) => {
            let worker_config = match args.config() {
                Ok(c) => c,
                Err(e) => return usage(&e),
            };
            let store = super::with_book_key(open(&config).await?, &config).await?;
            let app = AppContext::from_config(config.clone()).context("configuration")?;
            let worker = Worker::new(store.clone(), Arc::new(registry()), app, worker_config);
            let report = worker.run(shutdown).await?;
            store.close().await;
            tracing::info!(completed = report.completed, "bye");
            Ok(exit::OK)
        }
        Command::Drain {
            worker,
            max_jobs,
            max_time,
        } => {
            let worker_config = match worker.config() {
                Ok(c) => c,
                Err(e) => return usage(&e),
            };
            let store = super::with_book_key(open(&config).await?, &config).await?;
            let Some(guard) = store.try_exclusive("drain").await? else {
                eprintln!("another `comptoir-worker drain` is running on this database; nothing done");
                return Ok(exit::ALREADY_RUNNING);
            };
            let app = AppContext::from_config(config.clone()).context("configuration")?;
            let limits = DrainLimits { max_jobs, max_time };
            let report = Worker::new(store.clone(), Arc::new(registry()), app, worker_config)
                .drain(limits, shutdown)
                .await?;
            println!(
                "drain: {} completed, {} failed and will retry, {} discarded, {} cancelled, {} snoozed, {} interrupted, {} released; stopped by {:?} after {} ms",
                report.completed,
                report.retried,
                report.discarded,
                report.cancelled,
                report.snoozed,
                report.interrupted,
                report.released,
                report.stopped_by,
                report.elapsed_ms
            );
            for queue in &report.paused {
                println!("drain: queue {queue:?} is paused: its jobs were left waiting (`comptoir-worker jobs resume {queue}`)");
            }
            // Released before the pool closes (behind a pooler it is a row to delete).
            if let Err(e) = guard.release().await {
                tracing::warn!(error = %e, "cannot release the drain lock: it lasts until its lease runs out");
            }
            store.close().await;
            Ok(if report.all_succeeded() {
                exit::OK
            } else {
                exit::JOBS_FAILED
            })
        }
        Command::Jobs(cmd) => {
            let store = open(&config).await?;
            let code = super::jobs::run(&store, &registry(), cmd).await;
            store.close().await;
            Ok(code)
        }
        Command::Billing(cmd) => {
            let store = open(&config).await?;
            // An inspector checks the book with the public key of an export, without the key file.
            let store = match &cmd {
                super::billing::BillingCommand::VerifyBook {
                    public_key: Some(_), ..
                } => store,
                _ => super::with_book_key(store, &config).await?,
            };
            let code = super::billing::run(&store, &config.data_dir, cmd).await;
            store.close().await;
            Ok(code)
        }
        Command::Backup { to } => super::keeping::backup(&config, to).await,
        Command::Restore { file, despite_findings } => super::keeping::restore(&config, &file, despite_findings).await,
        Command::Archive(args) => super::keeping::archive(&config, args).await,
        Command::BenchKeeping { invoices, work_dir } => super::keeping::bench(invoices, work_dir).await,
        Command::Bench(args) => bench(args, &config).await,
    }
}

fn usage(message: &str) -> anyhow::Result<u8> {
    eprintln!("error: {message}");
    Ok(exit::USAGE)
}

async fn bench(args: BenchArgs, config: &Config) -> anyhow::Result<u8> {
    let mut backends = Vec::new();
    for b in &args.backends {
        backends.push(match b.trim() {
            "postgres" => crate::store::Backend::Postgres,
            "sqlite" => crate::store::Backend::Sqlite,
            other => return usage(&format!("--backends: unknown backend {other:?} (postgres, sqlite)")),
        });
    }
    let work_dir = config.data_dir.join("bench");
    std::fs::create_dir_all(&work_dir).with_context(|| format!("cannot create {}", work_dir.display()))?;
    let opts = crate::bench::BenchOptions {
        jobs: args.jobs,
        single_jobs: args.single_jobs,
        concurrency: args.concurrency,
        wake_samples: args.wake_samples,
        backends,
        postgres_url: args.postgres_url,
        work_dir,
    };
    crate::bench::run(&opts).await?;
    Ok(exit::OK)
}
