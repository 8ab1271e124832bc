//! `comptoir-worker jobs …`: enqueue, list, show, retry, cancel, stats, and
//! pause, resume, queues — for
//! an operator without the admin, and for shell scripts (`--json`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Subcommand;

use super::exit;
use crate::audit::{self, Actor, Record};
use crate::config::parse_duration;
use crate::context::AppContext;
use crate::jobs::{self, EnqueueOptions, Inserted, JobFilter, JobRow, JobState, Registry, RunAt};
use crate::store::queues::{self, QueueInfo, QueueName};
use crate::store::{Store, StoreError};

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Enqueue a job of a registered kind with JSON args.
    Enqueue {
        kind: String,
        /// JSON args (default `{}`).
        #[arg(default_value = "{}")]
        args: String,
        #[arg(long)]
        queue: Option<String>,
        #[arg(long, allow_negative_numbers = true)]
        priority: Option<i16>,
        #[arg(long)]
        max_attempts: Option<i32>,
        /// Run after this delay (e.g. 10m).
        #[arg(long = "in", value_parser = parse_duration, conflicts_with = "at")]
        delay: Option<Duration>,
        /// Run at this instant (RFC 3339, e.g. 2026-12-01T08:00:00Z).
        #[arg(long)]
        at: Option<DateTime<Utc>>,
        #[arg(long)]
        unique_key: Option<String>,
    },
    /// List jobs, newest first.
    List {
        #[arg(long)]
        state: Option<JobState>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        queue: Option<String>,
        /// Text found in the kind, args, unique key or errors.
        #[arg(long)]
        search: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Only jobs older than this id (next page).
        #[arg(long)]
        before: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Show one job with its whole error history.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Make jobs available now (with at least one attempt left).
    Retry { ids: Vec<i64> },
    /// Cancel jobs that have not finished (a running one is stopped by its worker).
    Cancel {
        ids: Vec<i64>,
        #[arg(long, default_value = "cancelled by operator")]
        reason: String,
    },
    /// Jobs per queue and state, and the live workers.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Pause a queue on every worker: its jobs keep being accepted and wait;
    /// none starts until it is resumed (drains skip it).
    Pause { queue: String },
    /// Resume a paused queue: the workers start its jobs again.
    Resume { queue: String },
    /// The queues: paused or not (since when, by whom), jobs waiting and running.
    Queues {
        #[arg(long)]
        json: bool,
    },
}

impl clap::ValueEnum for JobState {
    fn value_variants<'a>() -> &'a [Self] {
        &JobState::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

/// Runs one `jobs` subcommand; returns the exit code.
pub async fn run(store: &Store, registry: &Registry<AppContext>, cmd: JobsCommand) -> u8 {
    match execute(store, registry, cmd).await {
        Ok(()) => exit::OK,
        Err(Failure::Refused(message)) => {
            eprintln!("error: {message}");
            exit::JOBS_FAILED
        }
        Err(Failure::Unavailable(message)) => {
            eprintln!("error: {message}");
            exit::UNAVAILABLE
        }
    }
}

enum Failure {
    Refused(String),
    Unavailable(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) | StoreError::Config(_) | StoreError::Database(_) => {
                Failure::Unavailable(e.to_string())
            }
            other => Failure::Refused(other.to_string()),
        }
    }
}

impl From<jobs::Error> for Failure {
    fn from(e: jobs::Error) -> Self {
        match e {
            jobs::Error::Store(s) => s.into(),
            other => Failure::Refused(other.to_string()),
        }
    }
}

