"""Scenario 2: checkouts through POST /api/orders with provider stripe (the stand-in),
from concurrent clients that retry like a real checkout, while workers are SIGKILLed and
PostgreSQL restarts twice; then everything settles (every payment completed or failed,
every job finished but the periodic slots to come). Counts: checkouts charged twice at the
provider (distinct succeeded PaymentIntents per checkout, a PaymentIntent mapped to its
checkout through its metadata comptoir_payment_id -> payment -> customer, whose e-mail
names the checkout), livre de recettes lines booked twice (per checkout and nature),
checkouts never answered, jobs lost, jobs run to completion twice, workers that did not
recover (the web process counts if it dies), and the time to settle."""

import collections
import hashlib
import os
import secrets
import subprocess
import time
import urllib.request

from .chaos import Chaos
from .checkout import Checkouts, checkout_of
from .cluster import free_port
from .database import PgDb
from .jobs_scenario import completed_twice, reruns, wait_ready
from .processes import Child, WorkerPool, child_env
from .stripe import SECRET_KEY, StripeStandIn

OPERATOR = "chaos@example.fr"
# Jobs that are not lost when still waiting at the end: the next slots of periodic jobs.
PENDING_BY_DESIGN = "(state = 'scheduled' AND unique_key LIKE 'periodic:%')"
NOT_FINAL_PAYMENT = "status IN ('initiated', 'pending')"


