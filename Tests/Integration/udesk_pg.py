"""Throwaway PostgreSQL 15 clusters for the end-to-end tests of the PostgreSQL store.

Nothing is expected to run before the tests, and no system cluster is used: each PgCluster is
initdb'd into its own temporary folder, listens on a free TCP port on 127.0.0.1 and on a Unix
socket inside that folder, and is removed by destroy().  The server runs as the `postgres`
system user (through `runuser`) when the tests run as root, as the current user otherwise.

Authentication (pg_hba.conf), so that tests can check password handling:

    local (Unix socket)   any role          trust
    TCP 127.0.0.1         role `udesk`      scram-sha-256, password PASSWORD ("s3cret-pw")
    TCP 127.0.0.1         any other role    trust (so `postgres` needs no password)
    replication           socket and TCP    trust

Settings are for tests, not for keeping data: fsync off, synchronous_commit off (a commit may
be lost by stop("immediate") unless it was made with synchronous_commit = on, as after a real
crash), wal_level replica with WAL senders and hot_standby on for streaming standbys, 200
connections, 16MB of shared_buffers.

Standard library only (plus udesk_it's wait_until, tail and free_port).  Every wait is bounded; a failure raises
PgError with the tail of the cluster's server log.

    primary = PgCluster().start()
    standby = primary.standby()            # streaming hot standby, started
    primary.psql("create table t (x int); insert into t values (1)", db="postgres")
    standby.wait_caught_up(primary)
    assert standby.psql("select x from t") == "1"
    uri = pg_multi_host_uri([standby, primary], "postgres", target_session_attrs="read-write")
    standby.destroy(); primary.destroy()
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import urllib.parse
from pathlib import Path

from udesk_it import free_port, tail, wait_until

# Where initdb, pg_ctl, psql... are (Debian's postgresql-15 package); PG_BIN overrides.
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
# The system user the server runs as when the tests run as root (postgres refuses root).
PG_OS_USER = "postgres"
SUPERUSER = "postgres"
# The role that must give a password over TCP.
PASSWORD_ROLE = "udesk"
PASSWORD = "s3cret-pw"
# Parent of the clusters' folders: every directory above a cluster must be searchable by the
# postgres user (pytest's own tmp_path is mode 0700 and root's, so it is not used by default).
TMP_ROOT = os.environ.get("UDESK_PG_TMP", tempfile.gettempdir())
# UDESK_PG_KEEP=1 keeps the folders (data and server.log) after destroy(), for a post-mortem.
KEEP = os.environ.get("UDESK_PG_KEEP", "") not in ("", "0")
# Added to every URI unless given: a connection attempt to a dead host fails in 2 s, not 75.
DEFAULT_URI_PARAMS = {"connect_timeout": "2"}

STOP_MODES = ("smart", "fast", "immediate")


class PgError(RuntimeError):
    """A cluster did not do what it was asked; the message has the server log's tail."""


def quote_ident(name: str) -> str:
    """An SQL identifier, quoted: quote_ident('a"b') == '"a""b"'."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """An SQL string literal (standard_conforming_strings is on): quote_literal("it's") == "'it''s'"."""
    return "'" + text.replace("'", "''") + "'"


def clean_env(extra: dict | None = None) -> dict:
    """This process's environment without the PG* variables (PGHOST, PGPASSWORD, PGPASSFILE...
    of whoever runs the tests must not steer the tests' connections), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(extra or {})
    return env


