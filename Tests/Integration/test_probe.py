"""tokenctl probe, end to end: against the real stack (nginx with the shipped config over HTTPS,
token-responder, the fixture store) and against deliberately broken endpoints served on
loopback by a small http.server in a thread.

Every subprocess and server wait is bounded; the slowest case (a server that never answers)
takes the probe's own 2 s per-request timeout.
"""

from __future__ import annotations

import calendar
import http.server
import json
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from contract import TOKENS, UNKNOWN_NUMBER
from udesk_it import ENDPOINT, UDESK_CONTENT_TYPE, Nginx, bin_dir, free_port

KNOWN_NUMBER = "13800138000"  # cust-0001 in Tests/Fixtures/integration-tokens.csv
SECRET = "s3cr3t-probe-key"


def probe(*args, timeout: float = 60) -> subprocess.CompletedProcess:
    cmd = [str(bin_dir() / "tokenctl"), "probe", *[str(a) for a in args]]
    return subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


def output(cp: subprocess.CompletedProcess) -> str:
    return cp.stdout.decode()


def explain(cp: subprocess.CompletedProcess) -> str:
    return f"exit {cp.returncode}\nstdout:\n{cp.stdout.decode()}\nstderr:\n{cp.stderr.decode()}"


@pytest.fixture(scope="session", autouse=True)
def probe_available(binaries):
    cp = subprocess.run([str(binaries / "tokenctl"), "probe", "--help"], capture_output=True, timeout=30,
                        stdin=subprocess.DEVNULL)
    assert cp.returncode == 0, ("tokenctl has no probe subcommand: register Probe.self in TokenCtl's "
                                f"subcommands and rebuild\n{cp.stderr.decode()}")


def endpoint(n: Nginx, scheme: str = "https", query: str = "") -> str:
    port = n.https_port if scheme == "https" else n.http_port
    return f"{scheme}://127.0.0.1:{port}{ENDPOINT}{query}"


