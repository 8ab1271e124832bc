//! `comptoir-worker` as real processes on both backends: several workers on
//! one database, SIGKILL and rescue, SIGTERM and its grace, `drain` exit codes
//! and its lock, the `jobs` commands, concurrent `migrate`, and an
//! unreachable database.
//!
//! Every child is killed when its guard drops (also when an assertion fails),
//! and its stderr is printed when the test is failing.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::on_both_backends;
use crate::support::worker::{is_state, settles};
use crate::support::{Backend, TestDb, TestDir};
use comptoir::jobs::{enqueue, enqueue_many, EnqueueOptions, JobFilter, JobRow, JobState, Noop};
use comptoir::store::Store;

const WORKER: &str = env!("CARGO_BIN_EXE_comptoir-worker");

/// Generous bound for a process to do something it should do at once
/// (liveness only: nothing here asserts on speed).
pub(crate) const LIVENESS: Duration = Duration::from_secs(30);

on_both_backends!(
    many_processes_run_each_job_once,
    sigkill_mid_job_is_rescued,
    sigterm_finishes_running_job_and_claims_no_more,
    drain_exit_codes,
    second_drain_exits_at_once,
    cli_enqueue_list_show_retry_cancel,
    a_job_error_cannot_forge_a_log_line,
    migrate_from_many_processes,
);

// The same through PgBouncer in transaction mode, and what only it does.
// (`second_drain_exits_at_once` is not run there: a killed drain's lock is a
// lease that lasts, see `drain_lock_is_a_lease_behind_pgbouncer`.)
crate::through_pgbouncer!(
    many_processes_run_each_job_once,
    sigkill_mid_job_is_rescued,
    sigterm_finishes_running_job_and_claims_no_more,
    drain_exit_codes,
    cli_enqueue_list_show_retry_cancel,
    a_job_error_cannot_forge_a_log_line,
    migrate_from_many_processes,
    drain_lock_is_a_lease_behind_pgbouncer,
    migrating_through_pgbouncer_needs_the_direct_url,
);

// ---------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------

static SPAWNED: AtomicU32 = AtomicU32::new(0);

/// A child process whose output goes to files in the test's directory; killed
/// (SIGKILL) when dropped, its stderr printed if the test is failing.
pub(crate) struct Child {
    pub(crate) label: String,
    child: tokio::process::Child,
    pid: u32,
    stdout: PathBuf,
    stderr: PathBuf,
    status: Option<ExitStatus>,
}

/// `comptoir-worker --database-url … --data-dir … ARGS`, quiet unless warning.
pub(crate) fn spawn(db: &TestDb, label: &str, args: &[&str]) -> Child {
    let n = SPAWNED.fetch_add(1, Ordering::SeqCst);
    let stdout = db.dir.path().join(format!("{n:03}-{label}.stdout"));
    let stderr = db.dir.path().join(format!("{n:03}-{label}.stderr"));
    let child = tokio::process::Command::new(WORKER)
        .env(comptoir::billing::seal::KEY_ENV, crate::support::book_key_path())
        .arg("--database-url")
        .arg(db.app_url())
        .arg("--data-dir")
        .arg(db.dir.path().join("data"))
        .args(args)
        .current_dir(db.dir.path())
        .env("RUST_LOG", child_log())
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
    Child {
        label: format!("{label} (pid {pid}: comptoir-worker {})", args.join(" ")),
        child,
        pid,
        stdout,
        stderr,
        status: None,
    }
}

impl Child {
    pub(crate) fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([signal, &self.pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {} failed", self.label);
    }

    pub(crate) fn still_running(&mut self) -> bool {
        self.status.is_none() && matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the exit; panics (the guard then prints stderr) past `within`.
    pub(crate) async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
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

    pub(crate) fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// What the process said, for assertion messages.
    pub(crate) fn said(&self) -> String {
        format!(
            "{}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.label,
            self.stdout(),
            self.stderr()
        )
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!("===== {} exited {:?}\n{}", self.label, self.status, self.said());
        }
    }
}

/// What a finished command did.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    what: String,
}

impl std::fmt::Debug for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} exited {:?} after {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.what, self.code, self.elapsed, self.stdout, self.stderr
        )
    }
}

