"""A PostgreSQL cluster of the harness's own: initdb in a temporary directory, started
with pg_ctl on a free port of 127.0.0.1, restarted on demand, stopped at the end. The
system server (5432) is never touched."""

import glob
import os
import pwd
import socket
import subprocess
import time


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin_dir():
    """The newest /usr/lib/postgresql/<version>/bin that has initdb."""
    found = [d for d in glob.glob("/usr/lib/postgresql/*/bin") if os.path.exists(os.path.join(d, "initdb"))]
    if not found:
        raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    return sorted(found, key=lambda d: [int(p) if p.isdigit() else 0 for p in d.split("/")[4].split(".")])[-1]


class Cluster:
    def __init__(self, root, log):
        self.bin = postgres_bin_dir()
        self.dir = os.path.join(root, "pg")
        self.data = os.path.join(self.dir, "data")
        self.logfile = os.path.join(self.dir, "postgres.log")
        self.port = free_port()
        self.log = log
        self.started = False
        os.makedirs(self.dir)
        # initdb refuses to run as root: the cluster then belongs to the postgres account.
        self.user = None
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("postgres")
            os.chmod(root, 0o755)
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)

    def url(self, database):
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv, timeout=120):
        kwargs = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        done = subprocess.run(
            [os.path.join(self.bin, argv[0]), *argv[1:]],
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def start(self):
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "-N")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=300"
        self._run("pg_ctl", "-D", self.data, "-l", self.logfile, "-w", "-t", "60", "-o", options, "start")
        self.started = True
        self.log(f"PostgreSQL {os.path.basename(os.path.dirname(self.bin))} on 127.0.0.1:{self.port} ({self.data})")

    def restart(self, mode):
        """pg_ctl restart -m fast|immediate; returns how long it took, in seconds."""
        begun = time.monotonic()
        self._run("pg_ctl", "-D", self.data, "-l", self.logfile, "-m", mode, "-w", "-t", "120", "restart", timeout=180)
        return time.monotonic() - begun

    def create_database(self, name):
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def psql(self):
        return os.path.join(self.bin, "psql")

    def stop(self):
        if not self.started:
            return
        self.started = False
        for mode in ("fast", "immediate"):
            try:
                self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "30", "stop", timeout=60)
                return
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                self.log(f"pg_ctl stop -m {mode}: {e}")
