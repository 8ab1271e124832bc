//! Pausing a queue across processes, on both backends (and on PostgreSQL
//! through PgBouncer in transaction mode, where workers poll): a real
//! `comptoir-worker run` serves a queue, two jobs at a time, while jobs keep
//! arriving faster than it runs them (it holds some it claimed ahead);
//! `comptoir-worker jobs pause` from another process stops it starting them
//! (the worker says so in its log), how long after the pause committed the
//! last job started is measured and printed; `jobs resume` wakes it and
//! everything runs; a `drain` leaves a paused queue's jobs waiting and says
//! so. And the `jobs pause`, `jobs resume`, `jobs queues` commands
//! themselves: their French output, `--json`, bad names, the audit log.
//!
//! Nothing asserts on speed: the figures are printed; the bounds asserted are
//! generous (a start long after the pause would be a pause not honoured).

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use comptoir::jobs::{enqueue_now, EnqueueOptions, JobFilter, JobRow, JobState, Noop};
use comptoir::store::queues::QueueName;
use comptoir::store::Store;

use crate::support::{eventually, Backend, TestDb};

const WORKER: &str = env!("CARGO_BIN_EXE_comptoir-worker");
/// The queue paused here (no kind of the product uses it).
const Q: &str = "pausable";
/// Generous bound for what should happen at once (liveness only).
const LIVENESS: Duration = Duration::from_secs(30);
/// How long jobs are left to a paused queue's worker before checking that
/// none started: many times the time a worker takes to see a pause.
const GENEROUS_WAIT: Duration = Duration::from_secs(3);
/// No job may start later than this after the pause committed.
const LATEST_START: TimeDelta = TimeDelta::seconds(10);

crate::on_all_backends!(
    a_pause_reaches_another_worker_process_and_a_resume_wakes_it,
    a_drain_leaves_a_paused_queue_waiting_and_says_so,
    the_queue_commands,
);

// ---------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------

static SPAWNED: AtomicU32 = AtomicU32::new(0);

/// A `comptoir-worker` child, its output in files of the test's directory;
/// killed when dropped, what it said printed if the test is failing.
struct Proc {
    label: String,
    child: tokio::process::Child,
    pid: u32,
    stdout: PathBuf,
    stderr: PathBuf,
    status: Option<ExitStatus>,
}

fn spawn(db: &TestDb, label: &str, log: &str, args: &[&str]) -> Proc {
    let n = SPAWNED.fetch_add(1, Ordering::SeqCst);
    let stdout = db.dir.path().join(format!("pause-{n:03}-{label}.stdout"));
    let stderr = db.dir.path().join(format!("pause-{n:03}-{label}.stderr"));
    let child = tokio::process::Command::new(WORKER)
        .env(comptoir::billing::seal::KEY_ENV, crate::support::book_key_path())
        .arg("--database-url")
        .arg(db.app_url())
        .arg("--data-dir")
        .arg(db.dir.path().join("data"))
        .args(args)
        .current_dir(db.dir.path())
        .env("RUST_LOG", log)
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .env_remove("COMPTOIR_DATA_DIR")
        .env_remove(comptoir::store::POOLER_ENV)
        .env_remove(comptoir::store::DIRECT_URL_ENV)
        .envs(db.app_env())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .kill_on_drop(true)
        .spawn()
        .expect("spawn comptoir-worker");
    let pid = child.id().expect("child pid");
    Proc {
        label: format!("{label} (pid {pid}: comptoir-worker {})", args.join(" ")),
        child,
        pid,
        stdout,
        stderr,
        status: None,
    }
}

impl Proc {
    fn still_running(&mut self) -> bool {
        self.status.is_none() && matches!(self.child.try_wait(), Ok(None))
    }

    async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        if let Some(s) = self.status {
            return s;
        }
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(Ok(s)) => {
                self.status = Some(s);
                s
            }
            Ok(Err(e)) => panic!("waiting for {}: {e}", self.label),
            Err(_) => panic!("{} did not exit within {within:?}", self.label),
        }
    }

    fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {}", self.label);
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!(
                "===== {} exited {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
                self.label,
                self.status,
                self.stdout(),
                self.stderr()
            );
        }
    }
}

/// What a command that ran to its end did.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    what: String,
}

impl std::fmt::Debug for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} exited {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.what, self.code, self.stdout, self.stderr
        )
    }
}

