//! Other languages enqueue too: PostgreSQL's `comptoir_enqueue(…)` driven
//! from the real `psql` and from Python (psycopg, in the venv of
//! `scripts/python-env`), SQLite's `INSERT INTO comptoir_enqueue` from
//! Python's own `sqlite3` (an older SQLite than Comptoir's); the README's
//! examples run as written; a real `comptoir-worker drain` runs what they
//! enqueued. On both backends: the kinds a registry publishes, and the same
//! defaults and limit keys from SQL as from Rust.
//!
//! A test that needs `psql` or Python fails when it is missing: it never
//! skips.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::billing::raw_i64;
use crate::support::worker::{output_text, worker_cli};
use crate::support::{Backend, TestDb};
use comptoir::jobs::{
    enqueue_raw, EnqueueOptions, Inserted, Job, JobContext, JobFilter, JobKind, JobResult, JobRow, JobState,
    KindConcurrency, KindOptions, KindRate, LimitKey, Noop, Outcome, Registry,
};

on_both_backends!(
    a_registry_publishes_its_kinds,
    sql_makes_the_defaults_and_limit_keys_rust_makes
);

// ---------------------------------------------------------------------------
// The README's examples
// ---------------------------------------------------------------------------

/// The README's section "Enqueue from another language".
fn readme_section() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    let start = readme
        .find("\n## Enqueue from another language\n")
        .expect("the README has its section \"Enqueue from another language\"");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_string()
}

