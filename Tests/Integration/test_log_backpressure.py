"""Request lines are logged, but logging never holds up answers: when stderr stops taking
lines (a pipe nobody drains, a journal or disk that stalls), the responder keeps answering at
full speed, drops lines it cannot write (and says how many once it can), and still stops
promptly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import time

from udesk_it import FastCGIConnection, bin_dir, udesk_body, unix_connectable, wait_until

REQUESTS = 3000  # ~120 bytes of log each: several times what a pipe buffers (64 KiB)


def test_answers_keep_coming_when_nobody_reads_the_log(store, workdir):
    sock = workdir / "stuck-log.sock"
    proc = subprocess.Popen([str(bin_dir() / "token-responder"), "--store", str(store), "--socket", str(sock)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)  # the pipe is never read while it serves
    try:
        wait_until(lambda: proc.poll() is not None or unix_connectable(sock), 10, what="the responder to listen")
        assert proc.poll() is None
        started = time.monotonic()
        with FastCGIConnection(sock, timeout=2) as conn:
            for i in range(REQUESTS):
                answer = conn.request(udesk_body(13800138000))
                assert answer.status == 200, f"request {i}: {answer.stdout[:200]!r}"
        elapsed = time.monotonic() - started
        assert elapsed < 30, f"{REQUESTS} answers took {elapsed:.1f} s"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=5)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
