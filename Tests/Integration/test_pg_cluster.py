"""The PostgreSQL test clusters themselves (udesk_pg.py, the pg_* fixtures): streaming to the
standby, a read-only standby, the password role, a crash and restart of the primary,
multi-host URIs and promotion.  If these fail, the PostgreSQL store's tests mean nothing."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from udesk_it import free_port, tcp_connectable
from udesk_pg import (PASSWORD, PASSWORD_ROLE, PG_BIN, PgError, clean_env, database_name,
                      pg_multi_host_uri, run_psql)


def psql_c(uri: str, sql: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """psql "$URI" -c SQL, as an operator would type it (never prompting for a password)."""
    return subprocess.run([str(PG_BIN / "psql"), "-XAtqw", uri, "-c", sql], capture_output=True, text=True,
                          timeout=20, stdin=subprocess.DEVNULL, env=clean_env(env))


@pytest.fixture
def no_passfile(tmp_path):
    """An environment in which libpq finds no password anywhere (not even in ~/.pgpass)."""
    return {"PGPASSFILE": str(tmp_path / "no-such-pgpass")}


def test_uris_are_libpq_uris_with_a_connect_timeout(pg_primary, pg_standby):
    port = pg_primary.port
    assert pg_primary.host_port == f"127.0.0.1:{port}"
    assert pg_primary.uri("tokens") == f"postgresql://postgres@127.0.0.1:{port}/tokens?connect_timeout=2"
    assert (pg_primary.uri("tokens", user="udesk", password="p@ss:w/rd %", sslmode="disable", connect_timeout=5)
            == f"postgresql://udesk:p%40ss%3Aw%2Frd%20%25@127.0.0.1:{port}/tokens?connect_timeout=5&sslmode=disable")
    assert (pg_multi_host_uri([pg_standby, pg_primary], "tokens", target_session_attrs="read-write")
            == f"postgresql://postgres@127.0.0.1:{pg_standby.port},127.0.0.1:{port}/tokens"
               f"?connect_timeout=2&target_session_attrs=read-write")
    assert database_name("t3_test_x[param-1]") == "t3_test_x_param_1"
    assert len(database_name("x" * 100)) == 63


def test_a_table_written_on_the_primary_is_read_on_the_standby(pg_db, pg_standby):
    # Seeded by postgres, written by udesk over TCP with its password: the database's privileges.
    pg_db.psql("create table tokens (number text primary key, token text not null);"
               "insert into tokens values ('13800138000', 'cust-0001')")
    run_psql(pg_db.uri_as("udesk", PASSWORD),
             "insert into tokens values ('13900001111', 'cust-0002');"
             "create table udesk_own (x int); insert into udesk_own values (7)")
    pg_standby.wait_caught_up()
    assert pg_standby.psql("select number, token from tokens order by number", db=pg_db.name) == (
        "13800138000|cust-0001\n13900001111|cust-0002")
    assert pg_standby.psql("select x from udesk_own", db=pg_db.name) == "7"
    assert pg_standby.is_in_recovery() and not pg_db.cluster.is_in_recovery()


def test_the_standby_refuses_writes(pg_db, pg_standby):
    pg_db.psql("create table t (x int)")
    pg_standby.wait_caught_up()
    for sql in ("insert into t values (1)", "create table u (x int)"):
        with pytest.raises(PgError, match="read-only transaction"):
            pg_standby.psql(sql, db=pg_db.name)
    # Over TCP with a URI too, as the store would connect.
    cp = psql_c(pg_standby.uri(pg_db.name), "insert into t values (1)")
    assert cp.returncode != 0 and "read-only transaction" in cp.stderr


def test_udesk_needs_its_password_over_tcp(pg_db, no_passfile):
    uri = pg_db.cluster.uri(pg_db.name, user=PASSWORD_ROLE)
    cp = psql_c(uri, "select current_user", env=no_passfile)
    assert cp.returncode != 0 and "no password supplied" in cp.stderr, cp.stderr
    cp = psql_c(uri, "select current_user", env={**no_passfile, "PGPASSWORD": "wrong"})
    assert cp.returncode != 0 and f'password authentication failed for user "{PASSWORD_ROLE}"' in cp.stderr, cp.stderr
    cp = psql_c(uri, "select current_user", env={**no_passfile, "PGPASSWORD": PASSWORD})
    assert (cp.returncode, cp.stdout.strip()) == (0, PASSWORD_ROLE), cp.stderr
    cp = psql_c(pg_db.uri_as(PASSWORD_ROLE, PASSWORD), "select current_user", env=no_passfile)
    assert (cp.returncode, cp.stdout.strip()) == (0, PASSWORD_ROLE), cp.stderr
    # postgres is trusted over TCP, and every role over the Unix socket.
    cp = psql_c(pg_db.uri, "select current_user", env=no_passfile)
    assert (cp.returncode, cp.stdout.strip()) == (0, "postgres"), cp.stderr
    assert pg_db.psql("select current_user", user=PASSWORD_ROLE) == PASSWORD_ROLE


def test_udesk_password_from_a_pgpass_file(pg_db, tmp_path):
    uri = pg_db.cluster.uri(pg_db.name, user=PASSWORD_ROLE)
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{pg_db.cluster.port}:*:{PASSWORD_ROLE}:{PASSWORD}\n")
    os.chmod(passfile, 0o600)
    cp = psql_c(uri, "select current_user", env={"PGPASSFILE": str(passfile)})
    assert (cp.returncode, cp.stdout.strip()) == (0, PASSWORD_ROLE), cp.stderr
    # libpq ignores a password file others can read.
    os.chmod(passfile, 0o644)
    cp = psql_c(uri, "select current_user", env={"PGPASSFILE": str(passfile)})
    assert cp.returncode != 0 and "permissions should be u=rw" in cp.stderr, cp.stderr
    # A line for another port does not match.
    passfile.write_text(f"127.0.0.1:{free_port()}:*:{PASSWORD_ROLE}:{PASSWORD}\n")
    os.chmod(passfile, 0o600)
    cp = psql_c(uri, "select current_user", env={"PGPASSFILE": str(passfile)})
    assert cp.returncode != 0 and "no password supplied" in cp.stderr, cp.stderr


def test_an_immediate_stop_and_start_bring_the_primary_back(pg_db, pg_standby):
    primary = pg_db.cluster
    # synchronous_commit is off for the cluster: only a synchronous commit survives a crash for sure.
    pg_db.psql("set synchronous_commit = on; create table kept (x int); insert into kept values (1)")
    primary.stop(mode="immediate")
    assert not primary.is_running()
    assert not tcp_connectable(primary.port)
    with pytest.raises(PgError):
        primary.psql("select 1")
    primary.start()
    assert primary.is_running()
    assert pg_db.psql("select x from kept") == "1"
    assert "database system was interrupted" in primary.log(20000)  # crash recovery ran
    # The standby reconnects on its own.
    pg_db.psql("insert into kept values (2)")
    pg_standby.wait_caught_up()
    assert pg_standby.psql("select count(*) from kept", db=pg_db.name) == "2"


def test_multi_host_uri_picks_by_target_session_attrs(pg_db, pg_standby):
    pg_standby.wait_caught_up()  # the database exists on the standby too
    dead = f"127.0.0.1:{free_port()}"  # nothing listens: refused at once
    cases = [
        ([pg_standby, pg_db.cluster], "read-write", "f"),
        ([dead, pg_standby, pg_db.cluster], "read-write", "f"),
        ([pg_standby, pg_db.cluster], "any", "t"),
        ([pg_db.cluster, pg_standby], "standby", "t"),
        ([pg_db.cluster, pg_standby], "read-only", "t"),
    ]
    for hosts, attrs, in_recovery in cases:
        uri = pg_multi_host_uri(hosts, pg_db.name, target_session_attrs=attrs)
        cp = psql_c(uri, "select pg_is_in_recovery()")
        assert (cp.returncode, cp.stdout.strip()) == (0, in_recovery), (uri, cp.stderr)
    # No host fits: an error naming the last one tried, quickly.
    started = time.monotonic()
    cp = psql_c(pg_multi_host_uri([dead, pg_standby], pg_db.name, target_session_attrs="read-write"),
                "select 1")
    assert cp.returncode != 0 and "read-only" in cp.stderr, cp.stderr
    assert time.monotonic() - started < 5


def test_a_promoted_standby_accepts_writes(pg_primary, pg_db):
    pg_db.psql("create table t (x int); insert into t values (1)")
    standby = pg_primary.standby(name="promoted")
    try:
        standby.wait_caught_up()
        assert standby.is_in_recovery()
        standby.promote()
        assert not standby.is_in_recovery() and standby.primary is None
        standby.psql("insert into t values (2)", db=pg_db.name)
        assert standby.psql("select count(*) from t", db=pg_db.name) == "2"
        assert pg_db.psql("select count(*) from t") == "1"  # the primary went its own way
    finally:
        standby.destroy()
    assert not standby.folder.exists()


def test_drop_database_ends_the_sessions_still_in_it(pg_primary):
    name = pg_primary.create_database("udesk_pg_drop_check")
    session = subprocess.Popen([str(PG_BIN / "psql"), "-XAtqw", pg_primary.uri(name), "-c", "select pg_sleep(60)"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=clean_env())
    try:
        deadline = time.monotonic() + 10
        while pg_primary.psql(f"select count(*) from pg_stat_activity where datname = '{name}'") != "1":
            assert time.monotonic() < deadline, "the sleeping session never showed up"
            time.sleep(0.05)
        started = time.monotonic()
        pg_primary.drop_database(name)
        assert time.monotonic() - started < 5
        assert session.wait(timeout=10) != 0
        assert pg_primary.psql(f"select count(*) from pg_database where datname = '{name}'") == "0"
    finally:
        session.kill()
        session.wait()
