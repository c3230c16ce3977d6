"""The same behaviour from both store engines: each test runs against a SQLite file and against a
PostgreSQL database on the cluster the suite starts (udesk_pg), through the real tokenctl and
token-responder. What a test expects is written once, for both."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time

import pytest

from udesk_it import (FastCGIConnection, HTTPSLoad, Nginx, Responder, bin_dir, cgi_params, parse_cgi, run_tokenctl,
                      udesk_body)

ROWS = "".join([
    "number,customer_token\n",
    "13800138000,cust-1\n",
    '+86 139 0000 1111,"quoted, with ""quotes"""\n',
    "010-12345678,back\\slash\n",
    "13700000000,客户-7\n",
])


@pytest.fixture(params=["sqlite", "postgres"])
def store_at(request, tmp_path) -> str:
    """Where the store is: a SQLite path, or a fresh PostgreSQL database's URI."""
    if request.param == "sqlite":
        return str(tmp_path / "tokens.db")
    return request.getfixturevalue("pg_db").uri


def ctl(*args, store, check=True):
    return run_tokenctl(*args, store=store, check=check)


def imported(store, tmp_path, text=ROWS, *flags, check=True):
    csv = tmp_path / f"rows-{time.monotonic_ns()}.csv"
    csv.write_text(text)
    return ctl("import", *flags, str(csv), store=store, check=check)


def test_import_report_and_refusals_are_the_same(store_at, tmp_path):
    out = imported(store_at, tmp_path, ROWS, "--json").stdout
    assert json.loads(out) == {"added": 4, "updated": 0, "unchanged": 0, "removed": 0, "skipped": 0,
                               "ranges": 0, "range_lines": [], "committed": True, "dry_run": False, "refused": None, "problem_count": 0,
                               "problems": []}
    bad = "13800138000,cust-1\n13800138000,other\nnot a number,x\n13900002222,new\n"
    cp = imported(store_at, tmp_path, bad, "--json", check=False)
    assert cp.returncode == 1
    report = json.loads(cp.stdout)
    assert [p["line"] for p in report["problems"]] == [2, 3]
    assert report["problems"][0]["reason"] == "conflict: same number as line 1 with a different token"
    assert report["committed"] is False
    assert ctl("get", "13900002222", store=store_at, check=False).returncode == 1, "a refused import changed the store"
    skipped = json.loads(imported(store_at, tmp_path, bad, "--json", "--skip-invalid").stdout)
    assert (skipped["added"], skipped["unchanged"], skipped["skipped"]) == (1, 1, 2)


def test_replace_guards_and_dry_run(store_at, tmp_path):
    imported(store_at, tmp_path)
    header_only = imported(store_at, tmp_path, "number,customer_token\n", "--replace", check=False)
    assert header_only.returncode == 1 and b"no data rows" in header_only.stderr
    most = imported(store_at, tmp_path, "13800138000,cust-1\n", "--replace", check=False)
    assert most.returncode == 1 and b"--max-remove" in most.stderr
    dry = json.loads(imported(store_at, tmp_path, "13800138000,cust-1\n", "--replace", "--max-remove", "100%",
                              "--dry-run", "--json").stdout)
    assert (dry["removed"], dry["committed"], dry["dry_run"]) == (3, False, True)
    assert json.loads(ctl("stats", "--json", store=store_at).stdout)["rows"] == 4
    done = json.loads(imported(store_at, tmp_path, "13800138000,cust-1\n", "--replace", "--max-remove", "100%",
                               "--json").stdout)
    assert (done["removed"], done["unchanged"], done["committed"]) == (3, 1, True)
    assert json.loads(ctl("stats", "--json", store=store_at).stdout)["rows"] == 1


