"""FastCGI protocol robustness, with a hand-written client: record splitting, clients that go
away mid-request, roles other than Responder."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from udesk_it import (FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_KEEP_CONN, FCGI_PARAMS, FCGI_STDIN,
                     FastCGIConnection, cgi_params, fcgi_params, fcgi_record, udesk_body)

OK_BODY = b'{"customer_token":"cust-0001"}'


def test_stdin_in_one_byte_records_and_split_params(start_responder):
    r = start_responder()
    body = udesk_body("+86 138 0013 8000")
    params = fcgi_params(cgi_params(body))
    with FastCGIConnection(r.socket_path) as conn:
        rid = 7
        out = fcgi_record(FCGI_BEGIN_REQUEST, rid, struct.pack(">HB5x", 1, FCGI_KEEP_CONN))
        for i in range(0, len(params), 13):  # params split at arbitrary points, mid name-value pair
            out += fcgi_record(FCGI_PARAMS, rid, params[i:i + 13])
        out += fcgi_record(FCGI_PARAMS, rid)
        out += b"".join(fcgi_record(FCGI_STDIN, rid, body[i:i + 1]) for i in range(len(body)))
        out += fcgi_record(FCGI_STDIN, rid)
        conn.sock.sendall(out)
        resp = conn.read_response(rid)
        assert (resp.status, resp.body) == (200, OK_BODY)
        # the connection is still good for a normal request
        assert conn.request(udesk_body(13800138000)).body == OK_BODY


def test_large_params_like_many_http_headers(start_responder):
    """nginx forwards every request header as HTTP_*; a few KiB of them must not matter."""
    r = start_responder()
    body = udesk_body(13800138000)
    params = cgi_params(body)
    params.update({f"HTTP_X_HEADER_{i}": "v" * 200 for i in range(40)})
    params["HTTP_COOKIE"] = "c=" + "x" * 3000
    with FastCGIConnection(r.socket_path) as conn:
        resp = conn.request(body, params=params)
        assert (resp.status, resp.body) == (200, OK_BODY)


def test_client_vanishing_mid_request_frees_the_worker(start_responder):
    """A connection closed after half a request must not keep the only worker busy."""
    r = start_responder("--threads", "1")
    body = udesk_body(13800138000)
    for _ in range(3):
        c = FastCGIConnection(r.socket_path)
        rid = c.begin(cgi_params(body))
        c.send_stdin(rid, body[:8])
        c.close()
    time.sleep(0.1)
    with FastCGIConnection(r.socket_path, timeout=3) as conn:
        t0 = time.monotonic()
        resp = conn.request(body)
        elapsed = time.monotonic() - t0
    assert (resp.status, resp.body) == (200, OK_BODY)
    assert elapsed < 0.5, f"answered after {elapsed:.2f} s"
    assert r.proc.poll() is None


def test_client_vanishing_before_reading_the_answer(start_responder):
    """Closing right after sending a full request (answer never read) must not hurt the server."""
    r = start_responder("--threads", "1")
    body = udesk_body(13800138000)
    for _ in range(20):
        c = FastCGIConnection(r.socket_path)
        rid = c.begin(cgi_params(body))
        c.send_stdin(rid, body, end=True)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST-like
        c.close()
    with FastCGIConnection(r.socket_path, timeout=3) as conn:
        assert conn.request(body).body == OK_BODY
    assert r.proc.poll() is None


@pytest.mark.parametrize("role", [2, 3], ids=["authorizer", "filter"])
def test_unknown_role_is_refused(start_responder, role):
    """Only the Responder role is played: an Authorizer or Filter request gets END_REQUEST with
    FCGI_UNKNOWN_ROLE (3) and the connection is closed; the server stays up."""
    r = start_responder()
    body = udesk_body(13800138000)
    with FastCGIConnection(r.socket_path, timeout=3) as conn:
        conn.sock.sendall(fcgi_record(FCGI_BEGIN_REQUEST, 1, struct.pack(">HB5x", role, 1))
                          + fcgi_record(FCGI_PARAMS, 1, fcgi_params(cgi_params(body))) + fcgi_record(FCGI_PARAMS, 1)
                          + fcgi_record(FCGI_STDIN, 1, body) + fcgi_record(FCGI_STDIN, 1))
        rtype, rid, content = conn.read_record()
        assert (rtype, rid) == (FCGI_END_REQUEST, 1), f"record type {rtype}: {content[:80]!r}"
        assert struct.unpack(">IB3x", content) == (0, 3)
        assert conn.is_closed_by_peer(timeout=2)
    with FastCGIConnection(r.socket_path) as conn:
        assert conn.request(udesk_body(13800138000)).body == OK_BODY
