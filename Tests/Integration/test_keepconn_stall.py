"""The key property of the FastCGI server: idle kept-open connections (nginx's upstream
keepalive pool, fastcgi_keep_conn on) never occupy worker threads, so the responder never
stalls when the web server holds more idle connections than it has threads."""

from __future__ import annotations

import secrets
import socket
import sqlite3
import threading
import time

import pytest

from udesk_it import FIXTURE_CSV, FastCGIConnection, cgi_params, run_tokenctl, udesk_body, wait_until

THREADS = 2
IDLE_CONNECTIONS = 50
PROMPT = 0.2  # seconds


def timed_request(conn, body, what):
    t0 = time.monotonic()
    try:
        resp = conn.request(body, keep_conn=True)
    except socket.timeout:
        pytest.fail(f"{what}: no answer within {conn.sock.gettimeout()} s -- the responder stalled "
                    f"(--threads {THREADS}, idle kept connections hold the workers)")
    return resp, time.monotonic() - t0


def test_idle_kept_connections_do_not_stall(start_responder):
    r = start_responder("--threads", str(THREADS))
    body = udesk_body(13800138000)
    conns = []
    try:
        for i in range(IDLE_CONNECTIONS):
            c = FastCGIConnection(r.socket_path, timeout=2)
            conns.append(c)
            resp, _ = timed_request(c, body, f"first request on kept connection #{i + 1}")
            assert resp.status == 200, resp.stdout
        # all 50 stay open and idle; a NEW connection must still be served promptly
        with FastCGIConnection(r.socket_path, timeout=2) as fresh:
            resp, elapsed = timed_request(fresh, body, "request on a new connection")
        assert resp.status == 200
        assert elapsed < PROMPT, f"new connection answered after {elapsed * 1000:.0f} ms"
        # and the idle connections are still usable, promptly: the last, the first, one between
        for idx in (IDLE_CONNECTIONS - 1, 0, IDLE_CONNECTIONS // 2):
            resp, elapsed = timed_request(conns[idx], body, f"second request on kept connection #{idx + 1}")
            assert resp.status == 200
            assert resp.body == b'{"customer_token":"cust-0001"}'
            assert elapsed < PROMPT, f"kept connection #{idx + 1} answered after {elapsed * 1000:.0f} ms"
    finally:
        for c in conns:
            c.close()
    assert r.proc.poll() is None, f"responder died:\n{r.log()}"


def test_many_requests_interleaved_over_kept_connections(start_responder):
    """Round-robin over 10 kept connections, like nginx spreading requests over its pool."""
    r = start_responder("--threads", str(THREADS))
    conns = [FastCGIConnection(r.socket_path, timeout=2) for _ in range(10)]
    try:
        for i in range(100):
            resp, _ = timed_request(conns[i % 10], udesk_body(13800138000), f"request {i}")
            assert resp.status == 200
    finally:
        for c in conns:
            c.close()


def test_without_keep_conn_the_connection_is_closed(start_responder):
    """FCGI_KEEP_CONN unset: the responder closes the connection after the answer (FastCGI 1.0)."""
    r = start_responder("--threads", str(THREADS))
    with FastCGIConnection(r.socket_path, timeout=2) as c:
        resp = c.request(udesk_body(13800138000), keep_conn=False)
        assert resp.status == 200
        assert c.is_closed_by_peer(timeout=2), "connection still open after a request without FCGI_KEEP_CONN"


def test_client_closing_idle_kept_connections(start_responder):
    """Clients (nginx) closing their idle connections must not upset the responder."""
    r = start_responder("--threads", str(THREADS))
    for _ in range(3):
        conns = [FastCGIConnection(r.socket_path, timeout=2) for _ in range(20)]
        for c in conns:
            assert c.request(udesk_body(13800138000)).status == 200
        for c in conns:
            c.close()
    with FastCGIConnection(r.socket_path, timeout=2) as c:
        resp, elapsed = timed_request(c, udesk_body(13800138000), "request after churn")
        assert resp.status == 200 and elapsed < PROMPT


def test_a_request_stuck_mid_body_does_not_hold_up_the_others(start_responder):
    """A worker blocked reading a request whose body never finishes (up to the I/O timeout) must
    not hold up requests on other connections: another worker takes them, promptly, whether
    they arrive at once or while the stuck one is still waiting."""
    r = start_responder("--threads", str(THREADS))
    body = udesk_body(13800138000)
    with FastCGIConnection(r.socket_path, timeout=10) as stuck:
        request_id = stuck.begin(cgi_params(body))
        stuck.send_stdin(request_id, body[:5])  # CONTENT_LENGTH promises more
        time.sleep(0.05)  # a worker is now blocked reading the rest
        for i in range(20):
            with FastCGIConnection(r.socket_path, timeout=2) as other:
                resp, elapsed = timed_request(other, body, f"request #{i + 1} beside the stuck one")
            assert resp.status == 200, resp.stdout
            assert elapsed < PROMPT, f"request #{i + 1} answered after {elapsed * 1000:.0f} ms"
            time.sleep(0.01)
        stuck.send_stdin(request_id, body[5:], end=True)
        assert stuck.read_response(request_id).status == 200
    assert r.proc.poll() is None, f"responder died:\n{r.log()}"


def test_connections_waiting_to_be_accepted_are_taken_together(start_responder, tmp_path):
    """New connections (nginx opens them whenever its keepalive cache is empty) must not wait a
    turn of the busy connections each. The only worker is kept busy by four clients whose
    requests each take 100 ms (a minted token waits that long for the store's write lock,
    held here as an import would); ten new connections then arrive at once. Taken one per
    turn of the listening socket, the last is answered after ten turns (~4 s); taken together,
    within about two turns."""
    store = tmp_path / "tokens.db"
    run_tokenctl("import", FIXTURE_CSV, store=store)
    key = tmp_path / "mint.key"
    key.write_text(secrets.token_hex(32))
    key.chmod(0o600)
    r = start_responder("--threads", "1", "--unknown", "mint", "--mint-key-file", key, store_path=store)
    lock = sqlite3.connect(store, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    stop = threading.Event()
    slow_answers = []

    def slow_client(n):
        with FastCGIConnection(r.socket_path, timeout=10) as conn:
            while not stop.is_set():
                slow_answers.append(conn.request(udesk_body(13900000000 + n)).status)

    clients = [threading.Thread(target=slow_client, args=(n,)) for n in range(4)]
    try:
        for c in clients:
            c.start()
        wait_until(lambda: len(slow_answers) >= 8, 10, what="the slow clients to get going")
        body = udesk_body(13800138000)
        fresh = [FastCGIConnection(r.socket_path, timeout=10) for _ in range(10)]
        t0 = time.monotonic()
        ids = []
        for conn in fresh:
            ids.append(conn.begin(cgi_params(body)))
            conn.send_stdin(ids[-1], body, end=True)
        for i, (conn, rid) in enumerate(zip(fresh, ids)):
            assert conn.read_response(rid).body == b'{"customer_token":"cust-0001"}'
            conn.close()
        elapsed = time.monotonic() - t0
    finally:
        stop.set()
        for c in clients:
            c.join(timeout=15)
        lock.rollback()
        lock.close()
    assert set(slow_answers) == {200}
    assert elapsed < 1.5, f"ten new connections answered only after {elapsed:.2f} s"