/// Runs a command to its end (bounded by `LIVENESS` times two).
async fn run(db: &TestDb, args: &[&str]) -> Ran {
    let started = Instant::now();
    let mut child = spawn(db, "cmd", args);
    let status = child.wait_exit(LIVENESS * 2).await;
    Ran {
        code: status.code(),
        stdout: child.stdout(),
        stderr: child.stderr(),
        elapsed: started.elapsed(),
        what: child.label.clone(),
    }
}

// ---------------------------------------------------------------------------
// Database helpers
// ---------------------------------------------------------------------------

async fn enqueue_noops(store: &Store, n: usize, noop: Noop) -> Vec<i64> {
    let mut tx = store.begin().await.expect("begin");
    let inserted = enqueue_many(&mut tx, (0..n).map(|_| (noop.clone(), EnqueueOptions::new())))
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");
    inserted.into_iter().map(|i| i.id()).collect()
}

fn sleeping(ms: u64) -> Noop {
    Noop {
        sleep_ms: Some(ms),
        ..Noop::default()
    }
}

/// The tests' own jobs: the product's workers also enqueue periodic slots
/// (monthly run, dunning, reconciliation), which these tests leave alone.
async fn all_jobs(store: &Store) -> Vec<JobRow> {
    let mut jobs = store
        .list_jobs(&JobFilter {
            kind: Some("noop".into()),
            limit: 100_000,
            ..JobFilter::default()
        })
        .await
        .expect("list jobs");
    jobs.sort_by_key(|j| j.id);
    jobs
}

/// The tests' jobs per state.
async fn counts(store: &Store) -> BTreeMap<&'static str, i64> {
    let mut out = BTreeMap::new();
    for j in all_jobs(store).await {
        *out.entry(j.state.as_str()).or_default() += 1;
    }
    out
}

async fn count_in(store: &Store, state: JobState) -> i64 {
    counts(store).await.get(state.as_str()).copied().unwrap_or(0)
}

/// How many of `ids` are running under `worker`.
async fn count_held_by(store: &Store, ids: &[i64], worker: &str) -> usize {
    let mut n = 0;
    for &id in ids {
        let job = store.get_job(id).await.expect("get job");
        if job.state == JobState::Running && job.locked_by.as_deref() == Some(worker) {
            n += 1;
        }
    }
    n
}