def test_edits(store_at, tmp_path):
    assert ctl("put", "13800138000", "a", store=store_at).stdout == b"added\n"
    assert ctl("put", "+86 138 0013 8000", "a", store=store_at).stdout == b"unchanged\n"
    assert ctl("put", "13800138000", "b", store=store_at).stdout == b"updated\n"
    assert ctl("get", "13800138000", store=store_at).stdout == b"b\n"
    bad = ctl("put", "13800138000", "tab\there", store=store_at, check=False)
    assert bad.returncode != 0 and b"control characters" in bad.stderr
    assert ctl("delete", "13800138000", store=store_at).stdout == b"deleted\n"
    assert ctl("delete", "13800138000", store=store_at, check=False).returncode == 1
    assert ctl("get", "13800138000", store=store_at, check=False).returncode == 1


def test_stats_and_verify(store_at, tmp_path):
    imported(store_at, tmp_path)
    stats = json.loads(ctl("stats", "--json", store=store_at).stdout)
    assert (stats["rows"], stats["minted_rows"], stats["schema_version"]) == (4, 0, 1)
    assert stats["last_import_source"].endswith(".csv") and stats["last_import_time"].endswith("Z")
    assert stats["size_bytes"] > 0
    assert ctl("verify", store=store_at).stdout == b"ok\n"


def test_export_is_byte_for_byte_the_same(pg_db, tmp_path):
    sqlite = str(tmp_path / "tokens.db")
    for store in (sqlite, pg_db.uri):
        imported(store, tmp_path)
        ctl("put", "13800138001", "put-later", store=store)
    exports = [ctl("export", store=store).stdout for store in (sqlite, pg_db.uri)]
    assert exports[0] == exports[1]
    assert exports[0].startswith(b"number,customer_token\n+861012345678,back\\slash\n")
    assert '客户-7'.encode() in exports[0]


def test_backup_of_postgres_is_a_sqlite_store_with_the_same_rows(pg_db, tmp_path):
    imported(pg_db.uri, tmp_path)
    copy = tmp_path / "copy.db"
    out = ctl("backup", str(copy), store=pg_db.uri).stdout
    assert out.startswith(f"{copy}: ".encode())
    assert ctl("export", store=copy).stdout == ctl("export", store=pg_db.uri).stdout
    assert ctl("verify", store=copy).stdout == b"ok\n"
    assert ctl("backup", str(copy), store=pg_db.uri, check=False).returncode != 0, "an existing file is kept"


def test_verify_reports_a_key_no_caller_produces(pg_db, tmp_path):
    imported(pg_db.uri, tmp_path)
    pg_db.cluster.psql("INSERT INTO udesk_tokens VALUES ('13812345678', 'x', false, 0)", db=pg_db.name)
    cp = ctl("verify", store=pg_db.uri, check=False)
    assert cp.returncode == 1
    assert b"key 138******78: not canonical" in cp.stdout


def health_of(conn):
    """(status, JSON body) of the health endpoint on a FastCGI connection."""
    answer = conn.request(None, params={**cgi_params(None, None, "GET"), "TOKEN_ENDPOINT": "health"})
    return answer.status, answer.json()


def start(store, tmp_path, *args) -> Responder:
    return Responder(store, tmp_path / f"r{time.monotonic_ns()}.sock", tmp_path / "responder.log", "--threads", "2",
                     *args).start()


def test_responder_answers_the_contract(store_at, tmp_path):
    imported(store_at, tmp_path)
    r = start(store_at, tmp_path)
    try:
        with FastCGIConnection(r.socket_path) as conn:
            assert conn.request(udesk_body(13800138000)).json() == {"customer_token": "cust-1"}
            assert conn.request(udesk_body("+86 139 0000 1111")).json() == {"customer_token": 'quoted, with "quotes"'}
            assert conn.request(udesk_body("01012345678")).json() == {"customer_token": "back\\slash"}
            assert conn.request(udesk_body(13711112222)).status == 404
            assert conn.request(udesk_body("12")).status == 422
            ctl("put", "13711112222", "new-one", store=store_at)
            assert conn.request(udesk_body(13711112222)).json() == {"customer_token": "new-one"}
    finally:
        assert r.stop() == 0


