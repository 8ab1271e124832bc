"""What the scenarios share: options, the temporary directory, the binaries, the
PostgreSQL cluster (started on first use), a random source, logging, and the clean-up
of everything started (run at the end, on failure and on Ctrl-C)."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

from .cluster import Cluster
from .database import DbError


class SetupError(Exception):
    pass


class Harness:
    def __init__(self, args, repo, rng):
        self.args = args
        self.repo = repo
        self.rng = rng
        self.began = time.monotonic()
        target = args.target_dir or os.path.join(repo, "target")
        self.worker_bin = os.path.join(target, "release", "comptoir-worker")
        self.web_bin = os.path.join(target, "release", "comptoir-web")
        self.root = tempfile.mkdtemp(prefix="comptoir-chaos-")
        self._cleanups = []
        self._cluster = None

    def log(self, message):
        print(f"chaos [{time.monotonic() - self.began:7.1f}s] {message}", file=sys.stderr, flush=True)

    def on_cleanup(self, fn):
        self._cleanups.append(fn)

    @property
    def cluster(self):
        if self._cluster is None:
            self._cluster = Cluster(self.root, self.log)
            self.on_cleanup(self._cluster.stop)
            self._cluster.start()
        return self._cluster

    def check_binaries(self):
        for b in (self.worker_bin, self.web_bin):
            if not os.access(b, os.X_OK):
                raise SetupError(f"{b} is missing: build it (cargo build --release --bins) or drop --no-build")

    def run(self, argv, env, stdin_text=None, what=None):
        """Runs a command of the binaries to completion (set-up steps)."""
        done = subprocess.run(argv, env=env, input=stdin_text, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise SetupError(f"{what or ' '.join(argv)} failed ({done.returncode}): "
                             f"{(done.stderr or done.stdout).strip()[-2000:]}")
        return done.stdout

    def migrate(self, env):
        self.run([self.worker_bin, "migrate"], env, what="comptoir-worker migrate")

    def worker_argv(self):
        argv = [self.worker_bin, "run"]
        if self.args.lease:
            argv += ["--lease", self.args.lease]
        return argv

    def retry_db(self, fn, attempts=60):
        """Runs a read that must succeed (final counts): waits out a restart."""
        for i in range(attempts):
            try:
                return fn()
            except DbError as e:
                if i == attempts - 1:
                    raise
                self.log(f"database not answering yet: {e}")
                time.sleep(1)

    def close(self):
        while self._cleanups:
            fn = self._cleanups.pop()
            try:
                fn()
            except Exception as e:  # clean-up goes on whatever failed before
                self.log(f"clean-up step failed: {e}")
        if self.args.keep:
            self.log(f"kept {self.root} (logs, data directories, the stopped cluster)")
        else:
            shutil.rmtree(self.root, ignore_errors=True)
