"""The processes under test: each incarnation of a worker (or the web process) is a child
with a log file of its own, read as it grows. From the worker logs the harness learns when
a worker has started ("worker started"), every completion the worker recorded in the
database (with comptoir::jobs::completer=debug: `completion recorded job.id=…`, one line
per row its guarded UPDATE changed) and every handler that returned Done (with
comptoir::jobs::executor=debug: `execute{job.id=… }: attempt ended ended=Completed`). A job
whose handler returned Done twice ran again because its worker died before recording its
completion: at-least-once execution, reported as a re-run. A completion recorded twice
would be a bug."""

import collections
import os
import random
import re
import signal
import subprocess
import time

LOG_FILTER = "info,sqlx=warn,comptoir::jobs::executor=debug,comptoir::jobs::completer=debug"
COMPLETED = re.compile(rb"job\.id=(\d+)[^\n]*attempt ended ended=Completed")
RECORDED = re.compile(rb"completion recorded job\.id=(\d+)")
STARTED = b"worker started"
RESPAWN_AFTER_START_FAILURE = 0.5


class Child:
    def __init__(self, name, argv, env, logpath):
        self.name = name
        self.logpath = logpath
        with open(logpath, "wb") as out:
            self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.started_at = time.monotonic()
        self.killed = False
        self.ready = False
        self.completions = 0
        self.max_completed_id = 0
        self._offset = 0
        self._partial = b""

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        """Signals this child (by its own pid only)."""
        if self.alive():
            self.killed = True
            os.kill(self.proc.pid, sig)

    def scan(self, completed_by_id, recorded_by_id):
        """Reads what the log gained since the last scan."""
        try:
            with open(self.logpath, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except OSError:
            return
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            if STARTED in line:
                self.ready = True
            r = RECORDED.search(line)
            if r:
                recorded_by_id[int(r.group(1))] += 1
            m = COMPLETED.search(line)
            if m:
                job_id = int(m.group(1))
                completed_by_id[job_id] += 1
                self.completions += 1
                self.max_completed_id = max(self.max_completed_id, job_id)

    def tail(self, n=3):
        try:
            with open(self.logpath, "rb") as f:
                lines = f.read().decode(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(lines[-n:])


class WorkerPool:
    """N worker slots; a slot whose process was killed is started again at once."""

    def __init__(self, argv, env, count, logdir, log, rng):
        self.argv = argv
        self.env = env
        self.logdir = logdir
        self.log = log
        self.rng = rng
        self.slots = [None] * count
        self.respawn_at = [0.0] * count
        self.retired = []
        self.incarnations = 0
        self.completed_by_id = collections.Counter()
        self.recorded_by_id = collections.Counter()
        self.kills = 0
        self.start_failures = 0
        self.died = []  # workers that had started and exited without being killed

    def _spawn(self, slot):
        self.incarnations += 1
        name = f"worker{slot}#{self.incarnations}"
        self.slots[slot] = Child(name, self.argv, self.env, os.path.join(self.logdir, f"{name}.log"))

    def start(self):
        for slot in range(len(self.slots)):
            self._spawn(slot)

    def _retire(self, slot):
        child = self.slots[slot]
        child.proc.wait()
        child.scan(self.completed_by_id, self.recorded_by_id)
        self.retired.append(child)
        self.slots[slot] = None

    def poll(self):
        """Reads the logs; restarts a slot whose process ended on its own."""
        now = time.monotonic()
        for slot, child in enumerate(self.slots):
            if child is None:
                if now >= self.respawn_at[slot]:
                    self._spawn(slot)
                continue
            child.scan(self.completed_by_id, self.recorded_by_id)
            if child.alive():
                continue
            code = child.proc.returncode
            self._retire(slot)
            if child.ready:
                self.died.append(f"{child.name} exited {code} by itself after {now - child.started_at:.1f}s: "
                                 f"{child.tail()}")
                self.log(f"worker {child.name} died unexpectedly (exit {code})")
                self._spawn(slot)
            else:
                # Failed to start (e.g. the database was restarting): systemd's
                # Restart=on-failure would start it again, and so does the harness.
                self.start_failures += 1
                self.respawn_at[slot] = now + RESPAWN_AFTER_START_FAILURE

    def alive(self):
        return [c for c in self.slots if c is not None and c.alive()]

    def kill_random(self, spare=()):
        """SIGKILLs one live worker not in `spare`, and starts its slot again at once."""
        choices = [s for s, c in enumerate(self.slots) if c is not None and c.alive() and c not in spare]
        if not choices:
            return None
        slot = self.rng.choice(choices)
        child = self.slots[slot]
        child.kill()
        self._retire(slot)
        self.kills += 1
        self._spawn(slot)
        return child

    def stop(self, grace=40.0):
        """SIGTERM to every live worker, SIGKILL to those still there after `grace`;
        returns the names of those that had to be killed."""
        live = [c for c in self.slots if c is not None]
        for c in live:
            if c.alive():
                os.kill(c.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        stuck = []
        for c in live:
            try:
                c.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                stuck.append(c.name)
                c.kill()
                c.proc.wait()
        for slot, c in enumerate(self.slots):
            if c is not None:
                self._retire(slot)
        return stuck

    def kill_all(self):
        for c in self.slots:
            if c is not None and c.alive():
                c.kill()
                c.proc.wait()


def child_env(extra):
    """The harness's environment without any Comptoir or database setting of the caller's."""
    env = {k: v for k, v in os.environ.items() if not (k.startswith("COMPTOIR_") or k in ("DATABASE_URL", "RUST_LOG"))}
    env["RUST_LOG"] = LOG_FILTER
    env.update(extra)
    return env


def make_rng(seed):
    return random.Random(seed)
