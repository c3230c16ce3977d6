"""Graceful shutdown: SIGTERM/SIGINT stop accepting, finish in-flight requests, exit 0."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from udesk_it import FastCGIConnection, cgi_params, udesk_body, unix_connectable


def wait_exit(responder, timeout=5.0):
    try:
        return responder.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"token-responder did not exit within {timeout} s of the signal:\n{responder.log()}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_with_idle_keep_conn_connection(start_responder, sig):
    """An idle kept-open FastCGI connection (as nginx holds them) must not delay shutdown."""
    r = start_responder()
    conn = FastCGIConnection(r.socket_path)
    try:
        resp = conn.request(udesk_body(13800138000), keep_conn=True)
        assert resp.status == 200
        t0 = time.monotonic()
        r.proc.send_signal(sig)
        code = wait_exit(r)
        elapsed = time.monotonic() - t0
    finally:
        conn.close()
    assert code == 0, f"exit status {code}:\n{r.log()}"
    assert elapsed < 5
    assert not r.socket_path.exists(), "socket file left behind after shutdown"


def test_no_new_connections_after_exit(start_responder):
    r = start_responder()
    r.proc.send_signal(signal.SIGTERM)
    assert wait_exit(r) == 0
    assert not unix_connectable(r.socket_path)


def test_request_in_flight_is_finished(start_responder):
    """Params and half of the body are sent, then SIGTERM, then the rest: the full answer comes."""
    r = start_responder()
    body = udesk_body("+86 138 0013 8000")
    half = len(body) // 2
    conn = FastCGIConnection(r.socket_path, timeout=5)
    try:
        rid = conn.begin(cgi_params(body), keep_conn=True)
        conn.send_stdin(rid, body[:half])
        time.sleep(0.3)  # let a worker pick the request up
        r.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert r.proc.poll() is None, f"exited with a request in flight:\n{r.log()}"
        conn.send_stdin(rid, body[half:], end=True)
        resp = conn.read_response(rid)
    finally:
        conn.close()
    assert resp.status == 200, resp.stdout
    assert resp.body == b'{"customer_token":"cust-0001"}'
    assert resp.app_status == 0
    code = wait_exit(r)
    assert code == 0, f"exit status {code}:\n{r.log()}"
    assert not r.socket_path.exists()


def test_in_flight_on_keep_conn_connection_after_previous_request(start_responder):
    """Same, but the in-flight request is the second one on a kept connection."""
    r = start_responder()
    body = udesk_body(13800138000)
    conn = FastCGIConnection(r.socket_path, timeout=5)
    try:
        assert conn.request(body).status == 200
        rid = conn.begin(cgi_params(body), keep_conn=True)
        conn.send_stdin(rid, body[:10])
        time.sleep(0.3)
        r.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        conn.send_stdin(rid, body[10:], end=True)
        resp = conn.read_response(rid)
    finally:
        conn.close()
    assert (resp.status, resp.body) == (200, b'{"customer_token":"cust-0001"}')
    assert wait_exit(r) == 0