def expiry(cert: Path) -> tuple[set[int], str]:
    """What the probe, run just before, should say about the certificate's expiry, read with
    openssl: (acceptable whole days left, notAfter as YYYY-MM-DD)."""
    cp = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-enddate"], capture_output=True,
                        timeout=30, check=True)
    stamp = time.strptime(cp.stdout.decode().strip().split("=", 1)[1], "%b %d %H:%M:%S %Y %Z")
    days = int((calendar.timegm(stamp) - time.time()) // 86400)
    return {days, days + 1}, time.strftime("%Y-%m-%d", stamp)


def assert_expiry_line(m: re.Match | None, out: str, cert: Path):
    """m: (level tag, days, date) of the probe's expiry line. Under 14 days it is a warning."""
    assert m, out
    days, day = expiry(cert)
    assert int(m.group(2)) in days and m.group(3) == day, out
    assert m.group(1) == ("WARN" if int(m.group(2)) < 14 else "OK  "), out


# --------------------------------------------------------------------------------------------
# The real stack


def test_real_endpoint_is_accepted(nginx, tls):
    cert, _ = tls
    cp = probe("--cacert", cert, endpoint(nginx), KNOWN_NUMBER)
    out = output(cp)
    assert cp.returncode == 0, explain(cp)
    assert cp.stderr == b""
    lines = out.splitlines()
    assert lines[0].startswith("probe: POST https://127.0.0.1:"), out
    assert "number +86138******00 as a JSON integer and as a string, 5 requests" in lines[0]
    both = "[number as a JSON integer and as a string]"
    assert f"OK   status 200 {both}" in lines
    assert f"OK   Content-Type application/json; charset=utf-8 {both}" in lines
    assert f"OK   body is JSON with a string customer_token {both}" in lines
    assert "OK   same customer_token for the number as a JSON integer and as a string" in lines
    assert any(re.fullmatch(r"OK   latency p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms .*: none of 5 answers over "
                            r"Udesk's 500 ms budget", line) for line in lines), out
    # conftest's certificate lives 2 days: "expires in 1 day", a warning (exit status still 0).
    assert_expiry_line(re.search(r"^(OK  |WARN) certificate valid, expires in (\d+) days? \((\d{4}-\d\d-\d\d)\)",
                                 out, re.M), out, cert)
    assert "WARN certificate trusted through --cacert" in out
    assert "FAIL" not in out
    assert lines[-1] == "Udesk would accept this endpoint"


def test_real_endpoint_json(nginx, tls):
    cert, _ = tls
    cp = probe("--json", "--count", "4", "--cacert", cert, endpoint(nginx), KNOWN_NUMBER)
    assert cp.returncode == 0, explain(cp)
    doc = json.loads(cp.stdout)
    assert doc["accepted"] is True and doc["verdict"] == "Udesk would accept this endpoint"
    assert (doc["requested"], doc["sent"], doc["answered"]) == (4, 4, 4)
    assert doc["number"] == "+86138******00"
    assert doc["connections"] == 1, "the 4 requests should share one kept-alive connection"
    assert doc["certificate"]["verification"] == "cafile"
    assert doc["certificate"]["days_left"] in expiry(cert)[0]
    assert doc["latency_ms"]["budget"] == 500 and doc["latency_ms"]["over_budget"] == 0
    assert doc["latency_ms"]["p50"] <= doc["latency_ms"]["p99"] <= doc["latency_ms"]["max"]
    levels = {(c["check"], c["level"]) for c in doc["checks"]}
    assert {("status", "ok"), ("content_type", "ok"), ("body", "ok"), ("latency", "ok")} <= levels
    status = next(c for c in doc["checks"] if c["check"] == "status")
    assert status["encodings"] == ["integer", "string"]


def test_real_endpoint_over_http_follows_308(nginx, tls):
    """The shipped HTTP server answers 308 to https: followed (it keeps the POST), with warnings."""
    cert, _ = tls
    cp = probe("--count", "2", "--cacert", cert, endpoint(nginx, "http"), KNOWN_NUMBER)
    out = output(cp)
    assert cp.returncode == 0, explain(cp)
    assert "WARN plain http: Udesk should call an https:// URL" in out
    assert re.search(r"^WARN redirect 308 from http://127\.0\.0\.1:\d+/udesk/customer_token to "
                     r"https://127\.0\.0\.1:\d+/udesk/customer_token: followed .*Udesk may not follow", out, re.M), out
    assert "OK   status 200" in out
    assert out.splitlines()[-1] == "Udesk would accept this endpoint"


def test_unknown_number_fails_with_the_reason(nginx, tls):
    cert, _ = tls
    cp = probe("--count", "2", "--cacert", cert, endpoint(nginx), UNKNOWN_NUMBER)
    out = output(cp)
    assert cp.returncode == 1, explain(cp)
    assert 'FAIL status 404: error "unknown_number"' in out
    assert "probe with a number the store holds" in out
    assert UNKNOWN_NUMBER not in out, "the number must be printed masked"
    assert out.splitlines()[-1] == "Udesk would NOT accept this endpoint: status 404"


def test_empty_token_is_a_warning(nginx_unknown_empty, tls):
    cert, _ = tls
    cp = probe("--count", "2", "--cacert", cert, endpoint(nginx_unknown_empty), UNKNOWN_NUMBER)
    assert cp.returncode == 0, explain(cp)
    assert "WARN empty token: Udesk treats it as unknown" in output(cp)


def test_self_signed_certificate_is_refused_without_cacert(nginx):
    cp = probe(endpoint(nginx), KNOWN_NUMBER)
    out = output(cp)
    assert cp.returncode == 1, explain(cp)
    assert "FAIL certificate refused: self-signed certificate (for a private CA" in out
    assert "1 request of 5" in out.splitlines()[0], "a refused certificate stops the probe"
    assert out.splitlines()[-1] == "Udesk would NOT accept this endpoint: certificate refused"


def test_insecure_checks_the_rest_but_says_udesk_would_refuse_the_certificate(nginx, tls):
    cp = probe("--count", "2", "--insecure", endpoint(nginx), KNOWN_NUMBER)
    out = output(cp)
    assert cp.returncode == 1, explain(cp)
    assert ("FAIL certificate not verified (--insecure): Udesk would refuse it: verification fails: "
            "self-signed certificate") in out
    assert_expiry_line(re.search(r"^(OK  |WARN) certificate expires in (\d+) days? \((\d{4}-\d\d-\d\d)\)", out, re.M),
                       out, tls[0])
    assert "OK   status 200" in out
    assert out.splitlines()[-1] == ("Udesk would NOT accept this endpoint: certificate refused "
                                    "(Udesk verifies it; --insecure only let the probe go on)")


def test_the_token_received_is_shown_and_expect_checks_it(nginx, tls):
    cert, _ = tls
    token = TOKENS[KNOWN_NUMBER]
    shown = probe("--count", "2", "--cacert", cert, endpoint(nginx), KNOWN_NUMBER)
    assert shown.returncode == 0, explain(shown)
    assert f'OK   customer_token received: "{token}"' in output(shown).splitlines()
    right = probe("--count", "2", "--cacert", cert, "--expect", token, endpoint(nginx), KNOWN_NUMBER)
    assert right.returncode == 0, explain(right)
    assert f'OK   customer_token received: "{token}", as expected (--expect)' in output(right).splitlines()
    wrong = probe("--count", "2", "--cacert", cert, "--expect", "cust-9999", endpoint(nginx), KNOWN_NUMBER)
    assert wrong.returncode == 1, explain(wrong)
    assert f'FAIL customer_token received: "{token}", expected "cust-9999" (--expect)' in output(wrong)
    assert output(wrong).splitlines()[-1] == "Udesk would NOT accept this endpoint: not the expected customer_token"
    doc = json.loads(probe("--json", "--count", "1", "--cacert", cert, endpoint(nginx), KNOWN_NUMBER).stdout)
    assert (doc["token"], doc["expected"]) == (token, None)


@pytest.fixture(scope="session")
def nginx_with_key(store, tls, workdir, nginx_binary):
    """A responder requiring ?key=SECRET (--key-file), behind its own nginx."""
    from udesk_it import Responder
    key_file = workdir / "probe-url.key"
    key_file.write_text(SECRET + "\n")
    key_file.chmod(0o640)
    r = Responder(store, workdir / "token-key.sock", workdir / "responder-key.log", "--key-file", key_file).start()
    n = None
    try:
        n = Nginx(workdir / "nginx-key", r.socket_path, *tls).render().start()
        yield n
    finally:
        if n is not None:
            n.stop()
        r.stop()


def test_key_is_used_but_never_printed(nginx_with_key, tls):
    cert, _ = tls
    for extra in ([], ["--json"]):
        cp = probe(*extra, "--count", "2", "--cacert", cert, endpoint(nginx_with_key, query=f"?key={SECRET}"),
                   KNOWN_NUMBER)
        assert cp.returncode == 0, explain(cp)
        assert SECRET.encode() not in cp.stdout + cp.stderr
        assert b"?key=***" in cp.stdout


def test_wrong_key_fails_and_is_not_printed(nginx_with_key, tls):
    cert, _ = tls
    cp = probe("--count", "1", "--cacert", cert, endpoint(nginx_with_key, query="?key=not-the-key&x=1"), KNOWN_NUMBER)
    out = output(cp)
    assert cp.returncode == 1, explain(cp)
    assert 'FAIL status 403: error "forbidden"' in out
    assert "the key in the URL is missing or wrong" in out
    assert "not-the-key" not in out and "?key=***&x=1" in out


# --------------------------------------------------------------------------------------------
# Broken endpoints: a loopback http.server answering every POST the same way


class FakeEndpoint:
    """http.server in a thread, answering each POST with answer(body) -> (status, [(name, value)],
    body bytes) after `delay` seconds, and recording (Content-Type, body) of each request.
    With tls=(cert, key) it serves HTTPS."""

    def __init__(self, answer, delay: float = 0.0, tls=None):
        self.requests: list[tuple[str | None, bytes]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.requests.append((self.headers.get("Content-Type"), body))
                if delay:
                    time.sleep(delay)
                status, headers, payload = answer(body)
                head = f"HTTP/1.1 {status} Whatever\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
                head += f"Content-Length: {len(payload)}\r\n\r\n"
                # One write: head and body in separate packets would meet delayed ACKs (+40 ms).
                self.wfile.write(head.encode() + payload)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*[str(p) for p in tls])
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}{ENDPOINT}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