async fn run(db: &TestDb, args: &[&str]) -> Ran {
    let mut child = spawn(db, "cmd", "warn", args);
    let status = child.wait_exit(LIVENESS * 2).await;
    Ran {
        code: status.code(),
        stdout: child.stdout(),
        stderr: child.stderr(),
        what: child.label.clone(),
    }
}

// ---------------------------------------------------------------------------
// Database helpers
// ---------------------------------------------------------------------------

async fn enqueue_in(store: &Store, queue: &str) -> i64 {
    enqueue_sleeping(store, queue, 0).await
}

/// A job of `queue` that takes `ms` to run.
async fn enqueue_sleeping(store: &Store, queue: &str, ms: u64) -> i64 {
    let noop = Noop {
        sleep_ms: Some(ms).filter(|ms| *ms > 0),
        ..Noop::default()
    };
    enqueue_now(store, &noop, EnqueueOptions::new().queue(queue))
        .await
        .expect("enqueue")
        .id()
}

async fn jobs_in(store: &Store, queue: &str) -> Vec<JobRow> {
    store
        .list_jobs(&JobFilter {
            queue: Some(queue.into()),
            limit: 100_000,
            ..JobFilter::default()
        })
        .await
        .expect("list jobs")
}

async fn paused_at(store: &Store, queue: &str) -> DateTime<Utc> {
    let info = store
        .queue_info(&QueueName::parse(queue).unwrap())
        .await
        .expect("queue info");
    assert!(info.paused, "{info:?}");
    info.paused_at.expect("a paused queue has its time")
}

fn millis(d: TimeDelta) -> i64 {
    d.num_milliseconds()
}

