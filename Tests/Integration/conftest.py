"""Session fixtures for the end-to-end tests: the real tokenctl, token-responder and nginx.

Binaries come from $TOKEN_BIN_DIR (default <repo>/.build/debug); the tests are skipped with a
clear message when they are missing.  PostgreSQL (udesk_pg): a primary and its streaming
standby per session, a fresh database per test; those fail, never skip, if the server cannot
start (install postgresql-15 with scripts/install-deps.sh).  nginx runs the shipped nginx/*.conf files, rendered by
nginx/render-local.sh (the same script scripts/demo.sh uses).  Every wait is bounded.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import udesk_it  # noqa: E402
from udesk_it import FIXTURE_CSV, NGINX, Nginx, Responder  # noqa: E402
from udesk_pg import PgCluster, PgDatabase, database_name  # noqa: E402


@pytest.fixture(scope="session")
def binaries() -> Path:
    """The directory holding tokenctl and token-responder (skips the tests if they are missing)."""
    d = udesk_it.bin_dir()
    missing = [n for n in ("tokenctl", "token-responder") if not os.access(d / n, os.X_OK)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not found in {d}: build first (swift build) "
                    f"or point TOKEN_BIN_DIR at the binaries")
    return d


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    if not os.access(NGINX, os.X_OK):
        pytest.skip(f"{NGINX} not found: apt-get install nginx-light (or set NGINX=/path/to/nginx)")
    return NGINX


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    # Short: Unix socket paths must stay under ~108 bytes.
    return tmp_path_factory.mktemp("udesk")


@pytest.fixture(scope="session")
def tls(workdir):
    """A self-signed certificate for localhost / 127.0.0.1, made at test time: (cert, key)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not found: apt-get install openssl")
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    cp = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert cp.returncode == 0, f"openssl failed: {cp.stderr.decode()}"
    return cert, key


@pytest.fixture(scope="session")
def store(binaries, workdir) -> Path:
    """The fixture CSV imported with the real tokenctl."""
    path = workdir / "tokens.db"
    udesk_it.run_tokenctl("import", FIXTURE_CSV, store=path)
    return path


@pytest.fixture(scope="session")
def responder(store, workdir):
    """The main token-responder (defaults: --unknown not-found, --max-body 4096)."""
    r = Responder(store, workdir / "token.sock", workdir / "responder.log").start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def nginx(responder, tls, workdir, nginx_binary):
    n = Nginx(workdir / "nginx", responder.socket_path, *tls).render().start()
    yield n
    n.stop()


@pytest.fixture(scope="session")
def nginx_unknown_empty(store, tls, workdir, nginx_binary):
    """A second responder with --unknown empty, behind its own nginx."""
    r = Responder(store, workdir / "token-empty.sock", workdir / "responder-empty.log",
                  "--unknown", "empty").start()
    n = None
    try:
        n = Nginx(workdir / "nginx-empty", r.socket_path, *tls).render().start()
        yield n
    finally:
        if n is not None:
            n.stop()
        r.stop()


@pytest.fixture(scope="session")
def nginx_no_backend(tls, workdir, nginx_binary):
    """nginx whose upstream socket does not exist (nginx's own 502)."""
    n = Nginx(workdir / "nginx-nobackend", workdir / "nobody-listens.sock", *tls).render().start()
    yield n
    n.stop()


_counter = itertools.count()


@pytest.fixture
def socket_path(workdir) -> Path:
    """A fresh, unused socket path."""
    return workdir / f"t{next(_counter)}.sock"


@pytest.fixture
def start_responder(store, workdir):
    """Starts extra responders for one test; stops whatever is still running afterwards.
    start_responder(*args, socket=None, store=None) -> Responder"""
    started = []

    def start(*args, socket=None, store_path=None, env=None):
        n = next(_counter)
        r = Responder(store_path or store, socket or workdir / f"r{n}.sock", workdir / f"responder-{n}.log",
                      *args, env=env)
        started.append(r)
        return r.start()

    yield start
    for r in started:
        r.stop(timeout=5)


@pytest.fixture(scope="session")
def https_post(nginx):
    """POST (or another method) to the endpoint over HTTPS through nginx, verifying the test
    certificate: https_post(body, content_type=..., method=..., path=..., headers=..., conn=...)
    -> (status, headers with lower-case names, body bytes)."""
    return nginx.post


# --------------------------------------------------------------------------------------------
# PostgreSQL (udesk_pg.py).  Not skipped when PostgreSQL is missing: a PgError is raised.


@pytest.fixture(scope="session")
def pg_primary():
    """A running PostgreSQL 15 primary (PgCluster) for the whole session, destroyed at the end.
    Roles: postgres (trusted), udesk (password udesk_pg.PASSWORD over TCP).  A test may stop
    and start it but must leave it running; make your own standby to promote."""
    cluster = PgCluster(name="primary")
    try:
        yield cluster.start()
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def pg_standby(pg_primary):
    """A streaming hot standby (PgCluster) of pg_primary for the session; call
    pg_standby.wait_caught_up() before reading what was just written on the primary."""
    standby = pg_primary.standby()
    try:
        yield standby
    finally:
        standby.destroy()


_pg_counter = itertools.count()


@pytest.fixture
def pg_db(pg_primary, request):
    """A fresh database on pg_primary for one test (PgDatabase: .name, .uri as postgres,
    .cluster, .uri_as(user, password), .psql(sql, user)), owned by udesk; postgres and udesk
    can both create tables in its public schema.  Dropped afterwards, sessions and all."""
    name = database_name(f"t{next(_pg_counter)}_{request.node.name}")
    pg_primary.create_database(name, owner="udesk")
    yield PgDatabase(pg_primary, name)
    pg_primary.start()  # nothing if it runs; a test that left it stopped must not break the next
    pg_primary.drop_database(name)