JSON = [("Content-Type", "application/json")]
GOOD = (200, JSON, b'{"customer_token": "cust-0001"}')


def test_sends_what_udesk_sends():
    with FakeEndpoint(lambda body: GOOD) as fake:
        before = int(time.time())
        cp = probe("--count", "4", fake.url, KNOWN_NUMBER)
        after = int(time.time())
    assert cp.returncode == 0, explain(cp)
    assert "WARN plain http: Udesk should call an https:// URL" in output(cp)
    assert [ct for ct, _ in fake.requests] == [UDESK_CONTENT_TYPE] * 4
    bodies = [json.loads(body) for _, body in fake.requests]
    assert [b["number"] for b in bodies] == [13800138000, "13800138000", 13800138000, "13800138000"]
    assert all(set(b) == {"timestamp", "number"} and before <= b["timestamp"] <= after for b in bodies)


def test_number_with_leading_zero_is_sent_as_a_string_only():
    with FakeEndpoint(lambda body: GOOD) as fake:
        cp = probe("--count", "2", fake.url, "01012345678")
    assert cp.returncode == 0, explain(cp)
    assert [json.loads(b)["number"] for _, b in fake.requests] == ["01012345678", "01012345678"]
    assert "as a JSON string only" in output(cp).splitlines()[0]
    assert "OK   status 200 [number as a JSON string]" in output(cp)


