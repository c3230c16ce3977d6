"""Logs and metrics as an operator meets them: journald priorities (JOURNAL_STREAM), the log file
(--log-file / TOKEN_LOG_FILE) and its reopening on SIGHUP, nginx's $request_id in both log lines,
health checks and scrapes counted apart from Udesk's queries, and the PHP-FPM-like series.

systemd is not PID 1 here: JOURNAL_STREAM is set by the test to the device and inode of the file
the responder's stderr is, which is what systemd does for a service whose stderr is the journal.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from contract import TOKENS
from udesk_it import (FIXTURE_CSV, FastCGIConnection, Nginx, Responder, ResponderExited, bin_dir, cgi_params,
                      free_port, request, run_tokenctl, udesk_body, wait_until)

N, N_TOKEN = "13800138000", "cust-0001"
HEALTH, METRICS = "/udesk/health", "/udesk/metrics"
LINE = re.compile(r"^(<\d>)?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (\w+) token-responder: ")


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_") and k != "JOURNAL_STREAM"}
    env.update(extra)
    return env


def closed_by_peer(s: socket.socket, timeout: float = 3) -> bool:
    """True when the responder closes the connection (a reset counts: it had unread bytes)."""
    s.settimeout(timeout)
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True


def journal_stream_of(path: Path) -> str:
    st = os.stat(path)
    return f"{st.st_dev}:{st.st_ino}"


def fresh_store(directory: Path) -> Path:
    path = directory / "tokens.db"
    run_tokenctl("import", FIXTURE_CSV, store=path)
    return path


def lines_of(path: Path) -> list[str]:
    return path.read_text("utf-8", "replace").splitlines() if path.exists() else []


def request_lines(path: Path) -> list[str]:
    return [line for line in lines_of(path) if line.endswith(" request")]


def lookup(sock: Path, number=N, request_id: str | None = None, endpoint: str | None = None):
    body = udesk_body(number)
    params = cgi_params(body)
    if request_id is not None:
        params["REQUEST_ID"] = request_id
    if endpoint is not None:
        params["TOKEN_ENDPOINT"] = endpoint
    with FastCGIConnection(sock) as conn:
        return conn.request(body, params=params)


# --------------------------------------------------------------------------------------------
# journald priorities


def start_with_stderr(tmp_path, store, *args, journal: str | None = "self", **env):
    """A responder whose stdout+stderr is tmp_path/stderr.log, JOURNAL_STREAM naming that file
    (journal="self"), something else, or unset (None)."""
    stderr = tmp_path / "stderr.log"
    stderr.touch()
    extra = dict(env)
    if journal == "self":
        extra["JOURNAL_STREAM"] = journal_stream_of(stderr)
    elif journal is not None:
        extra["JOURNAL_STREAM"] = journal
    return Responder(store, tmp_path / "r.sock", stderr, *args, env=clean_env(**extra)).start(), stderr


def test_journal_stream_lines_start_with_their_syslog_priority(binaries, tmp_path):
    store = fresh_store(tmp_path)
    r, stderr = start_with_stderr(tmp_path, store, "--log-level", "debug", "--request-timeout", "0.2")
    try:
        assert lookup(r.socket_path, request_id="a1").app_status == 0
        assert lookup(r.socket_path, endpoint="health").json() == {"status": "ok"}
        with socket.socket(socket.AF_UNIX) as s:  # a malformed FastCGI stream: a warning
            s.connect(str(r.socket_path))
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 4)
            assert closed_by_peer(s)
        store.rename(store.with_name("gone.db"))
        r.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reopening the store" in stderr.read_text(), 5, what="the SIGHUP line")
        lookup(r.socket_path)  # store gone: an error line with the cause
        wait_until(lambda: " error " in stderr.read_text() and " warning " in stderr.read_text(), 5,
                   what="warning and error lines")
    finally:
        r.stop()
    lines = lines_of(stderr)
    assert lines and all(LINE.match(line) for line in lines), lines
    want = {"debug": "<7>", "info": "<6>", "warning": "<4>", "error": "<3>"}
    seen = {}
    for line in lines:
        m = LINE.match(line)
        assert m.group(1) == want[m.group(2)], f"{m.group(2)} line with priority {m.group(1)}: {line}"
        seen[m.group(2)] = line
    assert set(seen) == set(want), seen
    assert "endpoint=health" in seen["debug"]


def test_start_up_failure_is_critical_under_the_journal(binaries, tmp_path):
    stderr = tmp_path / "stderr.log"
    stderr.touch()
    env = clean_env(JOURNAL_STREAM=journal_stream_of(stderr))
    with open(stderr, "ab") as out:
        cp = subprocess.run([str(bin_dir() / "token-responder"), "--store", str(tmp_path / "missing.db"),
                             "--socket", str(tmp_path / "r.sock")], stdout=out, stderr=out, env=env, timeout=20,
                            stdin=subprocess.DEVNULL)
    assert cp.returncode == 66
    text = stderr.read_text()
    assert re.search(r"^<2>\S+ critical token-responder: .*missing\.db", text, re.M), text


def test_lines_stay_plain_when_stderr_is_not_the_journal_stream(binaries, tmp_path):
    store = fresh_store(tmp_path)
    other = tmp_path / "elsewhere"
    other.touch()
    # a child whose stderr was redirected inherits JOURNAL_STREAM, but its stderr is not that stream
    r, stderr = start_with_stderr(tmp_path, store, journal=journal_stream_of(other))
    try:
        lookup(r.socket_path)
        wait_until(lambda: request_lines(stderr), 5, what="the request line")
    finally:
        r.stop()
    lines = lines_of(stderr)
    assert lines and not any(line.startswith("<") for line in lines), lines
    assert any(LINE.match(line) and " info " in line for line in lines), lines


def test_log_file_gets_plain_lines_under_the_journal(binaries, tmp_path):
    store, log = fresh_store(tmp_path), tmp_path / "responder.log"
    r, stderr = start_with_stderr(tmp_path, store, "--log-file", log)
    try:
        lookup(r.socket_path)
        wait_until(lambda: request_lines(log), 5, what="the request line in the log file")
    finally:
        r.stop()
    lines = lines_of(log)
    assert any("serving FastCGI" in line for line in lines), lines
    assert lines and all(LINE.match(line) and not line.startswith("<") for line in lines), lines
    assert not request_lines(stderr), "lines go to the log file, not to stderr"


# --------------------------------------------------------------------------------------------
# The log file


def test_log_file_is_appended_to_and_reopened_on_sighup_without_losing_lines(binaries, tmp_path):
    store, log = fresh_store(tmp_path), tmp_path / "responder.log"
    log.write_text("an older line\n")
    rotated = tmp_path / "responder.log.1"
    r = Responder(store, tmp_path / "r.sock", tmp_path / "stderr.log", env=clean_env(TOKEN_LOG_FILE=str(log))).start()
    answered = 0
    stop = threading.Event()
    errors = []

    def load():
        nonlocal answered
        deadline = time.monotonic() + 20
        try:
            with FastCGIConnection(r.socket_path) as conn:
                while not stop.is_set() and time.monotonic() < deadline and answered < 50_000:
                    assert conn.request(udesk_body(N)).json() == {"customer_token": N_TOKEN}
                    answered += 1
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    worker = threading.Thread(target=load)
    try:
        assert lines_of(log)[0] == "an older line", "the file is appended to, not truncated"
        worker.start()
        wait_until(lambda: len(request_lines(log)) >= 200, 10, what="requests logged under load")
        os.rename(log, rotated)  # logrotate's rename, then its postrotate SIGHUP
        r.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: any("reopening the store and the log file" in line for line in lines_of(log)), 5,
                   what="the reopen line in the new file")
        wait_until(lambda: len(request_lines(log)) >= 200, 10, what="requests logged in the new file")
        size_after_reopen = rotated.stat().st_size
        time.sleep(0.3)
        stop.set()
        worker.join(30)
        assert not errors, errors
        wait_until(lambda: len(request_lines(log)) + len(request_lines(rotated)) >= answered, 5,
                   what="every request logged")
        time.sleep(0.1)
    finally:
        stop.set()
        r.stop()
    assert rotated.stat().st_size == size_after_reopen, "lines written to the renamed file after the reopen"
    assert not any("SIGHUP" in line for line in lines_of(rotated))
    old, new = len(request_lines(rotated)), len(request_lines(log))
    assert old + new == answered, f"{old} + {new} request lines for {answered} answers"
    assert old >= 200 and new >= 200
    assert "stopped" in lines_of(log)[-1]
    assert not request_lines(tmp_path / "stderr.log")


@pytest.mark.parametrize("how", ["flag", "env"])
def test_log_file_that_cannot_be_opened_is_a_start_up_error(binaries, tmp_path, how):
    bad = tmp_path / "no-such-dir" / "responder.log"
    args = ["--store", str(fresh_store(tmp_path)), "--socket", str(tmp_path / "r.sock")]
    env = clean_env()
    if how == "flag":
        args += ["--log-file", str(bad)]
    else:
        env["TOKEN_LOG_FILE"] = str(bad)
    cp = subprocess.run([str(bin_dir() / "token-responder"), *args], capture_output=True, env=env, timeout=20,
                        stdin=subprocess.DEVNULL)
    assert cp.returncode == 64, cp  # like every other bad setting
    err = cp.stderr.decode()
    assert f"--log-file / TOKEN_LOG_FILE: cannot open the log file {bad} for appending: No such file or directory" \
        in err, err
    assert not (tmp_path / "r.sock").exists()


def test_under_spawn_fcgi_the_log_file_says_why_the_responder_exited(binaries, tmp_path):
    if shutil.which("spawn-fcgi") is None:
        pytest.skip("spawn-fcgi not installed (scripts/install-deps.sh)")
    log = tmp_path / "responder.log"
    env = clean_env(TOKEN_STORE=str(tmp_path / "missing.db"), TOKEN_LOG_FILE=str(log))
    cp = subprocess.run(["spawn-fcgi", "-s", str(tmp_path / "r.sock"), "--", str(bin_dir() / "token-responder")],
                        capture_output=True, env=env, timeout=20, stdin=subprocess.DEVNULL)
    assert cp.returncode == 0 or b"exited with: 66" in cp.stderr, cp  # spawn-fcgi may not wait to see it
    # the forked child's stderr is /dev/null: the log file is the only place that says why
    wait_until(lambda: "critical" in log.read_text() if log.exists() else False, 10, what="the reason in the log file")
    assert re.search(r"critical token-responder: .*missing\.db", log.read_text()), log.read_text()


def test_bad_setting_after_the_log_file_is_logged_there_too(binaries, tmp_path):
    log = tmp_path / "responder.log"
    cp = subprocess.run([str(bin_dir() / "token-responder"), "--store", str(fresh_store(tmp_path)),
                         "--log-file", str(log), "--socket", str(tmp_path / "r.sock"), "--threads", "0"],
                        capture_output=True, env=clean_env(), timeout=20, stdin=subprocess.DEVNULL)
    assert cp.returncode == 64
    assert "--threads / TOKEN_THREADS must be from 1 to 1024" in log.read_text()


def cgi(store, body, log_file, request_id=None):
    env = clean_env(**{k: v for k, v in cgi_params(body).items()}, TOKEN_STORE=str(store), TOKEN_LOG_FILE=str(log_file))
    if request_id:
        env["REQUEST_ID"] = request_id
    return subprocess.run([str(bin_dir() / "token-responder")], input=body, capture_output=True, env=env, timeout=20)


def test_plain_cgi_logs_to_the_log_file(binaries, tmp_path):
    store, log = fresh_store(tmp_path), tmp_path / "cgi.log"
    for i in range(3):
        cp = cgi(store, udesk_body(N), log, request_id=f"cgi{i}")
        assert cp.returncode == 0 and b'{"customer_token":"cust-0001"}' in cp.stdout, cp
        assert cp.stderr == b"", "with a log file, nginx's error log gets nothing"
    lines = request_lines(log)
    assert [re.search(r"request_id=(\S+)", line).group(1) for line in lines] == ["cgi0", "cgi1", "cgi2"], lines


def test_plain_cgi_with_a_log_file_it_cannot_open_is_misconfigured(binaries, tmp_path):
    bad = tmp_path / "nowhere" / "cgi.log"
    cp = cgi(fresh_store(tmp_path), udesk_body(N), bad)
    assert cp.returncode == 0
    assert b"Status: 500" in cp.stdout and b'"error":"server_misconfigured"' in cp.stdout, cp.stdout
    assert str(bad).encode() not in cp.stdout, "the reason is for the log, not the client"
    assert f"cannot open the log file {bad}".encode() in cp.stderr, cp.stderr


# --------------------------------------------------------------------------------------------
# Through nginx: $request_id, health and metrics counted apart


@pytest.fixture(scope="module")
def stack(binaries, tls, nginx_binary, tmp_path_factory):
    d = tmp_path_factory.mktemp("logsmetrics")
    store = fresh_store(d)
    r = Responder(store, d / "r.sock", d / "responder.log", "--threads", "3", env=clean_env()).start()
    n = None
    try:
        n = Nginx(d / "nginx", r.socket_path, *tls).render().start()
        r.nginx, r.store_path = n, store
        yield r
    finally:
        if n is not None:
            n.stop()
        r.stop()


def get(stack, path):
    conn = stack.nginx.https_connection()
    try:
        return request(conn, "GET", path, None, None)
    finally:
        conn.close()


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$")


def scrape(stack) -> dict[str, float]:
    status, _, body = get(stack, METRICS)
    assert status == 200, body
    samples = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            m = SAMPLE.match(line)
            assert m, line
            samples[m.group(1)] = float(m.group(2))
    return samples


def test_one_request_id_joins_the_nginx_and_responder_lines(stack):
    status, _, body = stack.nginx.post(udesk_body(N))
    assert status == 200, body
    access = stack.nginx.prefix / "logs" / "udesk-token.access.log"
    wait_until(lambda: access.exists() and "request_id=" in access.read_text(), 5, what="the access log line")
    ids = re.findall(r"request_id=([0-9a-f]{32})$", access.read_text(), re.M)
    assert ids, access.read_text()
    wait_until(lambda: f"request_id={ids[-1]} request" in stack.log(), 5, what="the id in the responder's line")
    line = next(line for line in stack.log().splitlines() if f"request_id={ids[-1]}" in line)
    assert "status=200 outcome=found" in line


def test_a_request_id_that_is_not_an_id_is_left_out(binaries, tmp_path):
    store = fresh_store(tmp_path)
    r = Responder(store, tmp_path / "r.sock", tmp_path / "stderr.log", env=clean_env()).start()
    try:
        lookup(r.socket_path, request_id="x request_id=forged status=200")
        lookup(r.socket_path, request_id="ok-1")
        wait_until(lambda: len(request_lines(r.log_path)) >= 2, 5, what="two request lines")
    finally:
        r.stop()
    lines = request_lines(r.log_path)  # two workers: in either order
    assert len(lines) == 2 and "forged" not in r.log_path.read_text(), lines
    assert sum(line.endswith(" request_id=ok-1 request") for line in lines) == 1, lines
    assert sum("request_id" not in line for line in lines) == 1, lines


LOOKUPS = 'token_responder_requests_total{status="200",outcome="found"}'
COUNT = "token_responder_request_duration_seconds_count"
HEALTHY = 'token_responder_health_checks_total{status="200"}'
SCRAPES = "token_responder_metrics_scrapes_total"


def test_health_checks_and_scrapes_are_counted_apart_and_logged_at_debug(stack):
    before = scrape(stack)
    log_before = len(request_lines(stack.log_path))
    health_checks, lookups = 7, 3
    for _ in range(health_checks):
        status, _, body = get(stack, HEALTH)
        assert (status, json.loads(body)) == (200, {"status": "ok"})
    for _ in range(lookups):
        assert json.loads(stack.nginx.post(udesk_body(N))[2]) == {"customer_token": N_TOKEN}
    after = scrape(stack)
    assert after[LOOKUPS] - before.get(LOOKUPS, 0) == lookups, "health checks counted as lookups"
    assert after[COUNT] - before[COUNT] == lookups
    assert after[HEALTHY] - before.get(HEALTHY, 0) == health_checks
    assert after[SCRAPES] - before[SCRAPES] == 1  # the first scrape, counted once answered
    wait_until(lambda: len(request_lines(stack.log_path)) >= log_before + lookups, 5, what="the lookup lines")
    time.sleep(0.1)
    new = request_lines(stack.log_path)[log_before:]
    assert len(new) == lookups, f"only the lookups are logged at info:\n" + "\n".join(new)
    assert not any("endpoint=" in line for line in new)


def test_build_start_workers_store_and_refusal_series(stack):
    version = subprocess.run([str(bin_dir() / "token-responder"), "--version"], capture_output=True,
                             timeout=10).stdout.decode().strip()
    started = time.time()
    s = scrape(stack)
    assert s[f'token_responder_build_info{{version="{version}"}}'] == 1
    proc_start = os.stat(f"/proc/{stack.proc.pid}").st_mtime
    assert abs(s["token_responder_start_time_seconds"] - proc_start) < 5
    assert s["token_responder_start_time_seconds"] <= started
    assert s["token_responder_workers_busy"] >= 1, "the worker answering the scrape is busy"
    assert s["token_responder_workers_busy"] + s["token_responder_workers_idle"] == 3  # --threads 3
    assert s["token_responder_connections_waiting"] == 0
    for reason in ("allow_list", "request_timeout", "malformed"):
        assert f'token_responder_connections_refused_total{{reason="{reason}"}}' in s
    assert s["token_responder_log_lines_dropped_total"] == 0
    assert s["token_responder_store_up"] == 1
    assert s["token_responder_store_rows"] == len(TOKENS)
    stats = json.loads(run_tokenctl("stats", "--json", store=stack.store_path).stdout)
    imported = time.mktime(time.strptime(stats["last_import_time"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert s["token_responder_store_last_import_timestamp_seconds"] == imported
    assert abs(s["token_responder_store_age_seconds"] - (time.time() - imported)) <= 2


def test_store_never_imported_has_no_age_and_unreadable_store_is_down(binaries, tls, nginx_binary, tmp_path):
    store = tmp_path / "tokens.db"
    run_tokenctl("put", N, N_TOKEN, store=store)  # a store edited, never imported
    r = Responder(store, tmp_path / "r.sock", tmp_path / "r.log", env=clean_env()).start()
    n = Nginx(tmp_path / "nginx", r.socket_path, *tls).render().start()
    r.nginx = n
    try:
        s = scrape(r)
        assert s["token_responder_store_up"] == 1 and s["token_responder_store_rows"] == 1
        assert "token_responder_store_age_seconds" not in s, "no import: the age is unknown, not 0"
        assert "token_responder_store_last_import_timestamp_seconds" not in s
        store.rename(tmp_path / "moved.db")
        r.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: scrape(r)["token_responder_store_up"] == 0, 5, what="store_up 0")
        (tmp_path / "moved.db").rename(store)
        r.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: scrape(r)["token_responder_store_up"] == 1, 5, what="store_up 1 again")
    finally:
        n.stop()
        r.stop()


def test_refused_connections_are_counted_by_reason(binaries, tmp_path):
    try:
        with socket.socket() as probe_socket:
            probe_socket.bind(("127.0.0.2", 0))
    except OSError as e:
        pytest.skip(f"cannot bind 127.0.0.2 here ({e})")
    store, port = fresh_store(tmp_path), free_port()
    r = Responder(store, f"127.0.0.1:{port}", tmp_path / "r.log", "--allow-from", "127.0.0.2",
                  "--request-timeout", "0.2", env=clean_env()).start()

    def scrape_fcgi():
        params = cgi_params(b"")
        params["TOKEN_ENDPOINT"] = "metrics"
        with FastCGIConnection(f"127.0.0.1:{port}", source="127.0.0.2") as conn:
            text = conn.request(b"", params=params).stdout.decode()
        return {m.group(1): float(m.group(2)) for m in map(SAMPLE.match, text.split("\r\n\r\n", 1)[1].splitlines())
                if m}

    def refused(samples, reason):
        return samples[f'token_responder_connections_refused_total{{reason="{reason}"}}']

    try:
        before = scrape_fcgi()
        for _ in range(2):  # from an address the allow-list does not name
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                assert closed_by_peer(s)
        with socket.create_connection(("127.0.0.1", port), timeout=2, source_address=("127.0.0.2", 0)) as s:
            s.sendall(b"\x01\x01\x00\x01\x00\x08")  # half a FastCGI header, never finished
            assert closed_by_peer(s)
        with socket.create_connection(("127.0.0.1", port), timeout=2, source_address=("127.0.0.2", 0)) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n" + b"x" * 64)
            assert closed_by_peer(s)
        after = scrape_fcgi()
    finally:
        r.stop()
    assert refused(after, "allow_list") - refused(before, "allow_list") == 2
    assert refused(after, "request_timeout") - refused(before, "request_timeout") == 1
    assert refused(after, "malformed") - refused(before, "malformed") == 1
