"""Operations, end to end through the real nginx (shipped config) over HTTPS: the shared key,
the timestamp window, what the responder logs, the health and metrics locations, and minting.

Each group runs its own token-responder (stdout+stderr captured to a file) with its own store
copy where it writes or breaks the store, so nothing here disturbs the session fixtures.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from contract import ERRORS, JSON_CONTENT_TYPE, NGINX_FORBIDDEN_MESSAGE, TOKENS, UNKNOWN_NUMBER
from udesk_it import ENDPOINT, FIXTURE_CSV, Nginx, Responder, request, run_tokenctl, udesk_body, wait_until

HEALTH = "/udesk/health"
METRICS = "/udesk/metrics"
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
N, N_TOKEN, N_MASKED = "13800138000", "cust-0001", "+86138******00"


def assert_json_error(status, headers, body, error_class):
    want_status, want_code = ERRORS[error_class]
    assert status == want_status, f"expected {want_status} {want_code}, got {status}: {body!r}"
    assert headers.get("content-type") == JSON_CONTENT_TYPE, headers
    doc = json.loads(body)
    assert set(doc) == {"error", "message"} and doc["error"] == want_code, doc
    return doc


def assert_token(status, body, token):
    assert status == 200, f"expected 200, got {status}: {body!r}"
    assert json.loads(body) == {"customer_token": token}


def write_secret(path: Path, value: str) -> Path:
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path


def fresh_store(directory: Path) -> Path:
    """The fixture CSV imported into a store of its own (this module writes to / breaks it)."""
    path = directory / "tokens.db"
    run_tokenctl("import", FIXTURE_CSV, store=path)
    return path


def sqlite_count(store: Path, sql: str) -> int:
    """A count from the store, with the sqlite3 CLI (read-only) if installed, else Python's."""
    if shutil.which("sqlite3"):
        cp = subprocess.run(["sqlite3", "-readonly", str(store), sql], capture_output=True, timeout=10,
                            stdin=subprocess.DEVNULL)
        assert cp.returncode == 0, cp.stderr
        return int(cp.stdout.strip())
    with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)) as db:
        return db.execute(sql).fetchone()[0]


class Stack:
    """One token-responder (own store, own log file) behind one nginx."""

    def __init__(self, directory: Path, store: Path, tls, *args):
        self.dir, self.store = directory, store
        self.responder = Responder(store, directory / "r.sock", directory / "responder.log", *args)
        self.nginx = Nginx(directory / "nginx", self.responder.socket_path, *tls)

    def __enter__(self):
        self.responder.start()
        try:
            self.nginx.render().start()
        except BaseException:
            self.responder.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.nginx.stop()
        self.responder.stop()

    def post(self, *args, **kw):
        return self.nginx.post(*args, **kw)

    def get(self, path, method="GET", source_address=None):
        conn = self.nginx.https_connection(source_address=source_address)
        try:
            return request(conn, method, path, None, None)
        finally:
            conn.close()

    def responder_log(self) -> str:
        return self.responder.log_path.read_text("utf-8", "replace")

    def nginx_logs(self) -> str:
        """Every file nginx writes in its prefix's logs/ (access logs, error log, stderr)."""
        logs = self.nginx.prefix / "logs"
        return "".join(p.read_text("utf-8", "replace") for p in sorted(logs.iterdir()) if p.is_file())


def other_loopback_address() -> tuple[str, int]:
    """A source address that is not 127.0.0.1 (Linux routes all of 127/8 to lo)."""
    import socket
    s = socket.socket()
    try:
        s.bind(("127.0.0.2", 0))
    except OSError as e:
        pytest.skip(f"cannot bind 127.0.0.2 here ({e})")
    finally:
        s.close()
    return ("127.0.0.2", 0)


@pytest.fixture(scope="module")
def ops(binaries, tls, nginx_binary, tmp_path_factory):
    """A plain responder on a store of its own (the health test breaks it for a moment)."""
    d = tmp_path_factory.mktemp("ops")
    with Stack(d, fresh_store(d), tls) as s:
        yield s


