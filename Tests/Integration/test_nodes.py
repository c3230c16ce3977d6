"""Several responder nodes on TCP behind one nginx (the shipped files rendered with one server
line per node): losing a node, restarting it, and upgrading the nodes one after the other, under
keep-alive HTTPS load with every answer checked."""

from __future__ import annotations

import re
import signal
import time

from contract import TOKENS
from udesk_it import HTTPSLoad, Nginx, Responder, free_port, udesk_body, wait_until

CASES = {number: token for number, token in list(TOKENS.items())[:6]}



def node(store, tmp_path, name, port) -> Responder:
    return Responder(store, f"127.0.0.1:{port}", tmp_path / f"{name}.log", "--threads", "2").start()


def answered_by(log_path) -> int:
    # " request" ends each request line; " request_id=" is nginx's id in the same line
    return len(re.findall(r" request(?!_id)", log_path.read_text())) if log_path.exists() else 0


def test_nodes_behind_one_nginx(store, tls, tmp_path):
    ports = [free_port(), free_port()]
    nodes = [node(store, tmp_path, f"node{i}", p) for i, p in enumerate(ports)]
    nginx = Nginx(tmp_path / "nginx", tmp_path / "unused.sock", *tls,
                  backends=[f"127.0.0.1:{p}" for p in ports]).render().start()
    try:
        load = HTTPSLoad(nginx, list(CASES), {n: {t} for n, t in CASES.items()}, clients=6).start()
        time.sleep(1.0)
        assert all(answered_by(tmp_path / f"node{i}.log") > 0 for i in range(2)), "both nodes take traffic"

        load.set_phase("node0 killed")
        nodes[0].stop(sig=signal.SIGKILL)
        time.sleep(1.5)
        load.set_phase("node0 back")
        before = answered_by(tmp_path / "node0.log")
        nodes[0] = node(store, tmp_path, "node0", ports[0])
        wait_until(lambda: answered_by(tmp_path / "node0.log") > before + 10, 10, what="node0 to take traffic again")

        # Rolling upgrade: each node in turn stopped (SIGTERM) and started again, the next one
        # only once the restarted one takes traffic again (nginx leaves a failed node alone for
        # fail_timeout, 5 s).
        load.set_phase("rolling upgrade")
        for i in range(2):
            assert nodes[i].stop() == 0
            time.sleep(0.5)
            before = answered_by(tmp_path / f"node{i}.log")
            nodes[i] = node(store, tmp_path, f"node{i}", ports[i])
            wait_until(lambda: answered_by(tmp_path / f"node{i}.log") > before + 10, 10,
                       what=f"node{i} to take traffic again")
        time.sleep(1.0)
        load.stop()
        load.assert_clean()
        for phase in ("node0 killed", "node0 back", "rolling upgrade"):
            assert load.answered(phase, "ok") > 100, (phase, dict(load.counts))
        print(f"slowest answer {load.slowest * 1000:.1f} ms")
        assert load.slowest < 0.5
    finally:
        nginx.stop()
        for n in nodes:
            n.stop()


def test_the_shipped_files_rendered_for_two_nodes_pass_nginx_t(tls, tmp_path):
    nginx = Nginx(tmp_path / "nginx", tmp_path / "unused.sock", *tls, backends=["10.0.0.11:9000", "[fd00::12]:9000"])
    cp = nginx.render().check()
    assert cp.returncode == 0, cp.stderr.decode()
    upstream = (tmp_path / "nginx" / "conf.d" / "udesk-token-upstream.conf").read_text()
    assert "server 10.0.0.11:9000 max_fails=1 fail_timeout=5s;" in upstream
    assert "server [fd00::12]:9000 max_fails=1 fail_timeout=5s;" in upstream
    assert "server unix:" not in upstream


def test_an_allow_listed_node_answers_nginx_only_from_the_named_address(store, tls, tmp_path):
    """--allow-from 127.0.0.2: nginx connecting from 127.0.0.1 is refused (JSON 502), and
    answered once the location's fastcgi_bind line names 127.0.0.2."""
    port = free_port()
    r = Responder(store, f"127.0.0.1:{port}", tmp_path / "node.log", "--allow-from", "127.0.0.2").start()
    try:
        for bind, expected in ((None, 502), ("127.0.0.2", 200)):
            nginx = Nginx(tmp_path / f"nginx-{bind}", tmp_path / "unused.sock", *tls, backends=[f"127.0.0.1:{port}"],
                          fastcgi_bind=bind).render().start()
            try:
                status, _, body = nginx.post(udesk_body(13800138000))
                assert status == expected, (bind, status, body)
            finally:
                nginx.stop()
    finally:
        r.stop()
    assert "refused a FastCGI connection" in (tmp_path / "node.log").read_text()