def test_a_password_is_never_shown(pg_db, tmp_path):
    cluster = pg_db.cluster
    wrong = cluster.uri(pg_db.name, user="udesk", password="not-the-password")
    cp = ctl("stats", store=wrong, check=False)
    assert cp.returncode != 0
    assert b"not-the-password" not in cp.stdout + cp.stderr and b"udesk:***@" in cp.stderr
    right = cluster.uri(pg_db.name, user="udesk", password="s3cret-pw")
    imported(right, tmp_path)
    r = start(right, tmp_path)
    try:
        with FastCGIConnection(r.socket_path) as conn:
            assert conn.request(udesk_body(13800138000)).json() == {"customer_token": "cust-1"}
    finally:
        r.stop()
    log = (tmp_path / "responder.log").read_bytes()
    assert b"s3cret-pw" not in log and b"udesk:***@" in log


class SilentListener:
    """A TCP port that completes the handshake (the kernel does) but never says a word."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


def timed(conn, body):
    started = time.monotonic()
    response = conn.request(body)
    return response, time.monotonic() - started


def test_a_host_that_never_answers_costs_nothing(pg_db, pg_primary, tmp_path):
    imported(pg_db.uri, tmp_path)
    silent = SilentListener()
    try:
        uri = f"postgresql://postgres@127.0.0.1:{silent.port},{pg_primary.host_port}/{pg_db.name}"
        r = start(uri, tmp_path)
        try:
            with FastCGIConnection(r.socket_path) as conn:
                for _ in range(20):
                    response, took = timed(conn, udesk_body(13800138000))
                    assert response.json() == {"customer_token": "cust-1"}
                    assert took < 0.5
        finally:
            r.stop()
    finally:
        silent.close()


def test_no_host_answers_a_json_500_within_the_deadline_then_recovers(pg_db, pg_primary, tmp_path):
    imported(pg_db.uri, tmp_path)
    silent = SilentListener()
    try:
        uri = f"postgresql://postgres@127.0.0.1:{silent.port}/{pg_db.name}"
        r = start(uri, tmp_path, "--store-timeout", "200ms")
        try:
            with FastCGIConnection(r.socket_path) as conn:
                for _ in range(5):
                    response, took = timed(conn, udesk_body(13800138000))
                    assert response.status == 500 and response.json()["error"] == "store_unavailable"
                    assert took < 0.45
                started = time.monotonic()
                assert health_of(conn)[0] == 503 and time.monotonic() - started < 0.45
        finally:
            r.stop()
    finally:
        silent.close()
    refused = f"postgresql://postgres@127.0.0.1:1,{pg_primary.host_port}/{pg_db.name}"
    r = start(refused, tmp_path)
    try:
        with FastCGIConnection(r.socket_path) as conn:
            assert conn.request(udesk_body(13800138000)).json() == {"customer_token": "cust-1"}
    finally:
        r.stop()


def test_mint_on_postgres_from_two_responders(pg_db, tmp_path):
    imported(pg_db.uri, tmp_path)
    key = tmp_path / "mint.key"
    key.write_bytes(b"0123456789abcdef0123456789abcdef")
    key.chmod(0o640)
    responders = [start(pg_db.uri, tmp_path, "--unknown", "mint", "--mint-key-file", str(key)) for _ in range(2)]
    try:
        tokens = []
        for r in responders:
            with FastCGIConnection(r.socket_path) as conn:
                tokens.append(conn.request(udesk_body(13755556666)).json()["customer_token"])
                assert conn.request(udesk_body(13800138000)).json() == {"customer_token": "cust-1"}
        assert tokens[0] == tokens[1] and tokens[0].startswith("mt1_")
    finally:
        for r in responders:
            r.stop()
    rows = pg_db.cluster.psql("SELECT token, minted FROM udesk_tokens WHERE number = '+8613755556666'", db=pg_db.name)
    assert rows.strip() == f"{tokens[0]}|t"
    minted = ctl("export", "--minted", store=pg_db.uri).stdout.decode().splitlines()
    assert minted[0] == "number,customer_token,first_seen" and minted[1].startswith(f"+8613755556666,{tokens[0]},")


@pytest.fixture
def own_cluster():
    """A PostgreSQL cluster of the test's own, to stop and start (the session's primary is shared)."""
    from udesk_pg import PgCluster
    cluster = PgCluster(name="own").start()
    try:
        yield cluster
    finally:
        cluster.destroy()


def test_every_host_down_then_back_answers_resume_without_a_restart(own_cluster, tmp_path):
    own_cluster.create_database("tokens", owner="udesk")
    uri = own_cluster.uri("tokens")
    imported(uri, tmp_path)
    r = start(uri, tmp_path)
    try:
        with FastCGIConnection(r.socket_path) as conn:
            assert conn.request(udesk_body(13800138000)).json() == {"customer_token": "cust-1"}
            own_cluster.psql("CHECKPOINT")  # the test clusters run without fsync
            own_cluster.stop(mode="immediate")
            for _ in range(10):
                response, took = timed(conn, udesk_body(13800138000))
                assert response.status == 500 and response.json()["error"] == "store_unavailable"
                assert took < 0.5
            assert health_of(conn)[0] == 503
            own_cluster.start()
            deadline = time.monotonic() + 10
            while (answer := conn.request(udesk_body(13800138000))).status != 200:
                assert time.monotonic() < deadline, "answers did not resume"
                time.sleep(0.05)
            assert answer.json() == {"customer_token": "cust-1"}
    finally:
        assert r.stop() == 0



def test_failover_to_the_standby_under_load_through_nginx(tmp_path, tls):
    """Keep-alive clients through nginx verify every answer while the primary is killed
    (pg_ctl -m immediate); the responder's URI lists the primary, then its streaming standby."""
    from udesk_pg import PgCluster, pg_multi_host_uri
    primary = PgCluster(name="failover").start()
    standby = None
    try:
        primary.create_database("tokens", owner="udesk")
        rows = {f"1380013{i:04d}": f"cust-{i}" for i in range(200)}
        csv = tmp_path / "rows.csv"
        csv.write_text("number,customer_token\n" + "".join(f"{n},{t}\n" for n, t in rows.items()))
        ctl("import", str(csv), store=primary.uri("tokens"))
        standby = primary.standby()
        standby.wait_caught_up(primary)
        r = start(pg_multi_host_uri([primary, standby], "tokens"), tmp_path)
        nginx = Nginx(tmp_path / "nginx", r.socket_path, *tls).render().start()
        try:
            load = HTTPSLoad(nginx, list(rows), {n: {t} for n, t in rows.items()}, clients=6).start()
            time.sleep(1.5)
            load.set_phase("primary killed")
            primary.stop(mode="immediate")
            time.sleep(2.5)
            load.stop()
            load.assert_clean()
            assert load.answered("primary killed", "ok") > 100, dict(load.counts)
            print(f"slowest answer {load.slowest * 1000:.1f} ms")
            assert load.slowest < 0.5, f"slowest answer {load.slowest:.3f} s"
        finally:
            nginx.stop()
            r.stop()
    finally:
        if standby:
            standby.destroy()
        primary.destroy()