/// Enqueues a job of `queue` taking 150 ms every 50 ms until `stop`: faster
/// than two at a time run them, so the worker always holds jobs it claimed
/// ahead and has not started.
fn feed(store: Store, queue: &'static str, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut n = 0;
        while !stop.load(Ordering::SeqCst) {
            enqueue_sleeping(&store, queue, 150).await;
            n += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        n
    })
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// A worker process serves the queue while jobs arrive every 50 ms; the
/// pause comes from another process. Measured: how long after the pause
/// committed the last job started (`started_at`, by the database clock,
/// minus `paused_at`, the pause's transaction time, a few ms before its
/// commit). Then the resume, and every waiting job runs.
async fn a_pause_reaches_another_worker_process_and_a_resume_wakes_it(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let on = match (backend, db.pooled_url.is_some()) {
        (_, true) => "PostgreSQL through PgBouncer",
        (Backend::Postgres, false) => "PostgreSQL",
        (Backend::Sqlite, false) => "SQLite",
    };
    let queues = format!("{Q}=2");
    let mut worker = spawn(
        &db,
        "worker",
        "warn,comptoir::jobs=info",
        &["run", "--queues", &queues, "--no-maintenance"],
    );
    let first = enqueue_in(store, Q).await;
    let ran = eventually(LIVENESS, || async {
        store
            .get_job(first)
            .await
            .map(|j| j.state == JobState::Completed)
            .unwrap_or(false)
    })
    .await;
    assert!(ran, "the worker never ran a job of {Q}");

    let stop = Arc::new(AtomicBool::new(false));
    let feeder = feed(store.clone(), Q, stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let paused = run(&db, &["jobs", "pause", Q]).await;
    assert_eq!(paused.code, Some(0), "{paused:?}");
    assert!(
        paused
            .stdout
            .contains("File « pausable » en pause : les tâches y attendent, aucune ne démarre"),
        "{paused:?}"
    );
    let at = paused_at(store, Q).await;
    // Jobs keep arriving for a while after the pause: the queue accepts them.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::SeqCst);
    let fed = feeder.await.expect("feeder");
    let late: Vec<i64> = {
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(enqueue_in(store, Q).await);
        }
        ids
    };
    tokio::time::sleep(GENEROUS_WAIT).await;
    assert!(worker.still_running(), "the worker exited");

    let jobs = jobs_in(store, Q).await;
    for id in &late {
        let job = jobs.iter().find(|j| j.id == *id).expect("late job");
        assert_eq!(job.state, JobState::Available, "enqueued after the pause: {job:?}");
        assert!(job.started_at.is_none(), "{job:?}");
    }
    // A job completed in the same batch as its start keeps no `started_at`:
    // its end is then the latest its start can have been.
    let ran: Vec<&JobRow> = jobs.iter().filter(|j| j.state != JobState::Available).collect();
    let last_start = ran
        .iter()
        .filter_map(|j| j.started_at.or(j.finished_at))
        .max()
        .expect("jobs ran before the pause");
    let last_claim = ran
        .iter()
        .filter_map(|j| j.locked_at)
        .max()
        .expect("jobs claimed before the pause");
    assert!(
        last_start - at <= LATEST_START,
        "a job started {} ms after the pause",
        millis(last_start - at)
    );
    let after = ran
        .iter()
        .filter(|j| j.started_at.or(j.finished_at).is_some_and(|s| s > at))
        .count();
    let waiting = jobs.len() - ran.len();
    assert!(waiting >= late.len(), "{waiting}");
    eprintln!(
        "[{on}] pause seen by another worker process: last claim {:+} ms, last start {:+} ms from the \
         pause's commit ({after} job(s) started after it; {fed} jobs fed every 50 ms, {} ran, {waiting} left waiting)",
        millis(last_claim - at),
        millis(last_start - at),
        ran.len()
    );

    let saw = eventually(LIVENESS, || async {
        worker.stderr().contains("queue paused") && worker.stderr().contains(Q)
    })
    .await;
    assert!(saw, "the worker never logged the pause:\n{}", worker.stderr());

    let waiting_ids: Vec<i64> = jobs
        .iter()
        .filter(|j| j.state == JobState::Available)
        .map(|j| j.id)
        .collect();
    let resumed = run(&db, &["jobs", "resume", Q]).await;
    let resumed_at = Instant::now();
    let returned = store.now().await.expect("now");
    assert_eq!(resumed.code, Some(0), "{resumed:?}");
    assert!(
        resumed
            .stdout
            .contains("File « pausable » reprise : ses tâches démarrent de nouveau"),
        "{resumed:?}"
    );
    let all_done = eventually(LIVENESS, || async {
        jobs_in(store, Q).await.iter().all(|j| j.state == JobState::Completed)
    })
    .await;
    assert!(all_done, "{:?}", jobs_in(store, Q).await);
    let first_start = jobs_in(store, Q)
        .await
        .iter()
        .filter(|j| waiting_ids.contains(&j.id))
        .filter_map(|j| j.started_at.or(j.finished_at))
        .min()
        .expect("the waiting jobs ran");
    eprintln!(
        "[{on}] resumed: the first waiting job started {:+} ms from the resume command's end; \
         the {waiting} waiting jobs (150 ms each, two at a time) ran within {} ms",
        millis(first_start - returned),
        resumed_at.elapsed().as_millis()
    );

    worker.terminate();
    let status = worker.wait_exit(LIVENESS * 2).await;
    assert_eq!(status.code(), Some(0), "{status}");
    let jobs = jobs_in(store, Q).await;
    assert!(jobs.iter().all(|j| j.attempt == 1 && j.errors.is_empty()), "{jobs:?}");
}

/// A drain started while its queue is paused leaves that queue's jobs
/// waiting, runs the others, exits, and says which queue it skipped.
async fn a_drain_leaves_a_paused_queue_waiting_and_says_so(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let paused = run(&db, &["jobs", "pause", Q]).await;
    assert_eq!(paused.code, Some(0), "{paused:?}");
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(enqueue_in(store, Q).await);
    }
    let free = enqueue_in(store, "elsewhere").await;
    let queues = format!("{Q},elsewhere");

    let drained = run(&db, &["drain", "--queues", &queues, "--no-maintenance"]).await;
    assert_eq!(drained.code, Some(0), "{drained:?}");
    assert!(
        drained.stdout.contains(&format!("queue \"{Q}\" is paused")),
        "the drain says it skipped the queue: {drained:?}"
    );
    assert!(drained.stdout.contains("drain: 1 completed"), "{drained:?}");
    assert_eq!(store.get_job(free).await.unwrap().state, JobState::Completed);
    for id in &held {
        let job = store.get_job(*id).await.unwrap();
        assert_eq!(job.state, JobState::Available, "{job:?}");
        assert!(job.started_at.is_none() && job.attempt == 0, "{job:?}");
    }

    let resumed = run(&db, &["jobs", "resume", Q]).await;
    assert_eq!(resumed.code, Some(0), "{resumed:?}");
    let drained = run(&db, &["drain", "--queues", &queues, "--no-maintenance"]).await;
    assert_eq!(drained.code, Some(0), "{drained:?}");
    assert!(!drained.stdout.contains("paused"), "{drained:?}");
    assert!(drained.stdout.contains("drain: 3 completed"), "{drained:?}");
    for id in &held {
        assert_eq!(store.get_job(*id).await.unwrap().state, JobState::Completed);
    }
}

