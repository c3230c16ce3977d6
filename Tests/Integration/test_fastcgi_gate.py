"""What can reach the FastCGI socket cannot crash or starve the responder: a request is read by
libfcgi only once it has arrived whole and well-formed; a malformed one is closed unread, and a
slow one waits without a worker until --request-timeout."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest

from udesk_it import (FCGI_BEGIN_REQUEST, FCGI_KEEP_CONN, FCGI_PARAMS, FCGI_STDIN, FastCGIConnection,
                      cgi_params, fcgi_params, fcgi_record, udesk_body, wait_until)

OK_BODY = b'{"customer_token":"cust-0001"}'
BEGIN = fcgi_record(FCGI_BEGIN_REQUEST, 1, struct.pack(">HB5x", 1, FCGI_KEEP_CONN))


def assert_serving(responder):
    assert responder.proc.poll() is None, f"the responder exited:\n{responder.log()}"
    with FastCGIConnection(responder.socket_path) as conn:
        assert conn.request(udesk_body(13800138000)).body == OK_BODY


def raw_record(rtype, rid, length, padding=0, content=b"", version=1):
    return struct.pack(">BBHHBx", version, rtype, rid, length, padding) + content


OVERFLOWING_PAIR = struct.pack(">II", 0x40000000 | 0x80000000, 0x40000000 | 0x80000000) + b"x" * 8
MALFORMED = {
    # name and value lengths of 2^30 each: libfcgi's allocation overflowed and it aborted
    "params pair lengths overflow": BEGIN + fcgi_record(FCGI_PARAMS, 1, OVERFLOWING_PAIR) + fcgi_record(FCGI_PARAMS, 1),
    "pair longer than the params": BEGIN + fcgi_record(FCGI_PARAMS, 1, b"\x05\x7fNAMEE" + b"v" * 10)
                                   + fcgi_record(FCGI_PARAMS, 1),
    "bad version": raw_record(FCGI_BEGIN_REQUEST, 1, 8, content=b"\0" * 8, version=2),
    "unknown record type": raw_record(42, 1, 0),
    "stdin before begin": fcgi_record(FCGI_STDIN, 1, b"{}"),
    "other request id": BEGIN + fcgi_record(FCGI_PARAMS, 2, b"\x01\x01ab"),
    "params over the cap": BEGIN + b"".join(fcgi_record(FCGI_PARAMS, 1, fcgi_params({f"HTTP_X_{i}": "v" * 60000}))
                                             for i in range(1)),
}


@pytest.mark.parametrize("stream", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_stream_is_closed_and_the_responder_survives(start_responder, stream):
    r = start_responder()
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(r.socket_path))
        s.sendall(stream)
        s.settimeout(3)
        try:
            closed = s.recv(1) == b""
        except ConnectionResetError:
            closed = True
        assert closed
    assert_serving(r)
    wait_until(lambda: "malformed request" in r.log(), timeout=3, what="the warning in the log")


def slow_sender(path, stop: threading.Event):
    """A whole valid request, sent one byte every 50 ms (each byte restarts a per-read timeout)."""
    body = udesk_body(13800138000)
    data = BEGIN + fcgi_record(FCGI_PARAMS, 1, fcgi_params(cgi_params(body))) + fcgi_record(FCGI_PARAMS, 1) \
        + fcgi_record(FCGI_STDIN, 1, body) + fcgi_record(FCGI_STDIN, 1)
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(path))
        for byte in data:
            if stop.is_set():
                return
            try:
                s.send(bytes([byte]))
            except OSError:
                return
            time.sleep(0.05)


def test_slow_senders_hold_no_worker_and_are_closed_after_the_request_timeout(start_responder):
    r = start_responder("--threads", "4", "--request-timeout", "1")
    stop = threading.Event()
    senders = [threading.Thread(target=slow_sender, args=(r.socket_path, stop)) for _ in range(8)]
    for t in senders:
        t.start()
    try:
        time.sleep(0.5)
        with FastCGIConnection(r.socket_path, timeout=5) as conn:
            for _ in range(20):
                started = time.monotonic()
                assert conn.request(udesk_body(13800138000)).body == OK_BODY
                assert time.monotonic() - started < 0.25
        # A slow sender is given up on once its request is a second old.
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(r.socket_path))
            s.sendall(BEGIN[:10])
            s.settimeout(4)
            started = time.monotonic()
            try:
                assert s.recv(1) == b""
            except ConnectionResetError:
                pass  # closed with the partial request unread
            assert 0.8 < time.monotonic() - started < 2.5
    finally:
        stop.set()
        for t in senders:
            t.join(timeout=5)
    wait_until(lambda: "did not arrive in time" in r.log(), timeout=3, what="the warning in the log")


def test_an_idle_kept_connection_outlives_the_request_timeout(start_responder):
    r = start_responder("--request-timeout", "0.3")
    with FastCGIConnection(r.socket_path, timeout=5) as conn:
        assert conn.request(udesk_body(13800138000)).body == OK_BODY
        time.sleep(1.0)  # idle: no bytes at all, so no request is late
        assert not conn.is_closed_by_peer(timeout=0.1)
        assert conn.request(udesk_body(13800138000)).body == OK_BODY


def test_running_out_of_descriptors_is_logged_at_most_every_ten_seconds(tmp_path, store):
    """With `ulimit -n` exhausted every accept fails; the error is written once (with a count
    of the ones left out later), not hundreds of times a second."""
    import resource
    import subprocess

    from udesk_it import bin_dir, stop_process, unix_connectable

    sock = tmp_path / "r.sock"
    log = tmp_path / "r.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(bin_dir() / "token-responder"), "--store", str(store), "--socket", str(sock)],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40)))
    conns = []
    try:
        wait_until(lambda: unix_connectable(sock), timeout=10, what="the responder to listen")
        for _ in range(80):
            s = socket.socket(socket.AF_UNIX)
            s.connect(str(sock))
            conns.append(s)
        time.sleep(2)
    finally:
        for s in conns:
            s.close()
        stop_process(proc)
    assert log.read_text().count("accept failed") == 1, log.read_text()[-2000:]


def test_clients_that_keep_a_closing_connection_open_hold_no_worker(start_responder):
    """After answering a request without FCGI_KEEP_CONN, or one over --max-body, the responder
    closes the connection at once, without waiting for the client to close its side: clients
    that never do must not hold the only worker."""
    r = start_responder("--threads", "1")
    body = udesk_body(13800138000)
    silent = []
    try:
        for i in range(4):
            c = FastCGIConnection(r.socket_path, timeout=3)
            if i % 2:
                assert c.request(body, keep_conn=False).body == OK_BODY
            else:
                big = b'{"number": "13800138000", "x": "' + b"z" * 5000 + b'"}'
                assert c.request(big).status == 413
            silent.append(c)  # answered; the client neither closes nor sends anything more
        with FastCGIConnection(r.socket_path, timeout=3) as conn:
            t0 = time.monotonic()
            assert conn.request(body).body == OK_BODY
            elapsed = time.monotonic() - t0
        assert elapsed < 0.5, f"answered after {elapsed * 1000:.0f} ms"
        for c in silent:
            assert c.is_closed_by_peer(timeout=0.5)
    finally:
        for c in silent:
            c.close()


def test_malformed_connections_cannot_flood_the_log(start_responder):
    """Anything that can reach the socket could otherwise write a log line per connection."""
    r = start_responder()
    for _ in range(200):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(r.socket_path))
            s.sendall(MALFORMED["unknown record type"])
            s.settimeout(3)
            try:
                s.recv(1)
            except ConnectionResetError:
                pass
    assert_serving(r)
    wait_until(lambda: "malformed request" in r.log(), timeout=3, what="the warning in the log")
    assert r.log_path.read_text().count("malformed request") <= 2
