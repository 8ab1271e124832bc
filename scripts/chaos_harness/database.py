"""What the harness reads and writes in the database under test: PostgreSQL through
psql, SQLite through Python's sqlite3. Rows come back as tuples of strings (None for
NULL); an unreachable database raises DbError, which callers treat as "try later"."""

import os
import sqlite3
import subprocess


class DbError(Exception):
    pass


class PgDb:
    backend = "postgres"

    def __init__(self, psql, port, database):
        self.psql = psql
        self.port = port
        self.database = database

    def query(self, sql, timeout=30):
        env = dict(os.environ, PGCONNECT_TIMEOUT="5")
        try:
            done = subprocess.run(
                [self.psql, "-X", "-q", "-A", "-t", "-F", "\t", "-P", "null=\\N", "-v", "ON_ERROR_STOP=1",
                 "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", self.database, "-c", sql],
                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, env=env,
            )
        except subprocess.TimeoutExpired as e:
            raise DbError(f"psql timed out after {timeout}s") from e
        if done.returncode != 0:
            raise DbError(done.stderr.strip() or f"psql exited {done.returncode}")
        return [tuple(None if v == "\\N" else v for v in line.split("\t"))
                for line in done.stdout.splitlines() if line != ""]

    def scalar(self, sql):
        rows = self.query(sql)
        return rows[0][0] if rows else None


class SqliteDb:
    backend = "sqlite"

    def __init__(self, path):
        self.path = path

    def query(self, sql, timeout=30):
        try:
            conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as e:
            raise DbError(str(e)) from e
        try:
            rows = conn.execute(sql).fetchall()
            return [tuple(None if v is None else str(v) for v in row) for row in rows]
        except sqlite3.Error as e:
            raise DbError(str(e)) from e
        finally:
            conn.close()

    def scalar(self, sql):
        rows = self.query(sql)
        return rows[0][0] if rows else None


def insert_noop_jobs(db, count, sleep_ms, priority=0):
    """Enqueues `count` noop jobs in one statement, the way a bulk enqueue (or plain SQL
    written by another system) would; PostgreSQL's insert trigger wakes the workers.
    Lower priorities run first."""
    if db.backend == "postgres":
        db.query(
            "INSERT INTO comptoir_jobs (kind, args, priority) "
            f"SELECT 'noop', jsonb_build_object('sleep_ms', {int(sleep_ms)}), {int(priority)} "
            f"FROM generate_series(1, {int(count)})"
        )
    else:
        # Python's SQLite may predate unixepoch('subsec') in the column defaults: the
        # times are given, in the schema's unit (ms since the epoch, SQLite's clock).
        db.query(
            f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {int(count)}), "
            "t(ms) AS (SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)) "
            "INSERT INTO comptoir_jobs (kind, args, priority, run_at, created_at, updated_at) "
            f"SELECT 'noop', json_object('sleep_ms', {int(sleep_ms)}), {int(priority)}, t.ms, t.ms, t.ms FROM n, t"
        )


def job_states(db, where="TRUE"):
    """{state: count} of the jobs matching `where`."""
    rows = db.query(f"SELECT state, count(*) FROM comptoir_jobs WHERE {where} GROUP BY state")
    return {state: int(n) for state, n in rows}


UNFINISHED = ("available", "scheduled", "running", "retryable")


def due_jobs(db, above_id=0):
    """Jobs a worker could claim right now (of those whose id is above `above_id`)."""
    now = "now()" if db.backend == "postgres" else "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
    return int(db.scalar(
        "SELECT count(*) FROM comptoir_jobs WHERE state IN ('available', 'scheduled', 'retryable') "
        f"AND run_at <= {now} AND id > {int(above_id)}"
    ))


def max_job_id(db):
    return int(db.scalar("SELECT coalesce(max(id), 0) FROM comptoir_jobs"))
