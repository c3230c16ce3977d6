"""Restarts fail no request: a second `token-responder --socket PATH` takes the path over
atomically, the old one (on SIGTERM) finishes what it has and leaves the new one's socket in
place. Checked under a verifying load through nginx over HTTPS: every answer must be the
number's own token, and no request may fail."""

from __future__ import annotations

import time

from udesk_it import HTTPSLoad, Nginx, Responder, unix_connectable, wait_until

CASES = {"13800138000": "cust-0001", "13900001111": "cust-0002", "13712345678": "cust-0003"}


def verifying_load(nginx):
    """8 HTTPS keep-alive clients through nginx; every answer must be the number's own token."""
    return HTTPSLoad(nginx, CASES, {n: {t} for n, t in CASES.items()}, clients=8).start()


def test_a_second_responder_takes_the_socket_over_and_no_request_fails(store, tls, nginx_binary, tmp_path):
    sock = tmp_path / "token.sock"
    old = Responder(store, sock, tmp_path / "old.log").start()
    nginx = Nginx(tmp_path / "nginx", sock, *tls).render().start()
    new = None
    load = verifying_load(nginx)
    try:
        wait_until(lambda: load.answered(outcome="ok") > 100, timeout=20, what="answers before the restart")
        new = Responder(store, sock, tmp_path / "new.log").start()
        time.sleep(0.3)
        old.stop()  # SIGTERM: finishes what it has, closes its kept connections
        assert old.proc.returncode == 0, old.log()
        answered = load.answered(outcome="ok")
        wait_until(lambda: load.answered(outcome="ok") > answered + 200, timeout=20, what="answers after the restart")
    finally:
        load.stop()
        nginx.stop()
    load.assert_clean()
    # The old responder did not remove its successor's socket, which still serves.
    assert unix_connectable(sock)
    assert "took over" in new.log_path.read_text()
    new.stop()
    assert not sock.exists()


def test_a_restart_on_an_inherited_socket_fails_no_request(store, tls, nginx_binary, tmp_path):
    """systemd socket activation and spawn-fcgi: the listening socket outlives the process.
    While one responder stops and the next starts, nginx's new connections wait in the
    socket's backlog, and requests on the old one's kept connections are retried by nginx."""
    import socket as socketlib
    import subprocess

    from udesk_it import bin_dir, stop_process

    sock = tmp_path / "inherited.sock"
    listener = socketlib.socket(socketlib.AF_UNIX)
    listener.bind(str(sock))
    listener.listen(1024)

    def start(log):
        return subprocess.Popen([str(bin_dir() / "token-responder"), "--store", str(store)], stdin=listener.fileno(),
                                stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)

    first = start(tmp_path / "first.log")
    nginx = Nginx(tmp_path / "nginx", sock, *tls).render().start()
    second = None
    load = verifying_load(nginx)
    try:
        wait_until(lambda: load.answered(outcome="ok") > 100, timeout=20, what="answers before the restart")
        started = time.monotonic()
        stop_process(first)  # as systemctl restart: stop, then start
        second = start(tmp_path / "second.log")
        answered = load.answered(outcome="ok")
        wait_until(lambda: load.answered(outcome="ok") > answered + 200, timeout=20, what="answers after the restart")
        print(f"inherited-socket restart: stop + start took {time.monotonic() - started:.3f} s")
    finally:
        load.stop()
        nginx.stop()
        if second:
            stop_process(second)
        listener.close()
    assert first.returncode == 0
    load.assert_clean()