/// The code blocks of the section fenced with "```{lang}", in order.
fn readme_blocks(lang: &str) -> Vec<String> {
    let section = readme_section();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in section.lines() {
        match current.as_mut() {
            None if line.trim_end() == format!("```{lang}") => current = Some(String::new()),
            Some(_) if line.trim_end() == "```" => blocks.push(current.take().unwrap_or_default()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// The one block of `lang` that contains `marker`.
fn readme_block(lang: &str, marker: &str) -> String {
    let found: Vec<String> = readme_blocks(lang).into_iter().filter(|b| b.contains(marker)).collect();
    assert_eq!(
        found.len(),
        1,
        "one ```{lang} block with {marker:?} in the README's section"
    );
    found.into_iter().next().unwrap_or_default()
}

// ---------------------------------------------------------------------------
// psql and Python
// ---------------------------------------------------------------------------

/// What a command said, and whether it succeeded.
struct Said {
    ok: bool,
    text: String,
}

/// `psql` on `url` running `sql` from a file; errors say their SQLSTATE.
fn psql(url: &str, dir: &Path, sql: &str) -> Said {
    let file = dir.join(format!("script-{}.sql", fastrand::u32(..)));
    std::fs::write(&file, format!("\\set VERBOSITY verbose\n{sql}")).expect("write the SQL script");
    let out = Command::new("psql")
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-f"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run psql (apt-get install postgresql-client): {e}"));
    Said {
        ok: out.status.success(),
        text: output_text(&out),
    }
}

/// `psql` that must succeed; what it printed.
fn psql_ok(url: &str, dir: &Path, sql: &str) -> String {
    let said = psql(url, dir, sql);
    assert!(said.ok, "psql failed on:\n{sql}\n{}", said.text);
    said.text
}

/// The venv's python, with psycopg (`scripts/python-env`, made once).
fn venv_python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/python-env"))
            .output()
            .unwrap_or_else(|e| panic!("cannot run scripts/python-env: {e}"));
        assert!(
            out.status.success(),
            "scripts/python-env could not make the Python venv (python3-venv, PyPI?):\n{}",
            output_text(&out)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// `python` running `script` (written in `dir`) with `env`.
fn python(python: &Path, dir: &Path, script: &str, env: &[(&str, &str)]) -> Said {
    let file = dir.join(format!("script-{}.py", fastrand::u32(..)));
    std::fs::write(&file, script).expect("write the Python script");
    let out = Command::new(python)
        .arg(&file)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    Said {
        ok: out.status.success(),
        text: output_text(&out),
    }
}

fn python_ok(bin: &Path, dir: &Path, script: &str, env: &[(&str, &str)]) -> String {
    let said = python(bin, dir, script, env);
    assert!(said.ok, "python failed on:\n{script}\n{}", said.text);
    said.text
}

/// The number after "enqueued job " in what an example printed.
fn enqueued_id(text: &str) -> i64 {
    text.split("enqueued job ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no \"enqueued job N\" in:\n{text}"))
}

/// The product's kinds, as a starting worker writes them.
async fn publish_product_kinds(db: &TestDb) {
    comptoir::app::registry()
        .publish(&db.store)
        .await
        .expect("publish the kinds");
}

/// Every job, newest first.
async fn all_jobs(db: &TestDb) -> Vec<JobRow> {
    let filter = JobFilter {
        limit: 1_000,
        ..JobFilter::default()
    };
    db.store.list_jobs(&filter).await.expect("jobs")
}

async fn jobs(db: &TestDb) -> i64 {
    raw_i64(db, "SELECT COUNT(*) FROM comptoir_jobs").await
}

/// A real `comptoir-worker drain` on the test's database: it exits 0.
fn drain_with_the_worker(db: &TestDb) {
    let out = worker_cli(db, &["drain"]);
    assert!(
        out.status.success(),
        "comptoir-worker drain: {:?}\n{}",
        out.status,
        output_text(&out)
    );
}

// ---------------------------------------------------------------------------
// PostgreSQL: psql
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn psql_enqueues_refuses_and_a_worker_drain_runs_the_jobs() {
    let db = TestDb::new(Backend::Postgres).await;
    let dir = db.dir.path();
    let unknown = psql(&db.url, dir, "SELECT comptoir_enqueue('noop', '{}');");
    assert!(
        !unknown.ok && unknown.text.contains("unknown job kind \"noop\""),
        "{}",
        unknown.text
    );
    assert!(unknown.text.contains("no kind is known yet"), "{}", unknown.text);
    publish_product_kinds(&db).await;

    // The README's example, as written.
    let example = readme_block("sql", "comptoir_enqueue(");
    psql_ok(&db.url, dir, &example);
    let all = all_jobs(&db).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let (later, now) = (&all[0], &all[1]);
    assert_eq!(
        (now.kind.as_str(), now.state, &now.args),
        ("noop", JobState::Available, &json!({"sleep_ms": 10}))
    );
    assert_eq!(
        (now.queue.as_str(), now.priority, now.max_attempts),
        ("default", 0, 25),
        "the kind's defaults"
    );
    assert_eq!(later.state, JobState::Scheduled);
    assert_eq!((later.priority, later.max_attempts), (5, 3));
    assert_eq!(later.unique_key.as_deref(), Some("nightly-report:2026-05-01"));
    assert!(later.run_at > now.run_at + chrono::Duration::minutes(59), "{later:?}");

    // The same unique key again: the live job's id, nothing inserted.
    let again = psql_ok(
        &db.url,
        dir,
        "SELECT comptoir_enqueue('noop', '{}', unique_key => 'nightly-report:2026-05-01');",
    );
    assert_eq!(again.trim(), later.id.to_string());
    assert_eq!(jobs(&db).await, 2);

    // Every refusal: SQLSTATE 22023, the argument named, nothing inserted.
    let refusals = [
        ("comptoir_enqueue('nope', '{}')", "unknown job kind \"nope\""),
        ("comptoir_enqueue(NULL, '{}')", "kind must not be NULL"),
        (
            "comptoir_enqueue('noop', '[1]')",
            "args must be a JSON object, got array",
        ),
        ("comptoir_enqueue('noop', NULL)", "args must be a JSON object, got NULL"),
        (
            "comptoir_enqueue('noop', '{}', queue => '   ')",
            "queue must be a name of 1 to 100 characters",
        ),
        (
            "comptoir_enqueue('noop', '{}', queue => repeat('q', 101))",
            "queue must be a name of 1 to 100 characters",
        ),
        (
            "comptoir_enqueue('noop', '{}', priority => 40000)",
            "priority must be between -32768 and 32767",
        ),
        (
            "comptoir_enqueue('noop', '{}', max_attempts => 0)",
            "max_attempts must be at least 1",
        ),
        (
            "comptoir_enqueue('noop', '{}', unique_key => '')",
            "unique_key must not be empty",
        ),
        (
            "comptoir_enqueue('noop', '{}', run_at => 'infinity')",
            "run_at must be a time between the years 1 and 9999",
        ),
    ];
    for (call, message) in refusals {
        let said = psql(&db.url, dir, &format!("SELECT {call};"));
        assert!(!said.ok, "{call} was accepted: {}", said.text);
        assert!(
            said.text
                .contains(&format!("ERROR:  22023: comptoir_enqueue: {message}")),
            "{call}:\n{}",
            said.text
        );
    }
    let hint = psql(&db.url, dir, "SELECT comptoir_enqueue('nope', '{}');");
    assert!(
        hint.text.contains("known kinds: ") && hint.text.contains("billing.dunning, "),
        "{}",
        hint.text
    );
    assert_eq!(jobs(&db).await, 2, "a refused call inserts nothing");
    // Blank is spaces only: a queue named with letters trimmed elsewhere is fine.
    let vv = psql_ok(&db.url, dir, "SELECT comptoir_enqueue('noop', '{}', queue => 'vv');");
    let vv: i64 = vv.trim().parse().expect("an id");
    assert_eq!(db.store.get_job(vv).await.expect("the job").queue, "vv");

    // In the caller's transaction: rolled back, no job; its key is free again.
    psql_ok(
        &db.url,
        dir,
        "BEGIN;\nSELECT comptoir_enqueue('noop', '{}', unique_key => 'rolled-back');\nROLLBACK;",
    );
    assert_eq!(jobs(&db).await, 3, "a rolled-back enqueue leaves no job");
    let kept = psql_ok(
        &db.url,
        dir,
        "BEGIN;\nSELECT comptoir_enqueue('noop', '{}', unique_key => 'rolled-back');\nCOMMIT;",
    );
    let kept: i64 = kept.trim().parse().expect("an id");
    assert_eq!(
        db.store.get_job(kept).await.expect("committed").state,
        JobState::Available
    );

    // A real worker runs what psql enqueued; the scheduled one waits, and so
    // does the one in a queue the worker does not serve.
    let ours: Vec<i64> = all_jobs(&db).await.iter().map(|j| j.id).collect();
    drain_with_the_worker(&db);
    for job in all_jobs(&db).await.into_iter().filter(|j| ours.contains(&j.id)) {
        let expected = match job.id {
            id if id == later.id => JobState::Scheduled,
            id if id == vv => JobState::Available,
            _ => JobState::Completed,
        };
        assert_eq!(job.state, expected, "{job:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn psql_an_application_role_needs_only_execute() {
    let db = TestDb::new(Backend::Postgres).await;
    publish_product_kinds(&db).await;
    let section = readme_section();
    let grant = section
        .split("`GRANT EXECUTE ON FUNCTION ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .map(|g| format!("GRANT EXECUTE ON FUNCTION {}", g.replace('\n', " ")))
        .expect("the README names the GRANT");
    // Roles belong to the server: this one lives only in the transaction.
    let role = format!("comptoir_t_app_{}", fastrand::u32(..));
    let sql = format!(
        "BEGIN;
CREATE ROLE {role} NOLOGIN;
SET ROLE {role};
\\set ON_ERROR_STOP 0
SAVEPOINT before_grant;
SELECT comptoir_enqueue('noop', '{{}}');
ROLLBACK TO SAVEPOINT before_grant;
RESET ROLE;
{grant}
SET ROLE {role};
SELECT 'granted ' || comptoir_enqueue('noop', '{{}}', unique_key => 'from-app-role');
SAVEPOINT insert;
INSERT INTO comptoir_jobs (kind, args) VALUES ('noop', '{{}}');
ROLLBACK TO SAVEPOINT insert;
RESET ROLE;
SELECT 'jobs ' || count(*) FROM comptoir_jobs;
ROLLBACK;",
        grant = grant.replace("app_role", &role)
    );
    let said = psql(&db.url, db.dir.path(), &sql);
    assert!(
        said.text.contains("permission denied for function comptoir_enqueue"),
        "{}",
        said.text
    );
    assert!(said.text.contains("granted "), "{}", said.text);
    assert!(
        said.text.contains("permission denied for table comptoir_jobs"),
        "{}",
        said.text
    );
    assert!(said.text.contains("jobs 1"), "{}", said.text);
    assert_eq!(jobs(&db).await, 0, "rolled back");
}

/// The insert trigger's NOTIFY reaches a listener when the enqueuing
/// transaction commits: that is what wakes idle workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sql_enqueue_notifies_the_workers_at_commit() {
    use sqlx::Connection;
    let db = TestDb::new(Backend::Postgres).await;
    publish_product_kinds(&db).await;
    let mut listener = sqlx::postgres::PgListener::connect(&db.url).await.expect("listen");
    listener.listen("comptoir_jobs").await.expect("listen");
    let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let mut tx = conn.begin().await.expect("begin");
    let id: i64 = sqlx::query_scalar("SELECT comptoir_enqueue('noop', '{}', queue => 'mail')")
        .fetch_one(&mut *tx)
        .await
        .expect("enqueue");
    assert!(
        matches!(db.store.get_job(id).await, Err(comptoir::store::StoreError::NotFound)),
        "not seen before the commit"
    );
    tx.commit().await.expect("commit");
    let heard = tokio::time::timeout(Duration::from_secs(30), listener.recv())
        .await
        .expect("a notification within 30 s")
        .expect("a notification");
    assert_eq!(heard.payload(), "mail");
    assert_eq!(db.store.get_job(id).await.expect("committed").queue, "mail");
}

// ---------------------------------------------------------------------------
// PostgreSQL: Python (psycopg)
// ---------------------------------------------------------------------------

/// Enqueues in a transaction that then fails; catches the refusals; prints
/// what happened as JSON.
const PSYCOPG_CHECKS: &str = r#"
import json
import os

import psycopg
from psycopg.types.json import Jsonb

out = {}
url = os.environ["DATABASE_URL"]
try:
    with psycopg.connect(url) as conn:
        out["in_tx"] = conn.execute("SELECT comptoir_enqueue('noop', %s)", (Jsonb({}),)).fetchone()[0]
        raise RuntimeError("the application fails after enqueueing")
except RuntimeError:
    pass
with psycopg.connect(url) as conn:
    out["after_rollback"] = conn.execute(
        "SELECT count(*) FROM comptoir_jobs WHERE id = %s", (out["in_tx"],)
    ).fetchone()[0]
refused = []
for call, params in [
    ("SELECT comptoir_enqueue(%s, %s)", ("nope", Jsonb({}))),
    ("SELECT comptoir_enqueue(%s, %s, max_attempts => %s)", ("noop", Jsonb({}), 0)),
    ("SELECT comptoir_enqueue(%s, %s, queue => %s)", ("noop", Jsonb({}), "")),
    ("SELECT comptoir_enqueue(%s, %s)", ("noop", Jsonb([1, 2]))),
]:
    with psycopg.connect(url) as conn:
        try:
            conn.execute(call, params)
            refused.append(None)
        except psycopg.errors.InvalidParameterValue as e:
            refused.append([e.diag.sqlstate, e.diag.message_primary])
out["refused"] = refused
with psycopg.connect(url) as conn:
    out["scheduled"] = conn.execute(
        "SELECT comptoir_enqueue(%s, %s, queue => %s, priority => %s, run_at => now() + interval '1 day',"
        " max_attempts => %s)",
        ("noop", Jsonb({"sleep_ms": 1}), "default", -2, 7),
    ).fetchone()[0]
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn python_psycopg_enqueues_in_its_own_transaction() {
    let db = TestDb::new(Backend::Postgres).await;
    publish_product_kinds(&db).await;
    let py = venv_python();
    let dir = db.dir.path();
    let env = [("DATABASE_URL", db.url.as_str())];

    // The README's example, as written: twice, the same job.
    let example = readme_block("python", "import psycopg");
    let first = enqueued_id(&python_ok(py, dir, &example, &env));
    let second = enqueued_id(&python_ok(py, dir, &example, &env));
    assert_eq!(first, second, "the unique key answers the live job");
    let job = db.store.get_job(first).await.expect("the job");
    assert_eq!((job.kind.as_str(), &job.args), ("noop", &json!({"sleep_ms": 10})));
    assert_eq!(job.unique_key.as_deref(), Some("python-example-1"));

    let said = python_ok(py, dir, PSYCOPG_CHECKS, &env);
    let out: Value = serde_json::from_str(said.lines().last().unwrap_or_default()).expect(&said);
    assert_eq!(out["after_rollback"], 0, "{out}");
    let refused = out["refused"].as_array().expect("refusals");
    let messages = [
        "comptoir_enqueue: unknown job kind \"nope\"",
        "comptoir_enqueue: max_attempts must be at least 1 (and below 2^31), got 0",
        "comptoir_enqueue: queue must be a name of 1 to 100 characters, got \"\"",
        "comptoir_enqueue: args must be a JSON object, got array",
    ];
    for (got, message) in refused.iter().zip(messages) {
        assert_eq!(got, &json!(["22023", message]), "{out}");
    }
    assert_eq!(refused.len(), messages.len());
    let scheduled = db
        .store
        .get_job(out["scheduled"].as_i64().expect("an id"))
        .await
        .expect("the job");
    assert_eq!(scheduled.state, JobState::Scheduled);
    assert_eq!((scheduled.priority, scheduled.max_attempts), (-2, 7));
    assert_eq!(jobs(&db).await, 2);

    drain_with_the_worker(&db);
    assert_eq!(
        db.store.get_job(first).await.expect("the job").state,
        JobState::Completed
    );
}

// ---------------------------------------------------------------------------
// SQLite: Python's sqlite3
// ---------------------------------------------------------------------------

/// Runs the README's SQL for SQLite statement by statement, then the
/// refusals; prints what happened as JSON.
const SQLITE_CHECKS: &str = r#"
import json
import os
import sqlite3

out = {"sqlite": sqlite3.sqlite_version}
conn = sqlite3.connect(os.environ["COMPTOIR_SQLITE_FILE"], timeout=30)
with conn:
    rows = []
    for statement in os.environ["README_SQL"].split(";"):
        if statement.strip():
            rows = conn.execute(statement).fetchall() or rows
    out["readme"] = rows
try:
    with conn:
        conn.execute("INSERT INTO comptoir_enqueue (kind, args, unique_key) VALUES ('noop', '{}', 'rolled-back')")
        raise RuntimeError("the application fails after enqueueing")
except RuntimeError:
    pass
out["after_rollback"] = conn.execute(
    "SELECT count(*) FROM comptoir_jobs WHERE unique_key = 'rolled-back'"
).fetchone()[0]
refused = []
for columns, values in [
    ("kind, args", ("nope", "{}")),
    ("kind, args", (None, "{}")),
    ("kind, args", ("noop", "[1]")),
    ("kind, args", ("noop", "not json")),
    ("kind, args, queue", ("noop", "{}", "  ")),
    ("kind, args, queue", ("noop", "{}", "q" * 101)),
    ("kind, args, priority", ("noop", "{}", 40000)),
    ("kind, args, priority", ("noop", "{}", "high")),
    ("kind, args, max_attempts", ("noop", "{}", 0)),
    ("kind, args, unique_key", ("noop", "{}", "")),
    ("kind, args, run_at", ("noop", "{}", "tomorrow")),
    ("kind, args, run_at", ("noop", "{}", 1.5)),
    ("kind, args, job_id", ("noop", "{}", 12)),
]:
    marks = ", ".join("?" for _ in values)
    try:
        with conn:
            conn.execute(f"INSERT INTO comptoir_enqueue ({columns}) VALUES ({marks})", values)
        refused.append(None)
    except sqlite3.IntegrityError as e:
        refused.append(str(e))
out["refused"] = refused
with conn:
    request = conn.execute(
        "INSERT INTO comptoir_enqueue (kind, args, queue, priority, run_at, max_attempts)"
        " VALUES ('noop', '{\"sleep_ms\": 1}', 'default', -2, '2999-01-01 08:00:00+02:00', 7)"
    )
    out["scheduled"] = conn.execute(
        "SELECT job_id FROM comptoir_enqueue WHERE id = ?", (request.lastrowid,)
    ).fetchone()[0]
    request = conn.execute("INSERT INTO comptoir_enqueue (kind, args, run_at) VALUES ('noop', '{}', 0)")
    out["past"] = conn.execute(
        "SELECT job_id FROM comptoir_enqueue WHERE id = ?", (request.lastrowid,)
    ).fetchone()[0]
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn python_sqlite3_enqueues_refuses_and_a_worker_drain_runs_the_jobs() {
    let db = TestDb::new(Backend::Sqlite).await;
    publish_product_kinds(&db).await;
    let file = comptoir::store::sqlite_file(&db.url).expect("the SQLite file");
    let file = file.to_string_lossy().to_string();
    let dir = db.dir.path();
    let py = Path::new("python3");

    // The README's Python example, as written: twice, the same job.
    let example = readme_block("python", "import sqlite3");
    let env = [("COMPTOIR_SQLITE_FILE", file.as_str())];
    let first = python_ok(py, dir, &example, &env);
    let id = enqueued_id(&first);
    assert!(!first.contains("already there"), "{first}");
    let second = python_ok(py, dir, &example, &env);
    assert_eq!(enqueued_id(&second), id);
    assert!(second.contains("(already there)"), "{second}");
    let job = db.store.get_job(id).await.expect("the job");
    assert_eq!(
        (job.kind.as_str(), &job.args, job.state),
        ("noop", &json!({"sleep_ms": 10}), JobState::Available)
    );
    assert_eq!((job.queue.as_str(), job.priority, job.max_attempts), ("default", 0, 25));
    assert_eq!(job.unique_key.as_deref(), Some("python-example-1"));

    // The README's SQL, then every refusal.
    let readme_sql = readme_block("sql", "INSERT INTO comptoir_enqueue");
    let env = [
        ("COMPTOIR_SQLITE_FILE", file.as_str()),
        ("README_SQL", readme_sql.as_str()),
    ];
    let said = python_ok(py, dir, SQLITE_CHECKS, &env);
    let out: Value = serde_json::from_str(said.lines().last().unwrap_or_default()).expect(&said);
    let readme_job = out["readme"][0][0].as_i64().expect(&said);
    assert_eq!(out["readme"][0][1], 0, "{out}");
    assert_eq!(
        db.store.get_job(readme_job).await.expect("job").unique_key.as_deref(),
        Some("report-1")
    );
    assert_eq!(out["after_rollback"], 0, "{out}");
    let messages = [
        "comptoir_enqueue: unknown job kind",
        "comptoir_enqueue: kind must not be NULL",
        "comptoir_enqueue: args must be a JSON object",
        "comptoir_enqueue: args must be a JSON object",
        "comptoir_enqueue: queue must be a name of 1 to 100 characters",
        "comptoir_enqueue: queue must be a name of 1 to 100 characters",
        "comptoir_enqueue: priority must be between -32768 and 32767",
        "cannot store TEXT value in INTEGER column comptoir_enqueue.priority",
        "comptoir_enqueue: max_attempts must be at least 1",
        "comptoir_enqueue: unique_key must not be empty",
        "comptoir_enqueue: run_at must be milliseconds since the Unix epoch",
        "comptoir_enqueue: run_at must be milliseconds since the Unix epoch",
        "comptoir_enqueue: job_id, duplicate and created_at are written by Comptoir",
    ];
    let refused = out["refused"].as_array().expect("refusals");
    assert_eq!(refused.len(), messages.len(), "{out}");
    for (got, message) in refused.iter().zip(messages) {
        assert!(
            got.as_str().is_some_and(|g| g.starts_with(message)),
            "{got} is not {message:?} ({out})"
        );
    }
    let scheduled = db
        .store
        .get_job(out["scheduled"].as_i64().expect("an id"))
        .await
        .expect("the job");
    assert_eq!(scheduled.state, JobState::Scheduled);
    assert_eq!((scheduled.priority, scheduled.max_attempts), (-2, 7));
    assert_eq!(
        scheduled.run_at.to_rfc3339(),
        "2999-01-01T06:00:00+00:00",
        "the offset is read"
    );
    let past = db
        .store
        .get_job(out["past"].as_i64().expect("an id"))
        .await
        .expect("the job");
    assert_eq!((past.state, past.run_at.timestamp_millis()), (JobState::Available, 0));
    assert_eq!(jobs(&db).await, 4, "{out}");

    // A real worker runs them; the scheduled one waits (the worker's own
    // periodic jobs are left out).
    let ours: Vec<i64> = all_jobs(&db).await.iter().map(|j| j.id).collect();
    drain_with_the_worker(&db);
    for job in all_jobs(&db).await.into_iter().filter(|j| ours.contains(&j.id)) {
        let expected = if job.id == scheduled.id {
            JobState::Scheduled
        } else {
            JobState::Completed
        };
        assert_eq!(job.state, expected, "{job:?}");
    }
}

// ---------------------------------------------------------------------------
// Both backends: the kinds, and SQL against Rust
// ---------------------------------------------------------------------------

/// A kind declaring both limits: one charge at a time per customer, 20
/// starts a second to its provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Charge {
    customer: Value,
    #[serde(default)]
    note: Option<String>,
}

impl JobKind for Charge {
    const KIND: &'static str = "t_enqueue_charge";
    fn options() -> KindOptions {
        KindOptions {
            queue: "payments".into(),
            priority: -3,
            max_attempts: 4,
            concurrency: Some(KindConcurrency {
                key: LimitKey::Arg {
                    name: "customer",
                    pointer: "/customer/id",
                },
                limit: 1,
            }),
            rate: Some(KindRate {
                key: LimitKey::Kind,
                limit: 20,
                period: Duration::from_secs(1),
            }),
            ..KindOptions::default()
        }
    }
}

impl Job<()> for Charge {
    async fn perform(self, _ctx: JobContext<()>) -> JobResult {
        Ok(Outcome::Done)
    }
}

/// A kind limited by a key of a name with a `/` (`~1` in its pointer).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SyncAccount {
    #[serde(rename = "account/id")]
    account: Value,
}

impl JobKind for SyncAccount {
    const KIND: &'static str = "t_enqueue_sync";
    fn options() -> KindOptions {
        KindOptions {
            rate: Some(KindRate {
                key: LimitKey::Arg {
                    name: "account",
                    pointer: "/account~1id",
                },
                limit: 5,
                period: Duration::from_millis(1_500),
            }),
            ..KindOptions::default()
        }
    }
}

impl Job<()> for SyncAccount {
    async fn perform(self, _ctx: JobContext<()>) -> JobResult {
        Ok(Outcome::Done)
    }
}

fn test_registry() -> Registry<()> {
    Registry::new()
        .register::<Noop>()
        .register::<Charge>()
        .register::<SyncAccount>()
}

async fn a_registry_publishes_its_kinds(backend: Backend) {
    let db = TestDb::new(backend).await;
    assert!(db.store.published_kinds().await.expect("kinds").is_empty());
    let registry = test_registry();
    registry.publish(&db.store).await.expect("publish");
    let published = db.store.published_kinds().await.expect("kinds");
    assert_eq!(published, registry.describe());
    let charge = published.iter().find(|k| k.kind == "t_enqueue_charge").expect("charge");
    assert_eq!(
        (charge.queue.as_str(), charge.priority, charge.max_attempts),
        ("payments", -3, 4)
    );
    assert_eq!(
        charge.concurrency.as_ref().map(|c| (&c.key, c.limit, c.period)),
        Some((
            &comptoir::store::kinds::KeySource::Arg {
                name: "customer".into(),
                pointer: "/customer/id".into()
            },
            1,
            None
        ))
    );
    assert_eq!(
        charge.rate.as_ref().map(|r| (&r.key, r.limit, r.period)),
        Some((
            &comptoir::store::kinds::KeySource::Kind,
            20,
            Some(Duration::from_secs(1))
        ))
    );
    // Twice is the same; several processes at once agree.
    let other = test_registry();
    let (a, b) = tokio::join!(registry.publish(&db.store), other.publish(&db.store));
    a.expect("publish");
    b.expect("publish");
    assert_eq!(db.store.published_kinds().await.expect("kinds"), registry.describe());

    // A kind no longer registered can no longer be enqueued from SQL.
    let fewer = Registry::<()>::new().register::<Noop>();
    fewer.publish(&db.store).await.expect("publish");
    let kinds: Vec<String> = db
        .store
        .published_kinds()
        .await
        .expect("kinds")
        .into_iter()
        .map(|k| k.kind)
        .collect();
    assert_eq!(kinds, ["noop"]);
    let refused = sql_enqueue(&db, "t_enqueue_charge", &json!({"customer": {"id": 1}}), None).await;
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("unknown job kind")),
        "{refused:?}"
    );
}