# --------------------------------------------------------------------------------------------
# Shared key (--key-file)


@pytest.fixture(scope="module")
def keyed(binaries, store, tls, nginx_binary, tmp_path_factory):
    d = tmp_path_factory.mktemp("key")
    key = "k3y" + secrets.token_hex(16)
    with Stack(d, store, tls, "--key-file", write_secret(d / "url.key", key)) as s:
        s.key = key
        yield s


def test_key_required(keyed):
    wrong = "wr0ng" + secrets.token_hex(8)
    status, headers, body = keyed.post(udesk_body(N))
    doc = assert_json_error(status, headers, body, "forbidden")
    assert doc["message"] != NGINX_FORBIDDEN_MESSAGE, "the responder, not nginx, must refuse a missing key"
    status, headers, body = keyed.post(udesk_body(N), path=f"{ENDPOINT}?key={wrong}")
    assert_json_error(status, headers, body, "forbidden")
    assert wrong.encode() not in body
    status, headers, body = keyed.post(udesk_body(N), path=f"{ENDPOINT}?key={keyed.key[:-1]}")
    assert_json_error(status, headers, body, "forbidden")
    status, headers, body = keyed.post(udesk_body(N), path=f"{ENDPOINT}?key={keyed.key}")
    assert_token(status, body, N_TOKEN)
    assert keyed.key.encode() not in body
    # health needs no key
    status, _, body = keyed.get(HEALTH)
    assert (status, json.loads(body)) == (200, {"status": "ok"})

    def logged():
        log = keyed.responder_log()
        return log.count("status=403") >= 3 and "status=200" in log

    wait_until(logged, 5, what="the responder's request lines")
    for where, text in (("nginx's logs", keyed.nginx_logs()), ("the responder's log", keyed.responder_log())):
        assert keyed.key not in text, f"the key appears in {where}"
        assert keyed.key[:-1] not in text, f"a near-key appears in {where}"
        assert wrong not in text, f"the wrong key appears in {where}"
    access = (keyed.nginx.prefix / "logs" / "udesk-token.access.log").read_text()
    assert access.count(f"POST {ENDPOINT} ") >= 4, access


# --------------------------------------------------------------------------------------------
# Timestamp window (--max-skew)


@pytest.fixture(scope="module")
def windowed(binaries, store, tls, nginx_binary, tmp_path_factory):
    d = tmp_path_factory.mktemp("skew")
    with Stack(d, store, tls, "--max-skew", "300") as s:
        yield s


def test_timestamp_window(windowed):
    now = int(time.time())
    assert_token(*windowed.post(udesk_body(N, timestamp=now))[::2], N_TOKEN)
    assert_token(*windowed.post(udesk_body(N, timestamp=now - 200))[::2], N_TOKEN)
    assert_token(*windowed.post(udesk_body(N, timestamp=str(now)))[::2], N_TOKEN)  # Udesk may quote it
    for ts in (1501124998, now - 3600, now + 3600):  # 2017 (the example in Udesk's docs), +-1 h
        assert_json_error(*windowed.post(udesk_body(N, timestamp=ts)), "timestamp_out_of_window")
    assert_json_error(*windowed.post(b'{"number": 13800138000}'), "missing_timestamp")


# --------------------------------------------------------------------------------------------
# What the responder logs