def run_psql(conninfo: str, sql: str, *, env: dict | None = None, timeout: float = 30.0,
             check: bool = True) -> subprocess.CompletedProcess:
    """Runs `psql -XAtqw -v ON_ERROR_STOP=1 -d CONNINFO` with `sql` on its standard input
    (several statements are fine; each one commits on its own).  `conninfo` is a URI or
    key=value string; `env` is added to clean_env() (e.g. {"PGPASSWORD": ...}).  -w: never
    prompt for a password, fail instead.  Returns the CompletedProcess (text); with check, a
    non-zero exit raises PgError with psql's stderr."""
    cmd = [str(PG_BIN / "psql"), "-XAtqw", "-v", "ON_ERROR_STOP=1", "-d", conninfo]
    try:
        cp = subprocess.run(cmd, input=sql, capture_output=True, text=True, timeout=timeout,
                            env=clean_env(env))
    except subprocess.TimeoutExpired as e:
        raise PgError(f"psql -d {conninfo!r} did not finish within {timeout}s: {sql!r}") from e
    if check and cp.returncode != 0:
        raise PgError(f"psql -d {conninfo!r} exited {cp.returncode} on {sql!r}:\n{cp.stderr.strip()}")
    return cp


def _uri(host_ports: str, db: str, user: str, password: str | None, params: dict) -> str:
    userinfo = urllib.parse.quote(user, safe="")
    if password is not None:
        userinfo += ":" + urllib.parse.quote(password, safe="")
    query = {k: str(v) for k, v in {**DEFAULT_URI_PARAMS, **params}.items() if v is not None}
    # quote, not quote_plus: libpq decodes %XX in URIs but leaves '+' alone.
    qs = urllib.parse.urlencode(query, quote_via=urllib.parse.quote, safe="")
    return f"postgresql://{userinfo}@{host_ports}/{urllib.parse.quote(db, safe='')}" + (f"?{qs}" if qs else "")


def pg_multi_host_uri(clusters, db: str, user: str = SUPERUSER, password: str | None = None, **params) -> str:
    """A libpq multi-host URI over `clusters` in the given order, e.g.
    pg_multi_host_uri([standby, primary], "tokens", target_session_attrs="read-write") ->
    "postgresql://postgres@127.0.0.1:P1,127.0.0.1:P2/tokens?connect_timeout=2&target_session_attrs=read-write".
    An item may also be a "host:port" string (a port nothing listens on, say).  connect_timeout
    (2 s, per host) is added unless given; a parameter given as None is left out."""
    hosts = ",".join(c if isinstance(c, str) else c.host_port for c in clusters)
    if not hosts:
        raise ValueError("pg_multi_host_uri needs at least one cluster")
    return _uri(hosts, db, user, password, params)


def database_name(hint: str, max_len: int = 63) -> str:
    """A valid, lower-case database name made from `hint` (a test's name, say): characters
    other than [a-z0-9_] become '_', and it is cut to PostgreSQL's 63 bytes."""
    name = re.sub(r"[^a-z0-9_]+", "_", hint.lower()).strip("_") or "db"
    if name[0].isdigit():
        name = "d_" + name
    return name[:max_len]


_live: set["PgCluster"] = set()


@atexit.register
def _destroy_leftovers():
    # A session that dies before its teardown must not leave postmasters behind.
    for cluster in list(_live):
        try:
            cluster.destroy()
        except Exception:
            pass


