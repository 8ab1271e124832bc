"""Scenarios 1 and 3: drain N noop jobs with workers SIGKILLed every few seconds (and, on
PostgreSQL, the server restarted twice). Counts: jobs lost (not completed at the end),
jobs run to completion twice (from the workers' logs: a completion recorded twice in the
database for one job id), workers that did not recover, and the time to drain; beside them,
re-runs (a handler that returned Done twice for one job: its worker died before recording
the first completion), which at-least-once execution allows."""

import os
import time

from .chaos import Chaos
from .database import UNFINISHED, PgDb, SqliteDb, insert_noop_jobs, job_states
from .processes import WorkerPool, child_env


def wait_ready(h, pool, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pool.poll()
        if all(c is not None and c.ready for c in pool.slots):
            return
        time.sleep(0.1)
    raise RuntimeError("workers did not start: " + "; ".join(c.tail() for c in pool.slots if c))


def completed_twice(pool):
    """Jobs whose completion was recorded twice in the database."""
    return sorted(i for i, n in pool.recorded_by_id.items() if n > 1)


def reruns(pool):
    """Jobs whose handler ran to its end more than once: the worker died before recording the
    completion, and the job ran again (at least once)."""
    return sorted(i for i, n in pool.completed_by_id.items() if n > 1)


def run(h, backend):
    a = h.args
    data = os.path.join(h.root, f"jobs-{backend}")
    logs = os.path.join(data, "logs")
    os.makedirs(logs)
    if backend == "postgres":
        h.cluster.create_database("chaos_jobs")
        url = h.cluster.url("chaos_jobs")
        db = PgDb(h.cluster.psql(), h.cluster.port, "chaos_jobs")
        cluster, restarts = h.cluster, a.pg_restarts
    else:
        url = f"sqlite://{data}/comptoir.db"
        db = SqliteDb(os.path.join(data, "comptoir.db"))
        cluster, restarts = None, []
    env = child_env({"DATABASE_URL": url, "COMPTOIR_DATA_DIR": data})
    h.migrate(env)
    pool = WorkerPool(h.worker_argv(), env, a.workers, logs, h.log, h.rng)
    h.on_cleanup(pool.kill_all)
    pool.start()
    wait_ready(h, pool)

    h.log(f"scenario jobs/{backend}: {a.jobs} noop jobs (sleep {a.job_sleep_ms} ms), {a.workers} workers, "
          f"a SIGKILL every {a.kill_every}s" + (f", PostgreSQL restarts {','.join(restarts)}" if restarts else ""))
    insert_noop_jobs(db, a.jobs, a.job_sleep_ms)
    began = time.monotonic()
    noop = "kind = 'noop'"

    def progress():
        s = job_states(db, noop)
        return s.get("completed", 0) / max(1, sum(s.values()))

    def done():
        s = job_states(db, noop)
        return not any(s.get(state) for state in UNFINISHED)

    chaos = Chaos(pool, db, h.log, cluster=cluster, restarts=restarts, kill_every=a.kill_every,
                  recovery_window=a.recovery_window)
    finished = chaos.run(progress, done, a.timeout)
    drain_s = time.monotonic() - began
    stuck = pool.stop()

    states = h.retry_db(lambda: job_states(db, noop))
    total = sum(states.values())
    lost = total - states.get("completed", 0)
    twice = completed_twice(pool)
    again = reruns(pool)
    completed_ids = {int(r[0]) for r in h.retry_db(lambda: db.query(
        "SELECT id FROM comptoir_jobs WHERE kind = 'noop' AND state = 'completed'"))}
    unlogged = len([i for i in completed_ids if pool.completed_by_id[i] == 0])
    attempts = h.retry_db(lambda: db.query(
        "SELECT max(attempt), sum(CASE WHEN attempt > 1 THEN 1 ELSE 0 END) FROM comptoir_jobs WHERE kind = 'noop'"))[0]
    unrecovered = pool.died + chaos.not_claiming
    for line in unrecovered:
        h.log(f"unrecovered: {line}")
    if lost:
        for row in h.retry_db(lambda: db.query(
                f"SELECT id, state, attempt FROM comptoir_jobs WHERE {noop} AND state <> 'completed' ORDER BY id LIMIT 5")):
            h.log(f"not completed: job {row[0]} {row[1]} after {row[2]} attempts")
    if twice:
        h.log(f"run to completion twice: jobs {twice[:20]}{' …' if len(twice) > 20 else ''}")
    detail = {
        "jobs": a.jobs, "probes": chaos.probes, "states": ",".join(f"{k}:{v}" for k, v in sorted(states.items())),
        "kills": pool.kills, "start_failures": pool.start_failures,
        "restarts": ",".join(f"{m}:{'failed' if s is None else f'{s:.1f}s'}" for m, s in chaos.restarts_done),
        "completions_logged": sum(pool.completed_by_id.values()), "completed_unlogged": unlogged,
        "completions_recorded": sum(pool.recorded_by_id.values()),
        "recorded_unlogged": len([i for i in completed_ids if pool.recorded_by_id[i] == 0]),
        "max_attempt": attempts[0], "jobs_with_attempt_gt1": attempts[1],
        "stuck_on_sigterm": len(stuck), "finished": finished,
    }
    return {
        "scenario": "jobs", "backend": backend, "lost": lost, "completed_twice": len(twice), "reruns": len(again),
        "unrecovered_workers": len(unrecovered), "drain_s": round(drain_s, 1), "detail": detail,
        "logs": logs,
    }