def test_log_lines_mask_numbers_and_never_hold_tokens(ops):
    cases = [(N, N_TOKEN, N_MASKED, 200), ("+86 139 0000 1111", TOKENS["+86 139 0000 1111"], "+86139******11", 200),
             (UNKNOWN_NUMBER, None, "+86139******78", 404)]
    def request_lines():
        return [line for line in ops.responder_log().splitlines() if line.endswith(" request")]

    before = len(request_lines())
    for number, token, _, want in cases:
        status, _, body = ops.post(udesk_body(number))
        assert status == want, body
        if token:
            assert json.loads(body) == {"customer_token": token}
    wait_until(lambda: len(request_lines()) >= before + len(cases), 5, what="one request line per request")
    lines = request_lines()[before:]
    text = "\n".join(lines)
    for number, token, masked, want in cases:
        assert f"number={masked}" in text, f"no masked number {masked} in:\n{text}"
        assert any(f"number={masked}" in line and f"status={want}" in line for line in lines), text
        if token:
            assert token not in text, f"the token {token!r} was logged"
    for digits in ("13800138000", "8613800138000", "13900001111", "13912345678"):
        assert digits not in text, f"full number {digits} was logged"
    # nginx's request ids are hex and may hold digit runs: they are not numbers
    assert all(re.search(r" request_id=[0-9a-f]{32} request$", line) for line in lines), text
    assert not re.search(r"\d{7,}", re.sub(r"request_id=\S+", "", text)), f"a long digit run (a number?) in the log:\n{text}"
    assert all("latency_ms=" in line for line in lines), text


# --------------------------------------------------------------------------------------------
# Health


def test_health_ok_any_method_unlogged(ops):
    for method in ("GET", "HEAD", "POST"):
        status, headers, body = ops.get(HEALTH, method=method)
        assert status == 200, (method, body)
        assert headers["content-type"] == JSON_CONTENT_TYPE
        assert headers["cache-control"] == "no-store"
        if method != "HEAD":
            assert json.loads(body) == {"status": "ok"}
    # monitors are not Udesk: reachable from anywhere (the allow-list is the token endpoint's)
    status, _, body = ops.get(HEALTH, source_address=other_loopback_address())
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    access = (ops.nginx.prefix / "logs" / "udesk-token.access.log")
    assert HEALTH not in (access.read_text() if access.exists() else ""), "health checks are logged"


def test_health_503_when_the_store_breaks_after_sighup(ops):
    store = ops.store
    moved = store.with_name("tokens.db.moved")

    def health():
        status, _, body = ops.get(HEALTH)
        return status, json.loads(body)

    assert health() == (200, {"status": "ok"})
    os.replace(store, moved)
    try:
        store.write_bytes(b"this is not an SQLite database, whatever the name says\n" * 100)
        ops.responder.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: health()[0] == 503, 5, interval=0.05, what="health to turn 503 after SIGHUP")
        assert health() == (503, {"status": "unavailable"})
        # the token query says so too, in its own terms
        assert_json_error(*ops.post(udesk_body(N)), "store_unavailable")
    finally:
        os.replace(moved, store)
        ops.responder.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: health()[0] == 200, 5, interval=0.05, what="health to recover after restore + SIGHUP")
    assert health() == (200, {"status": "ok"})
    assert_token(*ops.post(udesk_body(N))[::2], N_TOKEN)
    assert ops.responder.proc.poll() is None, "SIGHUP must not stop the responder"
    wait_until(lambda: "file is not a database" in ops.responder_log() or "status=503" in ops.responder_log(),
               5, what="the broken store in the responder's log")


# --------------------------------------------------------------------------------------------
# Metrics

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$")


def scrape(stack: Stack) -> dict[str, float]:
    status, headers, body = stack.get(METRICS)
    assert status == 200, body
    assert headers["content-type"] == PROMETHEUS_CONTENT_TYPE
    samples = {}
    for line in body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        samples[m.group(1)] = float(m.group(2))
    return samples


FOUND = 'token_responder_requests_total{status="200",outcome="found"}'
UNKNOWN = 'token_responder_requests_total{status="404",outcome="unknown"}'
COUNT = "token_responder_request_duration_seconds_count"


