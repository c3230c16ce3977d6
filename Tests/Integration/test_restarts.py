"""Restarts fail no request: a second `token-responder --socket PATH` takes the path over
atomically, the old one (on SIGTERM) finishes what it has and leaves the new one's socket in
place. Checked under a verifying load through nginx over HTTPS: every answer must be the
number's own token, and no request may fail."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter

from udesk_it import ENDPOINT, UDESK_CONTENT_TYPE, Nginx, Responder, unix_connectable, udesk_body, wait_until

CASES = {"13800138000": "cust-0001", "13900001111": "cust-0002", "13712345678": "cust-0003"}


class HTTPSLoad:
    """`clients` threads, each on its own kept HTTPS connection through nginx, asking numbers of
    CASES until stopped (at most 60 s); every answer is checked against the number's token."""

    def __init__(self, nginx: Nginx, clients: int = 8):
        self.nginx = nginx
        self.counts: Counter = Counter()
        self.failures: list[str] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(i,)) for i in range(clients)]

    def _client(self, seed):
        rng = random.Random(seed)
        deadline = time.monotonic() + 60
        conn = None
        while not self.stopping.is_set() and time.monotonic() < deadline:
            number = rng.choice(list(CASES))
            try:
                conn = conn or self.nginx.https_connection(timeout=5)
                conn.request("POST", ENDPOINT, body=udesk_body(number), headers={"Content-Type": UDESK_CONTENT_TYPE})
                resp = conn.getresponse()
                body = resp.read()
            except OSError as error:
                conn = None
                self._record("error", f"{number}: {error!r}")
                continue
            if resp.status != 200:
                self._record("failed", f"{number}: {resp.status} {body[:100]!r}")
            elif json.loads(body).get("customer_token") != CASES[number]:
                self._record("wrong_token", f"{number}: {body[:100]!r}")
            else:
                self._record("ok", None)

    def _record(self, outcome, detail):
        with self.lock:
            self.counts[outcome] += 1
            if detail:
                self.failures.append(detail)

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=10)
        return self.counts


def test_a_second_responder_takes_the_socket_over_and_no_request_fails(store, tls, nginx_binary, tmp_path):
    sock = tmp_path / "token.sock"
    old = Responder(store, sock, tmp_path / "old.log").start()
    nginx = Nginx(tmp_path / "nginx", sock, *tls).render().start()
    new = None
    load = HTTPSLoad(nginx).start()
    try:
        wait_until(lambda: load.counts["ok"] > 100, timeout=20, what="answers before the restart")
        new = Responder(store, sock, tmp_path / "new.log").start()
        time.sleep(0.3)
        old.stop()  # SIGTERM: finishes what it has, closes its kept connections
        assert old.proc.returncode == 0, old.log()
        answered = load.counts["ok"]
        wait_until(lambda: load.counts["ok"] > answered + 200, timeout=20, what="answers after the restart")
    finally:
        counts = load.stop()
        nginx.stop()
    print(f"restart under load: {dict(counts)}")
    assert not load.failures, f"{dict(counts)}; e.g. {load.failures[:5]}"
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
    load = HTTPSLoad(nginx).start()
    try:
        wait_until(lambda: load.counts["ok"] > 100, timeout=20, what="answers before the restart")
        started = time.monotonic()
        stop_process(first)  # as systemctl restart: stop, then start
        second = start(tmp_path / "second.log")
        answered = load.counts["ok"]
        wait_until(lambda: load.counts["ok"] > answered + 200, timeout=20, what="answers after the restart")
        print(f"inherited-socket restart: stop + start took {time.monotonic() - started:.3f} s")
    finally:
        counts = load.stop()
        nginx.stop()
        if second:
            stop_process(second)
        listener.close()
    print(f"inherited-socket restart under load: {dict(counts)}")
    assert first.returncode == 0
    assert not load.failures, f"{dict(counts)}; e.g. {load.failures[:5]}"