class PgCluster:
    """One PostgreSQL 15 cluster in its own folder:

        FOLDER/data        the data directory (postgresql.conf, pg_hba.conf, udesk_local.conf)
        FOLDER/sock        the Unix socket directory
        FOLDER/server.log  the server's log

    PgCluster(folder=None) runs initdb (folder: created if missing, must be empty; default a
    fresh directory under TMP_ROOT) but does not start the server: call start().  The port is
    chosen free on 127.0.0.1 and re-chosen if someone takes it before the server binds it.
    `primary` is the cluster a standby streams from (None for a primary, or once promoted).
    Usable as a context manager: `with PgCluster() as pg:` starts it and destroys it at the end.
    """

    def __init__(self, folder: str | os.PathLike | None = None, *, name: str = "primary",
                 _base_backup_of: "PgCluster | None" = None):
        if not os.access(PG_BIN / "initdb", os.X_OK):
            raise PgError(f"PostgreSQL 15 not found in {PG_BIN}: install postgresql-15 "
                          f"(scripts/install-deps.sh) or point PG_BIN at its binaries")
        self.name = name
        self._as_root = os.geteuid() == 0
        if self._as_root:
            try:
                pw = pwd.getpwnam(PG_OS_USER)
            except KeyError:
                raise PgError(f"no system user {PG_OS_USER!r}: it comes with the postgresql-15 package") from None
            self._uid, self._gid = pw.pw_uid, pw.pw_gid
        if folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix=f"udesk-pg-{name}-", dir=TMP_ROOT))
        else:
            self.folder = Path(folder).resolve()
            self.folder.mkdir(parents=True, exist_ok=True)
            if any(self.folder.iterdir()):
                raise PgError(f"{self.folder} is not empty")
        self.data_dir = self.folder / "data"
        self.socket_dir = self.folder / "sock"
        self.log_path = self.folder / "server.log"
        self.port = free_port()
        self.primary: PgCluster | None = None
        self._destroyed = False
        self._needs_roles = _base_backup_of is None
        os.chmod(self.folder, 0o700)
        self._chown(self.folder)
        _live.add(self)
        try:
            self._check_reachable()
            self.socket_dir.mkdir(mode=0o700)
            self._chown(self.socket_dir)
            if _base_backup_of is None:
                self._initdb()
            else:
                self._base_backup(_base_backup_of)
            self._write_local_conf()
        except BaseException:
            self.destroy()
            raise

    # ---------------------------------------------------------------------------------------
    # Addresses

    @property
    def host_port(self) -> str:
        """"127.0.0.1:PORT", as it goes into a URI's host list."""
        return f"127.0.0.1:{self.port}"

    def uri(self, db: str, user: str = SUPERUSER, password: str | None = None, **params) -> str:
        """A libpq URI for this cluster over TCP: uri("tokens") ->
        "postgresql://postgres@127.0.0.1:PORT/tokens?connect_timeout=2"; user and password
        are percent-encoded, `params` appended as query parameters (None leaves one out)."""
        return _uri(self.host_port, db, user, password, params)

    def socket_conninfo(self, db: str = "postgres", user: str = SUPERUSER) -> str:
        """A key=value conninfo over this cluster's Unix socket (trusted for every role)."""
        return f"host={self.socket_dir} port={self.port} dbname={db} user={user} connect_timeout=2"

    # ---------------------------------------------------------------------------------------
    # Server control

    def start(self, timeout: float = 30.0) -> "PgCluster":
        """Starts the server (nothing if it runs) and waits until it accepts connections: a
        primary read-write, a standby read-only (hot standby)."""
        self._check_alive()
        if self.is_running():
            return self
        for attempt in range(3):
            log_start = self._log_size()
            cp = self._pg("pg_ctl", "start", "-D", self.data_dir, "-l", self.log_path, "-w",
                          "-t", str(int(timeout)), "-s", timeout=timeout + 15, check=False)
            if cp.returncode == 0:
                break
            new_log = self._log_since(log_start)
            if attempt < 2 and ("could not bind" in new_log or "Address already in use" in new_log):
                self.stop(mode="immediate")  # in case it half-started
                self.port = free_port()  # someone took the port between free_port() and bind()
                self._write_local_conf()
                continue
            self._fail(f"pg_ctl start exited {cp.returncode}: {cp.stderr.strip()}")
        self._wait(lambda: self._try_psql("select 1") == "1", timeout, "the server to answer 'select 1'")
        if self._needs_roles:
            self.psql(f"create role {quote_ident(PASSWORD_ROLE)} login password {quote_literal(PASSWORD)}")
            self._needs_roles = False
        return self

    def stop(self, mode: str = "fast", timeout: float = 30.0) -> "PgCluster":
        """Stops the server (nothing if it is not running).  mode: "fast" (roll back sessions,
        checkpoint), "immediate" (no checkpoint: the next start runs crash recovery) or "smart"."""
        if mode not in STOP_MODES:
            raise ValueError(f"mode must be one of {STOP_MODES}, not {mode!r}")
        if not self.is_running():
            return self
        cp = self._pg("pg_ctl", "stop", "-D", self.data_dir, "-m", mode, "-w", "-t", str(int(timeout)), "-s",
                      timeout=timeout + 15, check=False)
        if cp.returncode != 0 or self.is_running():
            self._fail(f"pg_ctl stop -m {mode} exited {cp.returncode}: {cp.stderr.strip()}")
        return self

    def restart(self, mode: str = "fast", timeout: float = 30.0) -> "PgCluster":
        """stop(mode) then start(), on the same port."""
        return self.stop(mode, timeout).start(timeout)

    def is_running(self) -> bool:
        """Whether the postmaster named in data/postmaster.pid is alive (not a zombie)."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (OSError, ValueError):
            return False
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")

    def destroy(self):
        """Stops the server at once and removes the folder (kept with UDESK_PG_KEEP=1)."""
        if self._destroyed:
            return
        self._destroyed = True
        _live.discard(self)
        try:
            if self.is_running():
                self._pg("pg_ctl", "stop", "-D", self.data_dir, "-m", "immediate", "-w", "-t", "20", "-s",
                         timeout=30, check=False)
        finally:
            if not KEEP:
                shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "PgCluster":
        return self.start()

    def __exit__(self, *exc):
        self.destroy()

    def __repr__(self):
        state = "destroyed" if self._destroyed else ("running" if self.is_running() else "stopped")
        return f"<PgCluster {self.name} {self.host_port} {state} {self.folder}>"

    # ---------------------------------------------------------------------------------------
    # SQL

    def psql(self, sql: str, db: str = "postgres", user: str = SUPERUSER, timeout: float = 30.0) -> str:
        """Runs `sql` with psql -XAtq over the Unix socket (trusted, no password) and returns
        its stdout without the final newline: one line per row, columns separated by '|'.
        Raises PgError with psql's stderr on failure."""
        try:
            cp = run_psql(self.socket_conninfo(db, user), sql, timeout=timeout)
        except PgError as e:
            if not self.is_running():
                self._fail(f"{e}\n(the server is not running)")
            raise
        return cp.stdout.rstrip("\n")

    def create_database(self, name: str, owner: str = PASSWORD_ROLE) -> str:
        """Creates database `name` owned by `owner`, in which `owner` and the superuser can
        both create tables in the public schema, and `owner` gets full rights on the tables
        and sequences the superuser creates there (data seeded as postgres is the owner's
        to read and write).  Returns `name`."""
        q, o = quote_ident(name), quote_ident(owner)
        self.psql(f"create database {q} owner {o}")
        self.psql(f"grant all on schema public to {o}, {quote_ident(SUPERUSER)};\n"
                  f"alter default privileges for role {quote_ident(SUPERUSER)} in schema public "
                  f"grant all on tables to {o};\n"
                  f"alter default privileges for role {quote_ident(SUPERUSER)} in schema public "
                  f"grant all on sequences to {o};", db=name)
        return name

    def drop_database(self, name: str):
        """Drops database `name` if it exists, terminating the sessions still connected to it."""
        self.psql(f"select count(pg_terminate_backend(pid)) from pg_stat_activity "
                  f"where datname = {quote_literal(name)} and pid <> pg_backend_pid();\n"
                  f"drop database if exists {quote_ident(name)} with (force)")

    # ---------------------------------------------------------------------------------------
    # Replication

    def standby(self, folder: str | os.PathLike | None = None, name: str | None = None,
                timeout: float = 30.0) -> "PgCluster":
        """A streaming hot standby of this (running) cluster: pg_basebackup -R -X stream over
        TCP, its own port and socket directory, started, and streaming when this returns."""
        self._check_alive()
        if not self.is_running():
            self._fail("standby(): the cluster is not running")
        sb = PgCluster(folder, name=name or f"{self.name}-standby", _base_backup_of=self)
        try:
            sb.primary = self
            sb.start(timeout)
            sb._wait(lambda: sb._try_psql("select status from pg_stat_wal_receiver") == "streaming",
                     timeout, f"the standby to stream from {self.host_port}")
        except BaseException:
            sb.destroy()
            raise
        return sb

    def wait_caught_up(self, primary: "PgCluster | None" = None, timeout: float = 10.0) -> str:
        """Waits until this standby has replayed everything `primary` (default: the one it was
        made from) had committed when called.  Returns the LSN waited for.

        With synchronous_commit off, a commit returns before its WAL is written or sent, so
        the primary's pg_current_wal_lsn() may not include it yet.  So a transaction that
        writes WAL (a logical message, which nothing decodes here) commits on the primary with
        synchronous_commit = on, which flushes all WAL before it; pg_current_wal_flush_lsn()
        after it is the position compared with pg_last_wal_replay_lsn() on the standby.  (A
        transaction that only takes an xid writes no WAL of its own and commits
        asynchronously all the same; pg_current_wal_insert_lsn() can point past a page header
        the standby only reports once more WAL follows.)"""
        primary = primary or self.primary
        if primary is None:
            raise PgError(f"{self.name}: wait_caught_up needs the primary")
        out = primary.psql("set synchronous_commit = on;\n"
                           "select pg_logical_emit_message(true, 'udesk_pg', 'wait_caught_up');\n"
                           "select pg_current_wal_flush_lsn();")
        target = out.splitlines()[-1]
        self._wait(lambda: self._try_psql(f"select pg_last_wal_replay_lsn() >= {quote_literal(target)}::pg_lsn") == "t",
                   timeout, f"the standby to replay {primary.name}'s WAL up to {target}",
                   lambda: f"replayed: {self._try_psql('select pg_last_wal_replay_lsn()')}, "
                           f"receiver: {self._try_psql('select status from pg_stat_wal_receiver')}")
        return target

    def promote(self, timeout: float = 30.0) -> "PgCluster":
        """Promotes this standby (pg_ctl promote) and waits until it accepts writes."""
        self._check_alive()
        cp = self._pg("pg_ctl", "promote", "-D", self.data_dir, "-w", "-t", str(int(timeout)), "-s",
                      timeout=timeout + 15, check=False)
        if cp.returncode != 0:
            self._fail(f"pg_ctl promote exited {cp.returncode}: {cp.stderr.strip()}")
        self._wait(lambda: self._try_psql("select pg_current_xact_id() is not null") == "t",
                   timeout, "the promoted server to accept writes")
        self.primary = None
        return self

    def is_in_recovery(self) -> bool:
        return self.psql("select pg_is_in_recovery()") == "t"

    def log(self, limit: int = 3000) -> str:
        """The tail of the server log."""
        return tail(self.log_path, limit)

    # ---------------------------------------------------------------------------------------
    # Internals

    def _chown(self, path: Path):
        if self._as_root:
            os.chown(path, self._uid, self._gid)

    def _write(self, path: Path, text: str, append: bool = False):
        with open(path, "a" if append else "w") as f:
            f.write(text)
        self._chown(path)

    def _pg(self, program: str, *args, timeout: float, check: bool = True) -> subprocess.CompletedProcess:
        """Runs a PostgreSQL program as the postgres user (runuser when root), in the folder."""
        cmd = [str(PG_BIN / program), *map(str, args)]
        if self._as_root:
            cmd = ["runuser", "-u", PG_OS_USER, "--", *cmd]
        try:
            cp = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.folder,
                                stdin=subprocess.DEVNULL, env=clean_env({"LC_ALL": "C"}))
        except subprocess.TimeoutExpired:
            self._fail(f"{program} did not finish within {timeout}s")
        if check and cp.returncode != 0:
            self._fail(f"{' '.join(cmd)} exited {cp.returncode}:\n{cp.stdout.strip()}\n{cp.stderr.strip()}")
        return cp

    def _check_reachable(self):
        if self._as_root and subprocess.run(["runuser", "-u", PG_OS_USER, "--", "test", "-w", str(self.folder)],
                                            stdin=subprocess.DEVNULL, timeout=10).returncode != 0:
            raise PgError(f"{self.folder} is not writable by the {PG_OS_USER} user: every directory above it "
                          f"must be searchable by {PG_OS_USER} (set UDESK_PG_TMP to another parent)")

    def _check_alive(self):
        if self._destroyed:
            raise PgError(f"{self.name}: the cluster was destroyed")

    def _initdb(self):
        self._pg("initdb", "-D", self.data_dir, "-U", SUPERUSER, "--auth=trust", "--no-locale",
                 "--encoding=UTF8", "--no-sync", "--no-instructions", timeout=180)
        self._write(self.data_dir / "pg_hba.conf", f"""\
# Written by Tests/Integration/udesk_pg.py. First match wins.
# TYPE  DATABASE     USER             ADDRESS         METHOD
local   all          all                              trust
local   replication  all                              trust
host    all          {PASSWORD_ROLE:<16} 127.0.0.1/32    scram-sha-256
host    all          all              127.0.0.1/32    trust
host    replication  all              127.0.0.1/32    trust
""")
        self._write(self.data_dir / "postgresql.conf", """
# ---- Tests/Integration/udesk_pg.py: settings for tests, not for keeping data ----
listen_addresses = '127.0.0.1'
max_connections = 200
shared_buffers = 16MB
fsync = off
synchronous_commit = off
wal_level = replica
max_wal_senders = 10
wal_keep_size = 128MB            # a standby that was cut off for a while can still catch up
hot_standby = on
hot_standby_feedback = on        # no query on a standby cancelled by the primary's vacuum
wal_retrieve_retry_interval = 500ms   # a standby reconnects quickly after a primary restart
wal_receiver_status_interval = 1s
password_encryption = 'scram-sha-256'
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
# Port, socket directory and name of this very cluster (a standby rewrites its copy):
include 'udesk_local.conf'
""", append=True)

    def _base_backup(self, primary: "PgCluster"):
        self._pg("pg_basebackup", "-D", self.data_dir, "-h", "127.0.0.1", "-p", primary.port,
                 "-U", SUPERUSER, "-R", "-X", "stream", "-c", "fast", "--no-sync", "-w", timeout=120)

    def _write_local_conf(self):
        self._write(self.data_dir / "udesk_local.conf",
                    f"port = {self.port}\n"
                    f"unix_socket_directories = {quote_literal(str(self.socket_dir))}\n"
                    f"cluster_name = {quote_literal('udesk-' + self.name)}\n")

    def _try_psql(self, sql: str) -> str | None:
        try:
            return run_psql(self.socket_conninfo(), sql, timeout=5).stdout.rstrip("\n")
        except PgError:
            return None

    def _wait(self, predicate, timeout: float, what: str, detail=None):
        try:
            wait_until(predicate, timeout, interval=0.05, what=what)
        except TimeoutError as e:
            extra = f" ({detail()})" if detail else ""
            self._fail(f"{e}{extra}")

    def _log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def _log_since(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _fail(self, message: str):
        raise PgError(f"PostgreSQL {self.name} ({self.host_port}, {self.folder}): {message}\n"
                      f"--- server log (tail) ---\n{self.log()}")


class PgDatabase:
    """A database on a cluster, as the pg_db fixture gives it: `.name`, `.cluster`, `.uri` (as
    the superuser over TCP), uri_as(user, password) and psql(sql, user=...)."""

    def __init__(self, cluster: PgCluster, name: str):
        self.cluster = cluster
        self.name = name

    @property
    def uri(self) -> str:
        return self.cluster.uri(self.name)

    def uri_as(self, user: str = PASSWORD_ROLE, password: str | None = PASSWORD, **params) -> str:
        return self.cluster.uri(self.name, user=user, password=password, **params)

    def psql(self, sql: str, user: str = SUPERUSER) -> str:
        return self.cluster.psql(sql, db=self.name, user=user)

    def __repr__(self):
        return f"<PgDatabase {self.name} on {self.cluster.host_port}>"
