"""FastCGI over TCP (--socket HOST:PORT, a TCP socket on fd 0) and the allow-list that keeps
anyone but the nginx hosts out (--allow-from, TOKEN_ALLOW_FROM, FCGI_WEB_SERVER_ADDRS)."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from udesk_it import FastCGIConnection, Responder, ResponderExited, bin_dir, free_port, udesk_body

ANSWER = {"customer_token": "cust-0001"}


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_") and k != "FCGI_WEB_SERVER_ADDRS"}
    return {**env, **extra}


def serve(store, tmp_path, address, *args, env=None) -> Responder:
    return Responder(store, address, tmp_path / "responder.log", "--threads", "2", *args,
                     env=env or clean_env()).start()


def refused(address, source=None) -> bool:
    """True when the responder closes a connection from `source` without answering."""
    try:
        with FastCGIConnection(address, timeout=2, source=source) as conn:
            conn.request(udesk_body(13800138000))
    except (ConnectionError, OSError, AssertionError, EOFError, ValueError):
        return True
    return False


def test_tcp_on_loopback(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    address = f"127.0.0.1:{free_port()}"
    r = serve(store, tmp_path, address)
    try:
        with FastCGIConnection(address) as conn:
            assert conn.request(udesk_body(13800138000)).json() == ANSWER
            assert conn.request(udesk_body(13800138000)).json() == ANSWER  # kept connection
        assert not (tmp_path / address).exists(), "a socket file named after the address was created"
    finally:
        assert r.stop() == 0


def test_tcp_on_ipv6_loopback(store, tmp_path):
    address = f"[::1]:{free_port()}"
    r = serve(store, tmp_path, address)
    try:
        with FastCGIConnection(address) as conn:
            assert conn.request(udesk_body(13800138000)).json() == ANSWER
    finally:
        r.stop()


@pytest.mark.parametrize("value", ["host:", "a:b", "[::1]", "127.0.0.1:0", "127.0.0.1:70000", "[12]:9000"])
def test_a_value_that_is_neither_a_path_nor_host_port_is_an_error(store, value):
    cp = subprocess.run([str(bin_dir() / "token-responder"), "--store", str(store), "--socket", value],
                        env=clean_env(), capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    assert cp.returncode != 0
    assert b"HOST:PORT" in cp.stderr, cp.stderr


def test_an_address_other_than_loopback_needs_an_allow_list(store, tmp_path):
    address = f"0.0.0.0:{free_port()}"
    with pytest.raises(ResponderExited) as exited:
        serve(store, tmp_path, address)
    assert "--allow-from" in exited.value.log
    r = serve(store, tmp_path, address, "--allow-from", "any")
    try:
        with FastCGIConnection(address.replace("0.0.0.0", "127.0.0.1")) as conn:
            assert conn.request(udesk_body(13800138000)).json() == ANSWER
    finally:
        r.stop()


@pytest.mark.parametrize("how", ["flag", "TOKEN_ALLOW_FROM", "FCGI_WEB_SERVER_ADDRS"])
def test_the_allow_list_refuses_other_peers_and_logs_once(store, tmp_path, how):
    address = f"127.0.0.1:{free_port()}"
    if how == "flag":
        r = serve(store, tmp_path, address, "--allow-from", "127.0.0.2,10.0.0.0/8")
    else:
        r = serve(store, tmp_path, address, env=clean_env(**{how: "127.0.0.2,10.0.0.0/8"}))
    try:
        for _ in range(5):
            assert refused(address), "a connection from 127.0.0.1 was answered"
        with FastCGIConnection(address, source="127.0.0.2") as conn:
            assert conn.request(udesk_body(13800138000)).json() == ANSWER
    finally:
        r.stop()
    log = (tmp_path / "responder.log").read_text()
    assert log.count("refused a FastCGI connection from an address the allow-list does not name") == 1, log


def test_the_allow_list_on_ipv6(store, tmp_path):
    address = f"[::1]:{free_port()}"
    r = serve(store, tmp_path, address, "--allow-from", "::1")
    try:
        with FastCGIConnection(address) as conn:
            assert conn.request(udesk_body(13800138000)).json() == ANSWER
    finally:
        r.stop()
    assert refused_with_list(store, tmp_path, "fd00::/8")


def refused_with_list(store, tmp_path, allow) -> bool:
    address = f"[::1]:{free_port()}"
    r = serve(store, tmp_path, address, "--allow-from", allow)
    try:
        return refused(address)
    finally:
        r.stop()


def test_an_invalid_allow_list_is_a_usage_error(store):
    cp = subprocess.run([str(bin_dir() / "token-responder"), "--store", str(store), "--socket", "127.0.0.1:9",
                         "--allow-from", "10.0.0.0/33"], env=clean_env(), capture_output=True, timeout=10)
    assert cp.returncode != 0 and b"10.0.0.0/33" in cp.stderr


@pytest.mark.parametrize("bind_to,allow,served", [("127.0.0.1", None, True), ("0.0.0.0", None, False),
                                                   ("0.0.0.0", "127.0.0.1", True)])
def test_a_tcp_socket_on_fd0(store, tmp_path, bind_to, allow, served):
    """spawn-fcgi -a -p and systemd ListenStream=PORT hand a TCP listener over on fd 0."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((bind_to, 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    args = [str(bin_dir() / "token-responder"), "--store", str(store), "--threads", "2"]
    if allow:
        args += ["--allow-from", allow]
    log = open(tmp_path / "fd0.log", "wb")
    proc = subprocess.Popen(args, stdin=listener.fileno(), stdout=log, stderr=subprocess.STDOUT, env=clean_env())
    listener.close()
    try:
        if not served:
            assert proc.wait(timeout=10) != 0
            assert "--allow-from" in (tmp_path / "fd0.log").read_text()
            return
        with FastCGIConnection(f"127.0.0.1:{port}") as conn:
            assert conn.request(udesk_body(13800138000)).json() == ANSWER
    finally:
        if proc.poll() is None:
            proc.terminate()
            assert proc.wait(timeout=10) == 0
        log.close()