/// One enqueue from SQL, as another program would make it: the job's id,
/// or the database's message.
async fn sql_enqueue(db: &TestDb, kind: &str, args: &Value, queue: Option<&str>) -> Result<i64, String> {
    use sqlx::Connection;
    match db.backend {
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
            sqlx::query_scalar("SELECT comptoir_enqueue($1, $2, queue => $3)")
                .bind(kind)
                .bind(args)
                .bind(queue)
                .fetch_one(&mut c)
                .await
                .map_err(|e| e.to_string())
        }
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.expect("connect");
            let request = sqlx::query("INSERT INTO comptoir_enqueue (kind, args, queue) VALUES (?1, ?2, ?3)")
                .bind(kind)
                .bind(args.to_string())
                .bind(queue)
                .execute(&mut c)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query_scalar("SELECT job_id FROM comptoir_enqueue WHERE id = ?1")
                .bind(request.last_insert_rowid())
                .fetch_one(&mut c)
                .await
                .map_err(|e| e.to_string())
        }
    }
}

/// What a job row carries of its defaults and limits.
type Carried = (
    String,
    i64,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

async fn carried(db: &TestDb, id: i64) -> Carried {
    use sqlx::Connection;
    let sql = "SELECT queue, CAST(priority AS BIGINT), CAST(max_attempts AS BIGINT), concurrency_key,
                      CAST(concurrency_limit AS BIGINT), rate_key, CAST(rate_limit AS BIGINT),
                      CAST(rate_period_ms AS BIGINT)
               FROM comptoir_jobs WHERE id = $1";
    match db.backend {
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
            sqlx::query_as(sql).bind(id).fetch_one(&mut c).await.expect("the job")
        }
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.expect("connect");
            sqlx::query_as(sql).bind(id).fetch_one(&mut c).await.expect("the job")
        }
    }
}