async fn execute(store: &Store, registry: &Registry<AppContext>, cmd: JobsCommand) -> Result<(), Failure> {
    match cmd {
        JobsCommand::Enqueue {
            kind,
            args,
            queue,
            priority,
            max_attempts,
            delay,
            at,
            unique_key,
        } => {
            let args: serde_json::Value =
                serde_json::from_str(&args).map_err(|e| Failure::Refused(format!("args are not valid JSON: {e}")))?;
            let opts = EnqueueOptions {
                queue,
                priority,
                max_attempts,
                run_at: delay.map(RunAt::In).or(at.map(RunAt::At)),
                unique_key,
                ..EnqueueOptions::default()
            };
            let mut tx = store.begin().await?;
            let inserted = jobs::enqueue_raw(&mut tx, registry, &kind, args, opts)
                .await
                .map_err(|e| match e {
                    jobs::Error::UnknownKind(k) => {
                        let known: Vec<_> = registry.kinds().collect();
                        Failure::Refused(format!("unknown job kind {k:?} (known: {})", known.join(", ")))
                    }
                    other => other.into(),
                })?;
            tx.commit().await?;
            match inserted {
                Inserted::New(id) => println!("{id}"),
                Inserted::Duplicate(id) => {
                    println!("{id}");
                    eprintln!("a job with this unique key already exists: {id}");
                }
            }
        }
        JobsCommand::List {
            state,
            kind,
            queue,
            search,
            limit,
            before,
            json,
        } => {
            let filter = JobFilter {
                state,
                kind,
                queue,
                text: search,
                limit: limit.clamp(1, 10_000),
                before_id: before,
            };
            let rows = store.list_jobs(&filter).await?;
            if json {
                print_json(&rows);
            } else {
                println!(
                    "{:>8}  {:<10} {:<24} {:<10} {:>4} {:>7}  {:<20}  last error",
                    "id", "state", "kind", "queue", "prio", "attempt", "run at"
                );
                for j in &rows {
                    println!(
                        "{:>8}  {:<10} {:<24} {:<10} {:>4} {:>3}/{:<3}  {:<20}  {}",
                        j.id,
                        j.state.as_str(),
                        truncate(&j.kind, 24),
                        truncate(&j.queue, 10),
                        j.priority,
                        j.attempt,
                        j.max_attempts,
                        j.run_at.format("%Y-%m-%d %H:%M:%S"),
                        j.errors.last().map(|e| truncate(&e.error, 60)).unwrap_or_default()
                    );
                }
            }
        }
        JobsCommand::Show { id, json } => {
            let job = store.get_job(id).await.map_err(|e| match e {
                StoreError::NotFound => Failure::Refused(format!("no job {id}")),
                other => other.into(),
            })?;
            if json {
                print_json(&job);
            } else {
                show(&job);
            }
        }
        JobsCommand::Retry { ids } => {
            for_each(ids, |id| async move { store.retry_job(id).await }, "available again").await?
        }
        JobsCommand::Cancel { ids, reason } => {
            let reason = &reason;
            for_each(ids, |id| async move { store.cancel_job(id, reason).await }, "cancelled").await?
        }
        JobsCommand::Stats { json } => {
            let counts = store.count_jobs().await?;
            let workers = store.list_workers().await?;
            if json {
                print_json(&serde_json::json!({ "counts": counts, "workers": workers }));
            } else {
                println!("{:<16} {:<10} {:>8}", "queue", "state", "jobs");
                for c in &counts {
                    println!("{:<16} {:<10} {:>8}", c.queue, c.state.as_str(), c.count);
                }
                println!("\n{} worker(s)", workers.len());
                for w in &workers {
                    println!(
                        "  {} ({}, pid {}) {} queues {} last seen {}",
                        w.id, w.mode, w.pid, w.hostname, w.queues, w.last_seen_at
                    );
                }
            }
        }
        JobsCommand::Pause { queue } => pause(store, &queue).await?,
        JobsCommand::Resume { queue } => resume(store, &queue).await?,
        JobsCommand::Queues { json } => queues(store, registry, json).await?,
    }
    Ok(())
}

/// Applies `op` to every id, reporting each; fails if any failed.
async fn for_each<F, Fut>(ids: Vec<i64>, op: F, done: &str) -> Result<(), Failure>
where
    F: Fn(i64) -> Fut,
    Fut: std::future::Future<Output = Result<JobRow, StoreError>>,
{
    if ids.is_empty() {
        return Err(Failure::Refused("give at least one job id".into()));
    }
    let mut failed = 0;
    for id in ids {
        match op(id).await {
            Ok(job) => println!("job {id}: {done} ({})", job.state),
            Err(StoreError::NotFound) => {
                failed += 1;
                eprintln!("job {id}: no such job");
            }
            Err(e @ (StoreError::Conflict(_) | StoreError::Corrupt(_))) => {
                failed += 1;
                eprintln!("job {id}: {e}");
            }
            Err(e) => return Err(e.into()),
        }
    }
    if failed > 0 {
        Err(Failure::Refused(format!("{failed} job(s) not changed")))
    } else {
        Ok(())
    }
}

