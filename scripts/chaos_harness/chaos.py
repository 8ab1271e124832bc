"""The chaos loop shared by the scenarios: SIGKILL a random worker every few seconds (its
slot is started again at once), restart PostgreSQL at set points of the work's progress,
and after each restart check that every worker that lived through it claims and completes
jobs again. Workers being judged are spared from the kills until judged. The proof of a
claim is a completed probe: noop jobs enqueued after the restart, ahead of the queue
(priority -1), so that their ids are above any job claimed before it."""

import threading
import time

from .database import DbError, due_jobs, insert_noop_jobs, max_job_id

TICK = 0.25
PROBE_SLEEP_MS = 100
PROBES_PER_WORKER = 150
PROBE_PRIORITY = -1


class Restart(threading.Thread):
    def __init__(self, cluster, mode):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.mode = mode
        self.seconds = None
        self.error = None

    def run(self):
        try:
            self.seconds = self.cluster.restart(self.mode)
        except Exception as e:  # reported, and the scenario fails on what follows
            self.error = str(e)


class Chaos:
    def __init__(self, pool, db, log, *, cluster=None, restarts=(), kill_every=2.0, recovery_window=30.0,
                 on_tick=None):
        self.pool = pool
        self.db = db
        self.log = log
        self.cluster = cluster
        self.pending = list(restarts)
        self.total_restarts = len(self.pending)
        self.kill_every = kill_every
        self.window = recovery_window
        self.on_tick = on_tick or (lambda: None)
        self.protected = set()
        self.not_claiming = []
        self.restarts_done = []
        self.probes = 0
        self._restart = None
        self._judging = None

    def _threshold(self):
        done = self.total_restarts - len(self.pending)
        return (done + 1) / (self.total_restarts + 1)

    def _probe(self):
        n = PROBES_PER_WORKER * len(self.pool.slots)
        try:
            if self._judging is not None and self._judging["floor"] is None:
                self._judging["floor"] = max_job_id(self.db)
            insert_noop_jobs(self.db, n, PROBE_SLEEP_MS, PROBE_PRIORITY)
            self.probes += n
        except DbError as e:
            self.log(f"cannot enqueue probe jobs yet: {e}")
            return False
        return True

    def _begin_restart(self, mode):
        self.protected = set(self.pool.alive())
        self.log(f"restarting PostgreSQL (-m {mode}); sparing {len(self.protected)} workers until they claim again")
        self._restart = Restart(self.cluster, mode)
        self._restart.start()

    def _restart_finished(self):
        r = self._restart
        self._restart = None
        if r.error:
            self.log(f"pg_ctl restart -m {r.mode} failed: {r.error}")
            self.restarts_done.append((r.mode, None))
            self.protected = set()
            return
        self.restarts_done.append((r.mode, r.seconds))
        self.log(f"PostgreSQL back after pg_ctl restart -m {r.mode} ({r.seconds:.1f}s)")
        survivors = [c for c in self.protected if c.alive()]
        self.protected = set(survivors)
        self._judging = {"mode": r.mode, "pending": set(survivors), "deadline": time.monotonic() + self.window,
                         "floor": None, "probed_at": 0.0}
        if self._probe():
            self._judging["probed_at"] = time.monotonic()

    def _judge(self):
        j = self._judging
        for child in list(j["pending"]):
            claimed_again = j["floor"] is not None and child.max_completed_id > j["floor"]
            if claimed_again or not child.alive():
                # A probe completed (or the worker died: the pool counts that).
                j["pending"].discard(child)
                self.protected.discard(child)
        now = time.monotonic()
        # More probes while a worker waits to be judged and none is left to claim.
        if j["pending"] and now - j["probed_at"] >= (1.0 if j["floor"] is None else 3.0):
            try:
                if (j["floor"] is None or due_jobs(self.db, above_id=j["floor"]) == 0) and self._probe():
                    j["probed_at"] = now
            except DbError:
                pass
        if not j["pending"]:
            self._judging = None
        elif now >= j["deadline"]:
            for child in j["pending"]:
                self.not_claiming.append(f"{child.name} alive but completed no job in {self.window:.0f}s after "
                                         f"pg_ctl restart -m {j['mode']}: {child.tail(2)}")
                self.log(f"worker {child.name} did not recover after the restart")
            self._judging = None
            self.protected = set()

    def run(self, progress, done, timeout):
        """Until `done()` (checked once every restart is over) or `timeout` seconds.
        `progress()` is the fraction of the work done (restarts happen at 1/3 and 2/3
        for two restarts). Returns True if done, False on timeout."""
        start = time.monotonic()
        next_kill = start + self.kill_every
        next_check = start
        while True:
            now = time.monotonic()
            self.pool.poll()
            self.on_tick()
            if self.kill_every and now >= next_kill:
                self.pool.kill_random(spare=self.protected)
                next_kill = max(next_kill + self.kill_every, now + self.kill_every / 2)
            if self._restart is not None and not self._restart.is_alive():
                self._restart_finished()
            if self._judging is not None:
                self._judge()
            if now >= next_check:
                next_check = now + 0.5
                idle = self._restart is None and self._judging is None
                try:
                    if idle and self.pending and (progress() >= self._threshold() or done()):
                        self._begin_restart(self.pending.pop(0))
                    elif idle and not self.pending and done():
                        return True
                except DbError:
                    pass
            if now - start > timeout:
                self.log(f"timed out after {timeout:.0f}s")
                return False
            time.sleep(TICK)
