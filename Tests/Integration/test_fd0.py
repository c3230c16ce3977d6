"""spawn-fcgi / socket-activation style: the listening socket is handed over as fd 0 and
token-responder is started without --socket."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from udesk_it import (FastCGIConnection, bin_dir, stop_process, tail, udesk_body, unix_connectable,
                      wait_until)

KNOWN = [(13800138000, "cust-0001"), ("+86 139 0000 1111", "cust-0002"), ("010-12345678", "cust-beijing-landline")]


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_")}
    env.update(extra)
    return env


@pytest.fixture
def fd0_responder(binaries, store, socket_path, workdir):
    """token-responder with a listening Unix socket, made here, as its fd 0."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_path))
    listener.listen(64)
    log = workdir / f"fd0-{socket_path.stem}.log"
    with open(log, "ab") as logf:
        proc = subprocess.Popen([str(bin_dir() / "token-responder"), "--store", str(store)],
                                stdin=listener.fileno(), stdout=logf, stderr=subprocess.STDOUT,
                                env=clean_env(), start_new_session=True)
    listener.close()  # the child has its own copy as fd 0
    time.sleep(0.05)
    assert proc.poll() is None, f"token-responder exited at once ({proc.returncode}):\n{tail(log)}"
    yield proc, socket_path, log
    stop_process(proc, timeout=5)


def test_fd0_serves_fastcgi(fd0_responder):
    proc, path, log = fd0_responder
    with FastCGIConnection(path) as conn:
        r = conn.request(udesk_body(13800138000))
        assert r.status == 200, (r.stdout, tail(log))
        assert r.body == b'{"customer_token":"cust-0001"}'
        assert r.app_status == 0 and r.protocol_status == 0


def test_fd0_keep_conn_several_requests(fd0_responder):
    proc, path, log = fd0_responder
    with FastCGIConnection(path) as conn:
        for i in range(3):
            for number, token in KNOWN:
                r = conn.request(udesk_body(number), keep_conn=True)
                assert r.status == 200, (i, number, r.stdout)
                assert r.json() == {"customer_token": token}
        # an error answer on the same connection, then another success
        assert conn.request(udesk_body("13912345678")).status == 404
        assert conn.request(udesk_body(13800138000)).status == 200


def test_fd0_sigterm_exits_zero(fd0_responder):
    proc, path, log = fd0_responder
    with FastCGIConnection(path) as conn:
        assert conn.request(udesk_body(13800138000)).status == 200
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pytest.fail(f"token-responder (fd 0 mode) did not exit within 5 s of SIGTERM:\n{tail(log)}")
    assert code == 0, f"exit status {code} after SIGTERM:\n{tail(log)}"
    assert time.monotonic() - t0 < 5


def test_spawn_fcgi(binaries, store, socket_path, workdir):
    """The real spawn-fcgi (-n: exec in the foreground) handing token-responder its socket."""
    spawn = shutil.which("spawn-fcgi")
    if spawn is None:
        pytest.skip("spawn-fcgi not installed (apt-get install spawn-fcgi)")
    log = workdir / "spawn-fcgi.log"
    with open(log, "ab") as logf:
        proc = subprocess.Popen([spawn, "-n", "-s", str(socket_path), "-M", "0600", "--",
                                 str(bin_dir() / "token-responder")],
                                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                env=clean_env(TOKEN_STORE=str(store)), start_new_session=True)
    try:
        wait_until(lambda: proc.poll() is not None or unix_connectable(socket_path), 10,
                   what="spawn-fcgi socket")
        assert proc.poll() is None, f"exited {proc.returncode}:\n{tail(log)}"
        with FastCGIConnection(socket_path) as conn:
            for _ in range(3):
                r = conn.request(udesk_body("+86 138 0013 8000"))
                assert (r.status, r.body) == (200, b'{"customer_token":"cust-0001"}'), tail(log)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        stop_process(proc, timeout=5)