/// Waits until job `id` is running under some worker; returns its worker id.
async fn wait_running(store: &Store, id: i64, children: &mut [&mut Child]) -> String {
    let deadline = Instant::now() + LIVENESS;
    loop {
        let job = store.get_job(id).await.expect("get job");
        if job.state == JobState::Running {
            if let Some(by) = job.locked_by {
                return by;
            }
        }
        for c in children.iter_mut() {
            assert!(c.still_running(), "{} exited before job {id} ran", c.label);
        }
        assert!(Instant::now() < deadline, "job {id} never ran: {job:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// Three worker processes share 2,000 jobs: each runs exactly once.
async fn many_processes_run_each_job_once(backend: Backend) {
    const JOBS: usize = 2_000;
    let db = TestDb::new(backend).await;
    let mut workers: Vec<Child> = (0..3)
        .map(|i| spawn(&db, &format!("worker{i}"), &["run", "--concurrency", "4"]))
        .collect();
    // Enqueue once all three are serving, so that the sharing does not depend
    // on how fast each process starts.
    let registered = crate::support::eventually(LIVENESS, || async {
        db.store.list_workers().await.map(|w| w.len() >= 3).unwrap_or(false)
    })
    .await;
    for w in workers.iter_mut() {
        assert!(w.still_running(), "{} exited early", w.label);
    }
    assert!(registered, "the three workers never registered");

    let started = Instant::now();
    let ids = enqueue_noops(&db.store, JOBS, sleeping(1)).await;
    assert_eq!(ids.len(), JOBS);
    let done = crate::support::eventually(Duration::from_secs(120), || async {
        count_in(&db.store, JobState::Completed).await == JOBS as i64
    })
    .await;
    assert!(done, "not all jobs completed: {:?}", counts(&db.store).await);
    eprintln!("[{backend:?}] {JOBS} jobs over 3 processes in {:?}", started.elapsed());

    for w in &workers {
        w.signal("-TERM");
    }
    for w in workers.iter_mut() {
        let status = w.wait_exit(LIVENESS * 2).await;
        assert_eq!(status.code(), Some(0), "{} on SIGTERM: {status}", w.label);
    }

    let jobs = all_jobs(&db.store).await;
    assert_eq!(jobs.len(), JOBS, "jobs lost or added");
    let mut per_worker: HashMap<String, usize> = HashMap::new();
    for j in &jobs {
        assert_eq!(j.state, JobState::Completed, "{j:?}");
        assert_eq!(
            j.attempt, 1,
            "job {} ran more than once (or was claimed twice): {j:?}",
            j.id
        );
        assert!(j.errors.is_empty(), "{j:?}");
        let by = j
            .locked_by
            .clone()
            .unwrap_or_else(|| panic!("completed job without its worker: {j:?}"));
        *per_worker.entry(by).or_default() += 1;
    }
    let pids: Vec<String> = workers.iter().map(|w| format!(":{}:", w.pid)).collect();
    for by in per_worker.keys() {
        assert!(
            pids.iter().any(|p| by.contains(p)),
            "job run by an unknown worker {by} (children: {pids:?})"
        );
    }
    eprintln!("[{backend:?}] jobs per worker: {per_worker:?}");
    assert!(per_worker.len() >= 2, "the work was not shared: {per_worker:?}");
}

/// A worker killed with SIGKILL mid-job: another worker rescues the job once
/// its lease expires and runs it again. The jobs it had claimed but not
/// started (prefetched while its one slot was busy) keep their attempt.
async fn sigkill_mid_job_is_rescued(backend: Backend) {
    let db = TestDb::new(backend).await;
    let id = enqueue_noops(&db.store, 1, sleeping(3_000)).await[0];
    let waiting = enqueue_noops(&db.store, 9, sleeping(10)).await;
    let mut a = spawn(&db, "A", &["run", "--lease", "2s", "--concurrency", "1"]);
    let holder = wait_running(&db.store, id, &mut [&mut a]).await;
    assert!(
        holder.contains(&format!(":{}:", a.pid)),
        "job held by {holder}, not by A"
    );
    let recorded = crate::support::eventually(LIVENESS, || async {
        db.store.get_job(id).await.is_ok_and(|j| j.started_at.is_some())
    })
    .await;
    assert!(recorded, "A never recorded the start of job {id}");
    let prefetched = count_held_by(&db.store, &waiting, &holder).await;
    assert!(prefetched > 0, "A prefetched nothing: the test proves nothing");
    a.signal("-KILL");
    let status = a.wait_exit(LIVENESS).await;
    assert_eq!(status.code(), None, "A should have died of SIGKILL: {status}");

    let mut b = spawn(&db, "B", &["run", "--lease", "2s"]);
    let (rescued, job) = settles(&db.store, id, Duration::from_secs(30), is_state(JobState::Completed)).await;
    assert!(rescued, "job not completed after A died: {job:?}");
    assert_eq!(job.attempt, 2, "{job:?}");
    assert_eq!(job.errors.len(), 1, "{job:?}");
    assert!(job.errors[0].error.contains("lease expired"), "{job:?}");
    assert!(
        job.errors[0].error.contains(&holder),
        "the error should name A: {job:?}"
    );
    let by = job.locked_by.clone().unwrap_or_default();
    assert!(
        by.contains(&format!(":{}:", b.pid)),
        "second attempt ran by {by}, not by B"
    );
    for &other in &waiting {
        let (done, job) = settles(&db.store, other, LIVENESS, is_state(JobState::Completed)).await;
        assert!(done, "{job:?}");
        assert_eq!(
            (job.attempt, job.errors.len()),
            (1, 0),
            "a prefetched job lost an attempt: {job:?}"
        );
    }

    b.signal("-TERM");
    let status = b.wait_exit(LIVENESS).await;
    assert_eq!(status.code(), Some(0), "B on SIGTERM: {status}");
}

/// SIGTERM: the running job finishes within the grace time, the claimed but
/// unstarted ones go back to the queue unspent, the process exits 0.
async fn sigterm_finishes_running_job_and_claims_no_more(backend: Backend) {
    let db = TestDb::new(backend).await;
    let first = enqueue_noops(&db.store, 1, sleeping(2_000)).await[0];
    tokio::time::sleep(Duration::from_millis(20)).await;
    let others = enqueue_noops(&db.store, 5, sleeping(2_000)).await;
    let mut w = spawn(&db, "worker", &["run", "--concurrency", "1", "--grace", "10s"]);
    wait_running(&db.store, first, &mut [&mut w]).await;

    let asked = Instant::now();
    w.signal("-TERM");
    let status = w.wait_exit(Duration::from_secs(15)).await;
    let took = asked.elapsed();
    assert_eq!(status.code(), Some(0), "on SIGTERM: {status}");
    eprintln!("[{backend:?}] exit {:?} after SIGTERM in {took:?}", status.code());

    let job = db.store.get_job(first).await.expect("get job");
    assert_eq!(
        job.state,
        JobState::Completed,
        "the running job should finish within the grace: {job:?}"
    );
    assert_eq!(job.attempt, 1, "{job:?}");
    for id in others {
        let j = db.store.get_job(id).await.expect("get job");
        assert_eq!(j.state, JobState::Available, "job {id} should be released: {j:?}");
        assert_eq!(j.attempt, 0, "job {id}: a released job keeps its attempts: {j:?}");
        assert!(j.errors.is_empty() && j.locked_by.is_none(), "{j:?}");
    }
    assert_eq!(count_in(&db.store, JobState::Completed).await, 1);
}

/// `drain` returns 0 when every job that ran succeeded, 1 when one failed,
/// and stops at its limits.
async fn drain_exit_codes(backend: Backend) {
    let db = TestDb::new(backend).await;

    // (a) Nothing to do.
    let r = run(&db, &["drain"]).await;
    assert_eq!(r.code, Some(0), "empty queue: {r:?}");
    eprintln!("[{backend:?}] (a) empty drain: {:?}", r.elapsed);

    // (b) Three good jobs.
    let ids = enqueue_noops(&db.store, 3, Noop::default()).await;
    let r = run(&db, &["drain"]).await;
    assert_eq!(r.code, Some(0), "good jobs: {r:?}");
    for id in &ids {
        let j = db.store.get_job(*id).await.unwrap();
        assert_eq!((j.state, j.attempt), (JobState::Completed, 1), "{j:?}");
    }
    // At least those three: a periodic job (reconcile-payments, every 15 minutes) whose slot
    // the run crosses is drained too.
    let completed: u32 = r
        .stdout
        .split(" completed")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(completed >= 3, "{r:?}");

    // (c) A failing job: exit 1, the job waits for its retry, the drain returns.
    let failing = enqueue_noops(
        &db.store,
        1,
        Noop {
            fail: Some("boom".into()),
            ..Noop::default()
        },
    )
    .await[0];
    let r = run(&db, &["drain"]).await;
    assert_eq!(r.code, Some(1), "failed job: {r:?}");
    assert!(r.stdout.contains("1 failed and will retry"), "{r:?}");
    let j = db.store.get_job(failing).await.unwrap();
    assert_eq!(j.state, JobState::Retryable, "{j:?}");
    assert_eq!((j.attempt, j.max_attempts), (1, 25), "{j:?}");
    assert_eq!(j.errors.len(), 1, "the drain ran the job again: {j:?}");
    assert_eq!(j.errors[0].error, "boom", "{j:?}");
    assert!(
        j.run_at > db.store.now().await.unwrap(),
        "the retry should be in the future: {j:?}"
    );
    db.store.cancel_job(failing, "test").await.unwrap();

    // (d) At most two jobs.
    let ids = enqueue_noops(&db.store, 5, Noop::default()).await;
    let r = run(&db, &["drain", "--max-jobs", "2"]).await;
    assert_eq!(r.code, Some(0), "--max-jobs: {r:?}");
    assert!(r.stdout.contains("MaxJobs"), "{r:?}");
    let mut states = BTreeMap::new();
    for id in &ids {
        let j = db.store.get_job(*id).await.unwrap();
        *states.entry((j.state.as_str(), j.attempt)).or_insert(0) += 1;
    }
    assert_eq!(
        states,
        BTreeMap::from([(("available", 0), 3), (("completed", 1), 2)]),
        "--max-jobs 2"
    );
    // Leave the queue empty for (e).
    let r = run(&db, &["drain"]).await;
    assert_eq!(r.code, Some(0), "{r:?}");

    // (e) Time budget shorter than the first job: that job finishes within
    // the grace time (exit 0 because it completed), the rest go back.
    let ids = enqueue_noops(&db.store, 3, sleeping(3_000)).await;
    let r = run(
        &db,
        &["drain", "--max-time", "1s", "--concurrency", "1", "--grace", "5s"],
    )
    .await;
    eprintln!(
        "[{backend:?}] (e) drain --max-time 1s: exit {:?} after {:?}: {}",
        r.code,
        r.elapsed,
        r.stdout.trim()
    );
    assert_eq!(r.code, Some(0), "--max-time: {r:?}");
    assert!(r.stdout.contains("MaxTime"), "{r:?}");
    let first = db.store.get_job(ids[0]).await.unwrap();
    assert_eq!((first.state, first.attempt), (JobState::Completed, 1), "{first:?}");
    for id in &ids[1..] {
        let j = db.store.get_job(*id).await.unwrap();
        assert_eq!((j.state, j.attempt), (JobState::Available, 0), "{j:?}");
        assert!(j.errors.is_empty(), "{j:?}");
    }
}

/// Two drains never overlap: the second exits 75 at once; the lock goes with
/// its holder, also when the holder is killed.
async fn second_drain_exits_at_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let ids = enqueue_noops(&db.store, 2, sleeping(3_000)).await;
    let mut a = spawn(&db, "drainA", &["drain", "--concurrency", "1"]);
    wait_running(&db.store, ids[0], &mut [&mut a]).await;

    let b = run(&db, &["drain"]).await;
    assert_eq!(b.code, Some(75), "second drain: {b:?}");
    assert!(b.stderr.contains("another `comptoir-worker drain` is running"), "{b:?}");
    assert!(b.elapsed < LIVENESS, "{b:?}");
    assert!(a.still_running(), "A should still be draining while B is refused");
    eprintln!("[{backend:?}] second drain refused in {:?}", b.elapsed);

    let status = a.wait_exit(LIVENESS * 2).await;
    assert_eq!(status.code(), Some(0), "{}", a.said());
    // Both jobs ran; the count may hold a periodic job more, when the run crosses its slot
    // (reconcile-payments, every 15 minutes, made "3 completed" once at 03:00).
    for id in &ids {
        let job = db.store.get_job(*id).await.unwrap();
        assert_eq!(job.state, JobState::Completed, "{job:?}\n{}", a.said());
    }
    let r = run(&db, &["drain"]).await;
    assert_eq!(r.code, Some(0), "drain after A released the lock: {r:?}");

    // A drain killed with SIGKILL leaves no lock behind.
    let sleeper = enqueue_noops(&db.store, 1, sleeping(60_000)).await[0];
    let mut c = spawn(&db, "drainC", &["drain"]);
    wait_running(&db.store, sleeper, &mut [&mut c]).await;
    c.signal("-KILL");
    let status = c.wait_exit(LIVENESS).await;
    assert_eq!(status.code(), None, "C should have died of SIGKILL: {status}");
    // PostgreSQL ends the session (and its advisory lock) when it sees the
    // socket close: allow it a moment, but not a lease's worth.
    let mut tries = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let d = run(&db, &["drain"]).await;
        let refused = d.code == Some(75);
        tries.push(d);
        if !refused || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let d = tries.last().unwrap();
    assert_ne!(d.code, Some(75), "the killed drain still holds the lock: {tries:?}");
    assert_eq!(d.code, Some(0), "{d:?}");
    if tries.len() > 1 {
        eprintln!(
            "[{backend:?}] lock of the killed drain released after {} tries",
            tries.len()
        );
    }
    // C's job is still under C's (30s) lease: D did not run it.
    let j = db.store.get_job(sleeper).await.unwrap();
    assert_eq!((j.state, j.attempt), (JobState::Running, 1), "{j:?}");
}

/// A job whose error carries outside text (a line break and a forged log
/// line, a terminal escape, an IBAN): the worker's warning is one line, the
/// text escaped, the IBAN masked as the admin shows it.
async fn a_job_error_cannot_forge_a_log_line(backend: Backend) {
    let db = TestDb::new(backend).await;
    let fail =
        "refused\n2026-12-06T10:00:00.000000Z ERROR forged: refund sent \u{1b}[2J to FR7630006000011234567890189";
    let mut tx = db.store.begin().await.expect("begin");
    enqueue(
        &mut tx,
        &Noop {
            fail: Some(fail.into()),
            ..Noop::default()
        },
        EnqueueOptions::new().max_attempts(1),
    )
    .await
    .expect("enqueue");
    tx.commit().await.expect("commit");
    let ran = run(&db, &["drain"]).await;
    assert_eq!(ran.code, Some(1), "{ran:?}");
    let warnings: Vec<&str> = ran.stderr.lines().filter(|l| l.contains("job failed")).collect();
    assert_eq!(warnings.len(), 1, "{ran:?}");
    assert!(
        !ran.stderr
            .lines()
            .any(|l| l.contains("forged") && !l.contains("job failed")),
        "{ran:?}"
    );
    assert!(
        warnings[0].contains("refused\\n2026-12-06T10:00:00.000000Z ERROR forged"),
        "{ran:?}"
    );
    assert!(warnings[0].contains("\\u{1b}[2J"), "{ran:?}");
    assert!(!ran.stderr.contains('\u{1b}'), "{ran:?}");
    assert!(
        !ran.stderr.contains("FR7630006000011234567890189"),
        "IBAN unmasked: {ran:?}"
    );
    assert!(warnings[0].contains("0189"), "{ran:?}");
}

/// The `jobs` commands, through the CLI only.
async fn cli_enqueue_list_show_retry_cancel(backend: Backend) {
    let db = TestDb::new(backend).await;
    let enqueue = [
        "jobs",
        "enqueue",
        "noop",
        r#"{"sleep_ms":1}"#,
        "--queue",
        "default",
        "--priority",
        "3",
        "--unique-key",
        "k1",
    ];
    let r = run(&db, &enqueue).await;
    assert_eq!(r.code, Some(0), "{r:?}");
    let id: i64 = r
        .stdout
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("enqueue should print an id: {r:?}"));
    let again = run(&db, &enqueue).await;
    assert_eq!(again.code, Some(0), "{again:?}");
    assert_eq!(
        again.stdout.trim(),
        id.to_string(),
        "same unique key, same job: {again:?}"
    );
    assert!(again.stderr.contains("already exists"), "{again:?}");

    let r = run(&db, &["jobs", "enqueue", "nope", "{}"]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr.contains("unknown job kind") && r.stderr.contains("noop"),
        "{r:?}"
    );
    let r = run(&db, &["jobs", "enqueue", "noop", r#"{"x":1}"#]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("invalid args"), "{r:?}");
    let r = run(&db, &["jobs", "enqueue", "noop", "not json"]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("not valid JSON"), "{r:?}");
    assert!(r.stdout.trim().is_empty(), "{r:?}");

    let r = run(&db, &["jobs", "list", "--json"]).await;
    assert_eq!(r.code, Some(0), "{r:?}");
    let list: serde_json::Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"));
    let list = list.as_array().unwrap_or_else(|| panic!("not an array: {r:?}"));
    assert_eq!(list.len(), 1, "only one job was enqueued: {r:?}");
    assert_eq!(list[0]["id"], id, "{r:?}");
    assert_eq!(list[0]["kind"], "noop");
    assert_eq!(list[0]["priority"], 3);
    assert_eq!(list[0]["unique_key"], "k1");
    assert_eq!(list[0]["args"], serde_json::json!({"sleep_ms": 1}));

    let show = |expected: &'static str| {
        let db = &db;
        async move {
            let r = run(db, &["jobs", "show", &id.to_string(), "--json"]).await;
            assert_eq!(r.code, Some(0), "{r:?}");
            let job: serde_json::Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"));
            assert_eq!(job["id"], id, "{r:?}");
            assert_eq!(job["state"], expected, "{r:?}");
            job
        }
    };
    show("available").await;

    let r = run(&db, &["jobs", "cancel", &id.to_string()]).await;
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("cancelled"), "{r:?}");
    let job = show("cancelled").await;
    assert!(job["finished_at"].is_string(), "{job}");
    let r = run(&db, &["jobs", "cancel", &id.to_string()]).await;
    assert_eq!(r.code, Some(1), "cancelling a finished job: {r:?}");
    assert!(r.stderr.contains(&format!("job {id}")), "{r:?}");

    let r = run(&db, &["jobs", "retry", &id.to_string()]).await;
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("available"), "{r:?}");
    show("available").await;

    let r = run(&db, &["jobs", "show", "999999"]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("no job 999999"), "{r:?}");
    let r = run(&db, &["jobs", "retry", "999999"]).await;
    assert_eq!(r.code, Some(1), "{r:?}");

    let r = run(&db, &["jobs", "stats", "--json"]).await;
    assert_eq!(r.code, Some(0), "{r:?}");
    let stats: serde_json::Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"));
    let counts = stats["counts"].as_array().unwrap_or_else(|| panic!("no counts: {r:?}"));
    assert!(
        counts
            .iter()
            .any(|c| c["queue"] == "default" && c["state"] == "available" && c["count"] == 1),
        "{r:?}"
    );
    assert!(stats["workers"].is_array(), "{r:?}");
}