def has_command(argv, env):
    """Whether the binary knows this (sub)command: `--help` exits 0, clap's usage error 2."""
    done = subprocess.run([*argv, "--help"], env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    return done.returncode == 0


def set_up_billing(h, db, env):
    h.run([h.worker_bin, "billing", "configure", "--seller-name", "Chaos Harness EI", "--siren", "732829320",
           "--address", "12 rue des Lilas\\n75011 Paris", "--email", OPERATOR, "--activity", "mixed"],
          env, what="comptoir-worker billing configure")
    h.run([h.web_bin, "admin", "create", "--email", OPERATOR, "--name", "Chaos harness"],
          dict(env, COMPTOIR_ADMIN_PASSWORD=secrets.token_hex(16)), what="comptoir-web admin create")
    create_key = [h.web_bin, "admin", "api-key", "create"]
    if has_command(create_key, env):
        key = h.run([*create_key, "--email", OPERATOR, "--name", "chaos harness"], env).strip()
    else:
        # Stored as src/auth/api_keys.rs does (ck_<prefix>_<secret>, its SHA-256).
        prefix = secrets.token_hex(4)
        key = f"ck_{prefix}_{secrets.token_hex(24)}"
        db.query("INSERT INTO api_keys (operator_id, name, prefix, key_hash, created_at) "
                 f"SELECT id, 'chaos harness', '{prefix}', '{hashlib.sha256(key.encode()).hexdigest()}', now() "
                 f"FROM operators WHERE email = '{OPERATOR}'")
    # The catalogue, as tests/it/web/api_orders.rs sets it up: goods and services.
    products = [("MUG", "Mug émaillé", "goods", 1990), ("ATELIER", "Atelier céramique", "services", 4500)]
    add_product = [h.worker_bin, "billing", "product", "add"]
    if has_command(add_product, env):
        for sku, name, nature, minor in products:
            h.run([*add_product, "--sku", sku, "--name", name, "--nature", nature,
                   "--price", f"{minor // 100}.{minor % 100:02d}"], env)
    else:
        db.query("INSERT INTO products (sku, name, nature, unit_price_minor, currency, active, created_at) VALUES "
                 + ", ".join(f"('{sku}', '{name}', '{nature}', {minor}, 'EUR', true, now())"
                             for sku, name, nature, minor in products))
    return key


class Web:
    """The web process (--no-worker), started again if it dies by itself."""

    def __init__(self, h, env, logs):
        self.h = h
        self.env = env
        self.logs = logs
        self.port = free_port()
        self.child = None
        self.n = 0
        self.died = []

    def start(self):
        self.n += 1
        self.child = Child(f"web#{self.n}", [self.h.web_bin, "--bind", f"127.0.0.1:{self.port}", "--no-worker"],
                           self.env, os.path.join(self.logs, f"web#{self.n}.log"))

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if not self.child.alive():
                break
            time.sleep(0.2)
        raise RuntimeError(f"the web process is not ready: {self.child.tail()}")

    def watch(self):
        if self.child.alive():
            return
        self.died.append(f"{self.child.name} exited {self.child.proc.returncode} by itself: {self.child.tail()}")
        self.h.log(f"the web process died unexpectedly (exit {self.child.proc.returncode}); starting it again")
        self.start()

    def stop(self):
        if self.child and self.child.alive():
            self.child.kill(sig=15)
            try:
                self.child.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.proc.wait()


def fast_forward(h, db, env):
    """Makes the scheduled safety-net charge jobs due now, as an operator would with
    `comptoir-worker jobs retry`."""
    ids = [r[0] for r in db.query("SELECT id FROM comptoir_jobs WHERE kind = 'billing.charge_payment' "
                                  "AND state = 'scheduled'")]
    for i in range(0, len(ids), 500):
        h.run([h.worker_bin, "jobs", "retry", *ids[i:i + 500]], env, what="comptoir-worker jobs retry")
    h.log(f"fast-forward: {len(ids)} safety-net charge jobs made due now")


def settled(db):
    payments = int(db.scalar(f"SELECT count(*) FROM payments WHERE {NOT_FINAL_PAYMENT}"))
    jobs = int(db.scalar("SELECT count(*) FROM comptoir_jobs WHERE state IN "
                         f"('available', 'scheduled', 'running', 'retryable') AND NOT {PENDING_BY_DESIGN}"))
    return payments == 0 and jobs == 0


def run(h):
    a = h.args
    data = os.path.join(h.root, "orders")
    logs = os.path.join(data, "logs")
    os.makedirs(logs)
    h.cluster.create_database("chaos_orders")
    db = PgDb(h.cluster.psql(), h.cluster.port, "chaos_orders")
    stripe = StripeStandIn(a.stripe_delay_ms).start()
    h.on_cleanup(stripe.stop)
    env = child_env({"DATABASE_URL": h.cluster.url("chaos_orders"), "COMPTOIR_DATA_DIR": data,
                     "COMPTOIR_STRIPE_SECRET_KEY": SECRET_KEY, "COMPTOIR_STRIPE_API_BASE": stripe.base})
    h.migrate(env)
    api_key = set_up_billing(h, db, env)
    web = Web(h, env, logs)
    h.on_cleanup(web.stop)
    web.start()
    web.wait_ready()
    pool = WorkerPool(h.worker_argv(), env, a.workers, logs, h.log, h.rng)
    h.on_cleanup(pool.kill_all)
    pool.start()
    wait_ready(h, pool)

    run_id = secrets.token_hex(3)
    h.log(f"scenario orders/postgres: {a.orders} checkouts from {a.clients} clients, {a.workers} workers, "
          f"a SIGKILL every {a.kill_every}s, PostgreSQL restarts {','.join(a.pg_restarts) or 'none'}")
    began = time.monotonic()
    clients = Checkouts(web.port, api_key, a.orders, a.clients, a.client_timeout, a.give_up, run_id).start()
    forwarded = {"done": not a.fast_forward, "at": None}

    def on_tick():
        web.watch()
        if not forwarded["done"] and clients.finished():
            forwarded["at"] = forwarded["at"] or time.monotonic() + 2.0
            if time.monotonic() >= forwarded["at"]:
                try:
                    fast_forward(h, db, env)
                    forwarded["done"] = True
                except Exception as e:  # the database may be restarting: again in a moment
                    h.log(f"fast-forward failed, trying again: {e}")
                    forwarded["at"] = time.monotonic() + 2.0

    chaos = Chaos(pool, db, h.log, cluster=h.cluster, restarts=a.pg_restarts, kill_every=a.kill_every,
                  recovery_window=a.recovery_window, on_tick=on_tick)
    finished = chaos.run(lambda: clients.answered() / a.orders,
                         lambda: clients.finished() and settled(db), a.timeout)
    settle_s = time.monotonic() - began
    stuck = pool.stop()
    web.stop()
    return count(h, db, stripe, clients, pool, chaos, web, run_id, {
        "finished": finished, "stuck_on_sigterm": len(stuck)}, settle_s, logs)


def emails_delivered_twice(mail_dir):
    """Messages written more than once by the file transport (same Message-ID)."""
    seen = collections.Counter()
    for name in os.listdir(mail_dir) if os.path.isdir(mail_dir) else ():
        with open(os.path.join(mail_dir, name), "rb") as f:
            for line in f:
                if line.lower().startswith(b"message-id:"):
                    seen[line.split(b":", 1)[1].strip()] += 1
                    break
                if not line.strip():
                    break
    return sum(1 for n in seen.values() if n > 1)


def count(h, db, stripe, clients, pool, chaos, web, run_id, detail, settle_s, logs):
    payments = h.retry_db(lambda: db.query(
        "SELECT p.id, c.email, p.status, p.order_id FROM payments p JOIN customers c ON c.id = p.customer_id"))
    checkout_of_payment = {int(pid): checkout_of(run_id, email) for pid, email, _, _ in payments}
    orders_per_checkout = collections.Counter(checkout_of(run_id, email) for _, email, _, _ in payments)

    charges = collections.defaultdict(set)
    orphans = 0
    intents = stripe.snapshot()
    for pi, status, _amount, _key, metadata in intents:
        n = checkout_of_payment.get(int(metadata.get("comptoir_payment_id", "0") or 0))
        if n is None:
            orphans += 1
        elif status == "succeeded":
            charges[n].add(pi)
    charged_twice = sorted(n for n, pis in charges.items() if len(pis) > 1)

    booked = h.retry_db(lambda: db.query(
        "SELECT c.email, r.nature, count(*) FROM revenue_book r JOIN payments p ON p.id = r.payment_id "
        "JOIN customers c ON c.id = p.customer_id WHERE r.refund_id IS NULL "
        "GROUP BY c.email, r.nature HAVING count(*) > 1"))
    booked_twice = sorted({checkout_of(run_id, email) for email, _, _ in booked})

    lost_rows = h.retry_db(lambda: db.query(
        f"SELECT kind, state, count(*) FROM comptoir_jobs WHERE state <> 'completed' AND NOT {PENDING_BY_DESIGN} "
        "GROUP BY kind, state ORDER BY kind, state"))
    lost = sum(int(r[2]) for r in lost_rows)
    twice = completed_twice(pool)
    again = reruns(pool)
    unanswered = [n for n in range(clients.count) if clients.results.get(n, {}).get("status") is None
                  or clients.results[n]["status"] >= 300]
    unrecovered = pool.died + chaos.not_claiming + web.died

    for n in charged_twice[:10]:
        h.log(f"charged twice: checkout {n} (key {clients.key(n)}): PaymentIntents {sorted(charges[n])}, "
              f"{orders_per_checkout[n]} orders, answer {clients.results.get(n)}")
    for n in unanswered[:5]:
        h.log(f"unanswered: checkout {n}: {clients.results.get(n)}")
    for line in unrecovered:
        h.log(f"unrecovered: {line}")
    if lost_rows:
        h.log("not completed: " + ", ".join(f"{k} {s}:{c}" for k, s, c in lost_rows))
    if twice:
        h.log(f"run to completion twice: jobs {twice[:20]}{' …' if len(twice) > 20 else ''}")

    statuses = collections.Counter(r.get("status") for r in clients.results.values())
    payment_states = collections.Counter(status for _, _, status, _ in payments)
    detail.update({
        "orders": clients.count, "answers": ",".join(f"{k}:{v}" for k, v in sorted(statuses.items(), key=str)),
        "replayed_answers": sum(1 for r in clients.results.values() if r.get("replayed")),
        "client_retries": ",".join(f"{k}:{v}" for k, v in sorted(clients.seen.items())) or "none",
        "orders_created": len(payments),
        "checkouts_with_2plus_orders": sum(1 for n, c in orders_per_checkout.items() if n is not None and c > 1),
        "payments": ",".join(f"{k}:{v}" for k, v in sorted(payment_states.items())),
        "payment_intents": len(intents), "unmapped_intents": orphans, "stripe_replays": stripe.replays,
        "stripe_key_mismatches": stripe.mismatches, "stripe_unexpected": len(stripe.unexpected),
        "kills": pool.kills, "start_failures": pool.start_failures, "probes": chaos.probes,
        "restarts": ",".join(f"{m}:{'failed' if s is None else f'{s:.1f}s'}" for m, s in chaos.restarts_done),
        "completions_logged": sum(pool.completed_by_id.values()),
        "emails_delivered_twice": emails_delivered_twice(os.path.join(os.path.dirname(logs), "mail")),
    })
    return {
        "scenario": "orders", "backend": "postgres", "lost": lost, "completed_twice": len(twice), "reruns": len(again),
        "charged_twice": len(charged_twice), "booked_twice": len(booked_twice), "unanswered": len(unanswered),
        "unrecovered_workers": len(unrecovered), "drain_s": round(settle_s, 1), "detail": detail, "logs": logs,
    }