def test_fallback_store_answers_while_postgres_is_down(own_cluster, tmp_path):
    own_cluster.create_database("tokens", owner="udesk")
    uri = own_cluster.uri("tokens")
    imported(uri, tmp_path)
    fallback = tmp_path / "fallback.db"
    ctl("backup", str(fallback), store=uri)
    ctl("put", "13711112222", "after-the-backup", store=uri)
    r = start(uri, tmp_path, "--fallback-store", str(fallback))
    try:
        with FastCGIConnection(r.socket_path) as conn:
            assert health_of(conn) == (200, {"status": "ok"})
            assert conn.request(udesk_body(13711112222)).json() == {"customer_token": "after-the-backup"}
            own_cluster.psql("CHECKPOINT")
            own_cluster.stop(mode="immediate")
            for _ in range(5):
                response, took = timed(conn, udesk_body(13800138000))
                assert response.json() == {"customer_token": "cust-1"} and took < 0.5
            assert conn.request(udesk_body(13711112222)).status == 404, "the snapshot does not have it"
            assert health_of(conn) == (200, {"status": "degraded"})
            metrics = conn.request(None, params={**cgi_params(None, None, "GET"), "TOKEN_ENDPOINT": "metrics"})
            counted = [line for line in metrics.body.decode().splitlines()
                       if line.startswith("token_responder_requests_total") and 'outcome="fallback"' in line]
            assert counted and sum(float(line.rsplit(" ", 1)[1]) for line in counted) >= 6, counted
            own_cluster.start()
            deadline = time.monotonic() + 10
            while conn.request(udesk_body(13711112222)).status != 200:
                assert time.monotonic() < deadline, "answers did not come back from PostgreSQL"
                time.sleep(0.05)
            assert health_of(conn) == (200, {"status": "ok"})
    finally:
        assert r.stop() == 0
    log = (tmp_path / "responder.log").read_text()
    assert "outcome=fallback" in log