/// `comptoir-worker migrate` from several processes at once on an empty
/// database: each exits 0, one applies every migration and the others find
/// nothing left. Then a migration changed since it ran (its recorded checksum
/// no longer matches the embedded file) stops `migrate`, naming it.
async fn migrate_from_many_processes(backend: Backend) {
    let db = TestDb::unmigrated(backend).await;
    let mut children: Vec<Child> = (0..4)
        .map(|i| spawn(&db, &format!("migrate-{i}"), &["migrate"]))
        .collect();
    let mut applied = Vec::new();
    for child in &mut children {
        let status = child.wait_exit(LIVENESS * 2).await;
        assert_eq!(status.code(), Some(0), "{}", child.said());
        let out = child.stdout();
        let list = out
            .split("migrations applied: ")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .unwrap_or_else(|| panic!("no list of applied migrations: {}", child.said()));
        applied.push(list.to_string());
    }
    let status = db.store.migration_status().await.expect("status");
    assert!(status.is_current() && status.applied.len() > 1, "{status:?}");
    let all = format!("{:?}", status.applied);
    assert_eq!(applied.iter().filter(|a| **a == all).count(), 1, "{applied:?}");
    assert_eq!(applied.iter().filter(|a| *a == "[]").count(), 3, "{applied:?}");

    let tamper = match backend {
        Backend::Postgres => "UPDATE _sqlx_migrations SET checksum = decode('00', 'hex') WHERE version = 3",
        Backend::Sqlite => "UPDATE _sqlx_migrations SET checksum = X'00' WHERE version = 3",
    };
    assert_eq!(crate::support::billing::raw_execute(&db, tamper).await, Ok(1));
    let refused = run(&db, &["migrate"]).await;
    assert_eq!(refused.code, Some(3), "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("migration 3 was applied to this database and has been changed since"),
        "{refused:?}"
    );
}

