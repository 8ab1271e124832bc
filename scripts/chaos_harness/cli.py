"""scripts/chaos: options, the build, the scenarios in turn, one line per scenario on
standard output, and the exit status (1 when any count but the time is not 0)."""

import argparse
import os
import signal
import subprocess
import sys

from . import jobs_scenario, orders_scenario
from .database import DbError
from .harness import Harness, SetupError
from .processes import make_rng

SCENARIOS = {"jobs": "1", "orders": "2", "sqlite": "3"}
COUNTS = ("lost", "completed_twice", "charged_twice", "booked_twice", "unanswered", "unrecovered_workers")


def parse(argv):
    p = argparse.ArgumentParser(prog="scripts/chaos", description=(
        "Chaos harness: drains jobs and places orders while SIGKILLing workers and restarting PostgreSQL, "
        "then counts jobs lost or run twice, checkouts charged twice, receipts booked twice and workers "
        "that did not recover. Not run by CI."))
    p.add_argument("--scenarios", default="jobs,orders,sqlite",
                   help="comma-separated: jobs (1, PostgreSQL), orders (2, PostgreSQL), sqlite (3: jobs on SQLite)")
    p.add_argument("--jobs", type=int, default=10_000, help="noop jobs to drain (scenarios 1 and 3)")
    p.add_argument("--orders", type=int, default=1_000, help="checkouts to place (scenario 2)")
    p.add_argument("--workers", type=int, default=3, help="worker processes")
    p.add_argument("--clients", type=int, default=8, help="concurrent checkout clients (scenario 2)")
    p.add_argument("--job-sleep-ms", type=int, default=200, help="how long each noop job sleeps")
    p.add_argument("--kill-every", type=float, default=2.0, help="seconds between two SIGKILLs of a worker")
    p.add_argument("--pg-restarts", default="fast,immediate",
                   help="pg_ctl restart modes, in order, spread over the work ('' for none)")
    p.add_argument("--recovery-window", type=float, default=30.0,
                   help="seconds a worker that lived through a restart has to complete a job again")
    p.add_argument("--lease", help="--lease given to the workers (default: theirs, 30s)")
    p.add_argument("--stripe-delay-ms", type=int, default=300,
                   help="how long the Stripe stand-in takes to answer (Stripe itself: a few hundred ms)")
    p.add_argument("--client-timeout", type=float, default=10.0, help="a checkout request's time-out, seconds")
    p.add_argument("--give-up", type=float, default=120.0,
                   help="seconds a checkout client goes on retrying one checkout before it gives up")
    p.add_argument("--fast-forward", action="store_true",
                   help="once every checkout is answered, run the scheduled safety-net charge jobs now "
                        "(comptoir-worker jobs retry) instead of waiting their 120 s")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds a scenario may take to drain or settle")
    p.add_argument("--seed", type=int, help="random seed (which worker is killed)")
    p.add_argument("--no-build", action="store_true", help="use the release binaries as they are")
    p.add_argument("--target-dir", help="where the release binaries are (default: <repo>/target)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, data) for inspection")
    a = p.parse_args(argv)
    chosen = []
    for s in filter(None, (x.strip() for x in a.scenarios.split(","))):
        name = next((k for k, v in SCENARIOS.items() if s in (k, v)), None)
        if name is None:
            p.error(f"--scenarios: {s!r} is not one of {', '.join(SCENARIOS)} (or 1, 2, 3)")
        chosen.append(name)
    a.scenarios = chosen
    a.pg_restarts = [m.strip() for m in a.pg_restarts.split(",") if m.strip()]
    for m in a.pg_restarts:
        if m not in ("smart", "fast", "immediate"):
            p.error(f"--pg-restarts: {m!r} is not fast, immediate or smart")
    for name in ("jobs", "orders", "workers", "clients"):
        if getattr(a, name) < 1:
            p.error(f"--{name} must be at least 1")
    return a


def line(result):
    fields = [f"scenario={result['scenario']}", f"backend={result['backend']}"]
    fields += [f"{k}={result[k]}" for k in COUNTS if k in result]
    fields.append(f"drain_s={result['drain_s']}")
    # Not a failure: at-least-once execution re-runs a job whose worker died
    # before recording its completion (idempotency keys make it harmless).
    if "reruns" in result:
        fields.append(f"reruns={result['reruns']}")
    return "chaos " + " ".join(fields)


def failed(result):
    return any(result.get(k) for k in COUNTS)


def interrupted(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    if not args.no_build:
        print("chaos: cargo build --release --bins", file=sys.stderr, flush=True)
        if subprocess.run(["cargo", "build", "--release", "--bins"], cwd=repo).returncode != 0:
            print("chaos: the build failed", file=sys.stderr)
            return 3
    h = Harness(args, repo, make_rng(args.seed))
    results = []
    try:
        h.check_binaries()
        for name in args.scenarios:
            if name == "jobs":
                result = jobs_scenario.run(h, "postgres")
            elif name == "sqlite":
                result = jobs_scenario.run(h, "sqlite")
            else:
                result = orders_scenario.run(h)
            results.append(result)
            h.log("detail " + " ".join(f"{k}={v}" for k, v in result["detail"].items()))
            print(line(result), flush=True)
    except (SetupError, RuntimeError, DbError) as e:
        h.log(f"the harness could not go on: {e}")
        return 3
    except KeyboardInterrupt:
        h.log("interrupted: cleaning up")
        return 130
    finally:
        h.close()
    return 1 if any(failed(r) for r in results) else 0
