//! A worker process: producers per queue, a completer, maintenance, and an
//! orderly shutdown. `run` serves until told to stop; `drain` runs what is due
//! and returns (for cron).

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{watch, Notify};
use tokio::task::AbortHandle;

use super::completer::Completer;
use super::executor::Ended;
use super::maintenance;
use super::producer::{produce, QueueRun};
use super::{Error, Registry};
use crate::store::types::WorkerInfo;
use crate::store::Store;

/// How a worker runs. `Default` is what the binary uses without flags.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Queues and their concurrency; empty means every queue of the registry
    /// with `concurrency` each.
    pub queues: Vec<(String, usize)>,
    pub concurrency: usize,
    /// Most jobs claimed by one query (a local buffer beyond the running ones).
    pub prefetch: usize,
    /// How long a claimed job stays ours without a heartbeat.
    pub lease: Duration,
    /// Idle polling period; `None` picks the backend's default.
    pub poll_interval: Option<Duration>,
    /// On stop, how long running jobs may take to finish before being interrupted.
    pub shutdown_grace: Duration,
    /// Finished jobs are deleted after this.
    pub retention: Duration,
    /// Run the rescuer, pruner and periodic enqueuer in this process.
    pub maintenance: bool,
    pub worker_id: Option<String>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            queues: Vec::new(),
            concurrency: 10,
            prefetch: 100,
            lease: Duration::from_secs(30),
            poll_interval: None,
            shutdown_grace: Duration::from_secs(30),
            retention: Duration::from_secs(7 * 86_400),
            maintenance: true,
            worker_id: None,
        }
    }
}

/// What a `drain` may spend.
#[derive(Debug, Clone, Copy, Default)]
pub struct DrainLimits {
    pub max_jobs: Option<u64>,
    pub max_time: Option<Duration>,
}

/// Why a worker stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Drain: nothing due and nothing running.
    Empty,
    MaxJobs,
    MaxTime,
    Signal,
}

/// Counts of attempt outcomes over a worker's life.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Report {
    pub completed: u64,
    pub retried: u64,
    pub discarded: u64,
    pub cancelled: u64,
    pub snoozed: u64,
    pub interrupted: u64,
    /// Claimed but never started, given back to the queue.
    pub released: u64,
    /// Queues this worker found paused (a drain skips them, their jobs left waiting).
    pub paused: Vec<String>,
    pub stopped_by: StopReason,
    pub elapsed_ms: u64,
}

impl Report {
    /// Every attempt that ran ended well (completed, snoozed, or cancelled by itself).
    pub fn all_succeeded(&self) -> bool {
        self.retried == 0 && self.discarded == 0 && self.interrupted == 0
    }
}

#[derive(Default)]
pub(crate) struct Stats {
    completed: AtomicU64,
    retried: AtomicU64,
    discarded: AtomicU64,
    cancelled: AtomicU64,
    snoozed: AtomicU64,
    interrupted: AtomicU64,
    pub released: AtomicU64,
}