BROKEN = {
    "html": (lambda body: (200, [("Content-Type", "text/html")], b"<html><body>It works!</body></html>"), 0,
             [r"^FAIL Content-Type text/html, not application/json", r"^FAIL body is not valid JSON: unexpected '<'"]),
    "invalid_json": (lambda body: (200, JSON, b'{"customer_token": "cust-0001",}'), 0,
                     [r"^FAIL body is not valid JSON: unexpected '}'"]),
    "no_token": (lambda body: (200, JSON, b'{"token": "cust-0001"}'), 0,
                 [r"^FAIL body has no customer_token \(members: token\)"]),
    "token_not_string": (lambda body: (200, JSON, b'{"customer_token": 1001}'), 0,
                         [r"^FAIL customer_token is a JSON number, not a string"]),
    "slow": (lambda body: GOOD, 0.6,
             [r"^FAIL latency p99 \d+ ms exceeds Udesk's 500 ms budget: 3 of 3 answers over"]),
    "redirect_302": (lambda body: (302, [("Location", "https://example.invalid/udesk/customer_token?key=leak")], b""), 0,
                     [r"^FAIL redirect 302 to https://example\.invalid/udesk/customer_token\?key=\*\*\*: a client "
                      r"following it re-sends the request as a GET"]),
    "server_error": (lambda body: (502, JSON, b'{"error":"backend_unavailable","message":"no backend"}'), 0,
                     [r'^FAIL status 502: error "backend_unavailable" \(no backend\): nginx cannot reach token-responder']),
    "token_by_encoding": (
        lambda body: (200, JSON, json.dumps({"customer_token": "i" if isinstance(json.loads(body)["number"], int)
                                             else "s"}).encode()), 0,
        [r"^FAIL different customer_token for the number as a JSON integer and as a string"]),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_endpoint_fails(case):
    answer, delay, expected = BROKEN[case]
    with FakeEndpoint(answer, delay) as fake:
        cp = probe("--count", "3", fake.url, KNOWN_NUMBER)
    out = output(cp)
    assert cp.returncode == 1, explain(cp)
    for pattern in expected:
        assert re.search(pattern, out, re.M), f"no line matching {pattern!r}:\n{out}"
    assert out.splitlines()[-1].startswith("Udesk would NOT accept this endpoint: ")
    assert "leak" not in out
    assert cp.stderr == b""


def test_connection_refused():
    port = free_port()  # bound and closed again: nothing listens there
    cp = probe(f"http://127.0.0.1:{port}{ENDPOINT}", KNOWN_NUMBER, timeout=30)
    out = output(cp)
    assert cp.returncode == 1, explain(cp)
    assert (f"FAIL connection refused: nothing listens on 127.0.0.1 port {port} "
            "(probe stopped after the first request)") in out
    assert out.splitlines()[-1] == "Udesk would NOT accept this endpoint: connection refused"
    assert cp.stderr == b""


def test_no_answer_times_out():
    """A listener that never accepts: the TCP handshake completes (backlog), no answer comes."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        started = time.monotonic()
        cp = probe(f"http://127.0.0.1:{listener.getsockname()[1]}{ENDPOINT}", KNOWN_NUMBER, timeout=30)
        elapsed = time.monotonic() - started
    assert cp.returncode == 1, explain(cp)
    assert "FAIL timeout: no answer within 2000 ms (Udesk gives up after 500 ms)" in output(cp)
    assert elapsed < 10, "the probe must stop after the first request that timed out"


def test_dns_failure():
    cp = probe(f"https://no-such-host.invalid{ENDPOINT}", KNOWN_NUMBER, timeout=30)
    assert cp.returncode == 1, explain(cp)
    assert "FAIL DNS: cannot resolve the host name no-such-host.invalid" in output(cp)


@pytest.fixture(scope="module")
def expired_cert(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 valid 2020-01-01 to 2020-01-02, made with
    `openssl ca` (OpenSSL 3.0's req/x509 cannot set past dates; -not_after needs 3.4)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not found")
    d = tmp_path_factory.mktemp("expired")
    (d / "index.txt").write_text("")
    (d / "serial").write_text("01\n")
    (d / "ca.cnf").write_text(
        "[ca]\ndefault_ca = expired\n[expired]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n"
        "default_md = sha256\npolicy = anything\ncopy_extensions = copy\n[anything]\ncommonName = supplied\n")
    steps = [
        ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", "key.pem", "-out", "req.pem"],
        ["openssl", "ca", "-config", "ca.cnf", "-selfsign", "-keyfile", "key.pem", "-in", "req.pem",
         "-out", "cert.pem", "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-batch", "-notext"],
    ]
    for cmd in steps:
        cp = subprocess.run(cmd, cwd=d, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        if cp.returncode != 0:
            pytest.skip(f"cannot make an expired certificate with this openssl: {cp.stderr.decode()[-300:]}")
    return d / "cert.pem", d / "key.pem"


def test_expired_certificate_fails(expired_cert):
    cert, _ = expired_cert
    with FakeEndpoint(lambda body: GOOD, tls=expired_cert) as fake:
        refused = probe("--cacert", cert, fake.url, KNOWN_NUMBER, timeout=30)
        insecure = probe("--count", "2", "--insecure", fake.url, KNOWN_NUMBER, timeout=30)
    out = output(refused)
    assert refused.returncode == 1, explain(refused)
    assert re.search(r"^FAIL certificate refused: certificate expired on 2020-01-02 \(\d+ days ago\)$", out, re.M), out
    assert out.splitlines()[-1] == "Udesk would NOT accept this endpoint: certificate expired"
    # --insecure checks the rest, but an expired certificate still fails.
    out = output(insecure)
    assert insecure.returncode == 1, explain(insecure)
    assert re.search(r"^FAIL certificate expired on 2020-01-02 \(\d+ days ago\)$", out, re.M), out
    assert "OK   status 200" in out


@pytest.mark.parametrize("args", [
    ["ftp://example.com/x", KNOWN_NUMBER],
    ["example.com/udesk/customer_token", KNOWN_NUMBER],
    ["https://example.com:0/x", KNOWN_NUMBER],
    ["https://example.com/x", " "],
    ["--count", "0", "https://example.com/x", KNOWN_NUMBER],
    ["--count", "10001", "https://example.com/x", KNOWN_NUMBER],
    ["--cacert", "/nonexistent/ca.pem", "https://example.com/x", KNOWN_NUMBER],
    ["--cacert", "/dev/null", "--insecure", "https://example.com/x", KNOWN_NUMBER],
    ["--cacert", "/etc/passwd", "https://example.com/x", KNOWN_NUMBER],  # readable, but no certificate
    ["--expect", "", "https://example.com/x", KNOWN_NUMBER],
])
def test_usage_errors_exit_2(args):
    cp = probe(*args, timeout=30)
    assert cp.returncode == 2, explain(cp)
    assert cp.stdout == b""
    assert cp.stderr.startswith(b"Error: ")
