"""The key property of the FastCGI server: idle kept-open connections (nginx's upstream
keepalive pool, fastcgi_keep_conn on) never occupy worker threads, so the responder never
stalls when the web server holds more idle connections than it has threads."""

from __future__ import annotations

import socket
import time

import pytest

from udesk_it import FastCGIConnection, udesk_body

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
    from udesk_it import cgi_params

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