fn show(j: &JobRow) {
    println!("job {}  {}  (queue {}, priority {})", j.id, j.kind, j.queue, j.priority);
    println!("  state        {}", j.state);
    println!("  attempt      {} of {}", j.attempt, j.max_attempts);
    println!("  run at       {}", j.run_at);
    println!("  created      {}", j.created_at);
    if let Some(f) = j.finished_at {
        println!("  finished     {f}");
    }
    if let Some(by) = &j.locked_by {
        println!("  worker       {by}");
    }
    if let Some(exp) = j.lease_expires_at {
        println!("  lease until  {exp}");
    }
    if let Some(k) = &j.unique_key {
        println!("  unique key   {k}");
    }
    if let Some(p) = &j.progress {
        println!("  progress     {p}");
    }
    println!("  idempotency  {}", jobs::idempotency_key(j.id));
    println!("  args         {}", j.args);
    if j.errors.is_empty() {
        println!("  errors       none");
    } else {
        println!("  errors:");
        for e in &j.errors {
            println!("    attempt {:>2} at {}: {}", e.attempt, e.at, e.error);
        }
    }
}

fn print_json<T: serde::Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot encode JSON: {e}"),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The checked name of a queue typed on the command line.
fn queue_name(name: &str) -> Result<QueueName, Failure> {
    QueueName::parse(name).map_err(|_| {
        Failure::Refused(format!(
            "file {name:?} : un nom de 1 à {} caractères, pas seulement des blancs, sans caractère de contrôle",
            QueueName::MAX
        ))
    })
}

/// `jobs pause QUEUE`: paused at once for every worker on the database,
/// audited as the command line's.
async fn pause(store: &Store, name: &str) -> Result<(), Failure> {
    let queue = queue_name(name)?;
    let actor = Actor::cli();
    let mut tx = store.begin().await?;
    let changed = tx.pause_queue(&queue, &actor.name).await?;
    if changed {
        audit::record_in(&mut tx, &actor, Record::new("queue.pause", format!("queue:{queue}"))).await?;
    }
    tx.commit().await?;
    let info = store.queue_info(&queue).await?;
    if changed {
        println!(
            "File « {queue} » en pause : les tâches y attendent, aucune ne démarre ({} en attente, {} en cours)",
            info.waiting, info.running
        );
    } else {
        println!("File « {queue} » déjà en pause{}", since(&info));
    }
    Ok(())
}

/// `jobs resume QUEUE`: its jobs start again; the workers are woken.
async fn resume(store: &Store, name: &str) -> Result<(), Failure> {
    let queue = queue_name(name)?;
    let mut tx = store.begin().await?;
    let changed = tx.resume_queue(&queue).await?;
    if changed {
        audit::record_in(
            &mut tx,
            &Actor::cli(),
            Record::new("queue.resume", format!("queue:{queue}")),
        )
        .await?;
    }
    tx.commit().await?;
    let info = store.queue_info(&queue).await?;
    if changed {
        println!(
            "File « {queue} » reprise : ses tâches démarrent de nouveau ({} en attente)",
            info.waiting
        );
    } else {
        println!("File « {queue} » n'était pas en pause : rien à reprendre");
    }
    Ok(())
}

/// " depuis le 01/12/2026 09:30:00 (par cli)", or nothing when unknown.
fn since(q: &QueueInfo) -> String {
    let mut out = String::new();
    if let Some(at) = q.paused_at {
        out.push_str(&format!(" depuis le {}", crate::local_time::format_fr(at)));
    }
    if let Some(by) = &q.paused_by {
        out.push_str(&format!(" (par {by})"));
    }
    out
}

/// "01/12/2026 09:30:00 par cli" for a paused queue, nothing otherwise.
fn paused_since(q: &QueueInfo) -> String {
    match (q.paused, q.paused_at) {
        (false, _) => String::new(),
        (true, Some(at)) => format!(
            "{} par {}",
            crate::local_time::format_fr(at),
            q.paused_by.as_deref().unwrap_or("?")
        ),
        (true, None) => q.paused_by.clone().unwrap_or_default(),
    }
}

/// `jobs queues`: every queue the store or the worker knows.
async fn queues(store: &Store, registry: &Registry<AppContext>, json: bool) -> Result<(), Failure> {
    let queues = queues::with_known(store.list_queues().await?, registry.queues());
    if json {
        print_json(&queues);
        return Ok(());
    }
    println!(
        "{:<16} {:<10} {:>10} {:>8}  en pause depuis",
        "file", "état", "en attente", "en cours"
    );
    for q in &queues {
        let line = format!(
            "{:<16} {:<10} {:>10} {:>8}  {}",
            truncate(&q.name, 16),
            if q.paused { "en pause" } else { "active" },
            q.waiting,
            q.running,
            paused_since(q)
        );
        println!("{}", line.trim_end());
    }
    Ok(())
}