impl Stats {
    pub fn record(&self, ended: Ended) {
        let counter = match ended {
            Ended::Completed => &self.completed,
            Ended::Retried => &self.retried,
            Ended::Discarded => &self.discarded,
            Ended::Cancelled => &self.cancelled,
            Ended::Snoozed => &self.snoozed,
            Ended::Interrupted => &self.interrupted,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Attempts that ended so far, however they ended.
    fn ended(&self) -> u64 {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        get(&self.completed)
            + get(&self.retried)
            + get(&self.discarded)
            + get(&self.cancelled)
            + get(&self.snoozed)
            + get(&self.interrupted)
    }

    fn report(&self, stopped_by: StopReason, elapsed: Duration, paused: Vec<String>) -> Report {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Report {
            completed: get(&self.completed),
            retried: get(&self.retried),
            discarded: get(&self.discarded),
            cancelled: get(&self.cancelled),
            snoozed: get(&self.snoozed),
            interrupted: get(&self.interrupted),
            released: get(&self.released),
            paused,
            stopped_by,
            elapsed_ms: elapsed.as_millis() as u64,
        }
    }
}

/// The jobs a drain may still claim (unbounded for `run`). A producer takes
/// a share before its claim and settles after it: what it did not claim
/// goes back, for the others.
pub(crate) struct Budget {
    left: Option<AtomicU64>,
    /// Taken by producers whose claim has not settled yet.
    lent: AtomicU64,
    returned: Notify,
}

impl Budget {
    fn new(max: Option<u64>) -> Self {
        Budget {
            left: max.map(AtomicU64::new),
            lent: AtomicU64::new(0),
            returned: Notify::new(),
        }
    }

    /// Takes up to `want`; returns how many were granted.
    pub fn take(&self, want: usize) -> usize {
        let Some(left) = &self.left else { return want };
        let mut current = left.load(Ordering::SeqCst);
        loop {
            let grant = current.min(want as u64);
            match left.compare_exchange(current, current - grant, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => {
                    self.lent.fetch_add(grant, Ordering::SeqCst);
                    return grant as usize;
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// Settles a share of `taken`: `used` jobs were claimed, the rest goes back.
    pub fn settle(&self, taken: usize, used: usize) {
        if let Some(left) = &self.left {
            left.fetch_add((taken - used) as u64, Ordering::SeqCst);
            self.lent.fetch_sub(taken as u64, Ordering::SeqCst);
            self.returned.notify_waiters();
        }
    }

    /// Nothing left and nothing lent: no producer can claim again.
    fn spent(&self) -> bool {
        self.left.as_ref().is_some_and(|l| l.load(Ordering::SeqCst) == 0) && self.lent.load(Ordering::SeqCst) == 0
    }

    /// Waits until a share lent to another producer is settled; `false` at
    /// once when nothing is lent (the budget is spent for good).
    pub async fn wait_for_return(&self) -> bool {
        let returned = self.returned.notified();
        tokio::pin!(returned);
        returned.as_mut().enable();
        if self.lent.load(Ordering::SeqCst) == 0 {
            return self.left.as_ref().is_some_and(|l| l.load(Ordering::SeqCst) > 0);
        }
        returned.await;
        true
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Run,
    Drain,
}

pub(crate) struct RunningJob {
    pub claimed: Instant,
    pub abort: AbortHandle,
}

/// State shared by the producers, executors and maintenance of one worker.
pub(crate) struct Shared<C> {
    pub store: Store,
    pub registry: Arc<Registry<C>>,
    pub app: C,
    pub worker_id: String,
    pub lease: Duration,
    pub retention: Duration,
    pub poll_interval: Duration,
    pub mode: Mode,
    pub running: Mutex<HashMap<i64, RunningJob>>,
    /// Jobs started and not yet ended.
    pub active: AtomicUsize,
    pub finished: Notify,
    pub stats: Stats,
    /// The queues paused now, as last read from the database.
    pub paused: watch::Sender<BTreeSet<String>>,
    /// The queues this worker found paused, for its report.
    pub paused_seen: Mutex<BTreeSet<String>>,
}

/// A worker over one store, with the kinds of `registry` and the application
/// context `app` handed to every job.
pub struct Worker<C> {
    store: Store,
    registry: Arc<Registry<C>>,
    app: C,
    config: WorkerConfig,
}

impl<C: Clone + Send + Sync + 'static> Worker<C> {
    pub fn new(store: Store, registry: Arc<Registry<C>>, app: C, config: WorkerConfig) -> Self {
        Worker {
            store,
            registry,
            app,
            config,
        }
    }

    /// Serves until `shutdown` resolves, then stops claiming, lets running jobs
    /// finish within the grace time and gives back the rest.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<Report, Error> {
        self.work(Mode::Run, DrainLimits::default(), shutdown).await
    }

    /// Runs what is due (including jobs enqueued meanwhile by the jobs
    /// themselves), then returns; stops early on `limits` or `shutdown`.
    pub async fn drain(self, limits: DrainLimits, shutdown: impl Future<Output = ()> + Send) -> Result<Report, Error> {
        self.work(Mode::Drain, limits, shutdown).await
    }

    fn queue_runs(&self) -> Result<Vec<QueueRun>, Error> {
        let queues: Vec<(String, usize)> = if self.config.queues.is_empty() {
            self.registry
                .queues()
                .into_iter()
                .map(|q| (q, self.config.concurrency))
                .collect()
        } else {
            self.config.queues.clone()
        };
        queues
            .into_iter()
            .map(|(queue, concurrency)| {
                if concurrency == 0 {
                    return Err(Error::InvalidOption(format!(
                        "queue {queue:?}: concurrency must be at least 1"
                    )));
                }
                let fetch = self
                    .config
                    .prefetch
                    .max(1)
                    .min(concurrency.saturating_mul(10))
                    .max(concurrency);
                Ok(QueueRun {
                    queue,
                    concurrency,
                    fetch,
                })
            })
            .collect()
    }

    #[tracing::instrument(skip_all, fields(mode = ?mode))]
    async fn work(
        self,
        mode: Mode,
        limits: DrainLimits,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<Report, Error> {
        let started = Instant::now();
        let queues = self.queue_runs()?;
        if self.config.lease < Duration::from_millis(300) {
            return Err(Error::InvalidOption("lease must be at least 300ms".into()));
        }
        let worker_id = self.config.worker_id.clone().unwrap_or_else(default_worker_id);
        let queue_names: Vec<String> = queues
            .iter()
            .map(|q| format!("{}={}", q.queue, q.concurrency))
            .collect();
        let shared = Arc::new(Shared {
            poll_interval: self
                .config
                .poll_interval
                .unwrap_or_else(|| self.store.default_poll_interval()),
            store: self.store.clone(),
            registry: self.registry,
            app: self.app,
            worker_id: worker_id.clone(),
            lease: self.config.lease,
            retention: self.config.retention,
            mode,
            running: Mutex::new(HashMap::new()),
            active: AtomicUsize::new(0),
            finished: Notify::new(),
            stats: Stats::default(),
            paused: watch::Sender::new(BTreeSet::new()),
            paused_seen: Mutex::new(BTreeSet::new()),
        });
        self.store
            .register_worker(&WorkerInfo {
                id: worker_id.clone(),
                hostname: hostname(),
                pid: std::process::id() as i32,
                queues: queue_names.join(","),
                mode: format!("{mode:?}").to_lowercase(),
                started_at: chrono::Utc::now(),
                last_seen_at: chrono::Utc::now(),
            })
            .await?;
        tracing::info!(worker = %worker_id, queues = %queue_names.join(","), "worker started");

        let listener = self.store.spawn_listener().await?;
        // Read once before any claim, so that a drain skips a paused queue from the start.
        refresh_paused(&shared).await;
        // Producers stop first; leases are renewed until the last running job has ended.
        let (stop_tx, stop_rx) = watch::channel(false);
        let (upkeep_stop_tx, upkeep_stop_rx) = watch::channel(false);
        let heartbeat = tokio::spawn(maintenance::heartbeat(shared.clone(), upkeep_stop_rx.clone()));
        let pause_watch = tokio::spawn(watch_paused(shared.clone(), upkeep_stop_rx.clone()));
        let upkeep = if !self.config.maintenance {
            None
        } else if mode == Mode::Run {
            Some(tokio::spawn(maintenance::run(shared.clone(), upkeep_stop_rx)))
        } else {
            // A drain does one pass first: rescue what a dead run left, enqueue due periodic slots.
            maintenance::rescue_once(&shared).await;
            maintenance::periodic_once(&shared).await;
            None
        };

        let (completer, completer_task) = Completer::spawn(self.store.clone(), worker_id.clone());
        let budget = Arc::new(Budget::new(limits.max_jobs));
        let deadline = limits.max_time.map(|t| tokio::time::Instant::now() + t);

        let mut stopped_by = StopReason::Empty;
        tokio::pin!(shutdown);
        let mut idle_rounds = 0u32;
        loop {
            let ended_before = shared.stats.ended();
            let mut producers = tokio::task::JoinSet::new();
            for q in &queues {
                let q = QueueRun {
                    queue: q.queue.clone(),
                    ..*q
                };
                producers.spawn(produce(
                    shared.clone(),
                    q,
                    completer.clone(),
                    budget.clone(),
                    stop_rx.clone(),
                ));
            }
            let all_done = async { while producers.join_next().await.is_some() {} };
            let timer = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = all_done => {}
                _ = &mut shutdown => {
                    tracing::info!("stop requested: no new jobs are claimed");
                    stopped_by = StopReason::Signal;
                }
                _ = timer => {
                    tracing::info!("drain time budget reached");
                    stopped_by = StopReason::MaxTime;
                }
            }
            let _ = stop_tx.send(true);
            // Producers see the stop, release their buffers and return.
            while producers.join_next().await.is_some() {}
            if mode == Mode::Run || stopped_by != StopReason::Empty {
                break;
            }
            if budget.spent() {
                stopped_by = StopReason::MaxJobs;
                break;
            }
            // The last completions written, the batches they (or failures)
            // finished get their callback: work for this drain too.
            completer.flush().await;
            super::batch::close_finished_logged(&self.store).await;
            // A job may have enqueued work into a queue whose producer had already finished.
            let mut more = false;
            for q in &queues {
                more |= self.store.has_due_jobs(&q.queue).await.unwrap_or(false);
            }
            if !more {
                break;
            }
            if shared.stats.ended() == ended_before {
                // Nothing ran this round: the due jobs wait for a limit other
                // workers hold, or producers raced for the last of a
                // `--max-jobs` budget. Try again at once, then back off (25 ms,
                // doubling, up to a poll) while rounds stay empty.
                idle_rounds += 1;
            } else {
                idle_rounds = 0;
            }
            if idle_rounds > 1 {
                let nap = Duration::from_millis(25 << (idle_rounds - 2).min(6)).min(shared.poll_interval);
                tokio::select! {
                    _ = tokio::time::sleep(nap) => {}
                    _ = &mut shutdown => {
                        stopped_by = StopReason::Signal;
                        break;
                    }
                }
            }
            let _ = stop_tx.send(false);
        }

        shutdown_running(&shared, self.config.shutdown_grace).await;
        drop(completer);
        let _ = completer_task.await;
        let _ = upkeep_stop_tx.send(true);
        let _ = heartbeat.await;
        let _ = pause_watch.await;
        if let Some(task) = upkeep {
            let _ = task.await;
        }
        if let Some(l) = listener {
            l.abort();
        }
        if let Err(e) = self.store.remove_worker(&worker_id).await {
            tracing::warn!(error = %e, "cannot remove worker row; it expires by itself");
        }
        let paused: Vec<String> = shared
            .paused_seen
            .lock()
            .expect("paused set poisoned")
            .iter()
            .cloned()
            .collect();
        for queue in &paused {
            if mode == Mode::Drain {
                tracing::warn!(queue = %queue, "queue paused: this drain left its jobs waiting");
            }
        }
        let report = shared.stats.report(stopped_by, started.elapsed(), paused);
        tracing::info!(?report, "worker stopped");
        Ok(report)
    }
}

/// How often a worker reads which queues are paused: a pause is seen by
/// every worker within this (a claim already refuses a paused queue's jobs;
/// this makes workers give back what they had claimed ahead). A wake-up
/// (a resume notifies) reads at once.
const PAUSE_READ_EVERY: Duration = Duration::from_millis(500);

async fn refresh_paused<C>(shared: &Shared<C>) {
    match shared.store.paused_queues().await {
        Ok(queues) => {
            let queues: BTreeSet<String> = queues.into_iter().collect();
            shared.paused.send_if_modified(|current| {
                if *current == queues {
                    return false;
                }
                tracing::info!(paused = ?queues, "paused queues changed");
                *current = queues;
                true
            });
        }
        Err(e) => tracing::warn!(error = %e, "cannot read paused queues; keeping the last known"),
    }
}

/// Keeps [`Shared::paused`] current until `stop`.
async fn watch_paused<C>(shared: Arc<Shared<C>>, mut stop: watch::Receiver<bool>) {
    let wake = shared.store.wake_handle();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(PAUSE_READ_EVERY) => {}
            // A resume notifies: read at once, so that the queue starts again
            // without waiting for the next period.
            _ = wake.notified() => {}
            _ = stop.changed() => return,
        }
        refresh_paused(&shared).await;
        // Under a stream of notifications (every enqueue sends one), no more
        // than ten reads a second.
        tokio::select! {
            _ = tokio::time::sleep(PAUSE_READ_EVERY / 5) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Waits up to the grace time for running jobs, then interrupts the rest
/// (they are recorded as retryable now).
async fn shutdown_running<C>(shared: &Shared<C>, grace: Duration) {
    let deadline = tokio::time::Instant::now() + grace;
    if !wait_idle(shared, deadline).await {
        let running = shared.running.lock().expect("running map poisoned");
        tracing::warn!(count = running.len(), "grace time over: interrupting running jobs");
        for job in running.values() {
            job.abort.abort();
        }
    }
    wait_idle(shared, tokio::time::Instant::now() + Duration::from_secs(10)).await;
}

async fn wait_idle<C>(shared: &Shared<C>, deadline: tokio::time::Instant) -> bool {
    loop {
        let finished = shared.finished.notified();
        tokio::pin!(finished);
        finished.as_mut().enable();
        if shared.active.load(Ordering::SeqCst) == 0 {
            return true;
        }
        tokio::select! {
            _ = finished => {}
            _ = tokio::time::sleep_until(deadline) => return shared.active.load(Ordering::SeqCst) == 0,
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

fn default_worker_id() -> String {
    format!("{}:{}:{:04x}", hostname(), std::process::id(), fastrand::u16(..))
}