def test_connections_killed_by_the_server_are_replaced_within_the_request(pg_db, pg_primary, tmp_path):
    imported(pg_db.uri, tmp_path)
    r = start(pg_db.uri, tmp_path)
    try:
        with FastCGIConnection(r.socket_path) as conn:
            for _ in range(3):
                assert conn.request(udesk_body(13800138000)).json() == {"customer_token": "cust-1"}
                pg_primary.psql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{pg_db.name}' AND application_name = 'token-responder'")
                response, took = timed(conn, udesk_body(13800138000))
                assert response.json() == {"customer_token": "cust-1"}, "a broken connection was not retried"
                assert took < 0.5
    finally:
        assert r.stop() == 0


def test_minting_with_only_a_standby_answers_the_token_and_logs_the_failure(pg_db, pg_primary, pg_standby, tmp_path):
    imported(pg_db.uri, tmp_path)
    pg_standby.wait_caught_up(pg_primary)
    key = tmp_path / "mint.key"
    key.write_bytes(b"0123456789abcdef0123456789abcdef")
    key.chmod(0o640)
    r = start(pg_standby.uri(pg_db.name), tmp_path, "--unknown", "mint", "--mint-key-file", str(key))
    try:
        with FastCGIConnection(r.socket_path) as conn:
            assert conn.request(udesk_body(13800138000)).json() == {"customer_token": "cust-1"}
            token = conn.request(udesk_body(13755557777)).json()["customer_token"]
            assert token.startswith("mt1_")
    finally:
        r.stop()
    log = (tmp_path / "responder.log").read_text()
    assert "minted token not recorded" in log and "read-only" in log
    assert ctl("get", "13755557777", store=pg_db.uri, check=False).returncode == 1


def test_plain_cgi_on_postgres(pg_db, tmp_path):
    imported(pg_db.uri, tmp_path)
    body = udesk_body(13800138000)
    env = {"PATH": "/usr/bin:/bin", "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "POST",
           "CONTENT_TYPE": "application/json;charset=utf8", "CONTENT_LENGTH": str(len(body)), "TOKEN_STORE": pg_db.uri}
    cp = subprocess.run([str(bin_dir() / "token-responder")], env=env, input=body, capture_output=True, timeout=10)
    assert cp.returncode == 0
    status, _, answer = parse_cgi(cp.stdout)
    assert (status, json.loads(answer)) == (200, {"customer_token": "cust-1"})


def test_sighup_reconnects_every_worker(pg_db, pg_primary, tmp_path):
    imported(pg_db.uri, tmp_path)
    r = start(pg_db.uri, tmp_path)

    def backends() -> set[str]:
        return set(pg_primary.psql(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'token-responder' "
            f"AND datname = '{pg_db.name}'").split())

    try:
        conns = [FastCGIConnection(r.socket_path) for _ in range(4)]
        for conn in conns:
            assert conn.request(udesk_body(13800138000)).json() == {"customer_token": "cust-1"}
        before = backends()
        assert before
        r.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while backends() & before:
            assert time.monotonic() < deadline, "the old connections are still open after SIGHUP"
            for conn in conns:
                assert conn.request(udesk_body(13800138000)).json() == {"customer_token": "cust-1"}
            time.sleep(0.05)
        for conn in conns:
            conn.close()
    finally:
        assert r.stop() == 0