def test_metrics_count_requests_and_store_rows(ops):
    before = scrape(ops)
    for _ in range(5):
        assert_token(*ops.post(udesk_body(N))[::2], N_TOKEN)
    for _ in range(2):
        assert ops.post(udesk_body(UNKNOWN_NUMBER))[0] == 404
    after = scrape(ops)
    assert after[FOUND] - before.get(FOUND, 0) == 5, (before, after)
    assert after.get(UNKNOWN, 0) - before.get(UNKNOWN, 0) == 2, sorted(after)
    assert after[COUNT] - before.get(COUNT, 0) == 7, "scrapes themselves must not be counted"
    assert any(k.startswith("token_responder_request_duration_seconds_bucket{") for k in after)
    rows = sqlite_count(ops.store, "SELECT count(*) FROM tokens")
    assert rows == len(TOKENS)
    assert after["token_responder_store_rows"] == rows


def test_metrics_only_from_localhost(ops):
    status, headers, body = ops.get(METRICS, source_address=other_loopback_address())
    doc = assert_json_error(status, headers, body, "nginx_forbidden")
    assert doc["message"] == NGINX_FORBIDDEN_MESSAGE
    assert b"token_responder" not in body
    assert scrape(ops)  # still fine from 127.0.0.1


# --------------------------------------------------------------------------------------------
# --unknown mint


@pytest.fixture(scope="module")
def minting(binaries, tls, nginx_binary, tmp_path_factory):
    d = tmp_path_factory.mktemp("mint")
    mint_key = write_secret(d / "mint.key", secrets.token_hex(32))
    with Stack(d, fresh_store(d), tls, "--unknown", "mint", "--mint-key-file", mint_key) as s:
        yield s


MINTED = re.compile(r"^mt1_[A-Za-z0-9_-]{22}$")


def test_mint_records_the_token(minting):
    number = UNKNOWN_NUMBER
    before = len(re.findall(r" request(?!_id)", minting.responder_log()))
    assert run_tokenctl("get", number, store=minting.store, check=False).returncode == 1, "not unknown"
    status, _, body = minting.post(udesk_body(number))
    assert status == 200, body
    token = json.loads(body)["customer_token"]
    assert MINTED.match(token), token
    assert_token(*minting.post(udesk_body(number))[::2], token)
    assert_token(*minting.post(udesk_body("+86 139-1234-5678"))[::2], token)  # same number, other form
    assert run_tokenctl("get", number, store=minting.store).stdout.decode().strip() == token
    # known numbers still get their own tokens
    assert_token(*minting.post(udesk_body(N))[::2], N_TOKEN)
    wait_until(lambda: len(re.findall(r" request(?!_id)", minting.responder_log())) >= before + 4, 5,
               what="the request lines of the four calls")
    assert token not in minting.responder_log(), "a minted token was logged"


def test_concurrent_first_requests_mint_one_token(minting):
    number, key = "13700001111", "+8613700001111"
    assert sqlite_count(minting.store, f"SELECT count(*) FROM tokens WHERE number = '{key}'") == 0
    minted_before = sqlite_count(minting.store, "SELECT count(*) FROM tokens WHERE minted=1")
    clients = 8
    conns = [minting.nginx.https_connection() for _ in range(clients)]
    for c in conns:
        c.connect()  # TLS handshakes done before the start line
    barrier = threading.Barrier(clients, timeout=10)
    results: list = [None] * clients

    def call(i):
        try:
            barrier.wait()
            results[i] = request(conns[i], "POST", ENDPOINT, udesk_body(number))
        except Exception as e:  # reported below
            results[i] = e

    threads = [threading.Thread(target=call, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    for c in conns:
        c.close()
    assert not any(t.is_alive() for t in threads), "a request hung"
    tokens = set()
    for r in results:
        assert not isinstance(r, Exception), r
        status, _, body = r
        assert status == 200, body
        tokens.add(json.loads(body)["customer_token"])
    assert len(tokens) == 1, f"concurrent first requests got different tokens: {tokens}"
    token = tokens.pop()
    assert MINTED.match(token)
    assert sqlite_count(minting.store, f"SELECT count(*) FROM tokens WHERE number = '{key}'") == 1
    assert sqlite_count(minting.store, "SELECT count(*) FROM tokens WHERE minted=1") == minted_before + 1
    assert run_tokenctl("get", number, store=minting.store).stdout.decode().strip() == token