/// Without a usable database the worker says which one (password hidden) and
/// exits 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_database_is_a_clear_error() {
    let dir = TestDir::new();
    let attempt = |url: &'static str| {
        let dir = dir.path().to_path_buf();
        async move {
            let started = Instant::now();
            let out = tokio::process::Command::new(WORKER)
                .env(comptoir::billing::seal::KEY_ENV, crate::support::book_key_path())
                .args(["--database-url", url, "--data-dir"])
                .arg(dir.join("data"))
                .arg("drain")
                .current_dir(&dir)
                .env("RUST_LOG", child_log())
                .env_remove("DATABASE_URL")
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output();
            let out = tokio::time::timeout(LIVENESS * 2, out)
                .await
                .unwrap_or_else(|_| panic!("drain on {url} hung"))
                .expect("run comptoir-worker");
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            (out.status, stderr, started.elapsed())
        }
    };
    let ((status, stderr, took), (mstatus, mstderr, _)) = tokio::join!(
        attempt("postgres://postgres:hunter2@127.0.0.1:1/x"),
        attempt("mysql://x")
    );
    eprintln!(
        "unreachable PostgreSQL: exit {:?} after {took:?}: {}",
        status.code(),
        stderr.trim()
    );
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("postgres://postgres:***@127.0.0.1:1/x"),
        "should name the database: {stderr}"
    );
    assert!(!stderr.contains("hunter2"), "password leaked: {stderr}");
    assert_eq!(mstatus.code(), Some(3), "{mstderr}");
    assert!(mstderr.contains("unsupported database URL"), "{mstderr}");
}