async fn sql_makes_the_defaults_and_limit_keys_rust_makes(backend: Backend) {
    let db = TestDb::new(backend).await;
    let registry = test_registry();
    registry.publish(&db.store).await.expect("publish");
    let cases = [
        ("t_enqueue_charge", json!({"customer": {"id": 42}}), None),
        (
            "t_enqueue_charge",
            json!({"customer": {"id": "cus_9"}, "note": "x"}),
            Some("other"),
        ),
        ("t_enqueue_charge", json!({"customer": {"id": true}}), None),
        ("t_enqueue_sync", json!({"account/id": "acct-1"}), None),
        ("t_enqueue_sync", json!({"account/id": -7}), None),
        ("noop", json!({}), None),
    ];
    for (kind, args, queue) in cases {
        let mut tx = db.store.begin().await.expect("begin");
        let opts = EnqueueOptions {
            queue: queue.map(str::to_string),
            ..EnqueueOptions::default()
        };
        let rust = match enqueue_raw(&mut tx, &registry, kind, args.clone(), opts)
            .await
            .expect("enqueue")
        {
            Inserted::New(id) => id,
            other => panic!("{other:?}"),
        };
        tx.commit().await.expect("commit");
        let sql = sql_enqueue(&db, kind, &args, queue).await.expect("SQL enqueue");
        assert_eq!(carried(&db, sql).await, carried(&db, rust).await, "{kind} {args}");
    }
    let keys = carried(&db, 1).await;
    assert_eq!(keys.3.as_deref(), Some("customer:42"));
    assert_eq!(keys.5.as_deref(), Some("kind:t_enqueue_charge"));

    // Args without the key's value: refused by both.
    for args in [
        json!({"customer": {}}),
        json!({"customer": {"id": ""}}),
        json!({"customer": {"id": [1]}}),
        json!({"customer": null}),
    ] {
        let before = jobs(&db).await;
        let mut tx = db.store.begin().await.expect("begin");
        let rust = enqueue_raw(
            &mut tx,
            &registry,
            "t_enqueue_charge",
            args.clone(),
            EnqueueOptions::default(),
        )
        .await;
        drop(tx);
        assert!(rust.is_err(), "{args}");
        let sql = sql_enqueue(&db, "t_enqueue_charge", &args, None).await;
        assert!(
            sql.as_ref()
                .is_err_and(|e| e.contains("comptoir_enqueue: args have no value")),
            "{args}: {sql:?}"
        );
        assert_eq!(jobs(&db).await, before);
    }
}