/// `jobs pause`, `jobs resume`, `jobs queues`: what they print, their JSON,
/// their refusals, and the audit log's entries (actor `cli`).
async fn the_queue_commands(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    enqueue_in(store, "billing").await;

    let listed = run(&db, &["jobs", "queues"]).await;
    assert_eq!(listed.code, Some(0), "{listed:?}");
    let header = listed.stdout.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("file") && header.contains("en attente") && header.contains("en pause depuis"),
        "{listed:?}"
    );
    let billing = listed
        .stdout
        .lines()
        .find(|l| l.starts_with("billing "))
        .unwrap_or_else(|| panic!("{listed:?}"));
    assert!(billing.contains("active"), "{billing}");
    assert!(
        listed.stdout.lines().any(|l| l.starts_with("default ")),
        "the worker's queues: {listed:?}"
    );

    let paused = run(&db, &["jobs", "pause", "billing"]).await;
    assert_eq!(paused.code, Some(0), "{paused:?}");
    assert_eq!(
        paused.stdout.trim(),
        "File « billing » en pause : les tâches y attendent, aucune ne démarre (1 en attente, 0 en cours)"
    );
    let again = run(&db, &["jobs", "pause", "billing"]).await;
    assert_eq!(again.code, Some(0), "{again:?}");
    assert!(
        again.stdout.starts_with("File « billing » déjà en pause depuis le ") && again.stdout.contains("(par cli)"),
        "{again:?}"
    );
    let ahead = run(&db, &["jobs", "pause", "nouvelle file"]).await;
    assert_eq!(ahead.code, Some(0), "a queue no job named yet: {ahead:?}");

    let json = run(&db, &["jobs", "queues", "--json"]).await;
    assert_eq!(json.code, Some(0), "{json:?}");
    let queues: serde_json::Value = serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}: {json:?}"));
    let queues = queues.as_array().unwrap_or_else(|| panic!("{json:?}"));
    let billing = queues.iter().find(|q| q["name"] == "billing").expect("billing");
    assert_eq!(billing["paused"], true);
    assert_eq!(billing["paused_by"], "cli");
    assert_eq!(billing["waiting"], 1);
    assert!(billing["paused_at"].is_string());
    let names: Vec<&str> = queues.iter().map(|q| q["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "by name");
    assert!(names.contains(&"nouvelle file"), "{names:?}");

    let text = run(&db, &["jobs", "queues"]).await;
    let line = text
        .stdout
        .lines()
        .find(|l| l.starts_with("billing "))
        .unwrap_or_else(|| panic!("{text:?}"));
    assert!(line.contains("en pause") && line.ends_with("par cli"), "{line}");

    let resumed = run(&db, &["jobs", "resume", "billing"]).await;
    assert_eq!(resumed.code, Some(0), "{resumed:?}");
    assert_eq!(
        resumed.stdout.trim(),
        "File « billing » reprise : ses tâches démarrent de nouveau (1 en attente)"
    );
    let again = run(&db, &["jobs", "resume", "billing"]).await;
    assert_eq!(again.code, Some(0), "{again:?}");
    assert_eq!(
        again.stdout.trim(),
        "File « billing » n'était pas en pause : rien à reprendre"
    );

    let long = "x".repeat(101);
    for bad in ["", "  ", long.as_str(), "a\nb"] {
        for command in ["pause", "resume"] {
            let refused = run(&db, &["jobs", command, bad]).await;
            assert_eq!(refused.code, Some(1), "{refused:?}");
            assert!(refused.stderr.contains("un nom de 1 à 100 caractères"), "{refused:?}");
            assert!(refused.stdout.is_empty(), "{refused:?}");
        }
    }

    let entries = comptoir::audit::list(
        store,
        &comptoir::audit::AuditFilter {
            action: Some("queue.".into()),
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let said: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| (e.action.as_str(), e.target.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        said,
        [
            ("queue.resume", "queue:billing", "cli"),
            ("queue.pause", "queue:nouvelle file", "cli"),
            ("queue.pause", "queue:billing", "cli"),
        ],
        "one entry per change, none for a pause or resume that changed nothing"
    );
}