/// Children log warnings only, unless `COMPTOIR_TEST_CHILD_LOG` says otherwise
/// (e.g. `COMPTOIR_TEST_CHILD_LOG=debug` to read a failing test's stderr).
fn child_log() -> String {
    std::env::var("COMPTOIR_TEST_CHILD_LOG").unwrap_or_else(|_| "warn".into())
}

// ---------------------------------------------------------------------------
// Behind PgBouncer in transaction mode
// ---------------------------------------------------------------------------

/// The holder of the `drain` lock row, read straight from PostgreSQL.
async fn drain_lock_holder(db: &TestDb) -> Option<String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    sqlx::query_scalar("SELECT holder FROM comptoir_locks WHERE name = 'drain'")
        .fetch_optional(&mut conn)
        .await
        .expect("comptoir_locks")
}

/// Behind PgBouncer the drain lock is a row: held by the running drain (a
/// second exits 75 at once), deleted when it ends; a drain killed with
/// SIGKILL keeps it until its lease runs out, and the next drain then takes
/// it over and runs.
async fn drain_lock_is_a_lease_behind_pgbouncer(backend: Backend) {
    let db = TestDb::new(backend).await;
    assert!(db.pooled_url.is_some(), "not through PgBouncer");
    let ids = enqueue_noops(&db.store, 2, sleeping(3_000)).await;
    let mut a = spawn(&db, "drainA", &["drain", "--concurrency", "1"]);
    wait_running(&db.store, ids[0], &mut [&mut a]).await;
    let holder = drain_lock_holder(&db).await.expect("A's lock row");
    assert!(holder.contains(&format!(":{}:", a.pid)), "{holder}");

    let b = run(&db, &["drain"]).await;
    assert_eq!(b.code, Some(75), "second drain: {b:?}");
    assert!(b.stderr.contains("another `comptoir-worker drain` is running"), "{b:?}");
    assert!(a.still_running(), "A should still be draining while B is refused");
    let status = a.wait_exit(LIVENESS * 2).await;
    assert_eq!(status.code(), Some(0), "{}", a.said());
    assert_eq!(drain_lock_holder(&db).await, None, "A left its row behind");
    let r = run(&db, &["drain"]).await;
    assert_eq!(r.code, Some(0), "drain after A released the lock: {r:?}");

    let sleeper = enqueue_noops(&db.store, 1, sleeping(60_000)).await[0];
    let mut c = spawn(&db, "drainC", &["drain"]);
    wait_running(&db.store, sleeper, &mut [&mut c]).await;
    c.signal("-KILL");
    let status = c.wait_exit(LIVENESS).await;
    assert_eq!(status.code(), None, "C should have died of SIGKILL: {status}");
    let holder = drain_lock_holder(&db)
        .await
        .expect("the killed drain's row outlives it");
    assert!(holder.contains(&format!(":{}:", c.pid)), "{holder}");

    // The lease (15s) runs out; until then drains are refused.
    let killed = Instant::now();
    let mut refused = 0;
    let d = loop {
        let d = run(&db, &["drain"]).await;
        if d.code != Some(75) || killed.elapsed() > Duration::from_secs(120) {
            break d;
        }
        refused += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(d.code, Some(0), "the killed drain's lease never ran out: {d:?}");
    eprintln!(
        "[pgbouncer] killed drain's lock taken over after {:?} ({refused} drains refused meanwhile)",
        killed.elapsed()
    );
    assert_eq!(drain_lock_holder(&db).await, None, "D left its row behind");
}

/// Behind PgBouncer without `COMPTOIR_DIRECT_DATABASE_URL`, pending
/// migrations are refused with a message naming it (exit 3); with it they
/// run straight on PostgreSQL; a current database then needs no direct URL.
async fn migrating_through_pgbouncer_needs_the_direct_url(backend: Backend) {
    let db = TestDb::unmigrated(backend).await;
    let without = |args: &'static [&'static str]| {
        std::process::Command::new(WORKER)
            .env(comptoir::billing::seal::KEY_ENV, crate::support::book_key_path())
            .env("RUST_LOG", "warn")
            .env("COMPTOIR_DATA_DIR", db.dir.path().join("data"))
            .env_remove("DATABASE_URL")
            .env(comptoir::store::POOLER_ENV, "transaction")
            .env_remove(comptoir::store::DIRECT_URL_ENV)
            .arg("--database-url")
            .arg(db.app_url())
            .args(args)
            .output()
            .expect("run comptoir-worker")
    };
    let refused = without(&["migrate"]);
    let said = crate::support::worker::output_text(&refused);
    assert_eq!(refused.status.code(), Some(3), "{said}");
    assert!(
        said.contains("are pending") && said.contains(comptoir::store::DIRECT_URL_ENV),
        "{said}"
    );
    let status = db.store.migration_status().await.expect("status");
    assert!(status.applied.is_empty(), "migrated through PgBouncer: {status:?}");

    let r = run(&db, &["migrate"]).await;
    assert_eq!(r.code, Some(0), "{r:?}");
    let listed = without(&["jobs", "list"]);
    assert!(
        listed.status.success(),
        "{}",
        crate::support::worker::output_text(&listed)
    );
}
